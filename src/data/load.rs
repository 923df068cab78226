//! Reading one sample's pixels on demand, with the checker's messages.

use super::check::kind_of;
use super::decode::{decode_mask, decode_rgb_f32, Mask, RgbImage, SizeLimit};
use super::problem::{DataError, Problem, ProblemKind};
use super::sample::{Label, Sample};
use super::source::Source;

impl Sample {
    /// Reads and decodes the image as RGB in [0, 1].
    pub fn load_image(
        &self,
        source: &(impl Source + ?Sized),
        limit: &SizeLimit,
    ) -> Result<RgbImage<f32>, DataError> {
        let bytes = source
            .read(&self.image)
            .map_err(|e| self.problem(&self.image, kind_of(e)))?;
        decode_rgb_f32(&bytes, limit)
            .map_err(|e| self.problem(&self.image, ProblemKind::Undecodable(e)))
    }

    /// Reads the ground truth for an image of `width` × `height`: the decoded
    /// mask for an anomaly, all background for a normal sample. Refuses an
    /// anomaly without a mask and a mask of another size than its image.
    pub fn load_mask(
        &self,
        source: &(impl Source + ?Sized),
        limit: &SizeLimit,
        width: u32,
        height: u32,
    ) -> Result<Mask, DataError> {
        let path = match (&self.mask, self.label) {
            (None, Label::Normal) => {
                return Ok(Mask {
                    width,
                    height,
                    pixels: vec![false; width as usize * height as usize],
                })
            }
            (None, Label::Anomaly) => {
                return Err(self.problem(&self.image, ProblemKind::AnomalyWithoutMask))
            }
            (Some(path), _) => path,
        };
        let bytes = source
            .read(path)
            .map_err(|e| self.problem(path, kind_of(e)))?;
        let mask = decode_mask(&bytes, limit)
            .map_err(|e| self.problem(path, ProblemKind::Undecodable(e)))?;
        if (mask.width, mask.height) != (width, height) {
            return Err(self.problem(
                path,
                ProblemKind::MaskSizeMismatch {
                    image: self.image.clone(),
                    mask_width: mask.width,
                    mask_height: mask.height,
                    image_width: width,
                    image_height: height,
                },
            ));
        }
        Ok(mask)
    }

    fn problem(&self, file: &str, kind: ProblemKind) -> DataError {
        DataError::Sample(Problem {
            file: file.to_string(),
            row: self.row,
            kind,
        })
    }
}
