//! The input transform PaDiM, the trainer and the browser share (SPEC
//! "PaDiM"): resize to 256, centre crop 224, ImageNet normalisation, CHW f32;
//! masks resized with nearest neighbour and cropped the same way.
//!
//! **Resize filter.** The PaDiM reference code resizes with PIL's `ANTIALIAS`,
//! which is a Lanczos (a = 3) filter whose support widens by the reduction
//! factor, so a 1.5k px VisA image is averaged down rather than aliased. The
//! `image` crate's `Lanczos3` does the same (its kernel support is scaled by
//! the ratio too), so it is the default. `Triangle` (antialiased bilinear,
//! what anomalib's torchvision `Resize(antialias=True)` does) is the option
//! for comparing with anomalib. The resize runs in f32, and the result is
//! clamped to [0, 1] as PIL's 8-bit output is, so Lanczos' overshoot at
//! sharp edges does not leave the input range.
//!
//! **Geometry** follows torchvision, which the reference code uses:
//! `Resize(256)` scales the shorter side to 256 and the longer to
//! ⌊256 · long / short⌋; `CenterCrop(224)` starts at round((side − 224) / 2)
//! with Python's round-half-to-even. Masks use PIL's nearest neighbour: output
//! pixel x takes input pixel ⌊(x + ½) · in / out⌋, computed in integers.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::decode::{Mask, RgbImage};

/// ImageNet's channel means (RGB), as torchvision's pretrained models expect.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet's channel standard deviations (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Which sides the resize sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResizeMode {
    /// The shorter side becomes `resize`, keeping the aspect ratio
    /// (torchvision `Resize(int)`, the PaDiM reference code).
    ShorterSide,
    /// Both sides become `resize` (anomalib's `Resize((s, s))`).
    BothSides,
}

/// The image resampling filter; masks always use nearest neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResizeFilter {
    /// Antialiased Lanczos, a = 3 (PIL `ANTIALIAS`).
    Lanczos3,
    /// Antialiased bilinear (torchvision `antialias=True`).
    Triangle,
}

/// Unchecked preprocessing settings, as saved in a config or bundle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PreprocessConfig {
    /// Target of the resize in pixels (see `mode`).
    pub resize: u32,
    /// Side of the square centre crop; at most `resize`.
    pub crop: u32,
    pub mode: ResizeMode,
    pub filter: ResizeFilter,
    /// Per-channel mean subtracted after scaling to [0, 1].
    pub mean: [f32; 3],
    /// Per-channel standard deviation divided by; positive.
    pub std: [f32; 3],
}

impl Default for PreprocessConfig {
    /// PaDiM's: 256 → 224, ImageNet statistics.
    fn default() -> Self {
        PreprocessConfig {
            resize: 256,
            crop: 224,
            mode: ResizeMode::ShorterSide,
            filter: ResizeFilter::Lanczos3,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
        }
    }
}

/// Why preprocessing settings are refused.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum PreprocessError {
    #[error("`{field}` is 0: give a size of at least 1 pixel (PaDiM uses resize 256, crop 224)")]
    ZeroSize { field: &'static str },
    #[error("`crop` {crop} is larger than `resize` {resize}: the crop must fit inside the resized image; lower `crop` or raise `resize`")]
    CropLargerThanResize { crop: u32, resize: u32 },
    #[error("`std` channel {channel} is {value}: standard deviations must be positive and finite (ImageNet: 0.229, 0.224, 0.225)")]
    BadStd { channel: usize, value: f32 },
    #[error("`mean` channel {channel} is {value}: means must be finite")]
    BadMean { channel: usize, value: f32 },
    #[error("the {what} is {width}x{height} but holds {got} values, expected {expected}")]
    Shape {
        what: &'static str,
        width: u32,
        height: u32,
        expected: usize,
        got: usize,
    },
}

/// Checks a buffer's length against its dimensions (the types' fields are
/// public, so a caller can build an inconsistent one).
fn check_shape(
    what: &'static str,
    width: u32,
    height: u32,
    per_pixel: usize,
    got: usize,
) -> Result<(), PreprocessError> {
    if got != width as usize * height as usize * per_pixel || width == 0 || height == 0 {
        return Err(shape_error(what, width, height, per_pixel, got));
    }
    Ok(())
}

fn shape_error(
    what: &'static str,
    width: u32,
    height: u32,
    per_pixel: usize,
    got: usize,
) -> PreprocessError {
    PreprocessError::Shape {
        what,
        width,
        height,
        expected: width as usize * height as usize * per_pixel,
        got,
    }
}

