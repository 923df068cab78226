//! The steps both view augmentations take after their crop, in SimSiam's
//! order (`RandomApply(ColorJitter, p)`, `RandomGrayscale(p)`,
//! `RandomApply(GaussianBlur, p)`, `RandomHorizontalFlip(p)`), which is also
//! the order the seed lists the weak view's steps in.

use super::blur::{check_blur_sigma, gaussian_blur};
use super::colour::{grayscale, ColorJitter, ColorJitterConfig, JitterDraw};
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
    pub fn draw(&self, rng: &mut Rng) -> PhotometricDraw {
        PhotometricDraw {
            jitter: chance(rng, self.jitter_p).then(|| self.jitter.draw(rng)),
            grayscale: chance(rng, self.grayscale_p),
            blur_sigma: chance(rng, self.blur_p).then(|| uniform(rng, self.blur_sigma)),
            flip: chance(rng, self.flip_p),
        }
    }

    /// The steps of one draw applied to `image`.
    pub fn apply(
        &self,
        image: RgbImage<f32>,
        rng: &mut Rng,
    ) -> Result<RgbImage<f32>, AugmentError> {
        self.draw(rng).apply(image)
    }
}

/// Which steps fire for one view, with their parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PhotometricDraw {
    pub jitter: Option<JitterDraw>,
    pub grayscale: bool,
    pub blur_sigma: Option<f64>,
    pub flip: bool,
}

impl PhotometricDraw {
    fn apply(&self, mut image: RgbImage<f32>) -> Result<RgbImage<f32>, AugmentError> {
        if let Some(jitter) = &self.jitter {
            image = jitter.apply(&image)?;
        }
        if self.grayscale {
            image = grayscale(&image)?;
        }
        if let Some(sigma) = self.blur_sigma {
            image = gaussian_blur(&image, sigma)?;
        }
        if self.flip {
            image = hflip(&image)?;
        }
        Ok(image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::augment::{StrongAugmentConfig, WeakAugmentConfig};

    /// How often each step fires over `DRAWS` seeded draws, against its
    /// probability within the binomial 99.9% margin (3.29 standard errors).
    fn assert_rates(steps: &Photometric, expected: [f64; 4]) {
        const DRAWS: usize = 10_000;
        let mut fired = [0usize; 4];
        for index in 0..DRAWS as u64 {
            let draw = steps.draw(&mut Rng::new(11, index));
            let flags = [
                draw.jitter.is_some(),
                draw.grayscale,
                draw.blur_sigma.is_some(),
                draw.flip,
            ];
            for (count, flag) in fired.iter_mut().zip(flags) {
                *count += usize::from(flag);
            }
        }
        for (step, (&count, p)) in ["jitter", "grayscale", "blur", "flip"]
            .iter()
            .zip(fired.iter().zip(expected))
        {
            let rate = count as f64 / DRAWS as f64;
            let margin = 3.29 * (p * (1.0 - p) / DRAWS as f64).sqrt();
            assert!(
                (rate - p).abs() <= margin,
                "{step}: fired {rate} of the time, expected {p} ± {margin}"
            );
        }
    }

    #[test]
    fn the_weak_view_fires_jitter_blur_and_flip_at_the_seed_rates() {
        let weak = WeakAugmentConfig::default().check().unwrap();
        assert_rates(&weak.steps, [0.8, 0.0, 0.5, 0.5]);
    }

    #[test]
    fn the_strong_view_fires_at_simsiam_rates() {
        let strong = StrongAugmentConfig::simsiam(64).check().unwrap();
        assert_rates(&strong.steps, [0.8, 0.2, 0.5, 0.5]);
    }
}
