//! The steps both view augmentations take after their crop, in SimSiam's
//! order (`RandomApply(ColorJitter, p)`, `RandomGrayscale(p)`,
//! `RandomApply(GaussianBlur, p)`, `RandomHorizontalFlip(p)`), which is also
//! the order the seed lists the weak view's steps in.

use super::blur::{check_blur_sigma, gaussian_blur};
use super::colour::{grayscale, ColorJitter, ColorJitterConfig};
use super::draw::{chance, uniform};
use super::error::{check_probability, AugmentError};
use super::flip::hflip;
use crate::data::RgbImage;
use crate::rng::Rng;

/// Checked photometric steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Photometric {
    pub jitter: ColorJitter,
    pub jitter_p: f64,
    pub grayscale_p: f64,
    pub blur_sigma: [f64; 2],
    pub blur_p: f64,
    pub flip_p: f64,
}

impl Photometric {
    /// Checks the settings both views share, naming each field as the view's
    /// config does.
    pub fn check(
        jitter: ColorJitterConfig,
        jitter_p: f64,
        grayscale_p: f64,
        blur_sigma: [f64; 2],
        blur_p: f64,
        flip_p: f64,
    ) -> Result<Self, AugmentError> {
        let jitter = jitter.check_as([
            "jitter.brightness",
            "jitter.contrast",
            "jitter.saturation",
            "jitter.hue",
        ])?;
        check_probability("jitter_p", jitter_p)?;
        check_probability("grayscale_p", grayscale_p)?;
        check_blur_sigma(blur_sigma)?;
        check_probability("blur_p", blur_p)?;
        check_probability("flip_p", flip_p)?;
        Ok(Self {
            jitter,
            jitter_p,
            grayscale_p,
            blur_sigma,
            blur_p,
            flip_p,
        })
    }

    /// Each step draws its coin (and then its parameters) in turn, so a
    /// seed fixes the whole chain.
    pub fn apply(
        &self,
        mut image: RgbImage<f32>,
        rng: &mut Rng,
    ) -> Result<RgbImage<f32>, AugmentError> {
        if chance(rng, self.jitter_p) {
            image = self.jitter.apply(&image, rng)?;
        }
        if chance(rng, self.grayscale_p) {
            image = grayscale(&image)?;
        }
        if chance(rng, self.blur_p) {
            image = gaussian_blur(&image, uniform(rng, self.blur_sigma))?;
        }
        if chance(rng, self.flip_p) {
            image = hflip(&image)?;
        }
        Ok(image)
    }
}
