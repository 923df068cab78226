//! SmoothBlend, the local change SPD asks the network to spot (seed,
//! supplement C; SPEC "SPD pre-training"): one patch of 0.5%–1% of the image
//! area, aspect ratio 0.3–3, is cut from a random place of the image and
//! pasted at another random place of the same image through a soft alpha
//! mask, the patch's footprint smoothed by a Gaussian of σ = 8 px at 224 px.
//!
//! Decisions the seed leaves open:
//! - **Patch size.** The area fraction is drawn uniformly and the aspect
//!   ratio (width / height) log-uniformly, as torchvision's
//!   `RandomResizedCrop` draws its crops: log-uniform makes a ratio and its
//!   inverse equally likely, so wide and tall patches are balanced (uniform
//!   on [0.3, 3] would make 74% of them wide). Sides are rounded to whole
//!   pixels (halves to even) and a draw whose rounded patch leaves the ranges
//!   is drawn again, so every patch is within them exactly. After 100 misses
//!   (only on images of a few dozen pixels a side) one of the sizes that fit
//!   is chosen uniformly; an image with none is refused.
//! - **Places.** Both corners are uniform over the positions where the patch
//!   fits; the target is any position but the source's, so the image always
//!   changes. The two may overlap.
//! - **σ at other sizes.** σ scales with √(width · height) / 224, the image's
//!   linear size, as the patch's sides do, so the blur keeps its proportion to
//!   the patch on any image shape.
//! - **Alpha.** The rectangle's indicator convolved with the Gaussian (kernel
//!   cut at ⌈4σ⌉) is the product of two 1-D profiles. Blurring a footprint as
//!   small as 0.5–1% of the image with σ = 8 lowers its peak well below 1 (to
//!   about 0.47 for 16 × 16 px at 224), which would only half-paste the patch;
//!   so each profile is divided by its maximum and the mask peaks at exactly 1.
//! - **What is pasted.** The mask reaches ⌈4σ⌉ px beyond the rectangle, so
//!   the pasted layer is the whole image shifted by the patch's displacement
//!   (clamped at the image border): inside the rim the patch's own
//!   surroundings fade in and the result has no hard edge. Pixels where the
//!   mask is 0 are untouched; `out = (1 − α)·image + α·shifted`, so α = 1
//!   gives the source pixel exactly.

use serde::{Deserialize, Serialize};

use super::blur::gaussian_taps;
use super::crop::Rect;
use super::draw::{log_uniform, uniform};
use super::error::{check_image, check_interval, AugmentError};
use crate::data::RgbImage;
use crate::rng::Rng;

/// Unchecked SmoothBlend settings; the default is the seed's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SmoothBlendConfig {
    /// The patch's area as a fraction of the image's, `[low, high]`.
    pub area: [f64; 2],
    /// The patch's width / height, `[low, high]`.
    pub aspect: [f64; 2],
    /// The alpha mask's Gaussian standard deviation in pixels at an image of
    /// `reference_size`.
    pub sigma: f64,
    /// The linear image size, √(width · height), at which `sigma` holds.
    pub reference_size: f64,
}

impl Default for SmoothBlendConfig {
    /// The seed's: area 0.5%–1%, aspect 0.3–3, σ = 8 px at 224 px.
    fn default() -> Self {
        SmoothBlendConfig {
            area: [0.005, 0.01],
            aspect: [0.3, 3.0],
            sigma: 8.0,
            reference_size: 224.0,
        }
    }
}

