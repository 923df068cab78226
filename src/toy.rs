//! The toy example of the supplementary material, section B: why AU-ROC
//! flatters a detector on imbalanced data and AU-PR does not.
//!
//! A model is a schedule of operating points: lowering the threshold step by
//! step, each step finds some more anomalies (true positives) and some more
//! normal samples (false positives). The seed's models on 100 anomalies and
//! 100,000 normal samples:
//! - A: (TP, FP) = (k, 10k), k = 1..100;
//! - B: (k, 0) for k = 1..90, then (90 + j, 3000 j), j = 1..10.
//!
//! Samples are generated so that each step is one distinct score: step k of K
//! gets score K − k + 1, and whatever the schedule never finds scores 0. The
//! metrics are then computed by [`crate::metrics`], like any detector's.
//!
//! The seed prints model A's AU-PR as 10.5% and max-F1 as 18.2%, but with its
//! own Eq. (1), precision = TP/(TP+FP) = 1/11 at every step, these are 9.5%
//! and 16.7%; the printed values follow from precision = TP/FP = 1/10.
//! [`ToyReport`] computes both, so the discrepancy is shown, not asserted.

use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::metrics::{self, BinaryMetrics, Curve, CurvePoint, MetricsError, OperatingPoint};

/// `steps` consecutive threshold steps, each adding the same counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub steps: u32,
    pub true_positives_per_step: u64,
    pub false_positives_per_step: u64,
}

/// A toy detector on a toy test set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToyModel {
    pub name: String,
    pub positives: u64,
    pub negatives: u64,
    pub schedule: Vec<Segment>,
}

/// The values the seed prints for a model, as fractions (it prints percent
/// with one decimal).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeedValues {
    pub auroc: f64,
    pub aupr: f64,
    pub max_f1: f64,
    /// Precision at 100% recall, where the seed states it.
    pub precision_at_full_recall: Option<f64>,
}

/// Why a toy model cannot be built.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ToyError {
    #[error("the test set needs at least one positive and one negative sample (got {positives} positives, {negatives} negatives)")]
    EmptyClass { positives: u64, negatives: u64 },
    #[error("the schedule has no steps: give at least one segment with steps > 0")]
    EmptySchedule,
    #[error(
        "segment {segment} adds neither true nor false positives: each step must find something"
    )]
    EmptyStep { segment: usize },
    #[error("the schedule finds {found} {what} but the test set has only {available}")]
    Overdrawn {
        what: &'static str,
        found: u64,
        available: u64,
    },
    #[error("the test set is too large for a toy example ({samples} samples; at most {max})")]
    TooLarge { samples: u64, max: u64 },
}

/// The most samples a toy test set may have: enough for any lesson, small
/// enough for a browser tab.
pub const MAX_TOY_SAMPLES: u64 = 50_000_000;

impl ToyModel {
    /// Checks and builds a model.
    pub fn new(
        name: impl Into<String>,
        positives: u64,
        negatives: u64,
        schedule: Vec<Segment>,
    ) -> Result<Self, ToyError> {
        if positives == 0 || negatives == 0 {
            return Err(ToyError::EmptyClass {
                positives,
                negatives,
            });
        }
        let samples = positives.saturating_add(negatives);
        if samples > MAX_TOY_SAMPLES {
            return Err(ToyError::TooLarge {
                samples,
                max: MAX_TOY_SAMPLES,
            });
        }
        if schedule.iter().all(|s| s.steps == 0) {
            return Err(ToyError::EmptySchedule);
        }
        let (mut found_tp, mut found_fp) = (0u64, 0u64);
        for (index, segment) in schedule.iter().enumerate() {
            if segment.steps > 0
                && segment.true_positives_per_step == 0
                && segment.false_positives_per_step == 0
            {
                return Err(ToyError::EmptyStep { segment: index });
            }
            let steps = u64::from(segment.steps);
            found_tp =
                found_tp.saturating_add(segment.true_positives_per_step.saturating_mul(steps));
            found_fp =
                found_fp.saturating_add(segment.false_positives_per_step.saturating_mul(steps));
        }
        for (what, found, available) in [
            ("true positives", found_tp, positives),
            ("false positives", found_fp, negatives),
        ] {
            if found > available {
                return Err(ToyError::Overdrawn {
                    what,
                    found,
                    available,
                });
            }
        }
        Ok(Self {
            name: name.into(),
            positives,
            negatives,
            schedule,
        })
    }