impl PreprocessConfig {
    /// PaDiM's preprocessing for a `crop`-pixel input: the resize keeps the
    /// reference code's 256 : 224 ratio to the crop (256 → 224 at PaDiM's
    /// size, 146 → 128 at 128).
    pub fn padim(crop: u32) -> Self {
        PreprocessConfig {
            resize: (f64::from(crop) * 256.0 / 224.0).round() as u32,
            crop,
            ..PreprocessConfig::default()
        }
    }

    /// Validates the settings once into a transform.
    pub fn check(self) -> Result<Preprocess, PreprocessError> {
        for (field, value) in [("resize", self.resize), ("crop", self.crop)] {
            if value == 0 {
                return Err(PreprocessError::ZeroSize { field });
            }
        }
        if self.crop > self.resize {
            return Err(PreprocessError::CropLargerThanResize {
                crop: self.crop,
                resize: self.resize,
            });
        }
        for channel in 0..3 {
            let (mean, std) = (self.mean[channel], self.std[channel]);
            if !mean.is_finite() {
                return Err(PreprocessError::BadMean {
                    channel,
                    value: mean,
                });
            }
            if !(std.is_finite() && std > 0.0) {
                return Err(PreprocessError::BadStd {
                    channel,
                    value: std,
                });
            }
        }
        Ok(Preprocess { config: self })
    }
}

/// A checked preprocessing transform; the default is PaDiM's.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Preprocess {
    config: PreprocessConfig,
}

/// A normalised image, channels first.
#[derive(Debug, Clone, PartialEq)]
pub struct Chw {
    pub height: usize,
    pub width: usize,
    /// `3 · height · width` values: all of R, then G, then B, each row by row.
    pub data: Vec<f32>,
}

impl Preprocess {
    pub fn config(&self) -> &PreprocessConfig {
        &self.config
    }

    /// The size (width, height) an image of `width` × `height` is resized to,
    /// before the crop.
    pub fn resized_size(&self, width: u32, height: u32) -> (u32, u32) {
        let size = self.config.resize;
        match self.config.mode {
            ResizeMode::BothSides => (size, size),
            ResizeMode::ShorterSide => {
                // ⌊size · long / short⌋ in integers, as torchvision's int().
                let long = |long: u32, short: u32| {
                    (u64::from(size) * u64::from(long) / u64::from(short)) as u32
                };
                if width <= height {
                    (size, long(height, width))
                } else {
                    (long(width, height), size)
                }
            }
        }
    }

    /// The output side (the crop).
    pub fn output_size(&self) -> u32 {
        self.config.crop
    }

    /// Resizes, crops and normalises an RGB image in [0, 1].
    ///
    /// # Shapes
    /// - input: `width × height` interleaved RGB
    /// - output: `[3, crop, crop]`
    pub fn image(&self, image: &RgbImage<f32>) -> Result<Chw, PreprocessError> {
        check_shape("image", image.width, image.height, 3, image.pixels.len())?;
        let (width, height) = self.resized_size(image.width, image.height);
        let filter = match self.config.filter {
            ResizeFilter::Lanczos3 => image::imageops::FilterType::Lanczos3,
            ResizeFilter::Triangle => image::imageops::FilterType::Triangle,
        };
        let source: image::Rgb32FImage =
            image::ImageBuffer::from_raw(image.width, image.height, image.pixels.clone())
                .ok_or_else(|| {
                    shape_error("image", image.width, image.height, 3, image.pixels.len())
                })?;
        let resized = image::imageops::resize(&source, width, height, filter);
        let crop = self.config.crop as usize;
        let (left, top) = (
            crop_start(width, self.config.crop),
            crop_start(height, self.config.crop),
        );
        let mut data = vec![0.0; 3 * crop * crop];
        for y in 0..crop {
            let row = (top + y) * width as usize;
            for x in 0..crop {
                let pixel = 3 * (row + left + x);
                for c in 0..3 {
                    let value = resized.as_raw()[pixel + c].clamp(0.0, 1.0);
                    data[(c * crop + y) * crop + x] =
                        (value - self.config.mean[c]) / self.config.std[c];
                }
            }
        }
        Ok(Chw {
            height: crop,
            width: crop,
            data,
        })
    }

    /// Undoes the normalisation of an image made by [`Self::image`], for
    /// display: 8-bit RGB, interleaved, rounded and clamped.
    pub fn to_rgb8(&self, image: &Chw) -> RgbImage<u8> {
        let plane = image.height * image.width;
        let mut pixels = Vec::with_capacity(3 * plane);
        for i in 0..plane {
            for c in 0..3 {
                let value = image.data[c * plane + i] * self.config.std[c] + self.config.mean[c];
                pixels.push((value * 255.0).round().clamp(0.0, 255.0) as u8);
            }
        }
        RgbImage {
            width: image.width as u32,
            height: image.height as u32,
            pixels,
        }
    }

