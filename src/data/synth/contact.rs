//! Contact sheets: a PNG grid of a class's images with their defects
//! outlined, to see what a data set (generated or real) looks like.

use std::io::Cursor;

use image::imageops::{self, FilterType};
use image::{ImageEncoder, Rgb, RgbImage};

use super::SynthError;
use crate::data::{Dataset, Label, SizeLimit, Source};

/// Gap between tiles and around the sheet, in pixels.
const GAP: u32 = 4;
/// Outline colour: red, clear on every class's colours.
const OUTLINE: Rgb<u8> = Rgb([255, 32, 32]);

/// A sheet for `object`: one row of normal images, then `rows` − 1 rows of
/// anomalies with their masks outlined, `columns` tiles of `tile` px a row.
/// Images are taken in listed order; a row stops early when the data set has
/// fewer images.
pub fn contact_sheet(
    source: &(impl Source + ?Sized),
    dataset: &Dataset,
    object: &str,
    columns: u32,
    rows: u32,
    tile: u32,
    limit: &SizeLimit,
) -> Result<Vec<u8>, SynthError> {
    let (columns, rows, tile) = (columns.max(1), rows.max(2), tile.max(8));
    let of = |label: Label| {
        dataset
            .samples
            .iter()
            .filter(move |s| s.object == object && s.label == label)
    };
    let normals: Vec<_> = of(Label::Normal).take(columns as usize).collect();
    let anomalies: Vec<_> = of(Label::Anomaly)
        .take((columns * (rows - 1)) as usize)
        .collect();
    let width = GAP + columns * (tile + GAP);
    let height = GAP + rows * (tile + GAP);
    let mut sheet = RgbImage::from_pixel(width, height, Rgb([255, 255, 255]));
    let tiles = normals
        .iter()
        .enumerate()
        .map(|(i, s)| (i as u32, 0, *s))
        .chain(
            anomalies
                .iter()
                .enumerate()
                .map(|(i, s)| (i as u32 % columns, 1 + i as u32 / columns, *s)),
        );
    for (column, row, sample) in tiles {
        let image = sample.load_image(source, limit)?;
        let mask = sample.load_mask(source, limit, image.width, image.height)?;
        let full = RgbImage::from_fn(image.width, image.height, |x, y| {
            let i = 3 * (y as usize * image.width as usize + x as usize);
            Rgb([0, 1, 2].map(|c| (image.pixels[i + c] * 255.0 + 0.5) as u8))
        });
        let mut small = imageops::resize(&full, tile, tile, FilterType::Triangle);
        // The mask at tile size (nearest), then its boundary pixels.
        let marked = |x: i64, y: i64| -> bool {
            if x < 0 || y < 0 || x >= i64::from(tile) || y >= i64::from(tile) {
                return false;
            }
            let mx = (x as u64 * u64::from(mask.width) / u64::from(tile)) as usize;
            let my = (y as u64 * u64::from(mask.height) / u64::from(tile)) as usize;
            mask.pixels[my * mask.width as usize + mx]
        };
        for y in 0..i64::from(tile) {
            for x in 0..i64::from(tile) {
                let edge = marked(x, y)
                    && [(-1, 0), (1, 0), (0, -1), (0, 1)]
                        .iter()
                        .any(|(dx, dy)| !marked(x + dx, y + dy));
                if edge {
                    small.put_pixel(x as u32, y as u32, OUTLINE);
                }
            }
        }
        imageops::replace(
            &mut sheet,
            &small,
            i64::from(GAP + column * (tile + GAP)),
            i64::from(GAP + row * (tile + GAP)),
        );
    }
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(Cursor::new(&mut bytes))
        .write_image(
            sheet.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| SynthError::Encode {
            path: format!("contact sheet of {object}"),
            reason: e.to_string(),
        })?;
    Ok(bytes)
}
