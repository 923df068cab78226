//! Colour operations as torchvision defines them for float tensors
//! (`torchvision.transforms.functional_tensor`, which `ColorJitter` and
//! `RandomGrayscale` call on a tensor image in [0, 1]):
//!
//! - grey level `l = 0.2989 r + 0.587 g + 0.114 b` (`rgb_to_grayscale`);
//! - every adjustment is a blend `clamp(f·img + (1 − f)·other, 0, 1)`:
//!   brightness with black, contrast with the image's mean grey level (one
//!   number per image), saturation with the pixel's own grey level;
//! - hue: to HSV, `h ← (h + f) mod 1`, back to RGB, with torchvision's own
//!   conversion formulas (`_rgb2hsv`, `_hsv2rgb`).
//!
//! [`ColorJitter`] draws, per image, a random order of the four and factors
//! uniform in `[max(0, 1 − s), 1 + s]` (hue: `[−s, s]`), as torchvision's
//! `ColorJitter.get_params` does; an op of strength 0 is skipped, as there.

use serde::{Deserialize, Serialize};

use super::draw::{permutation, uniform};
use super::error::{check_image, AugmentError};
use crate::data::RgbImage;
use crate::rng::Rng;

/// torchvision's luma weights (ITU-R 601-2).
fn grey(p: &[f32]) -> f32 {
    0.2989 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

fn map_pixels(
    image: &RgbImage<f32>,
    mut f: impl FnMut(&[f32], &mut [f32]),
) -> Result<RgbImage<f32>, AugmentError> {
    check_image(image)?;
    let mut pixels = vec![0.0; image.pixels.len()];
    for (from, to) in image.pixels.chunks_exact(3).zip(pixels.chunks_exact_mut(3)) {
        f(from, to);
    }
    Ok(RgbImage {
        width: image.width,
        height: image.height,
        pixels,
    })
}

fn blend(value: f32, other: f32, factor: f32) -> f32 {
    (factor * value + (1.0 - factor) * other).clamp(0.0, 1.0)
}

/// Scales every value by `factor` (`F.adjust_brightness`).
pub fn adjust_brightness(
    image: &RgbImage<f32>,
    factor: f32,
) -> Result<RgbImage<f32>, AugmentError> {
    map_pixels(image, |from, to| {
        for c in 0..3 {
            to[c] = blend(from[c], 0.0, factor);
        }
    })
}

/// Blends with the image's mean grey level (`F.adjust_contrast`).
pub fn adjust_contrast(image: &RgbImage<f32>, factor: f32) -> Result<RgbImage<f32>, AugmentError> {
    check_image(image)?;
    // Summed in f64: a 1.5k px image has millions of terms.
    let sum: f64 = image
        .pixels
        .chunks_exact(3)
        .map(|p| f64::from(grey(p)))
        .sum();
    let mean = (sum / (image.pixels.len() / 3) as f64) as f32;
    map_pixels(image, |from, to| {
        for c in 0..3 {
            to[c] = blend(from[c], mean, factor);
        }
    })
}

/// Blends each pixel with its grey level (`F.adjust_saturation`).
pub fn adjust_saturation(
    image: &RgbImage<f32>,
    factor: f32,
) -> Result<RgbImage<f32>, AugmentError> {
    map_pixels(image, |from, to| {
        let l = grey(from);
        for c in 0..3 {
            to[c] = blend(from[c], l, factor);
        }
    })
}

/// Rotates the hue by `factor` turns, `factor` in [−0.5, 0.5]
/// (`F.adjust_hue`).
pub fn adjust_hue(image: &RgbImage<f32>, factor: f32) -> Result<RgbImage<f32>, AugmentError> {
    if !(-0.5..=0.5).contains(&factor) {
        return Err(AugmentError::Setting {
            field: "hue factor",
            value: factor.to_string(),
            expected: "in [-0.5, 0.5] (a fraction of a turn of the colour wheel)",
        });
    }
    map_pixels(image, |from, to| {
        let (h, s, v) = rgb_to_hsv(from);
        to.copy_from_slice(&hsv_to_rgb((h + factor).rem_euclid(1.0), s, v));
    })
}

/// The grey level replicated to three channels
/// (`F.rgb_to_grayscale(img, num_output_channels=3)`).
pub fn grayscale(image: &RgbImage<f32>) -> Result<RgbImage<f32>, AugmentError> {
    map_pixels(image, |from, to| to.fill(grey(from)))
}

/// torchvision's `_rgb2hsv` for one pixel: hue in [0, 1).
fn rgb_to_hsv(p: &[f32]) -> (f32, f32, f32) {
    let (r, g, b) = (p[0], p[1], p[2]);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    if max == min {
        // Grey: torchvision's masks give h = fmod(0/6 + 1, 1) = 0, and s = 0.
        return (0.0, 0.0, max);
    }
    let range = max - min;
    let s = range / max;
    let (rc, gc, bc) = ((max - r) / range, (max - g) / range, (max - b) / range);
    let h = if max == r {
        bc - gc
    } else if max == g {
        2.0 + rc - bc
    } else {
        4.0 + gc - rc
    };
    // torch.fmod keeps the sign of the dividend; h/6 + 1 > 0 here.
    (((h / 6.0) + 1.0) % 1.0, s, max)
}

/// torchvision's `_hsv2rgb` for one pixel.
fn hsv_to_rgb(h: f32, s: f32, v: f32) -> [f32; 3] {
    let i = (h * 6.0).floor();
    let f = h * 6.0 - i;
    let p = (v * (1.0 - s)).clamp(0.0, 1.0);
    let q = (v * (1.0 - s * f)).clamp(0.0, 1.0);
    let t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0);
    match (i as i32).rem_euclid(6) {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

/// Unchecked strengths of torchvision's `ColorJitter`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ColorJitterConfig {
    /// Factor range `[max(0, 1 − b), 1 + b]`; `b >= 0`.
    pub brightness: f64,
    /// Factor range `[max(0, 1 − c), 1 + c]`; `c >= 0`.
    pub contrast: f64,
    /// Factor range `[max(0, 1 − s), 1 + s]`; `s >= 0`.
    pub saturation: f64,
    /// Hue shift range `[−h, h]` in turns; `0 <= h <= 0.5`.
    pub hue: f64,
}

/// Checked [`ColorJitterConfig`], with its factor ranges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColorJitter {
    config: ColorJitterConfig,
}

