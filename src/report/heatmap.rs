//! Anomaly maps as pictures: score overlays (`spotdiff score`, the scoring
//! page) and the segmentation panels of the paper's Fig. 12 (image, ground
//! truth, heat map per backbone), as 8-bit RGB images and PNG bytes.

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

/// How much of an overlay is heat map when nobody says otherwise: half and
/// half. `spotdiff score`'s PNGs and the scoring page's slider start here.
pub const DEFAULT_OPACITY: f32 = 0.5;

/// A score overlay: the image with the heat map blended over it, `opacity`
/// of the heat map to `1 - opacity` of the image (each channel rounded to the
/// nearest integer, halves up), and the outline of the region scoring at
/// least `outline_at` drawn in white.
///
/// Every overlay, `spotdiff score`'s PNGs and the scoring page's canvases
/// alike, has one colour scale, set by the bundle's `threshold`: scores from
/// 0 (dark blue) to 2·threshold (dark red), so the threshold sits mid-scale
/// (green) and a colour means the same score on every image of a bundle.
/// `outline_at` is the threshold too, except where a viewer moves it (the
/// page's threshold slider), which leaves the colours as they are.
pub fn overlay(
    image: &RgbImage<u8>,
    map: &ScoreMap,
    threshold: f32,
    outline_at: f32,
    opacity: f32,
) -> Result<RgbImage<u8>, ReportError> {
    let (width, height) = (map.size().width, map.size().height);
    if (image.width as usize, image.height as usize) != (width, height) {
        return Err(ReportError::ImageSize {
            expected: (width, height),
            got: (image.width as usize, image.height as usize),
        });
    }
    if let Some(&bad) = [threshold, outline_at].iter().find(|t| !t.is_finite()) {
        return Err(ReportError::Threshold(bad));
    }
    if !(0.0..=1.0).contains(&opacity) {
        return Err(ReportError::Opacity(opacity));
    }
    let heat = heat_map(map, 0.0, 2.0 * threshold);
    let mut pixels: Vec<u8> = image
        .pixels
        .iter()
        .zip(&heat.pixels)
        .map(|(&below, &above)| blend(below, above, opacity))
        .collect();
    let inside: Vec<bool> = map.values().iter().map(|&v| v >= outline_at).collect();
    for i in outline(&inside, width, height) {
        pixels[3 * i..3 * i + 3].copy_from_slice(&[255, 255, 255]);
    }
    Ok(RgbImage {
        width: image.width,
        height: image.height,
        pixels,
    })
}

/// One channel of `above` laid over `below` at `opacity`. At 0.5 both halves
/// and their sum are exact in f32, so the default opacity gives exactly
/// `(below + above) / 2` rounded up: integer arithmetic's half and half.
fn blend(below: u8, above: u8, opacity: f32) -> u8 {
    ((1.0 - opacity) * f32::from(below) + opacity * f32::from(above)).round() as u8
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
        // 3x3 map, 1 everywhere but 0 in the left column; threshold 0.5, so
        // the scale is [0, 1]: the 3x2 region scoring 1 touches the border or
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
        let picture = overlay(&black, &map, 0.5, 0.5, DEFAULT_OPACITY).unwrap();
        // Left column: half of jet(0) = (0, 0, 128) -> (0, 0, 64).
        assert_eq!(&picture.pixels[0..3], &[0, 0, 64]);
        assert_eq!(&picture.pixels[3..6], &[255, 255, 255]);
        // Threshold 2: the scale is [0, 4], nothing is outlined and 1 is a
        // quarter up the scale: jet(0.25) = (0, 0.5, 1) -> (0, 128, 255),
        // halved and rounded up -> (0, 64, 128).
        let below = overlay(&black, &map, 2.0, 2.0, DEFAULT_OPACITY).unwrap();
        assert_eq!(&below.pixels[3..6], &[0, 64, 128]);
        // Moving the outline to 2 keeps the colours of threshold 0.5.
        let moved = overlay(&black, &map, 0.5, 2.0, DEFAULT_OPACITY).unwrap();
        assert_eq!(&moved.pixels[0..6], &[0, 0, 64, 64, 0, 0]);
        // An interior pixel of a larger region is not outline.
        let inside = vec![true; 9];
        assert_eq!(outline(&inside, 3, 3), vec![0, 1, 2, 3, 5, 6, 7, 8]);
    }

    #[test]
    fn opacity_runs_from_the_image_to_the_heat_map() {
        let map = ScoreMap::new(MapSize::new(1, 2), vec![0.0, 4.0]).unwrap();
        let grey = RgbImage {
            width: 2,
            height: 1,
            pixels: vec![100; 6],
        };
        // Threshold 3 outlines the right pixel only; the left one is 0,
        // jet(0) = (0, 0, 128).
        let image_only = overlay(&grey, &map, 3.0, 3.0, 0.0).unwrap();
        assert_eq!(image_only.pixels, [100, 100, 100, 255, 255, 255]);
        let heat_only = overlay(&grey, &map, 3.0, 3.0, 1.0).unwrap();
        assert_eq!(heat_only.pixels, [0, 0, 128, 255, 255, 255]);
        // A quarter: 0.75 · 100 + 0.25 · 128 = 107.
        let quarter = overlay(&grey, &map, 3.0, 3.0, 0.25).unwrap();
        assert_eq!(&quarter.pixels[0..3], &[75, 75, 107]);
    }

    #[test]
    fn the_default_opacity_is_the_mean_rounded_up() {
        for below in 0..=255u8 {
            for above in 0..=255u8 {
                let mean_up = (u16::from(below) + u16::from(above)).div_ceil(2) as u8;
                assert_eq!(blend(below, above, DEFAULT_OPACITY), mean_up);
            }
        }
    }

    #[test]
    fn bad_opacities_and_thresholds_are_errors() {
        let map = ScoreMap::new(MapSize::new(1, 1), vec![0.0]).unwrap();
        let image = RgbImage {
            width: 1,
            height: 1,
            pixels: vec![0; 3],
        };
        assert_eq!(
            overlay(&image, &map, 1.0, 1.0, 1.5),
            Err(ReportError::Opacity(1.5))
        );
        assert!(matches!(
            overlay(&image, &map, 1.0, 1.0, f32::NAN),
            Err(ReportError::Opacity(_))
        ));
        assert!(matches!(
            overlay(&image, &map, f32::INFINITY, 1.0, 0.5),
            Err(ReportError::Threshold(_))
        ));
        assert!(matches!(
            overlay(&image, &map, 1.0, f32::NAN, 0.5),
            Err(ReportError::Threshold(_))
        ));
        assert_eq!(
            ReportError::Opacity(1.5).to_string(),
            "the overlay's opacity must be from 0 to 1, got 1.5"
        );
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
