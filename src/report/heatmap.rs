//! Anomaly maps as pictures: the `score` command's overlays and the
//! segmentation panels of the paper's Fig. 12 (image, ground truth, heat map
//! per backbone), as 8-bit RGB images and PNG bytes.

use crate::data::{Mask, RgbImage};
use crate::padim::ScoreMap;

use super::ReportError;

/// The "jet" colour map (dark blue, blue, cyan, yellow, red, dark red) the
/// anomaly-detection literature draws heat maps with, for `t` in [0, 1]
/// (clamped): each channel is `clamp(1.5 - |4t - k|)` with k = 3, 2, 1 for
/// red, green, blue.
pub fn jet(t: f32) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    [3.0, 2.0, 1.0].map(|k: f32| {
        let v = (1.5 - (4.0 * t - k).abs()).clamp(0.0, 1.0);
        (v * 255.0).round() as u8
    })
}

/// The map in colour, `low` drawn dark blue and `high` dark red.
pub fn heat_map(map: &ScoreMap, low: f32, high: f32) -> RgbImage<u8> {
    let span = if high > low { high - low } else { 1.0 };
    RgbImage {
        width: map.size().width as u32,
        height: map.size().height as u32,
        pixels: map
            .values()
            .iter()
            .flat_map(|&v| jet((v - low) / span))
            .collect(),
    }
}

/// The image with the heat map blended over it half and half, and, with a
/// threshold, the outline of the region scoring at least it drawn in white.
pub fn overlay(
    image: &RgbImage<u8>,
    map: &ScoreMap,
    low: f32,
    high: f32,
    threshold: Option<f32>,
) -> Result<RgbImage<u8>, ReportError> {
    let (width, height) = (map.size().width, map.size().height);
    if (image.width as usize, image.height as usize) != (width, height) {
        return Err(ReportError::ImageSize {
            expected: (width, height),
            got: (image.width as usize, image.height as usize),
        });
    }
    let heat = heat_map(map, low, high);
    let mut pixels: Vec<u8> = image
        .pixels
        .iter()
        .zip(&heat.pixels)
        .map(|(&a, &b)| (u16::from(a) + u16::from(b)).div_ceil(2) as u8)
        .collect();
    if let Some(threshold) = threshold {
        let inside: Vec<bool> = map.values().iter().map(|&v| v >= threshold).collect();
        for i in outline(&inside, width, height) {
            pixels[3 * i..3 * i + 3].copy_from_slice(&[255, 255, 255]);
        }
    }
    Ok(RgbImage {
        width: image.width,
        height: image.height,
        pixels,
    })
}

/// The pixels of a region that touch a pixel outside it (4-neighbours; the
/// image border counts as outside), row-major indices.
fn outline(inside: &[bool], width: usize, height: usize) -> Vec<usize> {
    let at = |x: isize, y: isize| {
        x >= 0
            && y >= 0
            && (x as usize) < width
            && (y as usize) < height
            && inside[y as usize * width + x as usize]
    };
    (0..width * height)
        .filter(|&i| {
            let (x, y) = ((i % width) as isize, (i / width) as isize);
            inside[i] && !(at(x - 1, y) && at(x + 1, y) && at(x, y - 1) && at(x, y + 1))
        })
        .collect()
}

/// A ground-truth mask drawn white on black.
pub fn mask_picture(mask: &Mask) -> RgbImage<u8> {
    RgbImage {
        width: mask.width,
        height: mask.height,
        pixels: mask
            .pixels
            .iter()
            .flat_map(|&p| if p { [255; 3] } else { [0; 3] })
            .collect(),
    }
}

