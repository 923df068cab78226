//! The trivial detector the generated data set's difficulty is measured
//! against (issue 3, "Calibrated difficulty"): per pixel and channel, the mean
//! and standard deviation of the preprocessed training normals; a test
//! pixel's score is `max_c |x_c − mean_c| / (std_c + ε)`, smoothed like
//! PaDiM's map (Gaussian, σ = 4). It sees only colour at a fixed place, no
//! texture or context, so a data set it solves is too easy.

use crate::data::{Chw, Preprocess};
use crate::padim::{GaussianFilter, MapSize, ScoreMap, PADIM_SIGMA};

use super::{ClassImages, EvalError, MapDetector};

/// Added to every standard deviation, in normalised units (about 0.2 % of the
/// 8-bit range after ImageNet scaling), so pixels that never vary in training
/// (a flat background) score finitely.
pub const BASELINE_EPS: f32 = 0.01;

/// Accumulates per-pixel sums of the training normals, image by image.
#[derive(Debug, Clone)]
pub struct PixelBaselineFitter {
    preprocess: Preprocess,
    size: Option<MapSize>,
    sum: Vec<f64>,
    sum_of_squares: Vec<f64>,
    images: u64,
}

/// Fitted per-pixel means and standard deviations, `[3, h, w]` each.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelBaseline {
    preprocess: Preprocess,
    size: MapSize,
    mean: Vec<f32>,
    std: Vec<f32>,
}

impl PixelBaselineFitter {
    /// A fitter for images preprocessed by `preprocess`, which the baseline
    /// then scores.
    pub fn new(preprocess: Preprocess) -> Self {
        Self {
            preprocess,
            size: None,
            sum: Vec::new(),
            sum_of_squares: Vec::new(),
            images: 0,
        }
    }

    /// Adds one training image; every image must have the first one's size.
    pub fn push(&mut self, image: &Chw) -> Result<(), EvalError> {
        let size = MapSize::new(image.height, image.width);
        match self.size {
            None => {
                self.size = Some(size);
                self.sum = vec![0.0; image.data.len()];
                self.sum_of_squares = vec![0.0; image.data.len()];
            }
            Some(fitted) => check_size(fitted, size)?,
        }
        for ((s, q), &x) in self
            .sum
            .iter_mut()
            .zip(&mut self.sum_of_squares)
            .zip(&image.data)
        {
            let x = f64::from(x);
            *s += x;
            *q += x * x;
        }
        self.images += 1;
        Ok(())
    }

    /// The means and unbiased standard deviations.
    pub fn finish(&self) -> Result<PixelBaseline, EvalError> {
        let size = match self.size {
            Some(size) if self.images >= 2 => size,
            _ => return Err(EvalError::TooFewImages(self.images)),
        };
        let n = self.images as f64;
        let mean: Vec<f32> = self.sum.iter().map(|s| (s / n) as f32).collect();
        let std = self
            .sum
            .iter()
            .zip(&self.sum_of_squares)
            .map(|(s, q)| (((q - s * s / n) / (n - 1.0)).max(0.0)).sqrt() as f32)
            .collect();
        Ok(PixelBaseline {
            preprocess: self.preprocess,
            size,
            mean,
            std,
        })
    }
}

impl PixelBaseline {
    /// The baseline of one class from its normal training images,
    /// preprocessed by `preprocess` and added one by one; `progress` is told
    /// how many images each batch added.
    pub fn fit(
        normals: &ClassImages,
        preprocess: Preprocess,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Self, EvalError> {
        let mut fitter = PixelBaselineFitter::new(preprocess);
        for (_, samples) in normals.batches()? {
            for image in normals.images(samples, &preprocess)? {
                fitter.push(&image)?;
            }
            progress(samples.len());
        }
        fitter.finish()
    }

    /// The smoothed per-pixel anomaly map of one preprocessed image; its
    /// maximum is the image score.
    pub fn anomaly_map(&self, image: &Chw) -> Result<ScoreMap, EvalError> {
        check_size(self.size, MapSize::new(image.height, image.width))?;
        let area = image.height * image.width;
        let mut scores = vec![0.0f32; area];
        for channel in 0..3 {
            let range = channel * area..(channel + 1) * area;
            for (((score, &x), &m), &s) in scores
                .iter_mut()
                .zip(&image.data[range.clone()])
                .zip(&self.mean[range.clone()])
                .zip(&self.std[range])
            {
                *score = score.max((x - m).abs() / (s + BASELINE_EPS));
            }
        }
        let map = ScoreMap::new(self.size, scores)?;
        Ok(GaussianFilter::new(PADIM_SIGMA)?.apply(&map))
    }
}

impl MapDetector for PixelBaseline {
    fn preprocess(&self) -> &Preprocess {
        &self.preprocess
    }

    fn anomaly_maps(&self, images: &[&Chw]) -> Result<Vec<ScoreMap>, EvalError> {
        images.iter().map(|image| self.anomaly_map(image)).collect()
    }
}

fn check_size(fitted: MapSize, got: MapSize) -> Result<(), EvalError> {
    if fitted == got {
        Ok(())
    } else {
        Err(EvalError::BaselineSize {
            fitted: fitted.to_string(),
            got: got.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(values: [f32; 3], side: usize) -> Chw {
        let mut data = Vec::new();
        for value in values {
            data.extend(std::iter::repeat_n(value, side * side));
        }
        Chw {
            height: side,
            width: side,
            data,
        }
    }

    #[test]
    fn scores_the_largest_channel_deviation_in_standard_deviations() {
        let mut fitter = PixelBaselineFitter::new(Preprocess::default());
        fitter.push(&image([0.0, 0.0, 0.0], 4)).unwrap();
        fitter.push(&image([2.0, 0.0, 0.0], 4)).unwrap();
        let baseline = fitter.finish().unwrap();
        // Channel 0: mean 1, unbiased std sqrt(2); channels 1-2: mean 0, std 0.
        // A constant image stays constant under the smoothing.
        let map = baseline.anomaly_map(&image([1.0, 0.0, 0.5], 4)).unwrap();
        let expected = 0.5 / BASELINE_EPS;
        assert!(map.values().iter().all(|&v| (v - expected).abs() < 1e-3));
        assert_eq!(
            baseline.anomaly_map(&image([0.0; 3], 3)).unwrap_err(),
            EvalError::BaselineSize {
                fitted: "4x4 (height x width)".into(),
                got: "3x3 (height x width)".into()
            }
        );
    }

    #[test]
    fn one_image_is_too_few() {
        let mut fitter = PixelBaselineFitter::new(Preprocess::default());
        fitter.push(&image([0.0; 3], 2)).unwrap();
        assert_eq!(fitter.finish().unwrap_err(), EvalError::TooFewImages(1));
    }
}