impl SmoothBlendConfig {
    /// Validates the settings once.
    pub fn check(self) -> Result<SmoothBlend, AugmentError> {
        check_interval(
            "area",
            self.area,
            0.0,
            true,
            1.0,
            "an area fraction interval with 0 < low <= high <= 1 (the seed: [0.005, 0.01])",
        )?;
        check_interval(
            "aspect",
            self.aspect,
            0.0,
            true,
            f64::MAX,
            "an aspect-ratio interval with 0 < low <= high (the seed: [0.3, 3])",
        )?;
        for (field, value, expected) in [
            (
                "sigma",
                self.sigma,
                "a standard deviation in (0, 1000] pixels (the seed: 8)",
            ),
            (
                "reference_size",
                self.reference_size,
                "an image size in (0, 1000000] pixels (the seed: 224)",
            ),
        ] {
            let max = if field == "sigma" { 1e3 } else { 1e6 };
            if !(value.is_finite() && value > 0.0 && value <= max) {
                return Err(AugmentError::Setting {
                    field,
                    value: value.to_string(),
                    expected,
                });
            }
        }
        Ok(SmoothBlend { config: self })
    }
}

/// Checked SmoothBlend settings; the default is the seed's (which pass
/// `check`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SmoothBlend {
    config: SmoothBlendConfig,
}

/// A soft mask in [0, 1], one value per pixel, row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct AlphaMask {
    pub width: u32,
    pub height: u32,
    pub values: Vec<f32>,
}

/// One SmoothBlend draw: the image and how it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Blended {
    pub image: RgbImage<f32>,
    /// The mask the patch was pasted through; peak exactly 1, 0 beyond
    /// ⌈4σ⌉ px of `target`.
    pub alpha: AlphaMask,
    /// Where the patch was cut.
    pub source: Rect,
    /// Where it was pasted: the footprint the mask was made from.
    pub target: Rect,
    /// The Gaussian's σ in pixels at this image's size.
    pub sigma: f64,
}

impl SmoothBlend {
    pub fn config(&self) -> &SmoothBlendConfig {
        &self.config
    }

    /// σ in pixels for a `width` × `height` image.
    pub fn sigma_for(&self, width: u32, height: u32) -> f64 {
        let size = (f64::from(width) * f64::from(height)).sqrt();
        self.config.sigma * size / self.config.reference_size
    }

    /// Whether a `w` × `h` patch meets the settings on a `width` × `height`
    /// image.
    pub fn fits(&self, w: u32, h: u32, width: u32, height: u32) -> bool {
        let [area_low, area_high] = self.config.area;
        let [aspect_low, aspect_high] = self.config.aspect;
        let image = f64::from(width) * f64::from(height);
        let (wf, hf) = (f64::from(w), f64::from(h));
        (1..=width).contains(&w)
            && (1..=height).contains(&h)
            && area_low * image <= wf * hf
            && wf * hf <= area_high * image
            && aspect_low * hf <= wf
            && wf <= aspect_high * hf
    }

    /// Every patch size (width, height) that fits, widest last.
    fn sizes_that_fit(&self, width: u32, height: u32) -> Vec<(u32, u32)> {
        let image = f64::from(width) * f64::from(height);
        let mut sizes = Vec::new();
        for w in 1..=width {
            // Candidate heights from the area bounds, rounded outwards;
            // `fits` decides exactly.
            let low = (self.config.area[0] * image / f64::from(w))
                .floor()
                .max(1.0) as u32;
            let high = (self.config.area[1] * image / f64::from(w)).ceil() as u32;
            for h in low..=high.min(height) {
                if self.fits(w, h, width, height) {
                    sizes.push((w, h));
                }
            }
        }
        sizes
    }

    /// Draws the patch's size.
    pub fn patch_size(
        &self,
        width: u32,
        height: u32,
        rng: &mut Rng,
    ) -> Result<(u32, u32), AugmentError> {
        let image = f64::from(width) * f64::from(height);
        for _ in 0..100 {
            let area = image * uniform(rng, self.config.area);
            let aspect = log_uniform(rng, self.config.aspect);
            let w = (area * aspect).sqrt().round_ties_even();
            let h = (area / aspect).sqrt().round_ties_even();
            // Casts saturate, and `fits` rejects anything outside the image.
            if self.fits(w as u32, h as u32, width, height) {
                return Ok((w as u32, h as u32));
            }
        }
        let sizes = self.sizes_that_fit(width, height);
        if sizes.is_empty() {
            return Err(AugmentError::NoPatch {
                width,
                height,
                area_low: self.config.area[0],
                area_high: self.config.area[1],
                aspect_low: self.config.aspect[0],
                aspect_high: self.config.aspect[1],
            });
        }
        // At most width · height sizes, which `check_image` keeps below 2^32.
        Ok(sizes[rng.int(0, sizes.len() as u32 - 1) as usize])
    }

