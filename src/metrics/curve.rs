//! Operating points and the ROC / PR curves drawn through them.

use serde::Serialize;

/// The confusion counts when every sample scoring at least `threshold` is
/// called anomalous.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OperatingPoint {
    pub threshold: f64,
    pub true_positives: u64,
    pub false_positives: u64,
    pub positives: u64,
    pub negatives: u64,
}

impl OperatingPoint {
    /// TP / (TP + FP): the seed's Eq. (1). 1 when nothing is called anomalous.
    pub fn precision(&self) -> f64 {
        let called = self.true_positives + self.false_positives;
        if called == 0 {
            1.0
        } else {
            self.true_positives as f64 / called as f64
        }
    }

    /// TP / P: the seed's Eq. (2), also the true-positive rate.
    pub fn recall(&self) -> f64 {
        self.true_positives as f64 / self.positives as f64
    }

    /// FP / N: the seed's Eq. (3).
    pub fn false_positive_rate(&self) -> f64 {
        self.false_positives as f64 / self.negatives as f64
    }

    /// TP / (TP + (FP + FN) / 2): the seed's Eq. (4).
    pub fn f1(&self) -> f64 {
        let denominator = self.true_positives + self.false_positives + self.positives;
        2.0 * self.true_positives as f64 / denominator as f64
    }
}

/// A point of a curve: `x` is FPR (ROC) or recall (PR); `y` is TPR or precision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    pub x: f64,
    pub y: f64,
}

/// A curve as a polyline from its start point, one vertex per operating point
/// (or a thinned subset of them for plotting).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curve {
    pub points: Vec<CurvePoint>,
}

impl Curve {
    /// The ROC curve through `points` (ordered by decreasing threshold), from (0, 0).
    pub fn roc(points: &[OperatingPoint]) -> Self {
        let start = CurvePoint { x: 0.0, y: 0.0 };
        let rest = points.iter().map(|p| CurvePoint {
            x: p.false_positive_rate(),
            y: p.recall(),
        });
        Self {
            points: std::iter::once(start).chain(rest).collect(),
        }
    }

    /// The PR curve through `points` (ordered by decreasing threshold), from
    /// (recall 0, precision 1) as scikit-learn and the paper draw it.
    pub fn precision_recall(points: &[OperatingPoint]) -> Self {
        let start = CurvePoint { x: 0.0, y: 1.0 };
        let rest = points.iter().map(|p| CurvePoint {
            x: p.recall(),
            y: p.precision(),
        });
        Self {
            points: std::iter::once(start).chain(rest).collect(),
        }
    }

    /// The trapezoidal area under the polyline, `x` assumed non-decreasing.
    pub fn area(&self) -> f64 {
        let mut area = super::sum::CompensatedSum::default();
        for pair in self.points.windows(2) {
            area.add((pair[1].x - pair[0].x) * (pair[1].y + pair[0].y) / 2.0);
        }
        area.value()
    }
}

/// Builds a plotting copy of a curve: a vertex is kept when it moved more than
/// `resolution` along either axis since the last kept one; the first and last
/// vertices are always kept. At resolution 1e-3 a curve has at most a few
/// thousand vertices however many operating points it has.
#[derive(Debug)]
pub(crate) struct CurveThinner {
    resolution: f64,
    points: Vec<CurvePoint>,
    pending: Option<CurvePoint>,
}

impl CurveThinner {
    pub(crate) fn new(start: CurvePoint, resolution: f64) -> Self {
        Self {
            resolution,
            points: vec![start],
            pending: None,
        }
    }

    pub(crate) fn push(&mut self, point: CurvePoint) {
        let last = self.points[self.points.len() - 1];
        if (point.x - last.x).abs() > self.resolution || (point.y - last.y).abs() > self.resolution
        {
            self.points.push(point);
            self.pending = None;
        } else {
            self.pending = Some(point);
        }
    }

    pub(crate) fn finish(mut self) -> Curve {
        self.points.extend(self.pending);
        Curve {
            points: self.points,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(tp: u64, fp: u64) -> OperatingPoint {
        OperatingPoint {
            threshold: 0.0,
            true_positives: tp,
            false_positives: fp,
            positives: 4,
            negatives: 6,
        }
    }

    #[test]
    fn operating_point_rates_follow_the_seed_equations() {
        // TP 3, FP 2, FN 1, P 4, N 6.
        let p = point(3, 2);
        assert_eq!(p.precision(), 3.0 / 5.0);
        assert_eq!(p.recall(), 3.0 / 4.0);
        assert_eq!(p.false_positive_rate(), 2.0 / 6.0);
        // F1 = TP / (TP + (FP + FN)/2) = 3 / (3 + 1.5) = 2/3.
        assert!((p.f1() - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(point(0, 0).precision(), 1.0);
    }

    #[test]
    fn trapezoid_area_of_hand_made_curves() {
        // ROC (0,0) -> (0.5, 0.5) -> (0.5, 1) -> (1, 1): 0.125 + 0.5 = 0.625.
        let roc = Curve::roc(&[point(2, 3), point(4, 3), point(4, 6)]);
        assert!((roc.area() - 0.625).abs() < 1e-15);
        // PR (0,1) -> (0.5, 0.4) -> (1, 4/7): 0.5*1.4/2 + 0.5*(0.4+4/7)/2.
        let pr = Curve::precision_recall(&[point(2, 3), point(4, 3)]);
        let expected = 0.35 + 0.25 * (0.4 + 4.0 / 7.0);
        assert!((pr.area() - expected).abs() < 1e-15);
    }

    #[test]
    fn thinning_keeps_ends_and_moves_larger_than_the_resolution() {
        let mut thinner = CurveThinner::new(CurvePoint { x: 0.0, y: 0.0 }, 0.1);
        for i in 1..=100 {
            thinner.push(CurvePoint {
                x: i as f64 / 100.0,
                y: 0.0,
            });
        }
        let curve = thinner.finish();
        assert_eq!(curve.points.first().unwrap().x, 0.0);
        assert_eq!(curve.points.last().unwrap().x, 1.0);
        assert!(curve.points.len() <= 11, "{}", curve.points.len());
        assert!(curve
            .points
            .windows(2)
            .all(|w| w[1].x - w[0].x <= 0.11 + 1e-12));
    }
}
