//! AU-ROC, AU-PR, average precision and max-F1 in one exact walk.

use serde::Serialize;

use super::curve::{Curve, CurvePoint, CurveThinner, OperatingPoint};
use super::error::MetricsError;
use super::key::Score;
use super::ranking::Ranking;
use super::sum::CompensatedSum;

/// Vertex spacing of the plotting copies of the curves.
const PLOT_RESOLUTION: f64 = 1e-3;

/// The classification metrics of one score set, as fractions (not percent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BinaryMetrics {
    pub positives: u64,
    pub negatives: u64,
    /// Area under the ROC curve (trapezoid, ties grouped): scikit-learn's
    /// `roc_auc_score`.
    pub auroc: f64,
    /// Trapezoidal area under the PR curve from (recall 0, precision 1):
    /// scikit-learn's `auc(recall, precision)` over `precision_recall_curve`,
    /// as the paper computes AU-PR.
    pub aupr: f64,
    /// Average precision, Σ (R_k − R_{k−1}) P_k: scikit-learn's
    /// `average_precision_score`.
    pub average_precision: f64,
    /// The best F1 over all thresholds.
    pub max_f1: f64,
    /// The score at which `max_f1` is reached: samples scoring at least this
    /// are called anomalous. On exact ties the highest such threshold.
    pub max_f1_threshold: f64,
    /// Precision at the highest threshold that finds every anomaly.
    pub precision_at_full_recall: f64,
    /// The ROC curve thinned for plotting (its area is `auroc` to about 1e-3).
    pub roc: Curve,
    /// The PR curve thinned for plotting.
    pub pr: Curve,
}

/// Computes [`BinaryMetrics`] in one pass over the distinct thresholds.
///
/// The ROC area is summed exactly in integers (2·area·P·N); the PR areas with a
/// compensated sum, so results agree with a reference to about 1e-15.
pub fn binary_metrics<S: Score>(ranking: &Ranking<S>) -> Result<BinaryMetrics, MetricsError> {
    let positives = ranking.positives();
    let negatives = ranking.negatives();
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut twice_roc_area: u128 = 0;
    let mut aupr = CompensatedSum::default();
    let mut average_precision = CompensatedSum::default();
    let mut previous_precision = 1.0;
    // F1 = 2TP / (TP + FP + P), compared as exact fractions.
    let (mut best_f1_numerator, mut best_f1_denominator) = (0u64, 1u64);
    let mut max_f1_threshold = f64::NAN;
    let mut precision_at_full_recall = None;
    let mut roc = CurveThinner::new(CurvePoint { x: 0.0, y: 0.0 }, PLOT_RESOLUTION);
    let mut pr = CurveThinner::new(CurvePoint { x: 0.0, y: 1.0 }, PLOT_RESOLUTION);

    for step in ranking.steps() {
        let previous_tp = tp;
        tp += step.positives;
        fp += step.negatives;
        twice_roc_area += u128::from(step.negatives) * u128::from(tp + previous_tp);

        let precision = tp as f64 / (tp + fp) as f64;
        let recall_gain = step.positives as f64 / positives as f64;
        aupr.add(recall_gain * (precision + previous_precision) / 2.0);
        average_precision.add(recall_gain * precision);
        previous_precision = precision;

        let numerator = 2 * tp;
        let denominator = tp + fp + positives;
        if u128::from(numerator) * u128::from(best_f1_denominator)
            > u128::from(best_f1_numerator) * u128::from(denominator)
        {
            (best_f1_numerator, best_f1_denominator) = (numerator, denominator);
            max_f1_threshold = step.threshold.into();
        }
        if tp == positives && precision_at_full_recall.is_none() {
            precision_at_full_recall = Some(precision);
        }
        let recall = tp as f64 / positives as f64;
        roc.push(CurvePoint {
            x: fp as f64 / negatives as f64,
            y: recall,
        });
        pr.push(CurvePoint {
            x: recall,
            y: precision,
        });
    }

    Ok(BinaryMetrics {
        positives,
        negatives,
        auroc: twice_roc_area as f64 / (2.0 * positives as f64 * negatives as f64),
        aupr: aupr.value(),
        average_precision: average_precision.value(),
        max_f1: best_f1_numerator as f64 / best_f1_denominator as f64,
        max_f1_threshold,
        precision_at_full_recall: precision_at_full_recall
            .expect("a ranking has positives, so the last step reaches full recall"),
        roc: roc.finish(),
        pr: pr.finish(),
    })
}

