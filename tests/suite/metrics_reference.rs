//! Every metric against references computed by scikit-learn 1.9.1 / NumPy
//! 2.4.6 / SciPy 1.17.1 on random inputs with heavy ties
//! (tests/fixtures/make_metrics_fixtures.py wrote the fixture).

use serde::Deserialize;
use spotdiff::metrics::paper::paper_metrics;
use spotdiff::metrics::pro::ProSet;
use spotdiff::metrics::{binary_metrics, evaluate, ScoreSet};

const TOLERANCE: f64 = 1e-9;

#[derive(Deserialize)]
struct Fixture {
    binary: Vec<BinaryCase>,
    paper: Vec<PaperCase>,
    pro: Vec<ProCase>,
}

#[derive(Deserialize)]
struct BinaryCase {
    name: String,
    scores: Vec<f32>,
    labels: Vec<u8>,
    auroc: f64,
    aupr: f64,
    ap: f64,
    max_f1: f64,
    max_f1_threshold: f64,
}

#[derive(Deserialize)]
struct PaperCase {
    name: String,
    scores: Vec<f32>,
    labels: Vec<u8>,
    auroc: f64,
    aupr: f64,
    max_f1: f64,
    max_f1_threshold: f64,
}

#[derive(Deserialize)]
struct ProCase {
    name: String,
    width: usize,
    height: usize,
    maps: Vec<Vec<f32>>,
    masks: Vec<Vec<u8>>,
    regions: u64,
    #[serde(rename = "au_pro_0.3")]
    au_pro_03: f64,
    #[serde(rename = "au_pro_0.1")]
    au_pro_01: f64,
}

fn fixture() -> Fixture {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/metrics_reference.json"
    );
    let text = std::fs::read_to_string(path).expect("the committed fixture is readable");
    serde_json::from_str(&text).expect("the committed fixture parses")
}

fn labels(raw: &[u8]) -> Vec<bool> {
    raw.iter().map(|&l| l == 1).collect()
}

macro_rules! assert_close {
    ($case:expr, $what:literal, $got:expr, $expected:expr) => {
        let (got, expected): (f64, f64) = ($got, $expected);
        assert!(
            (got - expected).abs() <= TOLERANCE,
            "{} {}: expected {expected}, got {got}",
            $case,
            $what
        );
    };
}

#[test]
fn binary_metrics_match_scikit_learn() {
    let fixture = fixture();
    assert!(fixture.binary.len() >= 6);
    for case in &fixture.binary {
        let m = evaluate(&case.scores, &labels(&case.labels)).unwrap();
        assert_close!(case.name, "auroc", m.auroc, case.auroc);
        assert_close!(case.name, "aupr", m.aupr, case.aupr);
        assert_close!(case.name, "ap", m.average_precision, case.ap);
        assert_close!(case.name, "max_f1", m.max_f1, case.max_f1);
        assert_eq!(
            m.max_f1_threshold, case.max_f1_threshold,
            "{} threshold",
            case.name
        );
    }
}

#[test]
fn scores_as_f64_give_the_same_metrics() {
    for case in &fixture().binary {
        let wide: Vec<f64> = case.scores.iter().map(|&s| f64::from(s)).collect();
        let m = evaluate(&wide, &labels(&case.labels)).unwrap();
        assert_close!(case.name, "auroc", m.auroc, case.auroc);
        assert_close!(case.name, "aupr", m.aupr, case.aupr);
    }
}

#[test]
fn paper_sweep_matches_the_numpy_reference() {
    for case in &fixture().paper {
        let mut set = ScoreSet::new();
        set.extend(&case.scores, &labels(&case.labels)).unwrap();
        let m = paper_metrics(&set.rank().unwrap());
        assert_eq!(m.points.len(), 202);
        assert_close!(case.name, "auroc", m.auroc, case.auroc);
        assert_close!(case.name, "aupr", m.aupr, case.aupr);
        assert_close!(case.name, "max_f1", m.max_f1, case.max_f1);
        assert_close!(
            case.name,
            "max_f1_threshold",
            m.max_f1_threshold,
            case.max_f1_threshold
        );
    }
}

#[test]
fn paper_sweep_differs_from_the_exact_metrics_on_fine_scores() {
    // With 1000 score levels the 202-threshold sweep skips operating points;
    // both are right for what they measure, and they are not the same number.
    let fixture = fixture();
    let case = fixture
        .paper
        .iter()
        .find(|c| c.name == "n5000_levels1000")
        .unwrap();
    let exact = evaluate(&case.scores, &labels(&case.labels)).unwrap();
    assert!(
        (exact.aupr - case.aupr).abs() > 1e-4,
        "{} vs {}",
        exact.aupr,
        case.aupr
    );
}

#[test]
fn au_pro_matches_the_definition() {
    for case in &fixture().pro {
        let mut set = ProSet::new();
        for (map, mask) in case.maps.iter().zip(&case.masks) {
            set.push_map(map, &labels(mask), case.width, case.height)
                .unwrap();
        }
        let at_03 = set.clone().metrics(0.3).unwrap();
        assert_eq!(at_03.regions, case.regions, "{}", case.name);
        assert_close!(case.name, "au_pro@0.3", at_03.au_pro, case.au_pro_03);
        let at_01 = set.metrics(0.1).unwrap();
        assert_close!(case.name, "au_pro@0.1", at_01.au_pro, case.au_pro_01);
    }
}

#[test]
fn thinned_curves_keep_the_exact_areas_within_plotting_resolution() {
    for case in &fixture().binary {
        let mut set = ScoreSet::new();
        set.extend(&case.scores, &labels(&case.labels)).unwrap();
        let m = binary_metrics(&set.rank().unwrap()).unwrap();
        assert!((m.roc.area() - m.auroc).abs() < 2e-3, "{}", case.name);
        assert!((m.pr.area() - m.aupr).abs() < 2e-3, "{}", case.name);
    }
}
