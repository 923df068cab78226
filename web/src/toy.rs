//! The AU-PR vs AU-ROC explorer's bindings: the seed's toy models and their
//! metrics, curves and explanations.

use serde::{Deserialize, Serialize};
use spotdiff::metrics::OperatingPoint;
use spotdiff::toy::{self, SeedValues, Segment, ToyModel, ToyReport};
use wasm_bindgen::prelude::*;

/// A toy model as the page's controls describe it.
#[derive(Debug, Deserialize, Serialize)]
struct ToyInput {
    name: String,
    positives: u64,
    negatives: u64,
    schedule: Vec<Segment>,
}

/// One operating point with the rates the page shows under the cursor.
#[derive(Debug, Serialize)]
struct PointView {
    threshold: f64,
    true_positives: u64,
    false_positives: u64,
    precision: f64,
    recall: f64,
    false_positive_rate: f64,
    f1: f64,
}

impl From<&OperatingPoint> for PointView {
    fn from(p: &OperatingPoint) -> Self {
        Self {
            threshold: p.threshold,
            true_positives: p.true_positives,
            false_positives: p.false_positives,
            precision: p.precision(),
            recall: p.recall(),
            false_positive_rate: p.false_positive_rate(),
            f1: p.f1(),
        }
    }
}

/// What the toy page draws for one model: fractions, not percent.
#[derive(Debug, Serialize)]
struct ToyView {
    model: ToyInput,
    auroc: f64,
    aupr: f64,
    ap: f64,
    max_f1: f64,
    precision_at_full_recall: f64,
    points: Vec<PointView>,
    seed: Option<SeedValues>,
    explanation: String,
}

impl From<&ToyReport> for ToyView {
    fn from(report: &ToyReport) -> Self {
        let m = &report.metrics;
        Self {
            model: ToyInput {
                name: report.model.name.clone(),
                positives: report.model.positives,
                negatives: report.model.negatives,
                schedule: report.model.schedule.clone(),
            },
            auroc: m.auroc,
            aupr: m.aupr,
            ap: m.average_precision,
            max_f1: m.max_f1,
            precision_at_full_recall: m.precision_at_full_recall,
            points: report
                .operating_points
                .iter()
                .map(PointView::from)
                .collect(),
            seed: report.seed,
            explanation: report.explanation.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
struct Comparison {
    models: Vec<ToyView>,
    lesson: String,
}

/// The seed's models A and B as page presets (JSON list of model inputs).
#[wasm_bindgen(js_name = seedToyModels)]
pub fn seed_toy_models() -> String {
    let inputs: Vec<ToyInput> = [ToyModel::seed_model_a(), ToyModel::seed_model_b()]
        .into_iter()
        .map(|m| ToyInput {
            name: m.name,
            positives: m.positives,
            negatives: m.negatives,
            schedule: m.schedule,
        })
        .collect();
    serde_json::to_string(&inputs).expect("toy inputs serialise")
}

/// Metrics, operating points and explanations of two toy models (a JSON list
/// of two model inputs), and the lesson drawn from comparing them.
#[wasm_bindgen(js_name = compareToyModels)]
pub fn compare_toy_models(models_json: &str) -> Result<String, JsError> {
    compare_toy_models_json(models_json).map_err(|message| JsError::new(&message))
}

fn compare_toy_models_json(models_json: &str) -> Result<String, String> {
    let inputs: Vec<ToyInput> = serde_json::from_str(models_json)
        .map_err(|e| format!("the toy models are malformed: {e}"))?;
    let [first, second]: [ToyInput; 2] = inputs.try_into().map_err(|inputs: Vec<ToyInput>| {
        format!("two models are compared, {} were given", inputs.len())
    })?;
    let report = |input: ToyInput| {
        let name = input.name.clone();
        let model = ToyModel::new(input.name, input.positives, input.negatives, input.schedule)
            .map_err(|e| format!("model {name}: {e}"))?;
        ToyReport::for_model(model).map_err(|e| format!("model {name}: {e}"))
    };
    let (first, second) = (report(first)?, report(second)?);
    let comparison = Comparison {
        lesson: toy::lesson(&first, &second),
        models: vec![ToyView::from(&first), ToyView::from(&second)],
    };
    serde_json::to_string(&comparison).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_presets_compare_with_the_seed_values() {
        let json = compare_toy_models_json(&seed_toy_models()).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let b = &value["models"][1];
        assert_eq!(b["model"]["name"], "B");
        // Hand-worked in the core: AU-ROC 0.985, max-F1 180/190 at (90, 0).
        assert!((b["auroc"].as_f64().unwrap() - 0.985).abs() < 1e-12);
        assert!((b["max_f1"].as_f64().unwrap() - 180.0 / 190.0).abs() < 1e-12);
        assert_eq!(b["seed"]["max_f1"], 0.947);
        // Operating point 90 (0-based 89): TP 90, FP 0.
        assert_eq!(b["points"][89]["precision"], 1.0);
        assert_eq!(b["points"][89]["recall"], 0.9);
        assert!(value["lesson"]
            .as_str()
            .unwrap()
            .starts_with("Model A has the higher AU-ROC"));
    }

    #[test]
    fn invalid_toy_models_are_messages() {
        let error = compare_toy_models_json("[]").unwrap_err();
        assert_eq!(error, "two models are compared, 0 were given");
        let error = compare_toy_models_json(
            r#"[{"name":"X","positives":5,"negatives":10,"schedule":[{"steps":6,"true_positives_per_step":1,"false_positives_per_step":0}]},
                {"name":"Y","positives":5,"negatives":10,"schedule":[{"steps":1,"true_positives_per_step":1,"false_positives_per_step":0}]}]"#,
        )
        .unwrap_err();
        assert_eq!(
            error,
            "model X: the schedule finds 6 true positives but the test set has only 5"
        );
        assert!(compare_toy_models_json("{")
            .unwrap_err()
            .starts_with("the toy models are malformed"));
    }
}