impl<S: Score> Ranking<S> {
    /// Every operating point, one per distinct score, from the highest
    /// threshold down: the exact curves, for small sets such as image scores.
    pub fn operating_points(&self) -> Vec<OperatingPoint> {
        let (positives, negatives) = (self.positives(), self.negatives());
        let (mut tp, mut fp) = (0, 0);
        self.steps()
            .map(|step| {
                tp += step.positives;
                fp += step.negatives;
                OperatingPoint {
                    threshold: step.threshold.into(),
                    true_positives: tp,
                    false_positives: fp,
                    positives,
                    negatives,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::evaluate;

    #[test]
    fn hand_computed_case_with_ties() {
        // scores: 0.9(+) 0.8(-) 0.8(+) 0.5(-) 0.5(-) 0.1(+); P = 3, N = 3.
        // Steps (TP, FP): 0.9 -> (1,0); 0.8 -> (2,1); 0.5 -> (2,3); 0.1 -> (3,3).
        // ROC: (0,0) (0,1/3) (1/3,2/3) (1,2/3) (1,1):
        //   1/3*(1/3+2/3)/2 + 2/3*(2/3) = 1/6 + 4/9 = 11/18.
        // PR from (0,1): (1/3,1) (2/3,2/3) (2/3,2/5) (1,1/2):
        //   1/3*1 + 1/3*(1+2/3)/2 + 0 + 1/3*(2/5+1/2)/2 = 1/3 + 5/18 + 3/20.
        // AP: 1/3*1 + 1/3*2/3 + 1/3*1/2 = 13/18.
        // F1 = 2TP/(TP+FP+P): 2/4, 4/6, 4/8, 6/9 -> 2/3, first reached at 0.8.
        let scores = [0.9f32, 0.8, 0.8, 0.5, 0.5, 0.1];
        let labels = [true, false, true, false, false, true];
        let m = evaluate(&scores, &labels).unwrap();
        assert!((m.auroc - 11.0 / 18.0).abs() < 1e-15);
        assert!((m.aupr - (1.0 / 3.0 + 5.0 / 18.0 + 3.0 / 20.0)).abs() < 1e-15);
        assert!((m.average_precision - 13.0 / 18.0).abs() < 1e-15);
        assert!((m.max_f1 - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(m.max_f1_threshold, 0.8f32 as f64);
        assert_eq!(m.precision_at_full_recall, 0.5);
        assert_eq!((m.positives, m.negatives), (3, 3));
    }

    #[test]
    fn perfect_and_inverted_rankings() {
        let labels = [true, true, false, false];
        let perfect = evaluate(&[4.0f64, 3.0, 2.0, 1.0], &labels).unwrap();
        assert_eq!(
            (perfect.auroc, perfect.aupr, perfect.max_f1),
            (1.0, 1.0, 1.0)
        );
        let inverted = evaluate(&[1.0f64, 2.0, 3.0, 4.0], &labels).unwrap();
        assert_eq!(inverted.auroc, 0.0);
        // PR from (0,1): (0,0) (0,0) (1/2,1/3) (1,1/2): 1/2*(1/3)/2 + 1/2*(1/3+1/2)/2.
        let expected = 1.0 / 12.0 + 5.0 / 24.0;
        assert!((inverted.aupr - expected).abs() < 1e-15);
    }

    #[test]
    fn all_scores_tied_is_chance() {
        let scores = [0.5f32; 10];
        let labels = [
            true, false, false, false, true, false, false, false, false, false,
        ];
        let m = evaluate(&scores, &labels).unwrap();
        // One step to (1,1): ROC area 1/2; PR (0,1)->(1,0.2): 0.6; AP 0.2.
        assert_eq!(m.auroc, 0.5);
        assert!((m.aupr - 0.6).abs() < 1e-15);
        assert!((m.average_precision - 0.2).abs() < 1e-15);
    }

    #[test]
    fn operating_points_match_the_walk() {
        let scores = [0.9f32, 0.8, 0.8, 0.5, 0.5, 0.1];
        let labels = [true, false, true, false, false, true];
        let mut set = crate::metrics::ScoreSet::new();
        set.extend(&scores, &labels).unwrap();
        let ranking = set.rank().unwrap();
        let points = ranking.operating_points();
        let counts: Vec<_> = points
            .iter()
            .map(|p| (p.true_positives, p.false_positives))
            .collect();
        assert_eq!(counts, [(1, 0), (2, 1), (2, 3), (3, 3)]);
        let m = binary_metrics(&ranking).unwrap();
        assert!((Curve::roc(&points).area() - m.auroc).abs() < 1e-15);
        assert!((Curve::precision_recall(&points).area() - m.aupr).abs() < 1e-15);
    }
}
