//! One detector's metrics on one class as the reports write them: the
//! entries of `spotdiff eval`'s details.json, and the levels the scoring page
//! shows.
//!
//! Fields are in alphabetical order because details.json has always listed
//! its keys so (it was built as a `serde_json::Value`, whose objects sort
//! their keys): reports stay byte-identical.

use serde::Serialize;

use crate::metrics::BinaryMetrics;

use super::{ClassMetrics, Protocol, Segmentation};

/// One detector on one class: the classification and segmentation numbers,
/// AU-PRO and every test image's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassSummary {
    pub au_pro: f64,
    /// The detector's name in the report's tables (a backbone's folder, or
    /// `pixel` for the baseline).
    pub backbone: String,
    pub class: String,
    pub classification: ClassificationSummary,
    /// Every test image's score in test order, widened to f64 as the report
    /// has always written them.
    pub image_scores: Vec<f64>,
    pub segmentation: SegmentationSummary,
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
    /// `metrics` of the detector named `detector` on `class`.
    pub fn new(class: &str, detector: &str, metrics: &ClassMetrics) -> Self {
        Self {
            au_pro: metrics.pro.au_pro,
            backbone: detector.to_string(),
            class: class.to_string(),
            classification: ClassificationSummary::from(&metrics.classification),
            image_scores: metrics.image_scores.iter().map(|&s| f64::from(s)).collect(),
            segmentation: SegmentationSummary::from(&metrics.segmentation),
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
    fn by_hand(class: &str, detector: &str, metrics: &ClassMetrics) -> serde_json::Value {
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
            "image_scores": metrics.image_scores,
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
        let summary = ClassSummary::new("cashew", "simsiam", &metrics);
        let expected = by_hand("cashew", "simsiam", &metrics);
        assert_eq!(
            serde_json::to_string_pretty(&[&summary]).unwrap(),
            serde_json::to_string_pretty(&[&expected]).unwrap()
        );
        assert!(serde_json::to_string(&summary)
            .unwrap()
            .contains("0.699999988079071"));
    }
}
