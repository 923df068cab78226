//! The paper's own segmentation protocol, reproduced so that our numbers can be
//! compared with published ones (SPEC "Metrics").
//!
//! The paper's evaluation code sweeps 202 thresholds instead of every distinct
//! score: the 100 percentiles 0, 1, …, 99 of the anomalous pixels' scores
//! (NumPy's default linear interpolation), 100 values evenly spaced from their
//! minimum to their maximum (both included), and the global minimum − 1e-8 and
//! maximum + 1e-8 over all pixels. A pixel is called anomalous when its score is
//! strictly greater than the threshold. The curves join the 202 operating
//! points in threshold order; precision is 1 where nothing is called anomalous
//! (the maximum + 1e-8 point, which is PR's start at recall 0). Thresholds are
//! computed in `f64`.
//!
//! Because the sweep is coarse, these areas differ from the exact ones in
//! [`crate::metrics::binary_metrics`]; use this mode only to compare with
//! published numbers.

use serde::Serialize;

use super::bootstrap::numpy_percentile;
use super::curve::{Curve, OperatingPoint};
use super::key::Score;
use super::ranking::Ranking;

/// The number of thresholds in the paper's sweep.
pub const PAPER_THRESHOLDS: usize = 202;
/// The margin put below the lowest and above the highest score.
pub const PAPER_MARGIN: f64 = 1e-8;

/// Metrics of the paper's 202-threshold sweep, as fractions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaperMetrics {
    pub auroc: f64,
    pub aupr: f64,
    pub max_f1: f64,
    /// Samples scoring strictly above this are called anomalous.
    pub max_f1_threshold: f64,
    /// The 202 operating points, from the highest threshold down.
    pub points: Vec<OperatingPoint>,
}

/// The paper's thresholds for a ranking, from the highest down.
pub fn paper_thresholds<S: Score>(ranking: &Ranking<S>) -> Vec<f64> {
    let anomalous = ranking.positives() as usize;
    let lowest_anomalous: f64 = ranking.positive_score(0).into();
    let highest_anomalous: f64 = ranking.positive_score(anomalous - 1).into();
    let (lowest, highest) = ranking.score_range();
    let mut thresholds = Vec::with_capacity(PAPER_THRESHOLDS);
    thresholds.extend((0..100).map(|q| percentile(ranking, f64::from(q))));
    thresholds.extend(linspace(lowest_anomalous, highest_anomalous, 100));
    thresholds.push(lowest.into() - PAPER_MARGIN);
    thresholds.push(highest.into() + PAPER_MARGIN);
    thresholds.sort_by(|a, b| b.total_cmp(a));
    thresholds
}

/// Computes the paper's sweep over a ranking.
pub fn paper_metrics<S: Score>(ranking: &Ranking<S>) -> PaperMetrics {
    let (positives, negatives) = (ranking.positives(), ranking.negatives());
    let points: Vec<OperatingPoint> = paper_thresholds(ranking)
        .into_iter()
        .map(|threshold| {
            let (true_positives, false_positives) = ranking.counts_above(threshold);
            OperatingPoint {
                threshold,
                true_positives,
                false_positives,
                positives,
                negatives,
            }
        })
        .collect();
    let best = points
        .iter()
        .copied()
        .reduce(|best, p| if p.f1() > best.f1() { p } else { best })
        .expect("the sweep has 202 points");
    PaperMetrics {
        auroc: Curve::roc(&points).area(),
        aupr: Curve::precision_recall(&points).area(),
        max_f1: best.f1(),
        max_f1_threshold: best.threshold,
        points,
    }
}

/// NumPy's `percentile(x, q)` with its default ("linear") method over the
/// anomalous scores.
fn percentile<S: Score>(ranking: &Ranking<S>, q: f64) -> f64 {
    numpy_percentile(ranking.positives() as usize, q, |rank| {
        ranking.positive_score(rank).into()
    })
}

/// NumPy's `linspace(start, stop, count)`, endpoints included.
fn linspace(start: f64, stop: f64, count: usize) -> impl Iterator<Item = f64> {
    let step = (stop - start) / (count - 1) as f64;
    (0..count).map(move |i| {
        if i == count - 1 {
            stop
        } else {
            start + i as f64 * step
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ScoreSet;

    fn ranking(scores: &[f64], labels: &[bool]) -> Ranking<f64> {
        let mut set = ScoreSet::new();
        set.extend(scores, labels).unwrap();
        set.rank().unwrap()
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        // numpy.percentile([1, 2, 4, 8], [0, 25, 50, 99]) = [1, 1.75, 3, 7.88].
        let r = ranking(&[8.0, 1.0, 4.0, 2.0, 0.0], &[true, true, true, true, false]);
        for (q, expected) in [(0.0, 1.0), (25.0, 1.75), (50.0, 3.0), (99.0, 7.88)] {
            assert!((percentile(&r, q) - expected).abs() < 1e-12, "q={q}");
        }
    }

    #[test]
    fn sweep_has_202_thresholds_spanning_all_scores() {
        let r = ranking(&[0.0, 1.0, 2.0, 3.0], &[false, true, true, false]);
        let thresholds = paper_thresholds(&r);
        assert_eq!(thresholds.len(), PAPER_THRESHOLDS);
        assert_eq!(thresholds[0], 3.0 + PAPER_MARGIN);
        assert_eq!(thresholds[201], 0.0 - PAPER_MARGIN);
    }

    #[test]
    fn strict_comparison_misses_the_lowest_anomaly_until_the_global_minimum() {
        // Anomalies 0.7, 0.8, 0.9; normals 0.1, 0.2, 0.3. No threshold lies in
        // [0.3, 0.7): with `score > t`, t = 0.7 (percentile 0) calls only two
        // anomalies, and the next lower threshold, 0.1 - 1e-8, calls everything.
        // ROC: (0,0) .. (0, 2/3) then (1, 1): area 5/6.
        // PR: precision 1 up to recall 2/3, then (1, 1/2): 2/3 + 1/3 * 3/4 = 11/12.
        // Best F1 = 2*2 / (2 + 0 + 3) = 0.8, first reached just below 0.8 by
        // linspace(0.7, 0.9, 100)[49] = 0.79898...
        let r = ranking(
            &[0.1, 0.2, 0.3, 0.7, 0.8, 0.9],
            &[false, false, false, true, true, true],
        );
        let m = paper_metrics(&r);
        assert!((m.auroc - 5.0 / 6.0).abs() < 1e-15);
        assert!((m.aupr - 11.0 / 12.0).abs() < 1e-15);
        assert!((m.max_f1 - 0.8).abs() < 1e-15);
        assert!((m.max_f1_threshold - (0.7 + 49.0 * 0.2 / 99.0)).abs() < 1e-12);
    }
}
