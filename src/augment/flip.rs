//! Horizontal flip (torchvision's `F.hflip`): column `x` becomes column
//! `width − 1 − x`.

use super::error::{check_image, AugmentError};
use crate::data::RgbImage;

/// Mirrors the image left to right.
pub fn hflip(image: &RgbImage<f32>) -> Result<RgbImage<f32>, AugmentError> {
    check_image(image)?;
    let mut pixels = Vec::with_capacity(image.pixels.len());
    for row in image.pixels.chunks_exact(3 * image.width as usize) {
        for pixel in row.chunks_exact(3).rev() {
            pixels.extend_from_slice(pixel);
        }
    }
    Ok(RgbImage {
        width: image.width,
        height: image.height,
        pixels,
    })
}