    /// Resizes (nearest neighbour) and crops a mask exactly as [`Self::image`]
    /// does its image, so the two stay aligned.
    ///
    /// # Shapes
    /// - input: `width × height`; output: `crop × crop`
    pub fn mask(&self, mask: &Mask) -> Result<Mask, PreprocessError> {
        check_shape("mask", mask.width, mask.height, 1, mask.pixels.len())?;
        let (width, height) = self.resized_size(mask.width, mask.height);
        let crop = self.config.crop;
        let (left, top) = (crop_start(width, crop), crop_start(height, crop));
        let nearest = |out: usize, from: u32, to: u32| -> usize {
            // ⌊(out + ½) · from / to⌋ = ⌊(2·out + 1) · from / (2·to)⌋.
            ((2 * out as u64 + 1) * u64::from(from) / (2 * u64::from(to))) as usize
        };
        let columns: Vec<usize> = (0..crop as usize)
            .map(|x| nearest(left + x, mask.width, width))
            .collect();
        let mut pixels = Vec::with_capacity(crop as usize * crop as usize);
        for y in 0..crop as usize {
            let row = nearest(top + y, mask.height, height) * mask.width as usize;
            pixels.extend(columns.iter().map(|&x| mask.pixels[row + x]));
        }
        Ok(Mask {
            width: crop,
            height: crop,
            pixels,
        })
    }
}