/// The factors one draw of [`ColorJitter`] applies, in `order`
/// (0 brightness, 1 contrast, 2 saturation, 3 hue); `None` for an op of
/// strength 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JitterDraw {
    pub order: [usize; 4],
    pub factors: [Option<f32>; 4],
}

impl ColorJitterConfig {
    /// Checks the strengths.
    pub fn check(self) -> Result<ColorJitter, AugmentError> {
        self.check_as(["brightness", "contrast", "saturation", "hue"])
    }

    /// Checks the strengths, naming them `fields` in errors (a pipeline's
    /// `jitter.hue`).
    pub(crate) fn check_as(self, fields: [&'static str; 4]) -> Result<ColorJitter, AugmentError> {
        for (field, value) in
            fields
                .into_iter()
                .zip([self.brightness, self.contrast, self.saturation])
        {
            if !(value.is_finite() && value >= 0.0) {
                return Err(AugmentError::Setting {
                    field,
                    value: value.to_string(),
                    expected: "a finite strength >= 0 (SimSiam: 0.4, the weak view: 0.1)",
                });
            }
        }
        if !(0.0..=0.5).contains(&self.hue) {
            return Err(AugmentError::Setting {
                field: fields[3],
                value: self.hue.to_string(),
                expected: "a hue strength in [0, 0.5] (SimSiam: 0.1, the weak view: 0.05)",
            });
        }
        Ok(ColorJitter { config: self })
    }
}

impl ColorJitter {
    pub fn config(&self) -> &ColorJitterConfig {
        &self.config
    }

    /// Draws an order and the four factors.
    pub fn draw(&self, rng: &mut Rng) -> JitterDraw {
        let order = permutation::<4>(rng);
        let c = &self.config;
        let around_one = |rng: &mut Rng, s: f64| {
            (s > 0.0).then(|| uniform(rng, [(1.0 - s).max(0.0), 1.0 + s]) as f32)
        };
        let brightness = around_one(rng, c.brightness);
        let contrast = around_one(rng, c.contrast);
        let saturation = around_one(rng, c.saturation);
        let hue = (c.hue > 0.0).then(|| uniform(rng, [-c.hue, c.hue]) as f32);
        JitterDraw {
            order,
            factors: [brightness, contrast, saturation, hue],
        }
    }

