use thiserror::Error;

/// Why a metric cannot be computed from the given scores.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum MetricsError {
    #[error("no scores were given: the metrics need at least one anomalous and one normal sample")]
    Empty,
    #[error(
        "all {negatives} samples are normal: AU-ROC, AU-PR and F1 are undefined without anomalous samples (label 1)"
    )]
    NoPositives { negatives: u64 },
    #[error(
        "all {positives} samples are anomalous: AU-ROC is undefined without normal samples (label 0)"
    )]
    NoNegatives { positives: u64 },
    #[error(
        "score number {index} (counting from 0) is {value}: every score must be a finite number"
    )]
    NonFiniteScore { index: u64, value: f64 },
    #[error("{scores} scores but {labels} labels: every score needs exactly one label")]
    LengthMismatch { scores: usize, labels: usize },
    #[error("map {map} ({width}x{height}): the {what} has {got} values, expected {expected}")]
    ShapeMismatch {
        map: u64,
        what: &'static str,
        width: usize,
        height: usize,
        expected: usize,
        got: usize,
    },
    #[error("the FPR limit {0} is outside (0, 1]: choose a limit such as 0.3")]
    InvalidFprLimit(f64),
}
