//! The strong view augmentation of the contrastive baselines (SPEC
//! "SPD pre-training": every baseline hyper-parameter stays the baseline's).
//! SimSiam's, which is MoCo v2's (`aug_plus`):
//! `RandomResizedCrop(size, scale=(0.2, 1))` (ratio 3/4–4/3),
//! `RandomApply(ColorJitter(0.4, 0.4, 0.4, 0.1), p=0.8)`,
//! `RandomGrayscale(p=0.2)`, `RandomApply(GaussianBlur(σ ∈ [0.1, 2]), p=0.5)`,
//! `RandomHorizontalFlip()`. SimCLR's paper (appendix A) uses a wider crop
//! scale (0.08–1) and stronger jitter (0.8, 0.8, 0.8, 0.2); see
//! [`StrongAugmentConfig::simclr`].

use serde::{Deserialize, Serialize};

use super::colour::ColorJitterConfig;
use super::crop::{check_crop_intervals, crop_resize, random_resized_crop};
use super::error::{check_image, AugmentError};
use super::photometric::Photometric;
use crate::data::RgbImage;
use crate::rng::Rng;

/// Unchecked strong-augmentation settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StrongAugmentConfig {
    /// Side of the square output (224 in the papers).
    pub size: u32,
    /// Area fraction of the crop, `[low, high]`.
    pub crop_scale: [f64; 2],
    /// Aspect ratio (width / height) of the crop, `[low, high]`.
    pub crop_ratio: [f64; 2],
    pub jitter: ColorJitterConfig,
    pub jitter_p: f64,
    pub grayscale_p: f64,
    /// Range of the blur's σ in pixels, `[low, high]`.
    pub blur_sigma: [f64; 2],
    pub blur_p: f64,
    pub flip_p: f64,
}

impl StrongAugmentConfig {
    /// SimSiam's (and MoCo v2's) augmentation with a `size` × `size` output.
    pub fn simsiam(size: u32) -> Self {
        StrongAugmentConfig {
            size,
            crop_scale: [0.2, 1.0],
            crop_ratio: [3.0 / 4.0, 4.0 / 3.0],
            jitter: ColorJitterConfig {
                brightness: 0.4,
                contrast: 0.4,
                saturation: 0.4,
                hue: 0.1,
            },
            jitter_p: 0.8,
            grayscale_p: 0.2,
            blur_sigma: [0.1, 2.0],
            blur_p: 0.5,
            flip_p: 0.5,
        }
    }

    /// SimCLR's (colour distortion strength 1): crop scale 0.08–1, jitter
    /// 0.8/0.8/0.8/0.2; otherwise as SimSiam.
    pub fn simclr(size: u32) -> Self {
        StrongAugmentConfig {
            crop_scale: [0.08, 1.0],
            jitter: ColorJitterConfig {
                brightness: 0.8,
                contrast: 0.8,
                saturation: 0.8,
                hue: 0.2,
            },
            ..Self::simsiam(size)
        }
    }

    /// Validates the settings once.
    pub fn check(self) -> Result<StrongAugment, AugmentError> {
        if !(1..=16_384).contains(&self.size) {
            return Err(AugmentError::Setting {
                field: "size",
                value: self.size.to_string(),
                expected: "an output side of 1 to 16384 pixels (the papers: 224)",
            });
        }
        check_crop_intervals("crop_scale", self.crop_scale, "crop_ratio", self.crop_ratio)?;
        let steps = Photometric::check(
            self.jitter,
            self.jitter_p,
            self.grayscale_p,
            self.blur_sigma,
            self.blur_p,
            self.flip_p,
        )?;
        Ok(StrongAugment {
            config: self,
            steps,
        })
    }
}

/// Checked strong augmentation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrongAugment {
    config: StrongAugmentConfig,
    pub(super) steps: Photometric,
}

impl StrongAugment {
    pub fn config(&self) -> &StrongAugmentConfig {
        &self.config
    }

    /// One strong view, `size` × `size`.
    pub fn apply(
        &self,
        image: &RgbImage<f32>,
        rng: &mut Rng,
    ) -> Result<RgbImage<f32>, AugmentError> {
        check_image(image)?;
        let c = &self.config;
        let rect = random_resized_crop(image.width, image.height, c.crop_scale, c.crop_ratio, rng);
        let cropped = crop_resize(image, rect, c.size, c.size)?;
        self.steps.apply(cropped, rng)
    }
}
