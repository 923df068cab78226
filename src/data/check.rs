//! `spotdiff data check`: every problem of a data set in one run, each naming
//! its file and, for VisA, the CSV row that lists it.
//!
//! Every listed image is decoded whole (a truncated file fails only there)
//! after its header was checked against the [`SizeLimit`]; every mask is
//! decoded and compared with its image. A file listed by several rows or
//! CSVs is checked, and reported, once: at its first listing.

use std::collections::{BTreeMap, BTreeSet};

use super::decode::{decode_mask, verify, SizeLimit};
use super::folder::{scan_folder, FolderSplit};
use super::mvtec::scan_mvtec;
use super::problem::{DataError, Problem, ProblemKind};
use super::sample::{Dataset, Label, Sample};
use super::source::{Source, SourceError};
use super::visa::{parse_visa_csv, VisaSplit};

/// The outcome of checking a data set.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// Rows (VisA) or images (MVTec AD, folder) read.
    pub samples: usize,
    /// Distinct image and mask files checked.
    pub files: usize,
    /// Every problem, in the order the files are listed.
    pub problems: Vec<Problem>,
    /// VisA's split CSVs that are not there and not needed: only the split
    /// in use is required.
    pub absent: Vec<&'static str>,
}

impl std::fmt::Display for CheckReport {
    /// The report as `data check` prints it: a summary line, then one line
    /// per problem.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "checked {} samples and {} files: {}",
            self.samples,
            self.files,
            match self.problems.len() {
                0 => "no problems".to_string(),
                1 => "1 problem".to_string(),
                n => format!("{n} problems"),
            }
        )?;
        if !self.absent.is_empty() {
            write!(f, "\n  absent, not checked: {}", self.absent.join(", "))?;
        }
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report as a result, so training refuses a bad data set with the
    /// checker's messages.
    pub fn into_result(self) -> Result<(), DataError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(DataError::Invalid(self.problems))
        }
    }
}

/// Checks a VisA tree: the CSV of `split`, which must be there, the other
/// split CSVs that are there (the rest are listed as absent), and every file
/// they list.
pub fn check_visa(
    source: &(impl Source + ?Sized),
    split: VisaSplit,
    limit: &SizeLimit,
) -> CheckReport {
    let mut samples = Vec::new();
    let mut problems = Vec::new();
    let mut absent = Vec::new();
    for csv in VisaSplit::FILES {
        match source.read(csv) {
            Ok(bytes) => {
                let (rows, row_problems) = parse_visa_csv(bytes.as_slice(), csv);
                samples.extend(rows);
                problems.extend(row_problems);
            }
            Err(SourceError::NotFound(_)) if csv != split.csv() => absent.push(csv),
            Err(error) => problems.push(Problem {
                file: csv.to_string(),
                row: None,
                kind: kind_of(error),
            }),
        }
    }
    let mut report = check_samples(source, &samples, limit);
    problems.append(&mut report.problems);
    report.problems = problems;
    report.absent = absent;
    report
}

/// Checks an MVTec AD tree: its layout and every image and mask in it.
pub fn check_mvtec(source: &(impl Source + ?Sized), limit: &SizeLimit) -> CheckReport {
    check_scanned(source, scan_mvtec(source), limit)
}

/// Checks a folder-layout tree: its layout and every image and mask in it
/// (which good images are held out does not matter here).
pub fn check_folder(source: &(impl Source + ?Sized), limit: &SizeLimit) -> CheckReport {
    let any_split = FolderSplit {
        test_share: FolderSplit::DEFAULT_TEST_SHARE,
        seed: 0,
    };
    check_scanned(source, scan_folder(source, any_split), limit)
}

/// Checks the files of a scanned folder tree after the scan's own problems.
fn check_scanned(
    source: &(impl Source + ?Sized),
    (dataset, mut problems): (Dataset, Vec<Problem>),
    limit: &SizeLimit,
) -> CheckReport {
    let mut report = check_samples(source, &dataset.samples, limit);
    problems.append(&mut report.problems);
    report.problems = problems;
    report
}

/// Checks the files of listed samples: each image exists, decodes whole and
/// is within the limit; each anomaly has a mask of its image's size that
/// marks something, and no normal sample has one.
pub fn check_samples(
    source: &(impl Source + ?Sized),
    samples: &[Sample],
    limit: &SizeLimit,
) -> CheckReport {
    let mut problems = Vec::new();
    // The size of each checked image, `None` where it failed.
    let mut images: BTreeMap<&str, Option<(u32, u32)>> = BTreeMap::new();
    let mut masks: BTreeSet<&str> = BTreeSet::new();
    for sample in samples {
        let problem = |file: &str, kind| Problem {
            file: file.to_string(),
            row: sample.row,
            kind,
        };
        let size = *images.entry(&sample.image).or_insert_with(|| {
            match source
                .read(&sample.image)
                .map_err(kind_of)
                .and_then(|bytes| verify(&bytes, limit).map_err(ProblemKind::Undecodable))
            {
                Ok((_, width, height)) => Some((width, height)),
                Err(kind) => {
                    problems.push(problem(&sample.image, kind));
                    None
                }
            }
        });
        let mask = match (sample.label, &sample.mask) {
            (Label::Anomaly, None) => {
                problems.push(problem(&sample.image, ProblemKind::AnomalyWithoutMask));
                continue;
            }
            (Label::Normal, Some(mask)) => {
                problems.push(problem(
                    &sample.image,
                    ProblemKind::NormalWithMask(mask.clone()),
                ));
                continue;
            }
            (_, None) => continue,
            (_, Some(mask)) => mask,
        };
        if !masks.insert(mask) {
            continue;
        }
        let decoded = source
            .read(mask)
            .map_err(kind_of)
            .and_then(|bytes| decode_mask(&bytes, limit).map_err(ProblemKind::Undecodable));
        match decoded {
            Err(kind) => problems.push(problem(mask, kind)),
            Ok(decoded) => {
                if let Some((image_width, image_height)) = size {
                    if (decoded.width, decoded.height) != (image_width, image_height) {
                        problems.push(problem(
                            mask,
                            ProblemKind::MaskSizeMismatch {
                                image: sample.image.clone(),
                                mask_width: decoded.width,
                                mask_height: decoded.height,
                                image_width,
                                image_height,
                            },
                        ));
                    }
                }
                if !decoded.any() {
                    problems.push(problem(mask, ProblemKind::EmptyMask));
                }
            }
        }
    }
    CheckReport {
        samples: samples.len(),
        files: images.len() + masks.len(),
        problems,
        absent: Vec::new(),
    }
}

/// The problem a failed read is; the caller names the file.
pub(crate) fn kind_of(error: SourceError) -> ProblemKind {
    match error {
        SourceError::NotFound(_) => ProblemKind::NotFound,
        SourceError::Unreadable { reason, .. } | SourceError::Unwritable { reason, .. } => {
            ProblemKind::Unreadable(reason)
        }
    }
}