    /// The seed's model A: (TP, FP) = (k, 10k), k = 1..100.
    pub fn seed_model_a() -> Self {
        Self::new(
            "A",
            100,
            100_000,
            vec![Segment {
                steps: 100,
                true_positives_per_step: 1,
                false_positives_per_step: 10,
            }],
        )
        .expect("the seed's model A is valid")
    }

    /// The seed's model B: (k, 0) for k = 1..90, then (90 + j, 3000 j), j = 1..10.
    pub fn seed_model_b() -> Self {
        Self::new(
            "B",
            100,
            100_000,
            vec![
                Segment {
                    steps: 90,
                    true_positives_per_step: 1,
                    false_positives_per_step: 0,
                },
                Segment {
                    steps: 10,
                    true_positives_per_step: 1,
                    false_positives_per_step: 3000,
                },
            ],
        )
        .expect("the seed's model B is valid")
    }

    /// The scores and labels (`true` = anomalous) of a test set on which this
    /// model has exactly the scheduled operating points.
    pub fn samples(&self) -> (Vec<f64>, Vec<bool>) {
        let total_steps: u64 = self.schedule.iter().map(|s| u64::from(s.steps)).sum();
        let mut scores = Vec::with_capacity((self.positives + self.negatives) as usize);
        let mut labels = Vec::with_capacity(scores.capacity());
        let mut step = 0u64;
        for segment in &self.schedule {
            for _ in 0..segment.steps {
                let score = (total_steps - step) as f64;
                step += 1;
                for (count, label) in [
                    (segment.true_positives_per_step, true),
                    (segment.false_positives_per_step, false),
                ] {
                    scores.extend(std::iter::repeat_n(score, count as usize));
                    labels.extend(std::iter::repeat_n(label, count as usize));
                }
            }
        }
        let found_positives = labels.iter().filter(|&&l| l).count() as u64;
        let found_negatives = labels.len() as u64 - found_positives;
        for (count, label) in [
            (self.positives - found_positives, true),
            (self.negatives - found_negatives, false),
        ] {
            scores.extend(std::iter::repeat_n(0.0, count as usize));
            labels.extend(std::iter::repeat_n(label, count as usize));
        }
        (scores, labels)
    }

    /// The exact metrics of the generated test set.
    pub fn metrics(&self) -> Result<BinaryMetrics, MetricsError> {
        let (scores, labels) = self.samples();
        metrics::evaluate(&scores, &labels)
    }

    /// Every operating point of the generated test set, highest threshold first.
    pub fn operating_points(&self) -> Result<Vec<OperatingPoint>, MetricsError> {
        let (scores, labels) = self.samples();
        let mut set = metrics::ScoreSet::with_capacity(scores.len());
        set.extend(&scores, &labels)?;
        Ok(set.rank()?.operating_points())
    }
}

/// AU-PR and max-F1 recomputed with precision taken as TP/FP (1 where FP = 0):
/// the formula that reproduces the seed's printed values for model A.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TpOverFp {
    pub aupr: f64,
    pub max_f1: f64,
    pub precision_at_full_recall: f64,
}

fn tp_over_fp(points: &[OperatingPoint]) -> TpOverFp {
    let precision = |p: &OperatingPoint| {
        if p.false_positives == 0 {
            1.0
        } else {
            p.true_positives as f64 / p.false_positives as f64
        }
    };
    let curve = Curve {
        points: std::iter::once(CurvePoint { x: 0.0, y: 1.0 })
            .chain(points.iter().map(|p| CurvePoint {
                x: p.recall(),
                y: precision(p),
            }))
            .collect(),
    };
    let max_f1 = points
        .iter()
        .map(|p| {
            let (precision, recall) = (precision(p), p.recall());
            if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            }
        })
        .fold(0.0, f64::max);
    let at_full_recall = points
        .iter()
        .find(|p| p.true_positives == p.positives)
        .expect("the generated test set ends at full recall");
    TpOverFp {
        aupr: curve.area(),
        max_f1,
        precision_at_full_recall: precision(at_full_recall),
    }
}

