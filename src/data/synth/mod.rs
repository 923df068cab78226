//! The procedural defect data set (SPEC "Data", issue 3): six object
//! classes, two of each of VisA's kinds, with the variation a production line
//! has and defects of seven kinds at several sizes and contrasts, with exact
//! masks.
//!
//! Output, for the VisA layout: `<class>/Data/Images/Normal/NNNN.JPG`,
//! `<class>/Data/Images/Anomaly/NNN.JPG`, `<class>/Data/Masks/Anomaly/NNN.png`
//! (8-bit, defect-class ids, 0 = background) and the three split CSVs:
//! - `1cls.csv`: the first round(90%) of each class's normals train, the
//!   rest and every anomaly test;
//! - `2cls_highshot.csv`: the first round(60%) of normals and of anomalies
//!   train, the rest test;
//! - `2cls_fewshot.csv`: normals as in highshot; the first min(20, m/2) of
//!   the m anomalies train (20, as VisA, once m ≥ 40), the rest test.
//!
//! For the MVTec AD layout: `<class>/train/good/NNN.png` (the 1cls training
//! normals), `<class>/test/good/NNN.png`, `<class>/test/<defect>/NNN.png` and
//! `<class>/ground_truth/<defect>/NNN_mask.png` (0/255), one defect per image.
//! For the folder layout the same PNG files, named by their number:
//! `<class>/good/NNN.png` (every normal; the reader holds out its own test
//! share), `<class>/defect/NNN.png` and `<class>/mask/NNN.png` (0/255).
//!
//! The layouts do not hold the same images: VisA's are JPEGs (as VisA's are)
//! and a fifth of its anomalies carry two defects, while MVTec AD's name one
//! defect per image by its folder, so both PNG layouts render one defect per
//! anomaly. The MVTec AD and folder layouts hold byte-identical images.
//!
//! **Determinism.** Every image draws from its own ChaCha8 stream, keyed by
//! the seed, its class and its number, and only integer and IEEE-exact float
//! arithmetic (+ − × ÷ √) touches pixels, so the same seed writes
//! byte-identical files on every machine (with this crate's pinned `image`
//! encoders), whatever classes or counts are chosen alongside.

mod contact;
mod defect;
mod raster;
mod scene;

use std::collections::BTreeMap;
use std::io::Cursor;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use contact::contact_sheet;
pub use defect::{Defect, DefectKind, MASK_THRESHOLD};
pub use scene::{ObjectKind, SynthClass};

use super::folder::{FOLDER_DEFECT, FOLDER_GOOD, FOLDER_MASK};
use super::layout::Layout;
use super::source::{Sink, SourceError};
use super::visa::{VisaSplit, VISA_HEADER};
use super::DataError;
use crate::rng::Rng;

/// Unchecked generator settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthConfig {
    pub seed: u64,
    /// Side of the square images in pixels.
    pub size: u32,
    /// Defect-free images per class.
    pub normals: u32,
    /// Defective images per class.
    pub anomalies: u32,
    pub classes: Vec<SynthClass>,
    pub layout: Layout,
    /// JPEG quality of VisA-layout images (the other layouts' are PNG).
    pub jpeg_quality: u8,
}

impl Default for SynthConfig {
    /// The demo set: all six classes at 256 px, 200 normal and 60 anomalous
    /// images each.
    fn default() -> Self {
        SynthConfig {
            seed: 0,
            size: 256,
            normals: 200,
            anomalies: 60,
            classes: SynthClass::ALL.to_vec(),
            layout: Layout::Visa,
            jpeg_quality: 92,
        }
    }
}

