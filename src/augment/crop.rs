//! Cropping: torchvision's `RandomResizedCrop` (its parameter draw and
//! `F.resized_crop`) and the crop-and-resize both augmentations share.
//!
//! **Resize.** torchvision resizes float tensors bilinearly with
//! `antialias=True`, which was written to match PIL's resampling: a triangle
//! filter whose support widens by the reduction factor when shrinking, and
//! plain bilinear interpolation with pixel centres aligned
//! (`align_corners=False`) when enlarging. The `image` crate's `Triangle`
//! filter is that filter, so it is used here; like it, it keeps values in
//! [0, 1] (the `image` crate clamps float pixels to that range).

use image::imageops::{self, FilterType};
use serde::{Deserialize, Serialize};

use super::draw::{log_uniform, uniform};
use super::error::{check_image, AugmentError};
use crate::data::RgbImage;
use crate::rng::Rng;

/// An axis-aligned rectangle of whole pixels; `x`, `y` is its top-left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    /// Pixels covered.
    pub fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// Width over height.
    pub fn aspect(&self) -> f64 {
        f64::from(self.width) / f64::from(self.height)
    }

    /// Whether pixel (`x`, `y`) lies inside.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x && y >= self.y && x - self.x < self.width && y - self.y < self.height
    }

    /// Whether the rectangle is non-empty and lies inside a
    /// `width` × `height` image.
    pub fn fits(&self, width: u32, height: u32) -> bool {
        self.width > 0
            && self.height > 0
            && u64::from(self.x) + u64::from(self.width) <= u64::from(width)
            && u64::from(self.y) + u64::from(self.height) <= u64::from(height)
    }
}

/// torchvision's `RandomResizedCrop.get_params`: up to 10 tries of an area
/// fraction uniform in `scale` and an aspect ratio (width / height)
/// log-uniform in `ratio`, sides `round(√(area·ratio))` and
/// `round(√(area/ratio))` (Python's round, halves to even), kept if they fit;
/// the position is uniform. When no try fits: the centre crop of the whole
/// image narrowed to the nearest ratio in range.
///
/// `scale` and `ratio` are meant as checked intervals (`0 < low <= high`,
/// as the configs check); other values give the fallback crop, never a panic.
pub fn random_resized_crop(
    width: u32,
    height: u32,
    scale: [f64; 2],
    ratio: [f64; 2],
    rng: &mut Rng,
) -> Rect {
    let area = f64::from(width) * f64::from(height);
    for _ in 0..10 {
        let target = area * uniform(rng, scale);
        let aspect = log_uniform(rng, ratio);
        let w = (target * aspect).sqrt().round_ties_even();
        let h = (target / aspect).sqrt().round_ties_even();
        if 0.0 < w && w <= f64::from(width) && 0.0 < h && h <= f64::from(height) {
            let (w, h) = (w as u32, h as u32);
            return Rect {
                y: rng.int(0, height - h),
                x: rng.int(0, width - w),
                width: w,
                height: h,
            };
        }
    }
    let in_ratio = f64::from(width) / f64::from(height);
    let (w, h) = if in_ratio < ratio[0] {
        let h = (f64::from(width) / ratio[0]).round_ties_even() as u32;
        (width, h.clamp(1, height))
    } else if in_ratio > ratio[1] {
        let w = (f64::from(height) * ratio[1]).round_ties_even() as u32;
        (w.clamp(1, width), height)
    } else {
        (width, height)
    };
    Rect {
        x: (width - w) / 2,
        y: (height - h) / 2,
        width: w,
        height: h,
    }
}

