//! A plain folder of one's own images: `<class>/good/*` (defect-free),
//! optionally `<class>/defect/*` (defective) with `<class>/mask/<stem>.png`
//! (any non-zero pixel marks the defect). The class is the folder's name.
//!
//! Such a tree has no test split of its own, so a seeded share of each
//! class's good images is held out as test normals ([`FolderSplit`]); every
//! defective image is a test anomaly. Only `.png`, `.jpg` and `.jpeg` files
//! count (any case); other files, such as notes, are ignored. Files are
//! listed in name order, so the samples are the same on every machine.

use super::problem::{Problem, ProblemKind};
use super::sample::{Dataset, Label, Sample, Split};
use super::source::{class_folders, files_where, join, stem, Source};
use crate::metrics::bootstrap::stream_of;
use crate::rng::Rng;

/// The defect-free images of a class.
pub const FOLDER_GOOD: &str = "good";
/// The defective images of a class.
pub const FOLDER_DEFECT: &str = "defect";
/// The masks of the defective images, `<stem>.png` each.
pub const FOLDER_MASK: &str = "mask";

/// Which good images of a folder-layout tree are held out as test normals.
///
/// Of a class's n good images, round(`test_share`·n) are held out, kept
/// within 1..n−1 when n ≥ 2 so both sides get some (a single good image is
/// trained on). They are the first of a Fisher–Yates shuffle of the images
/// (in name order) drawn from `Rng::new(seed, FNV-1a of the class name)`,
/// so a class holds out the same images whichever other classes are read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FolderSplit {
    /// Above 0 and below 1.
    pub test_share: f64,
    pub seed: u64,
}

impl FolderSplit {
    /// One tenth held out, as VisA's 1cls split tests about a tenth of the
    /// normals.
    pub const DEFAULT_TEST_SHARE: f64 = 0.1;

    /// How many of `n` good images are held out.
    pub fn held_out_count(&self, n: usize) -> usize {
        if n < 2 {
            return 0;
        }
        // A share outside (0, 1) or NaN still lands within 1..n−1.
        let rounded = (self.test_share * n as f64).round();
        (rounded.max(0.0) as usize).clamp(1, n - 1)
    }

    /// For each of a class's `n` good images (in name order), whether it is
    /// held out for testing.
    pub fn held_out(&self, class: &str, n: usize) -> Vec<bool> {
        let count = self.held_out_count(n);
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = Rng::new(self.seed, stream_of(class));
        for i in 0..count {
            let j = i + rng.below((n - i) as u64) as usize;
            order.swap(i, j);
        }
        let mut test = vec![false; n];
        for &index in &order[..count] {
            test[index] = true;
        }
        test
    }
}

