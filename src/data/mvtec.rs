//! The MVTec AD data set (Bergmann et al., CVPR 2019) by its folder layout:
//! `<class>/train/good/*.png`, `<class>/test/{good,<defect>}/*.png` and
//! `<class>/ground_truth/<defect>/<stem>_mask.png`.
//!
//! A class is a root folder holding `train` or `test`; other root entries
//! (MVTec's licence and readme files) are ignored. Within a class only `.png`
//! files count. Files are listed in name order, so the order is the same on
//! every machine.

use super::problem::{DataError, Problem, ProblemKind};
use super::sample::{Dataset, Label, Sample, Split};
use super::source::{class_folders, files_where, join, stem, Source};

/// The folder of defect-free images in `train` and `test`.
pub const GOOD: &str = "good";

/// Reads an MVTec AD tree; refuses it with every layout problem found.
pub fn read_mvtec(source: &(impl Source + ?Sized)) -> Result<Dataset, DataError> {
    let (dataset, problems) = scan_mvtec(source);
    if problems.is_empty() {
        Ok(dataset)
    } else {
        Err(DataError::Invalid(problems))
    }
}

/// Reads an MVTec AD tree, returning what could be read and every problem.
/// An anomaly whose mask file is not in `ground_truth` gets no mask, which
/// the checker reports.
pub fn scan_mvtec(source: &(impl Source + ?Sized)) -> (Dataset, Vec<Problem>) {
    let mut samples = Vec::new();
    let mut problems = Vec::new();
    for (class, listing) in class_folders(source, &mut problems) {
        let class = &class;
        let has = |name: &str| listing.folders.iter().any(|f| f == name);
        if !has("train") && !has("test") {
            // Only a folder that looks half like a class is worth a problem;
            // anything else at the root is not MVTec's.
            if has("ground_truth") {
                problems.push(Problem {
                    file: class.clone(),
                    row: None,
                    kind: ProblemKind::NotAClass,
                });
            }
            continue;
        }
        let train_good = join(class, "train/good");
        for name in pngs(source, &train_good, &mut problems) {
            samples.push(Sample {
                object: class.clone(),
                split: Split::Train,
                label: Label::Normal,
                image: join(&train_good, &name),
                mask: None,
                row: None,
            });
        }
        let test = join(class, "test");
        let defects = match source.list(&test) {
            Ok(listing) => listing.folders,
            Err(error) => {
                problems.push(error.into());
                Vec::new()
            }
        };
        for defect in defects {
            let folder = join(&test, &defect);
            let label = if defect == GOOD {
                Label::Normal
            } else {
                Label::Anomaly
            };
            let truth = join(class, &format!("ground_truth/{defect}"));
            let masks = match label {
                Label::Anomaly => source.list(&truth).map(|l| l.files).unwrap_or_default(),
                Label::Normal => Vec::new(),
            };
            for name in pngs(source, &folder, &mut problems) {
                let mask_name = format!("{}_mask.png", stem(&name));
                samples.push(Sample {
                    object: class.clone(),
                    split: Split::Test,
                    label,
                    image: join(&folder, &name),
                    mask: masks.contains(&mask_name).then(|| join(&truth, &mask_name)),
                    row: None,
                });
            }
        }
    }
    (Dataset { samples }, problems)
}

/// The PNG files of a folder; a folder that cannot be listed is a problem.
fn pngs(source: &(impl Source + ?Sized), folder: &str, problems: &mut Vec<Problem>) -> Vec<String> {
    files_where(source, folder, is_png, problems)
}

fn is_png(name: &str) -> bool {
    name.len() > 4
        && name
            .get(name.len() - 4..)
            .is_some_and(|extension| extension.eq_ignore_ascii_case(".png"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::source::MemorySource;

    #[test]
    fn reads_classes_splits_and_masks() {
        let mut source = MemorySource::new();
        for path in [
            "license.txt",
            "bottle/train/good/000.png",
            "bottle/train/good/001.png",
            "bottle/train/good/notes.txt",
            "bottle/test/good/000.png",
            "bottle/test/broken/000.png",
            "bottle/test/broken/001.png",
            "bottle/ground_truth/broken/000_mask.png",
        ] {
            source.insert(path, Vec::new());
        }
        // Through a trait object, as a shell choosing its source at run time.
        let dynamic: &dyn Source = &source;
        let (dataset, problems) = scan_mvtec(dynamic);
        assert!(problems.is_empty(), "{problems:?}");
        let rows: Vec<_> = dataset
            .samples
            .iter()
            .map(|s| (s.split, s.label, s.image.as_str(), s.mask.as_deref()))
            .collect();
        use Label::*;
        use Split::*;
        assert_eq!(
            rows,
            [
                (Train, Normal, "bottle/train/good/000.png", None),
                (Train, Normal, "bottle/train/good/001.png", None),
                (
                    Test,
                    Anomaly,
                    "bottle/test/broken/000.png",
                    Some("bottle/ground_truth/broken/000_mask.png")
                ),
                (Test, Anomaly, "bottle/test/broken/001.png", None),
                (Test, Normal, "bottle/test/good/000.png", None),
            ]
        );
    }
}