    /// Cuts one patch and pastes it elsewhere through the smoothed mask.
    pub fn apply(&self, image: &RgbImage<f32>, rng: &mut Rng) -> Result<Blended, AugmentError> {
        check_image(image)?;
        let (width, height) = (image.width, image.height);
        let (w, h) = self.patch_size(width, height, rng)?;
        let source = Rect {
            x: rng.int(0, width - w),
            y: rng.int(0, height - h),
            width: w,
            height: h,
        };
        // Positions are indexed row by row; the target skips the source's.
        let columns = width - w + 1;
        let positions = u64::from(columns) * u64::from(height - h + 1);
        let target = if positions == 1 {
            source
        } else {
            let source_index = u64::from(source.y) * u64::from(columns) + u64::from(source.x);
            // positions <= width · height <= u32::MAX (`check_image`).
            let mut index = u64::from(rng.int(0, (positions - 2) as u32));
            if index >= source_index {
                index += 1;
            }
            Rect {
                x: (index % u64::from(columns)) as u32,
                y: (index / u64::from(columns)) as u32,
                width: w,
                height: h,
            }
        };
        let sigma = self.sigma_for(width, height);
        // Taps farther than the image is long touch no pixel; the cut keeps
        // a huge σ (a tiny `reference_size`) from sizing the kernel.
        let taps = gaussian_taps(sigma, width.max(height));
        let across = profile(&taps, target.x, w, width);
        let down = profile(&taps, target.y, h, height);
        let mut values = vec![0.0f32; width as usize * height as usize];
        let mut pixels = image.pixels.clone();
        let (shift_x, shift_y) = (
            i64::from(target.x) - i64::from(source.x),
            i64::from(target.y) - i64::from(source.y),
        );
        let row = 3 * width as usize;
        for (y, &ay) in down.iter().enumerate().filter(|&(_, &a)| a > 0.0) {
            let from_y = (y as i64 - shift_y).clamp(0, i64::from(height) - 1) as usize;
            for (x, &ax) in across.iter().enumerate().filter(|&(_, &a)| a > 0.0) {
                let alpha = ax * ay;
                values[y * width as usize + x] = alpha;
                let from_x = (x as i64 - shift_x).clamp(0, i64::from(width) - 1) as usize;
                let (to, from) = (y * row + 3 * x, from_y * row + 3 * from_x);
                for c in 0..3 {
                    pixels[to + c] =
                        (1.0 - alpha) * image.pixels[to + c] + alpha * image.pixels[from + c];
                }
            }
        }
        Ok(Blended {
            image: RgbImage {
                width,
                height,
                pixels,
            },
            alpha: AlphaMask {
                width,
                height,
                values,
            },
            source,
            target,
            sigma,
        })
    }
}