/// torchvision's `CenterCrop` offset: round((side − crop) / 2), halves to even.
fn crop_start(side: u32, crop: u32) -> usize {
    let margin = side - crop;
    let half = margin / 2;
    let start = if margin % 2 == 1 && half % 2 == 1 {
        half + 1
    } else {
        half
    };
    start as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(resize: u32, crop: u32, mode: ResizeMode) -> Preprocess {
        PreprocessConfig {
            resize,
            crop,
            mode,
            ..PreprocessConfig::default()
        }
        .check()
        .unwrap()
    }

    #[test]
    fn to_rgb8_undoes_the_normalisation() {
        // A 1x1 image whose red is the mean (-> 0.485 · 255 = 123.7 -> 124),
        // green one std above it (0.456 + 0.224 = 0.68 -> 173.4 -> 173) and
        // blue far out of range (clamped to 0).
        let image = Chw {
            height: 1,
            width: 1,
            data: vec![0.0, 1.0, -10.0],
        };
        let rgb = Preprocess::default().to_rgb8(&image);
        assert_eq!((rgb.width, rgb.height), (1, 1));
        assert_eq!(rgb.pixels, vec![124, 173, 0]);
    }

    #[test]
    fn padims_resize_keeps_256_to_224() {
        assert_eq!(PreprocessConfig::padim(224), PreprocessConfig::default());
        // 128 · 256 / 224 = 146.3 and 64 · 256 / 224 = 73.1.
        assert_eq!(
            (
                PreprocessConfig::padim(128).resize,
                PreprocessConfig::padim(128).crop
            ),
            (146, 128)
        );
        assert_eq!(PreprocessConfig::padim(64).resize, 73);
    }

    #[test]
    fn shorter_side_sizes_follow_torchvision() {
        let padim = Preprocess::default();
        // VisA-like 1500x1000: short 1000 -> 256, long ⌊256·1500/1000⌋ = 384.
        assert_eq!(padim.resized_size(1500, 1000), (384, 256));
        // 1000x1500 portrait; 700x1000: ⌊256·1000/700⌋ = ⌊365.71⌋ = 365.
        assert_eq!(padim.resized_size(1000, 1500), (256, 384));
        assert_eq!(padim.resized_size(1000, 700), (365, 256));
        assert_eq!(padim.resized_size(900, 900), (256, 256));
        let both = config(256, 224, ResizeMode::BothSides);
        assert_eq!(both.resized_size(1500, 1000), (256, 256));
    }

    #[test]
    fn centre_crop_rounds_half_to_even() {
        // (256-224)/2 = 16; (257-224)/2 = 16.5 -> 16; (259-224)/2 = 17.5 -> 18.
        assert_eq!(crop_start(256, 224), 16);
        assert_eq!(crop_start(257, 224), 16);
        assert_eq!(crop_start(259, 224), 18);
        assert_eq!(crop_start(384, 224), 80);
        assert_eq!(crop_start(224, 224), 0);
    }

    #[test]
    fn a_flat_image_normalises_to_known_values() {
        // Every pixel (0.485, 0.5, 1.0): any resize keeps a flat image flat,
        // so R -> 0, G -> (0.5 - 0.456) / 0.224, B -> (1 - 0.406) / 0.225.
        let image = RgbImage {
            width: 300,
            height: 280,
            pixels: [0.485f32, 0.5, 1.0].repeat(300 * 280),
        };
        let out = Preprocess::default().image(&image).unwrap();
        assert_eq!(
            (out.height, out.width, out.data.len()),
            (224, 224, 3 * 224 * 224)
        );
        let plane = 224 * 224;
        let expected = [0.0, (0.5 - 0.456) / 0.224, (1.0 - 0.406) / 0.225];
        for (c, want) in expected.iter().enumerate() {
            for value in &out.data[c * plane..(c + 1) * plane] {
                assert!(
                    (value - want).abs() < 1e-5,
                    "channel {c}: {value} vs {want}"
                );
            }
        }
    }

    #[test]
    fn mask_nearest_and_crop_by_hand() {
        // 8x4 mask, resize shorter side to 2 -> 4x2, crop 2 (start x 1, y 0).
        // Column x of 4 takes ⌊(x+½)·8/4⌋ = 1, 3, 5, 7; row y of 2 takes
        // ⌊(y+½)·4/2⌋ = 1, 3. After the crop: columns 3, 5 of rows 1, 3.
        let mut pixels = vec![false; 32];
        pixels[8 + 3] = true; // (x 3, y 1)
        pixels[3 * 8 + 5] = true; // (x 5, y 3)
        pixels[3 * 8 + 4] = true; // (x 4, y 3): never sampled
        let mask = Mask {
            width: 8,
            height: 4,
            pixels,
        };
        let out = config(2, 2, ResizeMode::ShorterSide).mask(&mask).unwrap();
        assert_eq!((out.width, out.height), (2, 2));
        assert_eq!(out.pixels, [true, false, false, true]);
    }

    #[test]
    fn image_and_mask_stay_aligned() {
        // A white square at (40..60, 20..40) in a 100x80 black image; the
        // mask marks the same square. After 80 -> 40 (shorter side: 50x40)
        // and crop 32 (left 9, top 4) the square spans x 11..21, y 6..16.
        let (width, height) = (100u32, 80u32);
        let inside = |x: u32, y: u32| (40..60).contains(&x) && (20..40).contains(&y);
        let mut pixels = Vec::new();
        let mut marks = Vec::new();
        for y in 0..height {
            for x in 0..width {
                let v = if inside(x, y) { 1.0 } else { 0.0 };
                pixels.extend([v, v, v]);
                marks.push(inside(x, y));
            }
        }
        let t = PreprocessConfig {
            resize: 40,
            crop: 32,
            mean: [0.0; 3],
            std: [1.0; 3],
            ..PreprocessConfig::default()
        }
        .check()
        .unwrap();
        let image = t
            .image(&RgbImage {
                width,
                height,
                pixels,
            })
            .unwrap();
        let mask = t
            .mask(&Mask {
                width,
                height,
                pixels: marks,
            })
            .unwrap();
        for y in 0..32 {
            for x in 0..32 {
                let marked = mask.pixels[y * 32 + x];
                assert_eq!(marked, (11..21).contains(&x) && (6..16).contains(&y));
                // The filter reaches 3 output pixels (6 input pixels) far, so
                // 4 pixels inside or outside the square the image agrees.
                let value = image.data[y * 32 + x];
                if (15..17).contains(&x) && (10..12).contains(&y) {
                    assert!(value > 0.99, "({x},{y}) = {value}");
                }
                if !(7..25).contains(&x) || !(2..20).contains(&y) {
                    assert!(value < 0.01, "({x},{y}) = {value}");
                }
            }
        }
    }

    #[test]
    fn inconsistent_buffers_are_refused() {
        let image = RgbImage {
            width: 4,
            height: 2,
            pixels: vec![0.0; 23],
        };
        assert_eq!(
            Preprocess::default().image(&image).unwrap_err().to_string(),
            "the image is 4x2 but holds 23 values, expected 24"
        );
        let mask = Mask {
            width: 0,
            height: 2,
            pixels: vec![],
        };
        assert!(Preprocess::default().mask(&mask).is_err());
    }

    #[test]
    fn bad_settings_name_the_field() {
        let bad = |change: fn(&mut PreprocessConfig)| {
            let mut config = PreprocessConfig::default();
            change(&mut config);
            config.check().unwrap_err().to_string()
        };
        assert!(bad(|c| c.crop = 0).starts_with("`crop` is 0"));
        assert!(bad(|c| c.crop = 300).starts_with("`crop` 300 is larger than `resize` 256"));
        assert!(bad(|c| c.std[1] = 0.0).starts_with("`std` channel 1 is 0"));
        assert!(bad(|c| c.mean[2] = f32::NAN).starts_with("`mean` channel 2 is NaN"));
    }
}
