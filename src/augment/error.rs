use thiserror::Error;

use crate::data::RgbImage;

/// Why an augmentation's settings or its input image are refused.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum AugmentError {
    #[error("`{field}` is {value}: it must be {expected}")]
    Setting {
        /// The config field, as spelled in the config (`jitter.hue`).
        field: &'static str,
        value: String,
        /// The rule, with the paper's value as an example.
        expected: &'static str,
    },
    #[error("the image is {width}x{height} but holds {got} values, expected {expected} (3 per pixel, RGB interleaved)")]
    Shape {
        width: u32,
        height: u32,
        expected: u128,
        got: usize,
    },
    #[error("the image is {width}x{height}: an augmentation needs at least one pixel")]
    Empty { width: u32, height: u32 },
    #[error("the image is {width}x{height}, more than the 2^32 - 1 pixels the augmentations index: resize it first")]
    TooLarge { width: u32, height: u32 },
    #[error("a {width}x{height} image has no whole-pixel patch of {area_low}–{area_high} of its area with aspect ratio (width / height) {aspect_low}–{aspect_high}: use a larger image (with the seed's settings every square image from 10x10 up has one)")]
    NoPatch {
        width: u32,
        height: u32,
        area_low: f64,
        area_high: f64,
        aspect_low: f64,
        aspect_high: f64,
    },
}

/// Checks an image's buffer against its dimensions (its fields are public,
/// so a caller can build an inconsistent one).
pub(crate) fn check_image(image: &RgbImage<f32>) -> Result<(), AugmentError> {
    let (width, height) = (image.width, image.height);
    let expected = 3 * u128::from(width) * u128::from(height);
    if expected != image.pixels.len() as u128 {
        return Err(AugmentError::Shape {
            width,
            height,
            expected,
            got: image.pixels.len(),
        });
    }
    if width == 0 || height == 0 {
        return Err(AugmentError::Empty { width, height });
    }
    if u64::from(width) * u64::from(height) > u64::from(u32::MAX) {
        return Err(AugmentError::TooLarge { width, height });
    }
    Ok(())
}

/// Checks a probability.
pub(crate) fn check_probability(field: &'static str, p: f64) -> Result<(), AugmentError> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(AugmentError::Setting {
            field,
            value: p.to_string(),
            expected: "a probability in [0, 1]",
        })
    }
}

/// Checks an interval `[low, high]` of finite numbers with
/// `min_low <= low <= high <= max_high` (`min_low` excluded when `open_low`).
pub(crate) fn check_interval(
    field: &'static str,
    [low, high]: [f64; 2],
    min_low: f64,
    open_low: bool,
    max_high: f64,
    expected: &'static str,
) -> Result<(), AugmentError> {
    let low_ok = if open_low {
        low > min_low
    } else {
        low >= min_low
    };
    if low.is_finite() && high.is_finite() && low_ok && low <= high && high <= max_high {
        Ok(())
    } else {
        Err(AugmentError::Setting {
            field,
            value: format!("[{low}, {high}]"),
            expected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_checked_against_their_dimensions() {
        let image = |width, height, len| RgbImage {
            width,
            height,
            pixels: vec![0.0; len],
        };
        assert!(check_image(&image(2, 3, 18)).is_ok());
        assert_eq!(
            check_image(&image(2, 3, 17)).unwrap_err().to_string(),
            "the image is 2x3 but holds 17 values, expected 18 (3 per pixel, RGB interleaved)"
        );
        assert_eq!(
            check_image(&image(0, 3, 0)),
            Err(AugmentError::Empty {
                width: 0,
                height: 3
            })
        );
    }

    #[test]
    fn intervals_and_probabilities_name_the_field() {
        assert!(check_interval("blur_sigma", [0.1, 2.0], 0.0, true, 1e3, "x").is_ok());
        assert!(check_interval("blur_sigma", [0.0, 2.0], 0.0, true, 1e3, "x").is_err());
        assert!(check_interval("crop_scale", [0.0, 1.0], 0.0, false, 1.0, "x").is_ok());
        let error = check_interval("crop_scale", [0.9, 0.8], 0.0, false, 1.0, "low <= high")
            .unwrap_err()
            .to_string();
        assert_eq!(error, "`crop_scale` is [0.9, 0.8]: it must be low <= high");
        assert!(check_interval("a", [f64::NAN, 1.0], 0.0, false, 1.0, "x").is_err());
        assert!(check_probability("flip_p", 1.0).is_ok());
        assert_eq!(
            check_probability("flip_p", -0.5).unwrap_err().to_string(),
            "`flip_p` is -0.5: it must be a probability in [0, 1]"
        );
        assert!(check_probability("flip_p", f64::NAN).is_err());
    }
}