/// One model's computed metrics beside the seed's printed values. Its JSON
/// (`spotdiff toy --json`, the explorer page) is flat: the model's `name`,
/// `positives`, `negatives` and `schedule`; `auroc`, `aupr`, `ap`, `max_f1`,
/// `max_f1_threshold` and `precision_at_full_recall` as fractions; `points`,
/// each operating point with its `precision`, `recall`,
/// `false_positive_rate` and `f1`; `seed`, `tp_over_fp` and `explanation`.
#[derive(Debug, Clone, PartialEq)]
pub struct ToyReport {
    pub model: ToyModel,
    pub metrics: BinaryMetrics,
    pub operating_points: Vec<OperatingPoint>,
    pub seed: Option<SeedValues>,
    pub tp_over_fp: TpOverFp,
    /// Plain-language account of where the computed values and the seed's agree or differ.
    pub explanation: String,
}

impl Serialize for ToyReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (model, m) = (&self.model, &self.metrics);
        let mut report = serializer.serialize_struct("ToyReport", 14)?;
        report.serialize_field("name", &model.name)?;
        report.serialize_field("positives", &model.positives)?;
        report.serialize_field("negatives", &model.negatives)?;
        report.serialize_field("schedule", &model.schedule)?;
        report.serialize_field("auroc", &m.auroc)?;
        report.serialize_field("aupr", &m.aupr)?;
        report.serialize_field("ap", &m.average_precision)?;
        report.serialize_field("max_f1", &m.max_f1)?;
        report.serialize_field("max_f1_threshold", &m.max_f1_threshold)?;
        report.serialize_field("precision_at_full_recall", &m.precision_at_full_recall)?;
        let points: Vec<RatedPoint> = self.operating_points.iter().map(RatedPoint).collect();
        report.serialize_field("points", &points)?;
        report.serialize_field("seed", &self.seed)?;
        report.serialize_field("tp_over_fp", &self.tp_over_fp)?;
        report.serialize_field("explanation", &self.explanation)?;
        report.end()
    }
}

/// An operating point with the rates a reader of the JSON plots, so no
/// reader recomputes them.
struct RatedPoint<'a>(&'a OperatingPoint);

impl Serialize for RatedPoint<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut point = serializer.serialize_struct("OperatingPoint", 7)?;
        point.serialize_field("threshold", &p.threshold)?;
        point.serialize_field("true_positives", &p.true_positives)?;
        point.serialize_field("false_positives", &p.false_positives)?;
        point.serialize_field("precision", &p.precision())?;
        point.serialize_field("recall", &p.recall())?;
        point.serialize_field("false_positive_rate", &p.false_positive_rate())?;
        point.serialize_field("f1", &p.f1())?;
        point.end()
    }
}

/// Two models' reports and the lesson their comparison teaches: what
/// `spotdiff toy --json` prints and the explorer page draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToyComparison {
    pub models: [ToyReport; 2],
    pub lesson: String,
}

impl ToyComparison {
    pub fn new(first: ToyReport, second: ToyReport) -> Self {
        let lesson = lesson(&first, &second);
        Self {
            models: [first, second],
            lesson,
        }
    }

    /// The seed's models A and B.
    pub fn seed() -> Self {
        let [a, b]: [ToyReport; 2] = ToyReport::seed_reports()
            .try_into()
            .expect("the seed has two models");
        Self::new(a, b)
    }
}

/// The seed prints percent with one decimal, so a computed fraction "agrees"
/// with a printed one when it rounds to the same printed number.
pub fn agrees(computed: f64, printed: f64) -> bool {
    (computed - printed).abs() <= 0.0005 + 1e-12
}

impl ToyReport {
    /// The report of `model`, with the seed's printed values when it is one
    /// of the seed's models.
    pub fn for_model(model: ToyModel) -> Result<Self, MetricsError> {
        match Self::seed_reports().into_iter().find(|r| r.model == model) {
            Some(report) => Ok(report),
            None => Self::new(model, None),
        }
    }

