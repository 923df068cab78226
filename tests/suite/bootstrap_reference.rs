//! The bootstrap against NumPy / scikit-learn (versions in the fixture):
//! tests/fixtures/make_bootstrap_fixtures.py draws the resampled image
//! indices from the stream src/metrics/bootstrap.rs documents, written again
//! in Python, and computes each resample's AU-ROC with roc_auc_score and the
//! interval with numpy.percentile.

use serde::Deserialize;
use spotdiff::data::Mask;
use spotdiff::eval::{Bootstrap, ClassEvaluator, Metrics, Protocol, Uncertain};
use spotdiff::metrics::bootstrap::{stream_of, Resampling};
use spotdiff::padim::{MapSize, ScoreMap};

const TOLERANCE: f64 = 1e-9;

#[derive(Deserialize)]
struct Fixture {
    class: String,
    seed: u64,
    resamples: usize,
    scores: Vec<f32>,
    labels: Vec<u8>,
    indices: Vec<Vec<usize>>,
    auroc: Vec<f64>,
    auroc_ci95: [f64; 2],
    aupr_ci95: [f64; 2],
}

fn fixture() -> Fixture {
    let text = include_str!("../fixtures/bootstrap_reference.json");
    serde_json::from_str(text).expect("the bootstrap fixture parses")
}

#[test]
fn resamples_are_the_documented_stream() {
    let f = fixture();
    let labels: Vec<bool> = f.labels.iter().map(|&l| l == 1).collect();
    let resampling = Resampling::draw(&labels, f.resamples, f.seed, stream_of(&f.class)).unwrap();
    for (resample, indices) in f.indices.iter().enumerate() {
        let mut counts = vec![0u32; labels.len()];
        for &index in indices {
            counts[index] += 1;
        }
        assert_eq!(
            resampling.weights(resample),
            &counts[..],
            "resample {resample}"
        );
    }
}

#[test]
fn auroc_interval_equals_scikit_learn_on_the_same_resamples() {
    let f = fixture();
    // Each image is a 1x1 map: its one pixel is its score, a defect when
    // the image is anomalous.
    let mut evaluator = ClassEvaluator::with_bootstrap(
        &f.class,
        Bootstrap {
            resamples: f.resamples,
            seed: f.seed,
        },
    );
    for (&score, &label) in f.scores.iter().zip(&f.labels) {
        let map = ScoreMap::new(MapSize::new(1, 1), vec![score]).unwrap();
        let mask = Mask {
            width: 1,
            height: 1,
            pixels: vec![label == 1],
        };
        evaluator.push(&map, &mask, label == 1).unwrap();
    }
    let metrics = evaluator.finish(Protocol::Exact).unwrap();
    let uncertain = Uncertain {
        point: Metrics::of(&metrics),
        resampled: metrics.resampled.unwrap().unwrap(),
    };
    for (resample, (&got, &want)) in uncertain
        .resampled
        .classification
        .auroc
        .iter()
        .zip(&f.auroc)
        .enumerate()
    {
        assert!(
            (got - want).abs() < TOLERANCE,
            "resample {resample}: {got} vs {want}"
        );
    }
    let intervals = uncertain.intervals();
    for (what, got, want) in [
        ("AU-ROC", intervals.classification.auroc.ci95, f.auroc_ci95),
        ("AU-PR", intervals.classification.aupr.ci95, f.aupr_ci95),
        // One pixel per image: segmentation ranks the same samples.
        (
            "pixel AU-ROC",
            intervals.segmentation.auroc.ci95,
            f.auroc_ci95,
        ),
    ] {
        for bound in 0..2 {
            assert!(
                (got[bound] - want[bound]).abs() < TOLERANCE,
                "{what}: {got:?} vs {want:?}"
            );
        }
    }
}
