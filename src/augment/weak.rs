//! The weak global augmentation of SPD's positive pair (seed, supplement C;
//! SPEC "SPD pre-training"): a random crop keeping 90%–100% of the area,
//! resized back to the input size; colour jitter (brightness 0.1, contrast
//! 0.1, saturation 0.1, hue 0.05) with probability 0.8; Gaussian blur with σ
//! in [0.1, 0.3] with probability 0.5; horizontal flip with probability 0.5
//! (the seed gives no probability for the flip; 0.5 is torchvision's).
//!
//! **The crop keeps the image's aspect ratio**: it is torchvision's
//! `RandomResizedCrop(size=input, scale=(0.9, 1), ratio=(w/h, w/h))`. With
//! torchvision's default ratio range (3/4–4/3) a crop of ≥ 90% of the area
//! rarely fits, and the fallback would return the whole image most of the
//! time, so "a crop of 90%–100% of the area" is read with the ratio fixed.
//! Sides are rounded to whole pixels, so the kept area is within a pixel row
//! and column of the drawn fraction.

use serde::{Deserialize, Serialize};

use super::colour::ColorJitterConfig;
use super::crop::{crop_resize, random_resized_crop};
use super::error::{check_image, check_interval, AugmentError};
use super::photometric::Photometric;
use crate::data::RgbImage;
use crate::rng::Rng;

/// Unchecked weak-augmentation settings; the default is the seed's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WeakAugmentConfig {
    /// Fraction of the area the crop keeps, `[low, high]`.
    pub crop_area: [f64; 2],
    pub jitter: ColorJitterConfig,
    /// Probability of applying the colour jitter.
    pub jitter_p: f64,
    /// Range of the blur's σ in pixels, `[low, high]`.
    pub blur_sigma: [f64; 2],
    /// Probability of blurring.
    pub blur_p: f64,
    /// Probability of a horizontal flip.
    pub flip_p: f64,
}

impl Default for WeakAugmentConfig {
    fn default() -> Self {
        WeakAugmentConfig {
            crop_area: [0.9, 1.0],
            jitter: ColorJitterConfig {
                brightness: 0.1,
                contrast: 0.1,
                saturation: 0.1,
                hue: 0.05,
            },
            jitter_p: 0.8,
            blur_sigma: [0.1, 0.3],
            blur_p: 0.5,
            flip_p: 0.5,
        }
    }
}

impl WeakAugmentConfig {
    /// Validates the settings once.
    pub fn check(self) -> Result<WeakAugment, AugmentError> {
        check_interval(
            "crop_area",
            self.crop_area,
            0.0,
            true,
            1.0,
            "an area fraction interval with 0 < low <= high <= 1 (the seed: [0.9, 1])",
        )?;
        // The weak view of the seed has no grayscale step.
        let steps = Photometric::check(
            self.jitter,
            self.jitter_p,
            0.0,
            self.blur_sigma,
            self.blur_p,
            self.flip_p,
        )?;
        Ok(WeakAugment {
            config: self,
            steps,
        })
    }
}

/// Checked weak augmentation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeakAugment {
    config: WeakAugmentConfig,
    pub(super) steps: Photometric,
}

impl WeakAugment {
    pub fn config(&self) -> &WeakAugmentConfig {
        &self.config
    }

    /// One weak view, the size of the input.
    pub fn apply(
        &self,
        image: &RgbImage<f32>,
        rng: &mut Rng,
    ) -> Result<RgbImage<f32>, AugmentError> {
        check_image(image)?;
        let (width, height) = (image.width, image.height);
        let ratio = f64::from(width) / f64::from(height);
        let rect = random_resized_crop(width, height, self.config.crop_area, [ratio, ratio], rng);
        let cropped = crop_resize(image, rect, width, height)?;
        self.steps.apply(cropped, rng)
    }
}