    pub fn new(model: ToyModel, seed: Option<SeedValues>) -> Result<Self, MetricsError> {
        let metrics = model.metrics()?;
        let operating_points = model.operating_points()?;
        let tp_over_fp = tp_over_fp(&operating_points);
        let explanation = explain(&metrics, seed.as_ref(), &tp_over_fp);
        Ok(Self {
            model,
            metrics,
            operating_points,
            seed,
            tp_over_fp,
            explanation,
        })
    }

    /// The seed's two models with its printed values.
    pub fn seed_reports() -> Vec<Self> {
        let a = SeedValues {
            auroc: 0.995,
            aupr: 0.105,
            max_f1: 0.182,
            precision_at_full_recall: Some(0.10),
        };
        let b = SeedValues {
            auroc: 0.985,
            aupr: 0.906,
            max_f1: 0.947,
            precision_at_full_recall: None,
        };
        [(ToyModel::seed_model_a(), a), (ToyModel::seed_model_b(), b)]
            .into_iter()
            .map(|(model, seed)| {
                Self::new(model, Some(seed)).expect("the seed's models have both classes")
            })
            .collect()
    }
}

fn explain(metrics: &BinaryMetrics, seed: Option<&SeedValues>, tp_over_fp: &TpOverFp) -> String {
    let Some(seed) = seed else {
        return "The seed prints no values for this model.".into();
    };
    let mut compared = vec![
        ("AU-ROC", metrics.auroc, seed.auroc, None),
        ("AU-PR", metrics.aupr, seed.aupr, Some(tp_over_fp.aupr)),
        (
            "max-F1",
            metrics.max_f1,
            seed.max_f1,
            Some(tp_over_fp.max_f1),
        ),
    ];
    if let Some(printed) = seed.precision_at_full_recall {
        compared.push((
            "precision at full recall",
            metrics.precision_at_full_recall,
            printed,
            Some(tp_over_fp.precision_at_full_recall),
        ));
    }
    let (agreeing, differing): (Vec<_>, Vec<_>) = compared
        .into_iter()
        .partition(|&(_, computed, printed, _)| agrees(computed, printed));
    let mut text = String::new();
    if !agreeing.is_empty() {
        let names: Vec<&str> = agreeing.iter().map(|&(name, ..)| name).collect();
        let (verb, noun) = if names.len() == 1 {
            ("agrees", "value")
        } else {
            ("agree", "values")
        };
        text.push_str(&format!(
            "The seed's printed {} {verb} with the {noun} computed here.",
            names.join(", ")
        ));
    }
    for (name, computed, printed, alternative) in differing {
        text.push_str(&format!(
            " The seed prints {name} {:.1}%, but its Eq. (1), precision = TP/(TP+FP), gives {:.2}%",
            100.0 * printed,
            100.0 * computed
        ));
        match alternative {
            Some(alternative) if agrees(alternative, printed) => text.push_str(&format!(
                "; the printed value follows from precision = TP/FP instead ({:.2}%).",
                100.0 * alternative
            )),
            _ => text.push('.'),
        }
    }
    text.trim_start().to_string()
}

