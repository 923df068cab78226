//! Exact binary metrics of scores the page already has.

use spotdiff::metrics;
use wasm_bindgen::prelude::*;

/// Exact AU-ROC, AU-PR, AP and max-F1 of image scores (`labels`: 1 =
/// anomalous, 0 = normal) as JSON.
#[wasm_bindgen(js_name = binaryMetrics)]
pub fn binary_metrics(scores: &[f32], labels: &[u8]) -> Result<String, JsError> {
    binary_metrics_json(scores, labels).map_err(|message| JsError::new(&message))
}

fn binary_metrics_json(scores: &[f32], labels: &[u8]) -> Result<String, String> {
    if let Some(index) = labels.iter().position(|&l| l > 1) {
        return Err(format!(
            "label number {index} is {}: labels must be 0 (normal) or 1 (anomalous)",
            labels[index]
        ));
    }
    let anomalous: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
    let m = metrics::evaluate(scores, &anomalous).map_err(|e| e.to_string())?;
    serde_json::to_string(&m).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_json_carries_the_core_numbers() {
        // Two anomalies above two normal samples: every metric is 1.
        let json = binary_metrics_json(&[0.9, 0.8, 0.2, 0.1], &[1, 1, 0, 0]).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["auroc"], 1.0);
        assert_eq!(value["aupr"], 1.0);
    }

    #[test]
    fn bad_labels_and_missing_classes_are_messages() {
        let error = binary_metrics_json(&[0.1, 0.2], &[0, 2]).unwrap_err();
        assert_eq!(
            error,
            "label number 1 is 2: labels must be 0 (normal) or 1 (anomalous)"
        );
        let error = binary_metrics_json(&[0.1, 0.2], &[0, 0]).unwrap_err();
        assert!(error.contains("without anomalous samples"), "{error}");
    }
}
