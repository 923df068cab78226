//! Every undefined or malformed input gets its own error and message.

use spotdiff::metrics::pro::ProSet;
use spotdiff::metrics::{evaluate, MetricsError, ScoreSet};

#[test]
fn empty_input() {
    let error = evaluate::<f32>(&[], &[]).unwrap_err();
    assert_eq!(error, MetricsError::Empty);
    assert_eq!(
        error.to_string(),
        "no scores were given: the metrics need at least one anomalous and one normal sample"
    );
}

#[test]
fn no_positives() {
    let error = evaluate(&[0.1f32, 0.2], &[false, false]).unwrap_err();
    assert_eq!(error, MetricsError::NoPositives { negatives: 2 });
    assert_eq!(
        error.to_string(),
        "all 2 samples are normal: AU-ROC, AU-PR and F1 are undefined without anomalous samples (label 1)"
    );
}

#[test]
fn no_negatives() {
    let error = evaluate(&[0.1f32, 0.2, 0.3], &[true, true, true]).unwrap_err();
    assert_eq!(error, MetricsError::NoNegatives { positives: 3 });
    assert_eq!(
        error.to_string(),
        "all 3 samples are anomalous: AU-ROC is undefined without normal samples (label 0)"
    );
}

#[test]
fn nan_score() {
    let error = evaluate(&[0.1f32, f32::NAN], &[true, false]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "score number 1 (counting from 0) is NaN: every score must be a finite number"
    );
}

#[test]
fn infinite_score_counts_from_the_start_of_the_stream() {
    let mut set = ScoreSet::new();
    set.extend(&[0.5f64, 0.7], &[true, false]).unwrap();
    let error = set
        .extend(&[0.1, f64::NEG_INFINITY], &[true, false])
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "score number 3 (counting from 0) is -inf: every score must be a finite number"
    );
    // Nothing of the refused batch was kept.
    assert_eq!(set.len(), 2);
}

#[test]
fn length_mismatch() {
    let error = evaluate(&[0.1f32, 0.2, 0.3], &[true, false]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "3 scores but 2 labels: every score needs exactly one label"
    );
}

#[test]
fn map_shape_mismatch() {
    let mut set = ScoreSet::new();
    set.push_map(&[0.0f32; 6], &[false; 6], 3, 2).unwrap();
    let error = set.push_map(&[0.0f32; 6], &[false; 5], 3, 2).unwrap_err();
    assert_eq!(
        error.to_string(),
        "map 1 (3x2): the mask has 5 values, expected 6"
    );
    let error = set.push_map(&[0.0f32; 7], &[false; 6], 3, 2).unwrap_err();
    assert_eq!(
        error.to_string(),
        "map 1 (3x2): the score map has 7 values, expected 6"
    );
}

#[test]
fn pro_fpr_limit_out_of_range() {
    let mut set = ProSet::new();
    set.push_map(&[0.0f32, 1.0], &[false, true], 2, 1).unwrap();
    let error = set.metrics(0.0).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the FPR limit 0 is outside (0, 1]: choose a limit such as 0.3"
    );
}
