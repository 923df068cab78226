//! A small class in memory for the pipelines' tests: PNG images with a seeded
//! texture, anomalies carrying a bright square and its mask.

use crate::data::{Label, MemorySource, RgbImage, Sample, Split};
use crate::report::encode_png;

/// Side of every image, in pixels.
const SIDE: u32 = 40;

/// `train` normal training images, then `normal` normal and `anomalous`
/// anomalous test images, in that order.
pub fn class(train: usize, normal: usize, anomalous: usize) -> (MemorySource, Vec<Sample>) {
    let mut source = MemorySource::new();
    let mut samples = Vec::new();
    let kinds = std::iter::repeat_n((Split::Train, Label::Normal), train)
        .chain(std::iter::repeat_n((Split::Test, Label::Normal), normal))
        .chain(std::iter::repeat_n(
            (Split::Test, Label::Anomaly),
            anomalous,
        ));
    for (index, (split, label)) in kinds.enumerate() {
        let defect = label == Label::Anomaly;
        let image = format!("images/{index}.png");
        source.insert(&image, encode_png(&picture(index, defect)).unwrap());
        let mask = defect.then(|| {
            let path = format!("masks/{index}.png");
            source.insert(&path, encode_png(&mask_picture()).unwrap());
            path
        });
        samples.push(Sample {
            object: "widget".into(),
            split,
            label,
            image,
            mask,
            row: None,
        });
    }
    (source, samples)
}

/// Where an anomaly's defect is: a square of side 8 at (20, 12).
fn in_defect(x: u32, y: u32) -> bool {
    (20..28).contains(&x) && (12..20).contains(&y)
}

fn picture(index: usize, defect: bool) -> RgbImage<u8> {
    let mut pixels = Vec::with_capacity((SIDE * SIDE * 3) as usize);
    let mut state = (index as u32).wrapping_mul(2_654_435_761) | 1;
    for y in 0..SIDE {
        for x in 0..SIDE {
            for channel in 0..3u32 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let texture = (x * 5 + y * 3 + channel * 40) % 128;
                let value = if defect && in_defect(x, y) {
                    250
                } else {
                    64 + texture + state % 16
                };
                pixels.push(value as u8);
            }
        }
    }
    RgbImage {
        width: SIDE,
        height: SIDE,
        pixels,
    }
}

fn mask_picture() -> RgbImage<u8> {
    let mut pixels = Vec::with_capacity((SIDE * SIDE * 3) as usize);
    for y in 0..SIDE {
        for x in 0..SIDE {
            let value = if in_defect(x, y) { 255 } else { 0 };
            pixels.extend([value; 3]);
        }
    }
    RgbImage {
        width: SIDE,
        height: SIDE,
        pixels,
    }
}
