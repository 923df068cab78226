use crate::data::{Chw, Mask, Preprocess, Sample, SizeLimit, Source};
use crate::padim::try_map_in_order;

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

/// Samples of one class and where their files are: what the per-class
/// pipelines (fitting, evaluating, choosing a threshold) read, `batch` images
/// per forward pass.
#[derive(Clone, Copy)]
pub struct ClassImages<'a> {
    /// In the order their scores and maps are reported.
    pub samples: &'a [&'a Sample],
    pub source: &'a dyn Source,
    pub limit: SizeLimit,
    /// Images per forward pass, at least 1.
    pub batch: usize,
}

impl<'a> ClassImages<'a> {
    /// `samples` read from `source` with the default size limit.
    pub fn new(samples: &'a [&'a Sample], source: &'a dyn Source, batch: usize) -> Self {
        Self {
            samples,
            source,
            limit: SizeLimit::default(),
            batch,
        }
    }

    /// The samples `batch` at a time, each batch with its first sample's index.
    pub(super) fn batches(
        &self,
    ) -> Result<impl Iterator<Item = (usize, &'a [&'a Sample])>, EvalError> {
        if self.batch == 0 {
            return Err(EvalError::EmptyBatch);
        }
        Ok((0..)
            .step_by(self.batch)
            .zip(self.samples.chunks(self.batch)))
    }

    /// The preprocessed images of `samples`, without their masks.
    pub(super) fn images(
        &self,
        samples: &[&Sample],
        preprocess: &Preprocess,
    ) -> Result<Vec<Chw>, EvalError> {
        // Split over the CPU's threads: one image at a time, decoding and
        // resizing a batch left a core idle.
        try_map_in_order(samples, |sample| {
            Ok(preprocess.image(&sample.load_image(self.source, &self.limit)?)?)
        })
    }

    /// The preprocessed images of `samples` with their masks, read in
    /// parallel as [`ClassImages::images`] reads them.
    pub(super) fn with_masks(
        &self,
        samples: &[&Sample],
        preprocess: &Preprocess,
    ) -> Result<Vec<Preprocessed>, EvalError> {
        try_map_in_order(samples, |sample| {
            load_preprocessed(sample, self.source, preprocess, &self.limit)
        })
    }
}
