use std::path::Path;

use anyhow::Context;
use serde::Serialize;
use spotdiff::metrics::{self, ScoreTable};

use crate::output::say;

/// The JSON of `spotdiff metrics --json`: fractions, not percent.
#[derive(Serialize)]
struct MetricsJson {
    auroc: f64,
    aupr: f64,
    ap: f64,
    max_f1: f64,
    max_f1_threshold: f64,
}

pub fn run(file: &Path, json: bool) -> anyhow::Result<()> {
    let reader =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let table = ScoreTable::from_reader(std::io::BufReader::new(reader))
        .with_context(|| format!("{} is not a usable score CSV", file.display()))?;
    let m = metrics::evaluate(&table.scores, &table.anomalous)
        .with_context(|| format!("cannot compute metrics for {}", file.display()))?;
    if json {
        let out = MetricsJson {
            auroc: m.auroc,
            aupr: m.aupr,
            ap: m.average_precision,
            max_f1: m.max_f1,
            max_f1_threshold: m.max_f1_threshold,
        };
        say!("{}", serde_json::to_string(&out)?);
        return Ok(());
    }
    say!(
        "{}: {} samples, {} anomalous, {} normal",
        file.display(),
        m.positives + m.negatives,
        m.positives,
        m.negatives
    );
    let rows = [
        ("AU-ROC", m.auroc),
        ("AU-PR (trapezoid)", m.aupr),
        ("AP (step)", m.average_precision),
        ("max-F1", m.max_f1),
        ("precision at full recall", m.precision_at_full_recall),
    ];
    for (name, value) in rows {
        say!("  {name:<26}{:>9.4}%", 100.0 * value);
    }
    say!("  {:<26}{:>10}", "max-F1 threshold", m.max_f1_threshold);
    say!("  (a sample is called anomalous when its score is at least the threshold)");
    Ok(())
}