    /// Applies one draw.
    pub fn apply(
        &self,
        image: &RgbImage<f32>,
        rng: &mut Rng,
    ) -> Result<RgbImage<f32>, AugmentError> {
        self.draw(rng).apply(image)
    }
}

impl JitterDraw {
    /// Applies the factors in their order.
    pub fn apply(&self, image: &RgbImage<f32>) -> Result<RgbImage<f32>, AugmentError> {
        check_image(image)?;
        let mut image = image.clone();
        for &op in &self.order {
            // The fields are public, so the order may name no op.
            let Some(&factor) = self.factors.get(op) else {
                return Err(AugmentError::Setting {
                    field: "order",
                    value: format!("{:?}", self.order),
                    expected: "op numbers 0-3 (brightness, contrast, saturation, hue)",
                });
            };
            if let Some(factor) = factor {
                image = match op {
                    0 => adjust_brightness(&image, factor)?,
                    1 => adjust_contrast(&image, factor)?,
                    2 => adjust_saturation(&image, factor)?,
                    _ => adjust_hue(&image, factor)?,
                };
            }
        }
        Ok(image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(r: f32, g: f32, b: f32) -> RgbImage<f32> {
        RgbImage {
            width: 1,
            height: 1,
            pixels: vec![r, g, b],
        }
    }

    #[test]
    fn hsv_round_trips_and_matches_hand_values() {
        // Pure red: h 0, s 1, v 1. (0.2, 0.4, 0.8): max b, range 0.6,
        // rc = 1, gc = 2/3, h = (4 + 2/3 - 1) / 6 = 11/18, s = 0.75.
        assert_eq!(rgb_to_hsv(&[1.0, 0.0, 0.0]), (0.0, 1.0, 1.0));
        let (h, s, v) = rgb_to_hsv(&[0.2, 0.4, 0.8]);
        assert!((h - 11.0 / 18.0).abs() < 1e-6 && (s - 0.75).abs() < 1e-6 && v == 0.8);
        for p in [
            [0.2f32, 0.4, 0.8],
            [0.9, 0.1, 0.5],
            [0.3, 0.3, 0.1],
            [0.5; 3],
        ] {
            let (h, s, v) = rgb_to_hsv(&p);
            let back = hsv_to_rgb(h, s, v);
            for c in 0..3 {
                assert!((back[c] - p[c]).abs() < 1e-6, "{p:?} -> {back:?}");
            }
        }
    }

    #[test]
    fn zero_strength_ops_are_skipped() {
        let jitter = ColorJitterConfig {
            brightness: 0.0,
            contrast: 0.0,
            saturation: 0.0,
            hue: 0.0,
        }
        .check()
        .unwrap();
        let draw = jitter.draw(&mut Rng::new(1, 1));
        assert_eq!(draw.factors, [None; 4]);
        let image = pixel(0.1, 0.2, 0.3);
        assert_eq!(draw.apply(&image).unwrap(), image);
    }

    #[test]
    fn an_order_naming_no_op_is_refused() {
        let draw = JitterDraw {
            order: [0, 1, 2, 7],
            factors: [None, None, None, Some(0.1)],
        };
        let error = draw.apply(&pixel(0.1, 0.2, 0.3)).unwrap_err().to_string();
        assert!(error.starts_with("`order` is [0, 1, 2, 7]"), "{error}");
    }

    #[test]
    fn factors_stay_in_torchvision_ranges() {
        let jitter = ColorJitterConfig {
            brightness: 0.4,
            contrast: 1.5,
            saturation: 0.1,
            hue: 0.1,
        }
        .check()
        .unwrap();
        let mut rng = Rng::new(2, 0);
        for _ in 0..1000 {
            let [b, c, s, h] = jitter.draw(&mut rng).factors.map(Option::unwrap);
            assert!((0.6..1.4).contains(&b));
            assert!((0.0..2.5).contains(&c)); // max(0, 1 - 1.5) = 0
            assert!((0.9..1.1).contains(&s));
            assert!((-0.1..0.1).contains(&h));
        }
    }
}