/// Why the generator refuses its settings or cannot finish.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SynthError {
    #[error("`size` {0} is outside 64..=4096 pixels: the objects need room to be drawn (the demo uses 256)")]
    Size(u32),
    #[error(
        "`{field}` is {value}: each class needs at least 2, one for training and one for testing"
    )]
    TooFew { field: &'static str, value: u32 },
    #[error("`classes` is empty: choose at least one of {0}")]
    NoClasses(String),
    #[error("`classes` names `{0}` twice")]
    DuplicateClass(&'static str),
    #[error("`jpeg_quality` {0} is outside 1..=100")]
    Quality(u8),
    #[error("{0}")]
    Write(#[from] SourceError),
    #[error("`{path}`: cannot be encoded: {reason}")]
    Encode { path: String, reason: String },
    #[error("{0}")]
    Data(#[from] DataError),
}

impl SynthConfig {
    /// Validates the settings once.
    pub fn check(self) -> Result<Synth, SynthError> {
        if !(64..=4096).contains(&self.size) {
            return Err(SynthError::Size(self.size));
        }
        for (field, value) in [("normals", self.normals), ("anomalies", self.anomalies)] {
            if value < 2 {
                return Err(SynthError::TooFew { field, value });
            }
        }
        if self.classes.is_empty() {
            return Err(SynthError::NoClasses(
                SynthClass::ALL
                    .map(|c| format!("`{}`", c.name()))
                    .join(", "),
            ));
        }
        for (i, class) in self.classes.iter().enumerate() {
            if self.classes[..i].contains(class) {
                return Err(SynthError::DuplicateClass(class.name()));
            }
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            return Err(SynthError::Quality(self.jpeg_quality));
        }
        Ok(Synth { config: self })
    }
}

/// Checked generator settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Synth {
    config: SynthConfig,
}

/// What the generator wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthSummary {
    pub images: usize,
    pub files: usize,
    /// How many defects of each kind were painted.
    pub defects: BTreeMap<DefectKind, usize>,
}

/// One generated image.
struct Rendered {
    rgb: Vec<u8>,
    /// Defect-class ids per pixel; `None` for a normal image.
    mask: Option<Vec<u8>>,
    /// The defects painted, first one first.
    defects: Vec<Defect>,
}

impl Synth {
    pub fn config(&self) -> &SynthConfig {
        &self.config
    }

    /// Writes the whole data set into `sink`.
    pub fn generate(&self, sink: &mut (impl Sink + ?Sized)) -> Result<SynthSummary, SynthError> {
        match self.config.layout {
            Layout::Visa => self.write_visa(sink),
            Layout::Mvtec => self.write_mvtec(sink),
            Layout::Folder => self.write_folder(sink),
        }
    }

    /// Renders image `index` of `class`; anomalies get one defect, or two
    /// (a fifth of them) when `allow_two`.
    fn render(&self, class: SynthClass, index: u32, anomaly: bool, allow_two: bool) -> Rendered {
        let size = self.config.size as usize;
        // Streams: class in the high 32 bits; normals count up from 0,
        // anomalies from 2^31, the class design is the last stream.
        let class_stream = (class as u64) << 32;
        let stream = class_stream | u64::from(index) | if anomaly { 1 << 31 } else { 0 };
        let mut rng = Rng::new(self.config.seed, stream);
        let mut design = Rng::new(self.config.seed, class_stream | 0xFFFF_FFFF);
        let mut scene = scene::render(class, size, &mut design, &mut rng);
        let mut defects = Vec::new();
        let mask = anomaly.then(|| {
            let mut mask = vec![0u8; size * size];
            // Drawn in both layouts so their images share the stream.
            let second = rng.chance(0.2);
            let count = if allow_two && second { 2 } else { 1 };
            // A defect that changed nothing (a tint on a black chip, say) is
            // drawn again, so every anomaly shows; 50 draws always suffice
            // in practice, and an empty mask would fail the data check.
            for _ in 0..50 {
                if defects.len() == count {
                    break;
                }
                let defect = Defect::draw(&mut rng);
                let mut attempt = mask.clone();
                defect::apply(&mut scene, &defect, &mut rng, &mut attempt);
                if attempt.iter().any(|&id| id == defect.kind.id()) {
                    mask = attempt;
                    defects.push(defect);
                }
            }
            mask
        });
        let noise = 0.012;
        for value in scene.canvas.rgb.iter_mut() {
            *value += (rng.unit() + rng.unit() - 1.0) * noise;
        }
        Rendered {
            rgb: scene.canvas.to_rgb8(),
            mask,
            defects,
        }
    }

    fn jpeg(&self, path: &str, rgb: &[u8]) -> Result<Vec<u8>, SynthError> {
        let mut bytes = Vec::new();
        let size = self.config.size;
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, self.config.jpeg_quality)
            .encode(rgb, size, size, image::ExtendedColorType::Rgb8)
            .map_err(|e| encode_error(path, e))?;
        Ok(bytes)
    }

    fn write_visa(&self, sink: &mut (impl Sink + ?Sized)) -> Result<SynthSummary, SynthError> {
        let (n, m) = (self.config.normals, self.config.anomalies);
        let mut summary = SynthSummary::default();
        let mut csvs = [
            VISA_HEADER.join(","),
            VISA_HEADER.join(","),
            VISA_HEADER.join(","),
        ];
        for csv in &mut csvs {
            csv.push('\n');
        }
        let one_class_train = share(n, 9);
        let high_shot_train = (share(n, 6), share(m, 6));
        let few_shot_train = (20.min(m / 2)).max(1);
        for &class in &self.config.classes {
            let name = class.name();
            for i in 0..n {
                let image = format!("{name}/Data/Images/Normal/{i:04}.JPG");
                let rendered = self.render(class, i, false, true);
                sink.write(&image, &self.jpeg(&image, &rendered.rgb)?)?;
                summary.images += 1;
                summary.files += 1;
                let splits = [
                    i < one_class_train,
                    i < high_shot_train.0,
                    i < high_shot_train.0,
                ];
                for (csv, train) in csvs.iter_mut().zip(splits) {
                    csv.push_str(&row(name, train, "normal", &image, ""));
                }
            }
            for j in 0..m {
                let image = format!("{name}/Data/Images/Anomaly/{j:03}.JPG");
                let mask = format!("{name}/Data/Masks/Anomaly/{j:03}.png");
                let rendered = self.render(class, j, true, true);
                sink.write(&image, &self.jpeg(&image, &rendered.rgb)?)?;
                let ids = rendered.mask.unwrap_or_default();
                sink.write(&mask, &self.png_mask(&mask, &ids)?)?;
                summary.images += 1;
                summary.files += 2;
                for defect in rendered.defects {
                    *summary.defects.entry(defect.kind).or_default() += 1;
                }
                let splits = [false, j < high_shot_train.1, j < few_shot_train];
                for (csv, train) in csvs.iter_mut().zip(splits) {
                    csv.push_str(&row(name, train, "anomaly", &image, &mask));
                }
            }
        }
        for (path, csv) in VisaSplit::FILES.iter().zip(csvs) {
            sink.write(path, csv.as_bytes())?;
            summary.files += 1;
        }
        Ok(summary)
    }

    fn write_mvtec(&self, sink: &mut (impl Sink + ?Sized)) -> Result<SynthSummary, SynthError> {
        let train = share(self.config.normals, 9);
        let mut numbers: BTreeMap<(String, DefectKind), u32> = BTreeMap::new();
        self.write_pngs(
            sink,
            |name, i| {
                if i < train {
                    format!("{name}/train/good/{i:03}.png")
                } else {
                    format!("{name}/test/good/{:03}.png", i - train)
                }
            },
            |name, _, kind| {
                let number = numbers.entry((name.to_string(), kind)).or_default();
                let paths = (
                    format!("{name}/test/{}/{number:03}.png", kind.name()),
                    format!("{name}/ground_truth/{}/{number:03}_mask.png", kind.name()),
                );
                *number += 1;
                paths
            },
        )
    }

    /// The folder layout: every normal in `good`, every anomaly in `defect`
    /// with its mask in `mask`, numbered as drawn.
    fn write_folder(&self, sink: &mut (impl Sink + ?Sized)) -> Result<SynthSummary, SynthError> {
        self.write_pngs(
            sink,
            |name, i| format!("{name}/{FOLDER_GOOD}/{i:03}.png"),
            |name, j, _| {
                (
                    format!("{name}/{FOLDER_DEFECT}/{j:03}.png"),
                    format!("{name}/{FOLDER_MASK}/{j:03}.png"),
                )
            },
        )
    }

    /// The PNG layouts (MVTec AD's and the folder's): the same images, one
    /// defect per anomaly with a 0/255 mask, under the paths `normal` gives
    /// (class, number) and `anomaly` gives (class, number, defect) as image
    /// and mask.
    fn write_pngs(
        &self,
        sink: &mut (impl Sink + ?Sized),
        normal: impl Fn(&str, u32) -> String,
        mut anomaly: impl FnMut(&str, u32, DefectKind) -> (String, String),
    ) -> Result<SynthSummary, SynthError> {
        let size = self.config.size;
        let mut summary = SynthSummary::default();
        for &class in &self.config.classes {
            let name = class.name();
            for i in 0..self.config.normals {
                let path = normal(name, i);
                let rendered = self.render(class, i, false, false);
                sink.write(&path, &png(&path, &rendered.rgb, size, true)?)?;
                summary.images += 1;
                summary.files += 1;
            }
            for j in 0..self.config.anomalies {
                let rendered = self.render(class, j, true, false);
                let kind = rendered.defects[0].kind;
                let (image, mask) = anomaly(name, j, kind);
                sink.write(&image, &png(&image, &rendered.rgb, size, true)?)?;
                sink.write(&mask, &png(&mask, &binary(rendered.mask), size, false)?)?;
                summary.images += 1;
                summary.files += 2;
                *summary.defects.entry(kind).or_default() += 1;
            }
        }
        Ok(summary)
    }

    fn png_mask(&self, path: &str, ids: &[u8]) -> Result<Vec<u8>, SynthError> {
        png(path, ids, self.config.size, false)
    }
}