/// Reads a folder-layout tree, returning what could be read and every
/// problem. A defective image without its mask gets none, which the checker
/// reports.
pub fn scan_folder(source: &(impl Source + ?Sized), split: FolderSplit) -> (Dataset, Vec<Problem>) {
    let mut samples = Vec::new();
    let mut problems = Vec::new();
    for (class, listing) in class_folders(source, &mut problems) {
        let class = &class;
        let has = |name: &str| listing.folders.iter().any(|f| f == name);
        if !has(FOLDER_GOOD) {
            // Defects without good images are half a class; other folders
            // at the root are not this layout's.
            if has(FOLDER_DEFECT) {
                problems.push(Problem {
                    file: class.clone(),
                    row: None,
                    kind: ProblemKind::NoGoodFolder,
                });
            }
            continue;
        }
        let good = join(class, FOLDER_GOOD);
        let names = files_where(source, &good, is_image, &mut problems);
        let held_out = split.held_out(class, names.len());
        for (name, test) in names.iter().zip(held_out) {
            samples.push(Sample {
                object: class.clone(),
                split: if test { Split::Test } else { Split::Train },
                label: Label::Normal,
                image: join(&good, name),
                mask: None,
                row: None,
            });
        }
        if !has(FOLDER_DEFECT) {
            continue;
        }
        let defect = join(class, FOLDER_DEFECT);
        let mask_folder = join(class, FOLDER_MASK);
        let masks = if has(FOLDER_MASK) {
            source
                .list(&mask_folder)
                .map(|l| l.files)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        for name in files_where(source, &defect, is_image, &mut problems) {
            let mask_name = format!("{}.png", stem(&name));
            samples.push(Sample {
                object: class.clone(),
                split: Split::Test,
                label: Label::Anomaly,
                image: join(&defect, &name),
                mask: masks
                    .contains(&mask_name)
                    .then(|| join(&mask_folder, &mask_name)),
                row: None,
            });
        }
    }
    (Dataset { samples }, problems)
}

fn is_image(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(stem, extension)| {
        !stem.is_empty()
            && ["png", "jpg", "jpeg"]
                .iter()
                .any(|known| extension.eq_ignore_ascii_case(known))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::source::MemorySource;

    const SPLIT: FolderSplit = FolderSplit {
        test_share: 0.1,
        seed: 0,
    };

    #[test]
    fn held_out_counts_round_and_leave_both_sides_some() {
        // round(0.1·20) = 2; round(0.1·4) = 0 → at least 1; round(0.9·10)
        // = 9 → at most n−1 = 9; round(0.25·6) = round(1.5) = 2; one image
        // is trained on.
        assert_eq!(SPLIT.held_out_count(20), 2);
        assert_eq!(SPLIT.held_out_count(4), 1);
        let most = FolderSplit {
            test_share: 0.9,
            seed: 0,
        };
        assert_eq!(most.held_out_count(10), 9);
        let quarter = FolderSplit {
            test_share: 0.25,
            seed: 0,
        };
        assert_eq!(quarter.held_out_count(6), 2);
        assert_eq!(SPLIT.held_out_count(1), 0);
        assert_eq!(SPLIT.held_out_count(0), 0);
    }

    #[test]
    fn the_held_out_images_depend_on_seed_and_class_only() {
        let quarter = |seed| FolderSplit {
            test_share: 0.25,
            seed,
        };
        let chosen = quarter(0).held_out("bottle", 40);
        assert_eq!(chosen.iter().filter(|&&t| t).count(), 10);
        assert_eq!(chosen, quarter(0).held_out("bottle", 40));
        // C(40, 10) ≈ 8.5e8 subsets: another seed or class drawing the same
        // one would be a broken stream, not chance.
        assert_ne!(chosen, quarter(1).held_out("bottle", 40));
        assert_ne!(chosen, quarter(0).held_out("cable", 40));
    }

    #[test]
    fn reads_good_defects_and_masks_and_holds_out_good_images() {
        let mut source = MemorySource::new();
        for path in [
            "notes.txt",
            "bolt/good/a.png",
            "bolt/good/b.JPG",
            "bolt/good/c.jpeg",
            "bolt/good/d.png",
            "bolt/good/readme.txt",
            "bolt/defect/x.png",
            "bolt/defect/y.jpg",
            "bolt/mask/x.png",
            "stray/other/z.png",
        ] {
            source.insert(path, Vec::new());
        }
        let (dataset, problems) = scan_folder(&source, SPLIT);
        assert!(problems.is_empty(), "{problems:?}");
        // 4 good images: round(0.4) = 0 → 1 held out.
        let held_out = SPLIT.held_out("bolt", 4);
        let good = ["a.png", "b.JPG", "c.jpeg", "d.png"];
        let mut expected: Vec<(Split, Label, String, Option<&str>)> = good
            .iter()
            .zip(&held_out)
            .map(|(name, &test)| {
                let split = if test { Split::Test } else { Split::Train };
                (split, Label::Normal, format!("bolt/good/{name}"), None)
            })
            .collect();
        expected.push((
            Split::Test,
            Label::Anomaly,
            "bolt/defect/x.png".into(),
            Some("bolt/mask/x.png"),
        ));
        expected.push((
            Split::Test,
            Label::Anomaly,
            "bolt/defect/y.jpg".into(),
            None,
        ));
        let rows: Vec<_> = dataset
            .samples
            .iter()
            .map(|s| (s.split, s.label, s.image.clone(), s.mask.as_deref()))
            .collect();
        assert_eq!(rows, expected);
        assert!(dataset.samples.iter().all(|s| s.object == "bolt"));
    }

    #[test]
    fn defects_without_good_images_are_a_problem() {
        let mut source = MemorySource::new();
        source.insert("bolt/defect/x.png", Vec::new());
        let (dataset, problems) = scan_folder(&source, SPLIT);
        assert!(dataset.samples.is_empty());
        assert_eq!(
            problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["`bolt`: a class folder with `defect` but no `good`: the folder layout needs `<class>/good`"]
        );
    }
}
