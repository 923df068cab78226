use std::path::Path;

use anyhow::Context;
use spotdiff::metrics::Curve;
use spotdiff::plot::{self, Panel, Series, Style};
use spotdiff::toy::{self, ToyComparison, ToyReport};

use crate::output::{say, write_atomically};

pub fn run(json: bool, plot_dir: Option<&Path>) -> anyhow::Result<()> {
    let comparison = ToyComparison::seed();
    if let Some(dir) = plot_dir {
        write_figures(&comparison.models, dir)?;
    }
    if json {
        say!("{}", serde_json::to_string_pretty(&comparison)?);
        return Ok(());
    }
    say!("The AU-PR vs AU-ROC toy example (supplementary material, section B).");
    for report in &comparison.models {
        print_report(report);
    }
    say!("\n{}", comparison.lesson);
    if let Some(dir) = plot_dir {
        say!("\nWrote the ROC and PR curves to {}", dir.display());
    }
    Ok(())
}

fn print_report(report: &ToyReport) {
    let model = &report.model;
    let m = &report.metrics;
    say!(
        "\nModel {}: {} anomalies, {} normal samples; lowering the threshold:",
        model.name,
        model.positives,
        model.negatives
    );
    for segment in &model.schedule {
        say!(
            "  {} steps of +{} true positives, +{} false positives",
            segment.steps,
            segment.true_positives_per_step,
            segment.false_positives_per_step
        );
    }
    let seed = report.seed.as_ref();
    let printed =
        |value: Option<f64>| value.map_or_else(|| "-".to_string(), |v| format!("{:.1}", 100.0 * v));
    say!("  {:<28}{:>10}{:>8}", "metric (%)", "computed", "seed");
    let note = |value: f64, seed_value: Option<f64>| match seed_value {
        Some(printed) if !toy::agrees(value, printed) => "  <- differs, reason below",
        _ => "",
    };
    let rows = [
        ("AU-ROC", m.auroc, seed.map(|s| s.auroc)),
        ("AU-PR (trapezoid)", m.aupr, seed.map(|s| s.aupr)),
        ("AP (step)", m.average_precision, None),
        ("max-F1", m.max_f1, seed.map(|s| s.max_f1)),
        (
            "precision at full recall",
            m.precision_at_full_recall,
            seed.and_then(|s| s.precision_at_full_recall),
        ),
    ];
    for (name, value, seed_value) in rows {
        say!(
            "  {name:<28}{:>10.1}{:>8}{}",
            100.0 * value,
            printed(seed_value),
            note(value, seed_value)
        );
    }
    say!("  {}", report.explanation);
}

fn write_figures(reports: &[ToyReport], dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (report, figure) in reports.iter().zip([9, 10]) {
        let name = &report.model.name;
        let series = |curve: Curve| {
            vec![Series {
                label: format!("model {name}"),
                points: curve.points,
                style: Style::Line,
            }]
        };
        let m = &report.metrics;
        let panels = [
            Panel {
                title: format!("ROC, AU-ROC {:.1}%", 100.0 * m.auroc),
                x_label: "false positive rate".into(),
                y_label: "true positive rate (recall)".into(),
                series: series(Curve::roc(&report.operating_points)),
            },
            Panel {
                title: format!("PR, AU-PR {:.1}%", 100.0 * m.aupr),
                x_label: "recall".into(),
                y_label: "precision".into(),
                series: series(Curve::precision_recall(&report.operating_points)),
            },
        ];
        let svg = plot::figure(
            &format!("Fig. {figure}: ROC and PR curves of model {name}"),
            &panels,
        );
        let path = dir.join(format!("fig{figure}_model_{}.svg", name.to_lowercase()));
        write_atomically(&path, svg.as_bytes())?;
    }
    Ok(())
}
