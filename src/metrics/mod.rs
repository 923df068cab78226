//! Exact ranking metrics for anomaly classification and segmentation.
//!
//! The paper's protocol (supplementary, section B; SPEC "Metrics"): AU-ROC,
//! AU-PR as the trapezoid under the precision-recall curve starting at
//! (recall 0, precision 1) — scikit-learn's `auc(recall, precision)` over
//! `precision_recall_curve` — average precision (the step sum), and max-F1
//! with its threshold. Segmentation uses the same metrics over every pixel of
//! every test image.
//!
//! Everything here is exact: samples with equal scores move together (one
//! operating point per distinct score), nothing is binned, and the ROC area is
//! summed in integers. Scores are pushed image by image into a [`ScoreSet`],
//! which keeps one order-preserving integer key per sample (4 bytes for `f32`),
//! so 10^8 pixel scores need about 0.8 GB at the sort's peak.
//!
//! [`paper`] reproduces the paper's own 202-threshold sweep so numbers compare
//! with published ones; [`pro`] adds PRO and AU-PRO, beyond what the paper
//! reports. [`bootstrap`] resamples test images for intervals, weighting
//! each image instead of copying its pixels.

mod binary;
pub mod bootstrap;
mod curve;
mod error;
mod key;
pub mod paper;
pub mod pro;
mod ranking;
mod sum;
mod table;

pub use binary::{binary_metrics, BinaryMetrics};
pub use curve::{Curve, CurvePoint, OperatingPoint};
pub use error::MetricsError;
pub use key::{radix_sort, RadixKey, Score};
pub use ranking::{Ranking, ScoreSet, Step};
pub use table::{RowProblem, ScoreCsvError, ScoreTable};

/// Computes the exact classification metrics of `scores` against `labels`
/// (`true` = anomalous, the positive class).
pub fn evaluate<S: Score>(scores: &[S], labels: &[bool]) -> Result<BinaryMetrics, MetricsError> {
    let mut set = ScoreSet::with_capacity(scores.len());
    set.extend(scores, labels)?;
    binary_metrics(&set.rank()?)
}
