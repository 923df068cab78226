//! What can be wrong with a data set, one problem per file and row, and the
//! error that refuses a data set with problems.

use std::fmt;

use thiserror::Error;

use super::decode::DecodeError;
use super::layout::Layout;
use super::sample::Row;
use super::source::SourceError;

/// One problem with one file of a data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The file at fault, relative to the data root: a CSV, an image or a mask.
    pub file: String,
    /// The CSV row that lists the file, where there is one.
    pub row: Option<Row>,
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.row {
            Some(row) if row.csv == self.file => write!(f, "{row}: {}", self.kind),
            Some(row) => write!(f, "`{}` ({row}): {}", self.file, self.kind),
            None => write!(f, "`{}`: {}", self.file, self.kind),
        }
    }
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ProblemKind {
    #[error("no such file")]
    NotFound,
    #[error("cannot be read: {0}")]
    Unreadable(String),
    #[error("not a valid CSV: {0}")]
    BadCsv(String),
    #[error("the header has no `{missing}` column (found: {found}); VisA's split CSVs need the header `object,split,label,image,mask`")]
    MissingColumn {
        missing: &'static str,
        found: String,
    },
    #[error("no `{column}` field (the row has {fields} fields)")]
    MissingField { column: &'static str, fields: usize },
    #[error("{column} `{value}` is not one of {expected}")]
    UnknownValue {
        column: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("the {column} is empty")]
    EmptyField { column: &'static str },
    #[error("path `{0}` leaves the data root: paths must be relative, without `..`")]
    PathOutsideRoot(String),
    #[error("lists `{image}` again (first listed on line {first_line})")]
    Duplicate { image: String, first_line: u64 },
    #[error("the file has a header but no rows")]
    NoRows,
    #[error("{0}")]
    Undecodable(DecodeError),
    #[error("the mask is {mask_width}x{mask_height} but its image `{image}` is {image_width}x{image_height}")]
    MaskSizeMismatch {
        image: String,
        mask_width: u32,
        mask_height: u32,
        image_width: u32,
        image_height: u32,
    },
    #[error("the mask marks no pixel: an anomaly's mask must mark its defect")]
    EmptyMask,
    #[error("an anomaly without a mask: segmentation metrics need one")]
    AnomalyWithoutMask,
    #[error("a normal sample with mask `{0}`: normal samples have no defect to mark")]
    NormalWithMask(String),
    #[error("a class folder without `train/good` or `test`: not MVTec AD's layout")]
    NotAClass,
    #[error("a class folder with `defect` but no `good`: the folder layout needs `<class>/good`")]
    NoGoodFolder,
}

impl From<SourceError> for Problem {
    fn from(error: SourceError) -> Self {
        match error {
            SourceError::NotFound(path) => Problem {
                file: path,
                row: None,
                kind: ProblemKind::NotFound,
            },
            SourceError::Unreadable { path, reason } | SourceError::Unwritable { path, reason } => {
                Problem {
                    file: path,
                    row: None,
                    kind: ProblemKind::Unreadable(reason),
                }
            }
        }
    }
}

/// Why a data set or one of its samples cannot be used. Its messages are the
/// checker's, so training refuses a data set in the words `data check` uses.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum DataError {
    #[error("{}", list(.0))]
    Invalid(Vec<Problem>),
    #[error("{0}")]
    Sample(Problem),
    /// The tree holds no class of the layout it is read in (or, `None`, of
    /// any layout).
    #[error("{}", no_classes(*.0))]
    NoClasses(Option<Layout>),
}

fn no_classes(layout: Option<Layout>) -> &'static str {
    match layout {
        None => "no classes found: not VisA's layout (no `split_csv/`), MVTec AD's (no `<class>/train` or `<class>/test`) nor a plain folder's (no `<class>/good`)",
        Some(Layout::Visa) => "no classes found in VisA's layout: the split CSV lists no rows",
        Some(Layout::Mvtec) => "no classes found in MVTec AD's layout: no folder holds `train` or `test`",
        Some(Layout::Folder) => "no classes found in the folder layout: no folder holds `good`",
    }
}

fn list(problems: &[Problem]) -> String {
    let mut text = format!(
        "the data set has {} problem{}; run `spotdiff data check` on it and fix them:",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for problem in problems {
        text.push_str("\n  ");
        text.push_str(&problem.to_string());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_and_the_row() {
        let row = Row {
            csv: "split_csv/1cls.csv",
            line: 7,
        };
        let missing = Problem {
            file: "candle/Data/Images/Normal/0001.JPG".into(),
            row: Some(row),
            kind: ProblemKind::NotFound,
        };
        assert_eq!(
            missing.to_string(),
            "`candle/Data/Images/Normal/0001.JPG` (split_csv/1cls.csv line 7): no such file"
        );
        let bad_label = Problem {
            file: "split_csv/1cls.csv".into(),
            row: Some(row),
            kind: ProblemKind::UnknownValue {
                column: "label",
                value: "good".into(),
                expected: "`normal`, `anomaly`",
            },
        };
        assert_eq!(
            bad_label.to_string(),
            "split_csv/1cls.csv line 7: label `good` is not one of `normal`, `anomaly`"
        );
        let error = DataError::Invalid(vec![missing, bad_label]);
        assert_eq!(
            error.to_string(),
            "the data set has 2 problems; run `spotdiff data check` on it and fix them:\n  \
             `candle/Data/Images/Normal/0001.JPG` (split_csv/1cls.csv line 7): no such file\n  \
             split_csv/1cls.csv line 7: label `good` is not one of `normal`, `anomaly`"
        );
    }
}