/// round(n · tenths / 10), kept within 1..n−1 so both sides get some.
fn share(n: u32, tenths: u32) -> u32 {
    ((n * tenths + 5) / 10).clamp(1, n - 1)
}

/// A defect-id mask as MVTec AD's: 255 on the defect, 0 elsewhere.
fn binary(ids: Option<Vec<u8>>) -> Vec<u8> {
    ids.unwrap_or_default()
        .iter()
        .map(|&id| if id == 0 { 0 } else { 255 })
        .collect()
}

fn row(object: &str, train: bool, label: &str, image: &str, mask: &str) -> String {
    let split = if train { "train" } else { "test" };
    format!("{object},{split},{label},{image},{mask}\n")
}

fn png(path: &str, pixels: &[u8], size: u32, rgb: bool) -> Result<Vec<u8>, SynthError> {
    use image::ImageEncoder;
    let mut bytes = Vec::new();
    let colour = if rgb {
        image::ExtendedColorType::Rgb8
    } else {
        image::ExtendedColorType::L8
    };
    image::codecs::png::PngEncoder::new(Cursor::new(&mut bytes))
        .write_image(pixels, size, size, colour)
        .map_err(|e| encode_error(path, e))?;
    Ok(bytes)
}

fn encode_error(path: &str, error: image::ImageError) -> SynthError {
    SynthError::Encode {
        path: path.to_string(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{check_visa, decode_mask, MemorySource, SizeLimit, Source};

    fn small(layout: Layout) -> SynthConfig {
        SynthConfig {
            seed: 3,
            size: 64,
            normals: 4,
            anomalies: 4,
            classes: vec![SynthClass::Capsules, SynthClass::PcbBlue],
            layout,
            jpeg_quality: 90,
        }
    }

    #[test]
    fn shares_round_and_leave_both_sides_some() {
        // round(200·0.9) = 180, round(60·0.6) = 36, round(5·0.6) = 3,
        // round(2·0.9) = 2 → capped at 1 so one is left for testing.
        assert_eq!(share(200, 9), 180);
        assert_eq!(share(60, 6), 36);
        assert_eq!(share(5, 6), 3);
        assert_eq!(share(2, 9), 1);
    }

    #[test]
    fn bad_settings_name_the_field() {
        let refuse = |change: fn(&mut SynthConfig)| {
            let mut config = SynthConfig::default();
            change(&mut config);
            config.check().unwrap_err().to_string()
        };
        assert!(refuse(|c| c.size = 32).starts_with("`size` 32 is outside 64..=4096"));
        assert!(refuse(|c| c.anomalies = 1).starts_with("`anomalies` is 1"));
        assert!(refuse(|c| c.classes.clear()).contains("`pcb_green`, `pcb_blue`"));
        assert_eq!(
            refuse(|c| c.classes = vec![SynthClass::Fryum, SynthClass::Fryum]),
            "`classes` names `fryum` twice"
        );
        assert!(refuse(|c| c.jpeg_quality = 0).starts_with("`jpeg_quality` 0"));
    }

    #[test]
    fn a_small_visa_set_is_complete_and_clean() {
        let mut sink = MemorySource::new();
        let summary = small(Layout::Visa)
            .check()
            .unwrap()
            .generate(&mut sink)
            .unwrap();
        // 2 classes × (4 normals + 4 anomalies) images; files: those images,
        // 8 masks and 3 CSVs.
        assert_eq!(summary.images, 16);
        assert_eq!(summary.files, 16 + 8 + 3);
        assert_eq!(sink.paths().count(), 27);
        assert!(summary.defects.values().sum::<usize>() >= 8);
        let report = check_visa(&sink, VisaSplit::OneClass, &SizeLimit::default());
        assert_eq!(report.problems, []);
        // Mask ids are defect kinds, 1..=7.
        let mask = sink.read("capsules/Data/Masks/Anomaly/000.png").unwrap();
        let decoded = image::load_from_memory(&mask).unwrap().into_luma8();
        assert!(decoded.pixels().all(|p| p.0[0] <= 7));
        assert!(decode_mask(&mask, &SizeLimit::default()).unwrap().any());
    }

    #[test]
    fn a_small_mvtec_set_groups_anomalies_by_defect() {
        let mut sink = MemorySource::new();
        let summary = small(Layout::Mvtec)
            .check()
            .unwrap()
            .generate(&mut sink)
            .unwrap();
        // One defect per image in this layout: 2 classes × 4 anomalies.
        assert_eq!(summary.defects.values().sum::<usize>(), 8);
        let report = crate::data::check_mvtec(&sink, &SizeLimit::default());
        assert_eq!(report.problems, []);
        // round(4·0.9) = 4 → capped at 3 training normals, 1 test normal.
        assert_eq!(sink.list("capsules/train/good").unwrap().files.len(), 3);
        assert_eq!(sink.list("capsules/test/good").unwrap().files.len(), 1);
    }

    #[test]
    fn the_folder_layout_holds_the_mvtec_layouts_files_renamed() {
        let generate = |layout| {
            let mut sink = MemorySource::new();
            small(layout).check().unwrap().generate(&mut sink).unwrap();
            sink
        };
        let (mvtec, folder) = (generate(Layout::Mvtec), generate(Layout::Folder));
        assert_eq!(
            crate::data::check_folder(&folder, &SizeLimit::default()).problems,
            []
        );
        // Both write 2 classes × (4 normals + 4 anomalies + 4 masks).
        assert_eq!(folder.paths().count(), 24);
        assert_eq!(mvtec.paths().count(), 24);
        // MVTec's normals are numbered 000..002 in train/good and 000 in
        // test/good (normal 3); its anomalies by their defect's folder, in
        // the order drawn, so they are matched by content.
        for class in ["capsules", "pcb_blue"] {
            for (normal, mvtec_path) in [
                (0, "train/good/000.png"),
                (1, "train/good/001.png"),
                (2, "train/good/002.png"),
                (3, "test/good/000.png"),
            ] {
                assert_eq!(
                    folder.read(&format!("{class}/good/{normal:03}.png")),
                    mvtec.read(&format!("{class}/{mvtec_path}"))
                );
            }
            let mvtec_anomalies: Vec<Vec<u8>> = mvtec
                .paths()
                .filter(|p| p.starts_with(&format!("{class}/test/")) && !p.contains("/good/"))
                .map(|p| mvtec.read(p).unwrap())
                .collect();
            assert_eq!(mvtec_anomalies.len(), 4);
            for j in 0..4 {
                let image = folder.read(&format!("{class}/defect/{j:03}.png")).unwrap();
                assert!(mvtec_anomalies.contains(&image), "{class} anomaly {j}");
            }
        }
    }
}