/// Why AU-ROC misleads on imbalanced data, told with the computed numbers of
/// two models.
pub fn lesson(first: &ToyReport, second: &ToyReport) -> String {
    let (a, b) = (&first.metrics, &second.metrics);
    let (higher_roc, lower_roc) = if a.auroc >= b.auroc {
        (first, second)
    } else {
        (second, first)
    };
    let imbalance = first.model.negatives as f64 / first.model.positives as f64;
    format!(
        "Model {} has the higher AU-ROC ({:.1}% vs {:.1}%), yet model {} is far better at finding anomalies: \
         AU-PR {:.1}% vs {:.1}%, max-F1 {:.1}% vs {:.1}%. With {imbalance:.0} normal samples per anomaly, \
         the false-positive rate divides by the many normal samples and stays small even when false alarms \
         outnumber the anomalies found, while precision counts every false alarm against the few anomalies. \
         AU-ROC flatters a detector on imbalanced data; AU-PR does not.",
        higher_roc.model.name,
        100.0 * higher_roc.metrics.auroc,
        100.0 * lower_roc.metrics.auroc,
        lower_roc.model.name,
        100.0 * lower_roc.metrics.aupr,
        100.0 * higher_roc.metrics.aupr,
        100.0 * lower_roc.metrics.max_f1,
        100.0 * higher_roc.metrics.max_f1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_realise_the_schedule() {
        let points = ToyModel::seed_model_b().operating_points().unwrap();
        let counts: Vec<_> = points
            .iter()
            .map(|p| (p.true_positives, p.false_positives))
            .collect();
        assert_eq!(counts[0], (1, 0));
        assert_eq!(counts[89], (90, 0));
        assert_eq!(counts[90], (91, 3000));
        assert_eq!(counts[99], (100, 30_000));
        // The never-found normal samples form the last step.
        assert_eq!(counts[100], (100, 100_000));
        assert_eq!(counts.len(), 101);
    }

    #[test]
    fn model_a_by_hand() {
        // Precision is 1/11 at every step. PR from (0,1): first segment to
        // (0.01, 1/11), then flat: 0.01*(1+1/11)/2 + 0.99/11 = 0.0954545...
        // ROC: up to (0.01, 1) the trapezoids sum to 0.0001*Σ(2k-1)/200 = 0.005,
        // then 0.99 at TPR 1: 0.995. Max-F1 at k = 100: 2*(1/11)/(1+1/11) = 1/6.
        let m = ToyModel::seed_model_a().metrics().unwrap();
        assert!((m.auroc - 0.995).abs() < 1e-12);
        assert!((m.aupr - (0.01 * (1.0 + 1.0 / 11.0) / 2.0 + 0.99 / 11.0)).abs() < 1e-12);
        assert!((m.average_precision - 1.0 / 11.0).abs() < 1e-12);
        assert!((m.max_f1 - 1.0 / 6.0).abs() < 1e-12);
        assert!((m.precision_at_full_recall - 1.0 / 11.0).abs() < 1e-12);
    }

    #[test]
    fn model_b_by_hand() {
        // ROC: vertical to (0, 0.9), then 10 steps of 0.03 in FPR:
        // 0.03*Σ(1.8+0.01(2j-1))/2 = 0.285, then 0.7 at TPR 1: 0.985.
        // Max-F1 at 90 TP, 0 FP: 180/190.
        let m = ToyModel::seed_model_b().metrics().unwrap();
        assert!((m.auroc - 0.985).abs() < 1e-12);
        assert!((m.max_f1 - 180.0 / 190.0).abs() < 1e-12);
        // PR: 0.9 at precision 1, then trapezoids between precisions
        // (90+j)/(90+j+3000j), each 0.01 wide.
        let precision = |j: f64| {
            if j == 0.0 {
                1.0
            } else {
                (90.0 + j) / (90.0 + j + 3000.0 * j)
            }
        };
        let expected: f64 = 0.9
            + (1..=10)
                .map(|j| 0.01 * (precision(j as f64 - 1.0) + precision(j as f64)) / 2.0)
                .sum::<f64>();
        assert!((m.aupr - expected).abs() < 1e-12);
        let ap: f64 = 0.9 + (1..=10).map(|j| 0.01 * precision(j as f64)).sum::<f64>();
        assert!((m.average_precision - ap).abs() < 1e-12);
    }

    #[test]
    fn the_seed_values_of_model_a_follow_from_tp_over_fp() {
        // With precision 1/10: 0.01*(1+0.1)/2 + 0.99*0.1 = 0.1045; F1 = 0.2/1.1.
        let report = &ToyReport::seed_reports()[0];
        assert!((report.tp_over_fp.aupr - 0.1045).abs() < 1e-12);
        assert!((report.tp_over_fp.max_f1 - 0.2 / 1.1).abs() < 1e-12);
        assert!((report.tp_over_fp.precision_at_full_recall - 0.1).abs() < 1e-15);
        assert!(
            report.explanation.contains("TP/FP"),
            "{}",
            report.explanation
        );
        let b = &ToyReport::seed_reports()[1];
        assert_eq!(
            b.explanation,
            "The seed's printed AU-ROC, AU-PR, max-F1 agree with the values computed here."
        );
        let lesson = lesson(report, b);
        assert!(
            lesson.starts_with("Model A has the higher AU-ROC (99.5% vs 98.5%), yet model B"),
            "{lesson}"
        );
    }

    #[test]
    fn the_json_is_flat_with_rated_points() {
        let json = serde_json::to_value(ToyComparison::seed()).unwrap();
        let b = &json["models"][1];
        assert_eq!(b["name"], "B");
        assert_eq!(b["schedule"][1]["false_positives_per_step"], 3000);
        assert!((b["auroc"].as_f64().unwrap() - 0.985).abs() < 1e-12);
        assert!((b["ap"].as_f64().unwrap() - b["aupr"].as_f64().unwrap()).abs() > 1e-3);
        assert_eq!(b["seed"]["max_f1"], 0.947);
        // Step 91 (0-based 90) of model B: TP 91, FP 3000 of 100 and 100,000.
        let point = &b["points"][90];
        assert_eq!(point["true_positives"], 91);
        assert_eq!(point["precision"], 91.0 / 3091.0);
        assert_eq!(point["recall"], 0.91);
        assert_eq!(point["false_positive_rate"], 0.03);
        assert_eq!(point["f1"], 182.0 / 3191.0);
        assert!(json["lesson"]
            .as_str()
            .unwrap()
            .starts_with("Model A has the higher AU-ROC"));
    }

    #[test]
    fn seed_models_built_from_parameters_get_the_seed_values() {
        let rebuilt = ToyModel::new(
            "B",
            100,
            100_000,
            vec![
                Segment {
                    steps: 90,
                    true_positives_per_step: 1,
                    false_positives_per_step: 0,
                },
                Segment {
                    steps: 10,
                    true_positives_per_step: 1,
                    false_positives_per_step: 3000,
                },
            ],
        )
        .unwrap();
        assert!(ToyReport::for_model(rebuilt).unwrap().seed.is_some());
        let other = ToyModel::new("B", 100, 99_999, ToyModel::seed_model_b().schedule).unwrap();
        let report = ToyReport::for_model(other).unwrap();
        assert_eq!(report.seed, None);
        assert_eq!(
            report.explanation,
            "The seed prints no values for this model."
        );
    }

    #[test]
    fn invalid_models_are_refused() {
        let step = |steps, tp, fp| Segment {
            steps,
            true_positives_per_step: tp,
            false_positives_per_step: fp,
        };
        assert_eq!(
            ToyModel::new("x", 0, 10, vec![step(1, 1, 0)]),
            Err(ToyError::EmptyClass {
                positives: 0,
                negatives: 10
            })
        );
        assert_eq!(
            ToyModel::new("x", 5, 10, vec![]),
            Err(ToyError::EmptySchedule)
        );
        assert_eq!(
            ToyModel::new("x", 5, 10, vec![step(2, 0, 0)]),
            Err(ToyError::EmptyStep { segment: 0 })
        );
        assert_eq!(
            ToyModel::new("x", 5, 10, vec![step(6, 1, 0)]),
            Err(ToyError::Overdrawn {
                what: "true positives",
                found: 6,
                available: 5
            })
        );
        assert_eq!(
            ToyModel::new("x", 5, 10, vec![step(1, 1, 11)]),
            Err(ToyError::Overdrawn {
                what: "false positives",
                found: 11,
                available: 10
            })
        );
        assert!(matches!(
            ToyModel::new("x", MAX_TOY_SAMPLES, 1, vec![step(1, 1, 0)]),
            Err(ToyError::TooLarge { .. })
        ));
    }

    #[test]
    fn undetected_positives_tie_with_the_remaining_negatives() {
        let model = ToyModel::new(
            "partial",
            4,
            10,
            vec![Segment {
                steps: 2,
                true_positives_per_step: 1,
                false_positives_per_step: 1,
            }],
        )
        .unwrap();
        let points = model.operating_points().unwrap();
        let counts: Vec<_> = points
            .iter()
            .map(|p| (p.true_positives, p.false_positives))
            .collect();
        assert_eq!(counts, [(1, 1), (2, 2), (4, 10)]);
    }
}