/// Tiles equally sized pictures into a grid, `gap` white pixels apart.
pub fn grid(rows: &[Vec<RgbImage<u8>>], gap: u32) -> Result<RgbImage<u8>, ReportError> {
    let Some(first) = rows.first().and_then(|row| row.first()) else {
        return Err(ReportError::Empty);
    };
    let (w, h) = (first.width as usize, first.height as usize);
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let gap = gap as usize;
    let width = columns * w + (columns - 1) * gap;
    let height = rows.len() * h + (rows.len() - 1) * gap;
    let mut pixels = vec![255u8; 3 * width * height];
    for (r, row) in rows.iter().enumerate() {
        for (c, picture) in row.iter().enumerate() {
            if (picture.width as usize, picture.height as usize) != (w, h) {
                return Err(ReportError::ImageSize {
                    expected: (w, h),
                    got: (picture.width as usize, picture.height as usize),
                });
            }
            let (left, top) = (c * (w + gap), r * (h + gap));
            for y in 0..h {
                let to = 3 * ((top + y) * width + left);
                pixels[to..to + 3 * w].copy_from_slice(&picture.pixels[3 * y * w..3 * (y + 1) * w]);
            }
        }
    }
    Ok(RgbImage {
        width: width as u32,
        height: height as u32,
        pixels,
    })
}

/// PNG bytes of an 8-bit RGB picture.
pub fn encode_png(picture: &RgbImage<u8>) -> Result<Vec<u8>, ReportError> {
    use image::ImageEncoder;
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(std::io::Cursor::new(&mut bytes))
        .write_image(
            &picture.pixels,
            picture.width,
            picture.height,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| ReportError::Encode(e.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::padim::MapSize;

    #[test]
    fn jet_runs_from_dark_blue_to_dark_red() {
        // t = 0: (1.5-3, 1.5-2, 1.5-1) -> (0, 0, 0.5); t = 0.5: (0.5, 1, 0.5);
        // t = 1: (0.5, 0, 0); 0.5 · 255 = 127.5 rounds to 128.
        assert_eq!(jet(0.0), [0, 0, 128]);
        assert_eq!(jet(0.5), [128, 255, 128]);
        assert_eq!(jet(1.0), [128, 0, 0]);
        assert_eq!(jet(-3.0), jet(0.0));
        assert_eq!(jet(f32::NAN), jet(0.0));
    }

    #[test]
    fn overlay_blends_and_outlines_the_region_over_the_threshold() {
        // 3x3 map, 1 everywhere but 0 in the left column; threshold 0.5 on
        // the range [0, 1]: the 3x2 region scoring 1 touches the border or
        // the left column everywhere, so all six of its pixels are outline.
        let map = ScoreMap::new(
            MapSize::new(3, 3),
            vec![0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0],
        )
        .unwrap();
        let black = RgbImage {
            width: 3,
            height: 3,
            pixels: vec![0; 27],
        };
        let picture = overlay(&black, &map, 0.0, 1.0, Some(0.5)).unwrap();
        // Left column: half of jet(0) = (0, 0, 128) -> (0, 0, 64).
        assert_eq!(&picture.pixels[0..3], &[0, 0, 64]);
        assert_eq!(&picture.pixels[3..6], &[255, 255, 255]);
        let plain = overlay(&black, &map, 0.0, 1.0, None).unwrap();
        // jet(1) = (128, 0, 0) -> (64, 0, 0).
        assert_eq!(&plain.pixels[3..6], &[64, 0, 0]);
        // An interior pixel of a larger region is not outline.
        let inside = vec![true; 9];
        assert_eq!(outline(&inside, 3, 3), vec![0, 1, 2, 3, 5, 6, 7, 8]);
    }

    #[test]
    fn grid_places_tiles_with_gaps_and_checks_sizes() {
        let tile = |v: u8| RgbImage {
            width: 1,
            height: 1,
            pixels: vec![v; 3],
        };
        let picture = grid(&[vec![tile(1), tile(2)]], 1).unwrap();
        assert_eq!((picture.width, picture.height), (3, 1));
        assert_eq!(picture.pixels, vec![1, 1, 1, 255, 255, 255, 2, 2, 2]);
        let big = RgbImage {
            width: 2,
            height: 1,
            pixels: vec![0; 6],
        };
        assert_eq!(
            grid(&[vec![tile(1), big]], 0),
            Err(ReportError::ImageSize {
                expected: (1, 1),
                got: (2, 1)
            })
        );
    }
}