/// The 1-D profile of a run of `length` ones from `start` on a line of `n`,
/// convolved with `taps` (odd length, centred) and divided by its maximum,
/// so it peaks at exactly 1; zero beyond the kernel's reach.
fn profile(taps: &[f64], start: u32, length: u32, n: u32) -> Vec<f32> {
    let radius = (taps.len() / 2) as i64;
    let (start, end) = (i64::from(start), i64::from(start) + i64::from(length));
    let mut sums = vec![0.0f64; n as usize];
    let first = (start - radius).max(0);
    let last = (end - 1 + radius).min(i64::from(n) - 1);
    for x in first..=last {
        // Ones at u in [start, end) within `radius` of x.
        let from = start.max(x - radius);
        let to = (end - 1).min(x + radius);
        sums[x as usize] = (from..=to).map(|u| taps[(x - u + radius) as usize]).sum();
    }
    let peak = sums.iter().copied().fold(0.0, f64::max);
    sums.iter().map(|&s| (s / peak) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_peak_at_one_in_the_middle_and_vanish_beyond_the_kernel() {
        // σ = 1: r = 4. A run of 3 at 10..13 on a line of 30.
        let taps = gaussian_taps(1.0, 100);
        let p = profile(&taps, 10, 3, 30);
        assert_eq!(p[11], 1.0);
        assert!(p[10] < 1.0 && (p[10] - p[12]).abs() < 1e-7);
        assert!(p[6] > 0.0 && p[16] > 0.0);
        assert_eq!((p[5], p[17]), (0.0, 0.0));
        // By hand: the sum at 11 is 1 + 2e^{-1/2}, at 10 it is
        // 1 + e^{-1/2} + e^{-2}.
        let e = |x: f64| (-0.5 * x * x).exp();
        let want = (1.0 + e(1.0) + e(2.0)) / (1.0 + 2.0 * e(1.0));
        assert!((f64::from(p[10]) - want).abs() < 1e-6);
        // A run at the border is cut off by the line, not wrapped.
        let edge = profile(&taps, 0, 2, 5);
        assert_eq!(edge.iter().copied().fold(0.0, f32::max), 1.0);
    }

    #[test]
    fn sizes_that_fit_by_hand() {
        let blend = SmoothBlend::default();
        // 10x10: 0.5–1 px, so only 1x1. 9x9: 0.405–0.81 px, none.
        assert_eq!(blend.sizes_that_fit(10, 10), [(1, 1)]);
        assert!(blend.sizes_that_fit(9, 9).is_empty());
        // 20x20: 2–4 px with aspect 0.3–3: 1x2, 1x3, 2x1, 2x2, 3x1.
        assert_eq!(
            blend.sizes_that_fit(20, 20),
            [(1, 2), (1, 3), (2, 1), (2, 2), (3, 1)]
        );
        let image = RgbImage {
            width: 9,
            height: 9,
            pixels: vec![0.0; 243],
        };
        assert!(matches!(
            blend.apply(&image, &mut Rng::new(0, 0)),
            Err(AugmentError::NoPatch { .. })
        ));
    }

    #[test]
    fn the_default_is_the_checked_seed_setting() {
        let checked = SmoothBlendConfig::default().check().unwrap();
        assert_eq!(checked, SmoothBlend::default());
        assert_eq!(checked.config().area, [0.005, 0.01]);
    }

    #[test]
    fn a_huge_sigma_is_cut_to_the_image() {
        // σ = 8 · 32 / 1e-6 px: the kernel is cut at 32 taps a side, and the
        // mask is nearly flat, still peaking at 1.
        let blend = SmoothBlendConfig {
            reference_size: 1e-6,
            ..SmoothBlendConfig::default()
        }
        .check()
        .unwrap();
        let image = RgbImage {
            width: 32,
            height: 32,
            pixels: vec![0.5; 3 * 32 * 32],
        };
        let out = blend.apply(&image, &mut Rng::new(0, 0)).unwrap();
        let values = &out.alpha.values;
        assert_eq!(values.iter().copied().fold(0.0, f32::max), 1.0);
        assert!(values.iter().all(|&a| a > 0.99));
    }

    #[test]
    fn sigma_scales_with_the_linear_size() {
        let blend = SmoothBlend::default();
        assert_eq!(blend.sigma_for(224, 224), 8.0);
        assert_eq!(blend.sigma_for(64, 64), 8.0 * 64.0 / 224.0);
        // 448x112 has the area of 224x224.
        assert_eq!(blend.sigma_for(448, 112), 8.0);
    }
}
