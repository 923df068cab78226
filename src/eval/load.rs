use crate::data::{Chw, Mask, Preprocess, Sample, SizeLimit, Source};

use super::EvalError;

/// One sample as the detectors see it: the normalised image and its ground
/// truth, cropped alike.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessed {
    pub image: Chw,
    /// All background for a normal sample.
    pub mask: Mask,
}

/// Decodes and preprocesses one sample's image and mask; errors name the file
/// and CSV row, in the data checker's words.
pub fn load_preprocessed(
    sample: &Sample,
    source: &(impl Source + ?Sized),
    preprocess: &Preprocess,
    limit: &SizeLimit,
) -> Result<Preprocessed, EvalError> {
    let image = sample.load_image(source, limit)?;
    let mask = sample.load_mask(source, limit, image.width, image.height)?;
    Ok(Preprocessed {
        image: preprocess.image(&image)?,
        mask: preprocess.mask(&mask)?,
    })
}