/// Cuts `rect` out of `image` and resizes it to `width` × `height`
/// (torchvision's `F.resized_crop` with bilinear, antialiased resampling).
pub fn crop_resize(
    image: &RgbImage<f32>,
    rect: Rect,
    width: u32,
    height: u32,
) -> Result<RgbImage<f32>, AugmentError> {
    check_image(image)?;
    if !rect.fits(image.width, image.height) {
        return Err(AugmentError::Setting {
            field: "rect",
            value: format!("{rect:?}"),
            expected: "a non-empty rectangle inside the image",
        });
    }
    if width == 0 || height == 0 || u64::from(width) * u64::from(height) > u64::from(u32::MAX) {
        return Err(AugmentError::Setting {
            field: "size",
            value: format!("{width}x{height}"),
            expected: "at least 1x1 and at most 2^32 - 1 pixels",
        });
    }
    let row = 3 * image.width as usize;
    let mut cut = Vec::with_capacity(3 * rect.area() as usize);
    for y in rect.y..rect.y + rect.height {
        let start = y as usize * row + 3 * rect.x as usize;
        cut.extend_from_slice(&image.pixels[start..start + 3 * rect.width as usize]);
    }
    if (rect.width, rect.height) == (width, height) {
        return Ok(RgbImage {
            width,
            height,
            pixels: cut,
        });
    }
    let got = cut.len();
    let cut: image::Rgb32FImage = image::ImageBuffer::from_raw(rect.width, rect.height, cut)
        .ok_or(AugmentError::Shape {
            width: rect.width,
            height: rect.height,
            expected: 3 * u128::from(rect.area()),
            got,
        })?;
    let resized = imageops::resize(&cut, width, height, FilterType::Triangle);
    Ok(RgbImage {
        width,
        height,
        pixels: resized.into_raw(),
    })
}

/// Whether `[low, high]` is usable as a crop `scale` or `ratio`.
pub(crate) fn check_crop_intervals(
    scale_field: &'static str,
    scale: [f64; 2],
    ratio_field: &'static str,
    ratio: [f64; 2],
) -> Result<(), AugmentError> {
    super::error::check_interval(
        scale_field,
        scale,
        0.0,
        true,
        1.0,
        "an area fraction interval with 0 < low <= high <= 1 (SimSiam: [0.2, 1])",
    )?;
    super::error::check_interval(
        ratio_field,
        ratio,
        0.0,
        true,
        f64::MAX,
        "an aspect-ratio interval with 0 < low <= high (SimSiam: [0.75, 1.3333])",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rect_geometry() {
        let rect = Rect {
            x: 2,
            y: 1,
            width: 3,
            height: 2,
        };
        assert_eq!((rect.area(), rect.aspect()), (6, 1.5));
        assert!(rect.contains(2, 1) && rect.contains(4, 2));
        assert!(!rect.contains(5, 2) && !rect.contains(4, 3) && !rect.contains(1, 1));
        assert!(rect.fits(5, 3) && !rect.fits(4, 3) && !rect.fits(5, 2));
    }

    #[test]
    fn random_resized_crops_fit_and_follow_the_scale() {
        let mut rng = Rng::new(1, 0);
        for _ in 0..2000 {
            let rect = random_resized_crop(64, 48, [0.2, 1.0], [0.75, 4.0 / 3.0], &mut rng);
            assert!(rect.fits(64, 48), "{rect:?}");
            // Rounding each side by at most ½ px moves the area by < 1.5%.
            let fraction = rect.area() as f64 / (64.0 * 48.0);
            assert!((0.19..=1.0).contains(&fraction), "{rect:?}");
        }
    }

    #[test]
    fn enlarging_is_bilinear_with_centres_aligned() {
        // PyTorch's bilinear (align_corners=False) doubling 0, 1 samples at
        // −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
        let two = RgbImage {
            width: 2,
            height: 1,
            pixels: vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
        };
        let whole = Rect {
            x: 0,
            y: 0,
            width: 2,
            height: 1,
        };
        let out = crop_resize(&two, whole, 4, 1).unwrap();
        let red: Vec<f32> = out.pixels.iter().step_by(3).copied().collect();
        for (got, want) in red.iter().zip([0.0, 0.25, 0.75, 1.0]) {
            assert!((got - want).abs() < 1e-6, "{red:?}");
        }
    }

    #[test]
    fn impossible_ratios_fall_back_to_the_centre_crop() {
        // A 100x10 image cannot hold any crop of ratio 1 and scale 0.5–1
        // (a square of 500–1000 px needs a side of 22–32 > 10), so the
        // fallback narrows the whole image to ratio 1: 10x10 at x = 45.
        let mut rng = Rng::new(1, 0);
        let rect = random_resized_crop(100, 10, [0.5, 1.0], [1.0, 1.0], &mut rng);
        assert_eq!(
            rect,
            Rect {
                x: 45,
                y: 0,
                width: 10,
                height: 10
            }
        );
        // Ratio 2–3 on a 10x100 image: too narrow, so the full width and
        // height round(10 / 2) = 5, centred at y = (100 - 5) / 2 = 47.
        let rect = random_resized_crop(10, 100, [0.9, 1.0], [2.0, 3.0], &mut rng);
        assert_eq!(
            rect,
            Rect {
                x: 0,
                y: 47,
                width: 10,
                height: 5
            }
        );
    }
}
