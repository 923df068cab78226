//! The steps both view augmentations take after their crop, in SimSiam's
//! order (`RandomApply(ColorJitter, p)`, `RandomGrayscale(p)`,
//! `RandomApply(GaussianBlur, p)`, `RandomHorizontalFlip(p)`), which is also
//! the order the seed lists the weak view's steps in.

use super::blur::gaussian_blur;
use super::colour::{grayscale, ColorJitter};
use super::draw::{chance, uniform};
use super::error::AugmentError;
use super::flip::hflip;
use crate::data::synth::Rng;
use crate::data::RgbImage;

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
