//! One detector's metrics on one class as the reports write them: the
//! entries of `spotdiff eval`'s details.json, and the levels the scoring page
//! shows.
//!
//! Fields are in alphabetical order because details.json has always listed
//! its keys so (it was built as a `serde_json::Value`, whose objects sort
//! their keys): reports stay byte-identical.

use serde::Serialize;

use crate::metrics::bootstrap::{Estimate, PairedDifference};
use crate::metrics::BinaryMetrics;

use super::{ClassMetrics, Metrics, Protocol, Segmentation, Uncertain};

/// One detector on one class: the classification and segmentation numbers,
/// AU-PRO, every test image's score and, with a bootstrap, the intervals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassSummary {
    pub au_pro: f64,
    /// The detector's name in the report's tables (a backbone's folder, or
    /// `pixel` for the baseline).
    pub backbone: String,
    /// Each metric's 95% bootstrap interval, or why the class has none;
    /// absent without a bootstrap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<Intervals>,
    pub class: String,
    pub classification: ClassificationSummary,
    /// Every test image in test order: its file, label and score.
    pub images: Vec<ImageScore>,
    pub segmentation: SegmentationSummary,
    /// This detector minus the report's first one on the same resamples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versus_first: Option<Versus>,
}

/// One test image's line of details.json.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageScore {
    /// Relative to the data set's root.
    pub file: String,
    /// 1 anomalous, 0 normal (the score CSV's labels).
    pub label: u8,
    /// The image score (the map's maximum), widened to f64 as the report
    /// has always written scores.
    pub score: f64,
}

/// Each metric's value and `ci95: [lo, hi]`, or why there is no interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Intervals {
    Estimated(Metrics<Estimate>),
    Skipped { skipped: String },
}

impl Intervals {
    /// The intervals of a bootstrap, or the reason it gave none.
    pub fn of(uncertain: &Result<Uncertain, String>) -> Self {
        match uncertain {
            Ok(uncertain) => Intervals::Estimated(uncertain.intervals()),
            Err(reason) => Intervals::Skipped {
                skipped: reason.clone(),
            },
        }
    }
}

/// A detector minus the first one, metric by metric, resample by resample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Versus {
    /// The detector subtracted.
    pub backbone: String,
    #[serde(flatten)]
    pub difference: Metrics<PairedDifference>,
}

/// The image-level numbers of [`BinaryMetrics`], without the curves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassificationSummary {
    pub aupr: f64,
    pub auroc: f64,
    pub average_precision: f64,
    pub max_f1: f64,
    pub max_f1_threshold: f64,
    pub negatives: u64,
    pub positives: u64,
}

/// The pixel-level numbers of [`Segmentation`], without the curves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentationSummary {
    pub aupr: f64,
    pub auroc: f64,
    pub max_f1: f64,
    pub protocol: Protocol,
}

impl ClassSummary {
    /// `metrics` of the detector named `detector` on `class`, whose test
    /// images are `tests` (file, anomalous) in the order scored; without
    /// intervals ([`ClassSummary::bootstrap`]) or a comparison.
    pub fn new(
        class: &str,
        detector: &str,
        metrics: &ClassMetrics,
        tests: &[(String, bool)],
    ) -> Self {
        Self {
            au_pro: metrics.pro.au_pro,
            backbone: detector.to_string(),
            bootstrap: None,
            class: class.to_string(),
            classification: ClassificationSummary::from(&metrics.classification),
            images: tests
                .iter()
                .zip(&metrics.image_scores)
                .map(|((file, anomalous), &score)| ImageScore {
                    file: file.clone(),
                    label: u8::from(*anomalous),
                    score: f64::from(score),
                })
                .collect(),
            segmentation: SegmentationSummary::from(&metrics.segmentation),
            versus_first: None,
        }
    }
}

impl From<&BinaryMetrics> for ClassificationSummary {
    fn from(metrics: &BinaryMetrics) -> Self {
        Self {
            aupr: metrics.aupr,
            auroc: metrics.auroc,
            average_precision: metrics.average_precision,
            max_f1: metrics.max_f1,
            max_f1_threshold: metrics.max_f1_threshold,
            negatives: metrics.negatives,
            positives: metrics.positives,
        }
    }
}

impl From<&Segmentation> for SegmentationSummary {
    fn from(segmentation: &Segmentation) -> Self {
        Self {
            aupr: segmentation.aupr,
            auroc: segmentation.auroc,
            max_f1: segmentation.max_f1,
            protocol: segmentation.protocol,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Mask;
    use crate::eval::ClassEvaluator;
    use crate::padim::{MapSize, ScoreMap};

    /// details.json's entry as `spotdiff eval` used to build it by hand.
    fn by_hand(
        class: &str,
        detector: &str,
        metrics: &ClassMetrics,
        files: &[&str],
    ) -> serde_json::Value {
        let labels = [0, 1, 1];
        serde_json::json!({
            "class": class,
            "backbone": detector,
            "classification": {
                "auroc": metrics.classification.auroc,
                "aupr": metrics.classification.aupr,
                "average_precision": metrics.classification.average_precision,
                "max_f1": metrics.classification.max_f1,
                "max_f1_threshold": metrics.classification.max_f1_threshold,
                "positives": metrics.classification.positives,
                "negatives": metrics.classification.negatives,
            },
            "segmentation": {
                "protocol": metrics.segmentation.protocol,
                "auroc": metrics.segmentation.auroc,
                "aupr": metrics.segmentation.aupr,
                "max_f1": metrics.segmentation.max_f1,
            },
            "au_pro": metrics.pro.au_pro,
            "images": (0..3).map(|i| serde_json::json!({
                "file": files[i],
                "label": labels[i],
                "score": metrics.image_scores[i],
            })).collect::<Vec<_>>(),
        })
    }

    #[test]
    fn serialises_to_the_bytes_of_the_hand_built_entry() {
        let mut evaluator = ClassEvaluator::new();
        // Image scores (map maxima) that f32 and f64 print differently
        // (0.7f32 widens to 0.699999988079071).
        for (values, defect, anomalous) in [
            ([0.1f32, 0.7, 0.3], [false; 3], false),
            ([0.2, 0.9, 1.0 / 3.0], [false, true, false], true),
            ([0.6, 0.05, 0.2], [true, false, false], true),
        ] {
            let map = ScoreMap::new(MapSize::new(1, 3), values.to_vec()).unwrap();
            let mask = Mask {
                width: 3,
                height: 1,
                pixels: defect.to_vec(),
            };
            evaluator.push(&map, &mask, anomalous).unwrap();
        }
        let metrics = evaluator.finish(Protocol::Paper).unwrap();
        let files = ["good/0.png", "bad/1.png", "bad/2.png"];
        let tests: Vec<(String, bool)> = files
            .iter()
            .zip([false, true, true])
            .map(|(f, a)| (f.to_string(), a))
            .collect();
        let summary = ClassSummary::new("cashew", "simsiam", &metrics, &tests);
        let expected = by_hand("cashew", "simsiam", &metrics, &files);
        assert_eq!(
            serde_json::to_string_pretty(&[&summary]).unwrap(),
            serde_json::to_string_pretty(&[&expected]).unwrap()
        );
        assert!(serde_json::to_string(&summary)
            .unwrap()
            .contains("0.699999988079071"));
    }
}
