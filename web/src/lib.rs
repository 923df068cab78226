//! The browser's entry points into the spotdiff core. This layer only converts
//! between JavaScript values and core calls; all computation is the core's, so
//! the page shows the same numbers as the command line.

use spotdiff::metrics;
use spotdiff::toy::ToyReport;
use wasm_bindgen::prelude::*;

/// The seed's toy models A and B with their metrics, operating points and
/// explanations, as JSON.
#[wasm_bindgen(js_name = seedToyReports)]
pub fn seed_toy_reports() -> String {
    serde_json::to_string(&ToyReport::seed_reports()).expect("toy reports serialise")
}

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

    #[test]
    fn toy_reports_serialise_both_models() {
        let value: serde_json::Value = serde_json::from_str(&seed_toy_reports()).unwrap();
        assert_eq!(value[0]["model"]["name"], "A");
        assert_eq!(value[1]["model"]["name"], "B");
    }
}
