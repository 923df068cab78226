//! The AU-PR vs AU-ROC explorer's bindings: the seed's toy models and their
//! metrics, curves and explanations, as the core serialises them.

use serde::Deserialize;
use spotdiff::toy::{Segment, ToyComparison, ToyModel, ToyReport};
use wasm_bindgen::prelude::*;

/// The arguments of `ToyModel::new` as the page's controls send them.
#[derive(Debug, Deserialize)]
struct ToyInput {
    name: String,
    positives: u64,
    negatives: u64,
    schedule: Vec<Segment>,
}

/// The seed's models A and B as page presets (JSON list of models).
#[wasm_bindgen(js_name = seedToyModels)]
pub fn seed_toy_models() -> String {
    let models = [ToyModel::seed_model_a(), ToyModel::seed_model_b()];
    serde_json::to_string(&models).expect("toy models serialise")
}

/// Metrics, operating points and explanations of two toy models (a JSON list
/// of two models), and the lesson drawn from comparing them.
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
    let comparison = ToyComparison::new(report(first)?, report(second)?);
    serde_json::to_string(&comparison).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_presets_compare_as_the_core_serialises_the_seed() {
        let json = compare_toy_models_json(&seed_toy_models()).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let seed = serde_json::to_value(ToyComparison::seed()).unwrap();
        assert_eq!(value, seed);
        // Hand-worked in the core: model B's AU-ROC 0.985.
        assert_eq!(value["models"][1]["name"], "B");
        assert!((value["models"][1]["auroc"].as_f64().unwrap() - 0.985).abs() < 1e-12);
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
