//! Image- and pixel-level metrics of the maps the page scored, against the
//! masks the user dropped, by the same evaluator `spotdiff eval` uses.

use serde::Serialize;
use spotdiff::data::Mask;
use spotdiff::eval::{ClassEvaluator, ClassificationSummary, Protocol, SegmentationSummary};
use spotdiff::padim::{MapSize, ScoreMap};
use wasm_bindgen::prelude::*;

/// Collects (anomaly map, ground truth) pairs image by image.
#[wasm_bindgen]
#[derive(Default)]
pub struct Evaluation {
    evaluator: ClassEvaluator,
    images: usize,
    anomalous: usize,
}

/// The page's metrics panel: image- and pixel-level numbers as
/// `spotdiff eval`'s details.json writes them, under the page's names.
#[derive(Debug, Serialize)]
struct Summary {
    images: usize,
    anomalous: usize,
    image: ClassificationSummary,
    pixel: SegmentationSummary,
    au_pro: f64,
}

#[wasm_bindgen]
impl Evaluation {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one image: its anomaly map (`width · height` values, row by row)
    /// and its mask (one byte per pixel, non-zero = defect; empty for a normal
    /// image without a mask file).
    pub fn push(
        &mut self,
        map: Vec<f32>,
        width: u32,
        height: u32,
        mask: &[u8],
        anomalous: bool,
    ) -> Result<(), JsError> {
        self.push_map(map, width, height, mask, anomalous)
            .map_err(|message| JsError::new(&message))
    }

    /// The metrics as JSON (fractions); fails when the images lack either
    /// normal or anomalous ones. Consumes the evaluation, so its pixels are
    /// ranked in place rather than copied.
    pub fn finish(self) -> Result<String, JsError> {
        self.summary().map_err(|message| JsError::new(&message))
    }
}

impl Evaluation {
    fn push_map(
        &mut self,
        map: Vec<f32>,
        width: u32,
        height: u32,
        mask: &[u8],
        anomalous: bool,
    ) -> Result<(), String> {
        let size = MapSize {
            height: height as usize,
            width: width as usize,
        };
        let pixels = match mask.len() {
            0 => vec![false; map.len()],
            n if n == map.len() => mask.iter().map(|&v| v != 0).collect(),
            n => {
                return Err(format!(
                    "the mask has {n} pixels but the {width}×{height} anomaly map has {}",
                    map.len()
                ))
            }
        };
        let map = ScoreMap::new(size, map).map_err(|e| e.to_string())?;
        let mask = Mask {
            width,
            height,
            pixels,
        };
        self.evaluator
            .push(&map, &mask, anomalous)
            .map_err(|e| e.to_string())?;
        self.images += 1;
        self.anomalous += usize::from(anomalous);
        Ok(())
    }

    fn summary(self) -> Result<String, String> {
        let images = self.images;
        let anomalous = self.anomalous;
        let metrics = self
            .evaluator
            .finish(Protocol::Exact)
            .map_err(|e| match anomalous {
                0 => "no image has a defect in its mask: metrics need anomalous images too"
                    .to_owned(),
                n if n == images => {
                    "every image has a defect in its mask: metrics need normal images too"
                        .to_owned()
                }
                _ => e.to_string(),
            })?;
        let summary = Summary {
            images,
            anomalous,
            image: ClassificationSummary::from(&metrics.classification),
            pixel: SegmentationSummary::from(&metrics.segmentation),
            au_pro: metrics.pro.au_pro,
        };
        serde_json::to_string(&summary).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_checked_metrics() {
        // Two 2×1 maps. Normal image [0.1, 0.2], anomalous [0.3, 0.9] with the
        // defect on its second pixel. Image scores 0.2 (normal) < 0.9
        // (anomalous): image AU-ROC 1. Pixels: the one defect pixel (0.9) is
        // above the three clean ones: pixel AU-ROC 1, AU-PR 1, max-F1 1.
        let mut evaluation = Evaluation::new();
        evaluation
            .push_map(vec![0.1, 0.2], 2, 1, &[], false)
            .unwrap();
        evaluation
            .push_map(vec![0.3, 0.9], 2, 1, &[0, 1], true)
            .unwrap();
        let json: serde_json::Value = serde_json::from_str(&evaluation.summary().unwrap()).unwrap();
        assert_eq!(json["image"]["auroc"], 1.0);
        assert_eq!(json["pixel"]["auroc"], 1.0);
        assert_eq!(json["pixel"]["max_f1"], 1.0);
        assert_eq!(json["anomalous"], 1);

        // The defect pixel now scores below a clean one of the normal image:
        // ranking 0.6 (clean), 0.5 (defect), 0.2, 0.1: the defect beats two
        // of three clean pixels, pixel AU-ROC 2/3; the best threshold, 0.5,
        // has precision 1/2 and recall 1, max-F1 = 2·0.5·1/1.5 = 2/3.
        let mut evaluation = Evaluation::new();
        evaluation
            .push_map(vec![0.1, 0.6], 2, 1, &[], false)
            .unwrap();
        evaluation
            .push_map(vec![0.2, 0.5], 2, 1, &[0, 1], true)
            .unwrap();
        let json: serde_json::Value = serde_json::from_str(&evaluation.summary().unwrap()).unwrap();
        assert!((json["pixel"]["auroc"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((json["pixel"]["max_f1"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn mismatched_masks_and_one_sided_sets_are_messages() {
        let mut evaluation = Evaluation::new();
        let error = evaluation
            .push_map(vec![0.1, 0.2], 2, 1, &[0, 1, 0], true)
            .unwrap_err();
        assert_eq!(error, "the mask has 3 pixels but the 2×1 anomaly map has 2");
        evaluation
            .push_map(vec![0.1, 0.2], 2, 1, &[], false)
            .unwrap();
        let error = evaluation.summary().unwrap_err();
        assert_eq!(
            error,
            "no image has a defect in its mask: metrics need anomalous images too"
        );
    }
}
