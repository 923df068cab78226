//! The `spotdiff` binary end to end: output, exit codes and messages.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn spotdiff(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spotdiff"))
        .args(args)
        .output()
        .expect("the spotdiff binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 output")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8 output")
}

/// Asserts that the run failed and said `message` on stderr.
#[track_caller]
fn assert_fails_with(output: &Output, message: &str) {
    let stderr = stderr(output);
    assert!(
        !output.status.success(),
        "succeeded, but should have failed with {message:?}; stderr: {stderr}"
    );
    assert!(
        stderr.contains(message),
        "stderr lacks {message:?}: {stderr}"
    );
}

/// A fresh directory for one test.
fn temp_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn toy_prints_the_seed_table_with_reasons() {
    let output = spotdiff(&["toy"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let row = |name: &str, model: usize| -> String {
        let section = text.split("\nModel ").nth(model).unwrap();
        section
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in {section}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    // Model A (values worked by hand in src/toy.rs): computed, then the seed's.
    assert_eq!(row("AU-ROC", 1), "AU-ROC 99.5 99.5");
    assert_eq!(
        row("AU-PR", 1),
        "AU-PR (trapezoid) 9.5 10.5 <- differs, reason below"
    );
    assert_eq!(row("AP", 1), "AP (step) 9.1 -");
    assert_eq!(
        row("max-F1", 1),
        "max-F1 16.7 18.2 <- differs, reason below"
    );
    // Model B.
    assert_eq!(row("AU-ROC", 2), "AU-ROC 98.5 98.5");
    assert_eq!(row("AU-PR", 2), "AU-PR (trapezoid) 90.6 90.6");
    assert_eq!(row("AP", 2), "AP (step) 90.1 -");
    assert_eq!(row("max-F1", 2), "max-F1 94.7 94.7");
    assert!(
        text.contains("the printed value follows from precision = TP/FP instead (10.45%)"),
        "{text}"
    );
    assert!(
        text.contains("the printed value follows from precision = TP/FP instead (18.18%)"),
        "{text}"
    );
}

#[test]
fn toy_json_has_fractions_and_the_seed_values() {
    let output = spotdiff(&["toy", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let a = &json["models"][0];
    assert_eq!(a["name"], "A");
    assert!((a["auroc"].as_f64().unwrap() - 0.995).abs() < 1e-12);
    assert!(
        (a["aupr"].as_f64().unwrap() - (0.01 * (1.0 + 1.0 / 11.0) / 2.0 + 0.99 / 11.0)).abs()
            < 1e-12
    );
    assert!((a["ap"].as_f64().unwrap() - 1.0 / 11.0).abs() < 1e-12);
    assert!((a["max_f1"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-12);
    assert_eq!(a["seed"]["aupr"], 0.105);
    let b = &json["models"][1];
    assert!((b["max_f1"].as_f64().unwrap() - 180.0 / 190.0).abs() < 1e-12);
    assert_eq!(b["seed"]["max_f1"], 0.947);
    assert!(json["lesson"].as_str().unwrap().contains("AU-ROC flatters"));
}

#[test]
fn toy_plot_writes_both_figures() {
    let dir = temp_dir("toy_plot");
    let plots = dir.join("figures");
    let output = spotdiff(&["toy", "--plot", plots.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    for name in ["fig9_model_a.svg", "fig10_model_b.svg"] {
        let svg = std::fs::read_to_string(plots.join(name)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("<polyline"),
            "{name}"
        );
    }
    assert_eq!(
        std::fs::read_dir(&plots).unwrap().count(),
        2,
        "no temporary files left"
    );
}

#[test]
fn metrics_of_a_csv_as_table_and_json() {
    let dir = temp_dir("metrics_csv");
    // The hand-computed case of src/metrics/binary.rs: AU-ROC 11/18,
    // AP 13/18, max-F1 2/3 at threshold 0.8.
    let file = write(
        &dir,
        "scores.csv",
        "score,label\n0.9,1\n0.8,0\n0.8,1\n0.5,0\n0.5,0\n0.1,1\n",
    );
    let output = spotdiff(&["metrics", &file, "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let mut keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["ap", "aupr", "auroc", "max_f1", "max_f1_threshold"]);
    assert!((json["auroc"].as_f64().unwrap() - 11.0 / 18.0).abs() < 1e-15);
    assert!((json["ap"].as_f64().unwrap() - 13.0 / 18.0).abs() < 1e-15);
    assert!((json["max_f1"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-15);
    assert_eq!(json["max_f1_threshold"], 0.8);

    let output = spotdiff(&["metrics", &file]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("6 samples, 3 anomalous, 3 normal"), "{text}");
    assert!(
        text.contains("AU-ROC") && text.contains("61.1111%"),
        "{text}"
    );
}

#[test]
fn metrics_reports_every_bad_row_by_line() {
    let dir = temp_dir("metrics_bad_rows");
    let file = write(&dir, "bad.csv", "score,label\n0.1,0\nx,1\n0.2,yes\ninf,1\n");
    let output = spotdiff(&["metrics", &file]);
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(&output, "bad.csv is not a usable score CSV");
    assert_fails_with(&output, "3 of 4 rows are bad");
    assert_fails_with(&output, "line 3: score `x` is not a number");
    assert_fails_with(
        &output,
        "line 4: label `yes` is not 0 (normal) or 1 (anomalous)",
    );
    assert_fails_with(&output, "line 5: score `inf` is inf");
}

#[test]
fn metrics_refuses_a_single_class_and_missing_files() {
    let dir = temp_dir("metrics_single_class");
    let file = write(&dir, "normal.csv", "label,score\n0,0.3\n0,0.4\n");
    let output = spotdiff(&["metrics", &file]);
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(&output, "all 2 samples are normal");

    let missing = dir.join("missing.csv");
    let output = spotdiff(&["metrics", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(&output, "cannot open");
    assert_fails_with(&output, "missing.csv");

    let file = write(&dir, "columns.csv", "prediction,target\n0.1,1\n");
    let output = spotdiff(&["metrics", &file]);
    assert_fails_with(
        &output,
        "the header has no `score` column (found: `prediction`, `target`)",
    );
}

#[test]
fn backends_check_the_cpu_backend() {
    let output = spotdiff(&["backends"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("flex   ok"),
        "{}",
        stdout(&output)
    );
}

fn hash_tree(root: &Path) -> Vec<(String, u64)> {
    use std::hash::{Hash, Hasher};
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(&path).unwrap().hash(&mut hasher);
                files.push((
                    path.strip_prefix(root).unwrap().display().to_string(),
                    hasher.finish(),
                ));
            }
        }
    }
    files.sort();
    files
}

fn synth(out: &Path, seed: &str) -> Output {
    spotdiff(&[
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--seed",
        seed,
        "--size",
        "64",
        "--normals",
        "4",
        "--anomalies",
        "3",
        "--classes",
        "cashew,capsules",
    ])
}

#[test]
fn synth_writes_a_checked_visa_tree_deterministically() {
    let dir = temp_dir("synth_determinism");
    let (first, second, other) = (dir.join("a"), dir.join("b"), dir.join("c"));
    for (out, seed) in [(&first, "7"), (&second, "7"), (&other, "8")] {
        let output = synth(out, seed);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    // 2 classes x (4 normal + 3 anomalous images + 3 masks) + 3 CSVs + synth.json.
    let files = hash_tree(&first);
    assert_eq!(files.len(), 2 * (4 + 3 + 3) + 3 + 1);
    assert_eq!(files, hash_tree(&second));
    assert_ne!(files, hash_tree(&other));
    let csv = std::fs::read_to_string(first.join("split_csv/1cls.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some("object,split,label,image,mask"));
    assert_eq!(csv.lines().count(), 1 + 2 * (4 + 3));

    let output = spotdiff(&["data", "check", first.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("no problems"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn synth_refuses_to_overwrite_and_bad_flags() {
    let dir = temp_dir("synth_refusals");
    std::fs::write(dir.join("keep.txt"), "precious").unwrap();
    let output = synth(&dir, "1");
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(&output, "already exists and is not empty");
    assert_eq!(
        std::fs::read_to_string(dir.join("keep.txt")).unwrap(),
        "precious"
    );

    let out = dir.join("new");
    let output = spotdiff(&["synth", "--out", out.to_str().unwrap(), "--layout", "coco"]);
    assert_fails_with(&output, "invalid value 'coco' for '--layout <LAYOUT>'");
    assert_fails_with(&output, "[possible values: visa, mvtec, folder]");
    let output = spotdiff(&[
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--classes",
        "widget",
    ]);
    assert_fails_with(&output, "invalid value 'widget' for '--classes <NAMES>'");
    assert_fails_with(
        &output,
        "[possible values: pcb_green, pcb_blue, capsules, macaroni, cashew, fryum]",
    );
    let output = spotdiff(&["synth", "--out", out.to_str().unwrap(), "--size", "8"]);
    assert_fails_with(
        &output,
        "invalid value '8' for '--size <SIZE>': 8 is not in 64..=4096",
    );
    let output = spotdiff(&[
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--jpeg-quality",
        "0",
    ]);
    assert_fails_with(
        &output,
        "invalid value '0' for '--jpeg-quality <JPEG_QUALITY>': 0 is not in 1..=100",
    );
    let output = spotdiff(&["synth", "--out", out.to_str().unwrap(), "--normals", "1"]);
    assert_fails_with(
        &output,
        "invalid value '1' for '--normals <NORMALS>': 1 is below the minimum of 2",
    );
    assert!(!out.exists(), "nothing is written for refused settings");
}

#[test]
fn data_check_reports_every_problem_and_fails() {
    let dir = temp_dir("data_check_problems");
    let root = dir.join("set");
    assert!(synth(&root, "3").status.success());
    std::fs::remove_file(root.join("cashew/Data/Images/Normal/0000.JPG")).unwrap();
    std::fs::write(
        root.join("capsules/Data/Masks/Anomaly/000.png"),
        b"not a png",
    )
    .unwrap();
    let output = spotdiff(&["data", "check", root.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let report = stdout(&output);
    assert!(
        report.contains("cashew/Data/Images/Normal/0000.JPG"),
        "{report}"
    );
    assert!(
        report.contains("capsules/Data/Masks/Anomaly/000.png"),
        "{report}"
    );
    assert_fails_with(&output, "problem(s); fix them before training");

    let output = spotdiff(&["data", "check", dir.join("absent").to_str().unwrap()]);
    assert_fails_with(&output, "is not a folder");
}

/// A tiny one-class data set for the PaDiM and evaluation tests.
fn tiny_set(root: &Path) {
    tiny_set_in(root, "visa");
}

fn padim_fit(root: &Path, out: &Path, class: &str) -> Output {
    spotdiff(&[
        "padim",
        "fit",
        "--data",
        root.to_str().unwrap(),
        "--split",
        "1cls",
        "--class",
        class,
        "--out",
        out.to_str().unwrap(),
        "--width",
        "0.125",
        "--size",
        "64",
        "--seed",
        "3",
    ])
}

/// A test's folder holding the tiny set (`set`) and a fit of it into
/// `stats_name`, and its stdout.
fn fitted_tiny_set(test: &str, stats_name: &str) -> (PathBuf, PathBuf, PathBuf, String) {
    let dir = temp_dir(test);
    let root = dir.join("set");
    tiny_set(&root);
    let stats = dir.join(stats_name);
    let output = padim_fit(&root, &stats, "cashew");
    assert!(output.status.success(), "{}", stderr(&output));
    (dir, root, stats, stdout(&output))
}

#[test]
fn padim_fit_and_eval_write_tables_equal_to_the_metrics_by_hand() {
    let (dir, root, stats, fit_output) = fitted_tiny_set("padim_eval", "r18_tiny");
    assert!(fit_output.contains("d = 13"), "{fit_output}");
    for file in ["cashew.padim", "backbone.safetensors", "manifest.json"] {
        assert!(stats.join(file).is_file(), "{file} is missing");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stats.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["padim"]["d"], 13);
    assert_eq!(manifest["classes"], serde_json::json!(["cashew"]));

    let report = dir.join("report");
    let output = spotdiff(&[
        "eval",
        "--data",
        root.to_str().unwrap(),
        "--split",
        "1cls",
        "--stats",
        stats.to_str().unwrap(),
        "--baseline",
        "pixel",
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    for stem in ["classification", "segmentation"] {
        let table: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(report.join(format!("{stem}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(table["backbones"], serde_json::json!(["r18_tiny", "pixel"]));
        let rows = table["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["class"], "cashew");
        for scores in rows[0]["scores"].as_array().unwrap() {
            for key in ["aupr", "auroc"] {
                let value = scores[key].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&value), "{stem} {key} {value}");
            }
        }
        let csv = std::fs::read_to_string(report.join(format!("{stem}.csv"))).unwrap();
        // Header, one class, the mean row.
        assert_eq!(csv.lines().count(), 3, "{csv}");
        assert!(report.join(format!("{stem}.md")).is_file());
    }
    for file in ["scatter.svg", "curves/cashew.svg"] {
        let svg = std::fs::read_to_string(report.join(file)).unwrap();
        assert!(svg.starts_with("<svg"), "{file}");
    }
    let details: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("details.json")).unwrap())
            .unwrap();
    assert_eq!(details["protocol"], "exact");
    let details = &details["classes"];
    let au_pro = details[0]["au_pro"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&au_pro));
    // The tiny set's class has too few anomalies for an interval, and says so.
    let skipped = details[0]["bootstrap"]["skipped"].as_str().unwrap();
    assert!(skipped.contains("too few test images"), "{skipped}");
    let markdown = std::fs::read_to_string(report.join("classification.md")).unwrap();
    assert!(
        markdown.contains("segmentation protocol exact"),
        "{markdown}"
    );

    // The tables hold the metrics of the image scores eval wrote, worked out
    // here from their definitions: AU-ROC as the share of (anomaly, normal)
    // pairs ranked right (ties count half), AU-PR as scikit-learn's
    // trapezoid under `precision_recall_curve`.
    let labels: Vec<bool> = test_images(&root).into_iter().map(|(_, a)| a).collect();
    let table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("classification.json")).unwrap())
            .unwrap();
    for (column, detail) in details.as_array().unwrap().iter().enumerate() {
        let images = detail["images"].as_array().unwrap();
        let scores: Vec<f64> = images
            .iter()
            .map(|i| i["score"].as_f64().unwrap())
            .collect();
        let listed: Vec<(String, bool)> = images
            .iter()
            .map(|i| {
                let file = root.join(i["file"].as_str().unwrap());
                (file.to_string_lossy().into_owned(), i["label"] == 1)
            })
            .collect();
        assert_eq!(listed, test_images(&root));
        assert_eq!(scores.len(), labels.len());
        let in_table = &table["rows"][0]["scores"][column];
        let auroc = in_table["auroc"].as_f64().unwrap();
        let aupr = in_table["aupr"].as_f64().unwrap();
        assert!(
            (auroc - auroc_by_pairs(&scores, &labels)).abs() < 1e-12,
            "{detail}"
        );
        assert!(
            (aupr - aupr_by_trapezoid(&scores, &labels)).abs() < 1e-12,
            "{detail}"
        );
    }

    let output = spotdiff(&[
        "eval",
        "--data",
        root.to_str().unwrap(),
        "--stats",
        stats.to_str().unwrap(),
        "--protocol",
        "paper",
        "--out",
        dir.join("paper").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
}

fn auroc_by_pairs(scores: &[f64], anomalous: &[bool]) -> f64 {
    let (mut right, mut pairs) = (0.0, 0.0);
    for (a, _) in scores.iter().zip(anomalous).filter(|(_, &y)| y) {
        for (n, _) in scores.iter().zip(anomalous).filter(|(_, &y)| !y) {
            pairs += 1.0;
            right += if a > n {
                1.0
            } else if a == n {
                0.5
            } else {
                0.0
            };
        }
    }
    right / pairs
}

/// The curve starts at (recall 0, precision 1), takes one point per distinct
/// score from the highest down and stops at full recall.
fn aupr_by_trapezoid(scores: &[f64], anomalous: &[bool]) -> f64 {
    let positives = anomalous.iter().filter(|&&y| y).count() as f64;
    let mut thresholds = scores.to_vec();
    thresholds.sort_by(|a, b| b.total_cmp(a));
    thresholds.dedup();
    let (mut area, mut last) = (0.0, (0.0, 1.0));
    for t in thresholds {
        let flagged = scores.iter().zip(anomalous).filter(|(s, _)| **s >= t);
        let (tp, all) = flagged.fold((0.0, 0.0), |(tp, all), (_, &y)| {
            (tp + f64::from(u8::from(y)), all + 1.0)
        });
        let point = (tp / positives, tp / all);
        area += (point.0 - last.0) * (point.1 + last.1) / 2.0;
        last = point;
        if tp == positives {
            break;
        }
    }
    area
}

#[test]
fn padim_and_eval_refuse_bad_inputs_with_clear_errors() {
    let dir = temp_dir("padim_eval_refusals");
    let root = dir.join("set");
    tiny_set(&root);
    let root_arg = root.to_str().unwrap();

    let output = padim_fit(&root, &dir.join("stats"), "pcb1");
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(
        &output,
        "class `pcb1` is not in the data set's 1cls split; it has: cashew",
    );

    let missing = dir.join("no_stats");
    let output = spotdiff(&[
        "eval",
        "--data",
        root_arg,
        "--stats",
        missing.to_str().unwrap(),
        "--out",
        dir.join("report").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(
        &output,
        "no_stats a folder written by `spotdiff padim fit`?",
    );
    // Unknown and out-of-range values are refused as the flags are parsed.
    for (args, message) in [
        (
            &["padim", "fit", "--batch", "0"][..],
            "invalid value '0' for '--batch <BATCH>'",
        ),
        (
            &["padim", "fit", "--size", "16"],
            "invalid value '16' for '--size <SIZE>'",
        ),
        (
            &["padim", "fit", "--backbone", "resnet34"],
            "invalid value 'resnet34' for '--backbone <BACKBONE>'",
        ),
        (
            &["eval", "--baseline", "mean"],
            "invalid value 'mean' for '--baseline <BASELINE>'",
        ),
        (
            &["eval", "--protocol", "fast"],
            "invalid value 'fast' for '--protocol <PROTOCOL>'",
        ),
        (
            &["eval", "--bootstrap", "100001"],
            "invalid value '100001' for '--bootstrap <BOOTSTRAP>'",
        ),
        (
            &["eval", "--stats", "=stats/a"],
            "no backbone name before `=` in `=stats/a`",
        ),
        (
            &["eval", "--stats", "simsiam=stats/a,,stats/b"],
            "an empty folder name in `simsiam=stats/a,,stats/b`",
        ),
    ] {
        assert_fails_with(&spotdiff(args), message);
    }

    std::fs::write(
        root.join("cashew/Data/Images/Normal/0000.JPG"),
        b"not a jpeg",
    )
    .unwrap();
    let output = padim_fit(&root, &dir.join("stats"), "cashew");
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(&output, "failed the data check");
    assert_fails_with(&output, "cashew/Data/Images/Normal/0000.JPG");
    let output = spotdiff(&[
        "eval",
        "--data",
        root_arg,
        "--baseline",
        "pixel",
        "--out",
        dir.join("report").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(&output, "failed the data check");
}

#[test]
fn eval_gives_intervals_saves_maps_and_summarises_seeds() {
    let dir = temp_dir("eval_bootstrap_seeds");
    let root = dir.join("set");
    // Enough test images of each label for an interval.
    let output = spotdiff(&[
        "synth",
        "--out",
        root.to_str().unwrap(),
        "--size",
        "64",
        "--normals",
        "60",
        "--anomalies",
        "6",
        "--classes",
        "cashew",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (a, b) = (dir.join("a"), dir.join("b"));
    for stats in [&a, &b] {
        let output = padim_fit(&root, stats, "cashew");
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let report = dir.join("report");
    let group = format!("r18={},{}", a.display(), b.display());
    let output = spotdiff(&[
        "eval",
        "--data",
        root.to_str().unwrap(),
        "--stats",
        &group,
        "--stats",
        a.to_str().unwrap(),
        "--bootstrap",
        "200",
        "--save-maps",
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let details = read_json(&report.join("details.json"));
    assert_eq!(details["bootstrap"]["resamples"], 200);
    let classes = details["classes"].as_array().unwrap();
    let names: Vec<&str> = classes
        .iter()
        .map(|c| c["backbone"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["r18#1", "r18#2", "a"]);
    for class in classes {
        let auroc = &class["bootstrap"]["classification"]["auroc"];
        let (lo, hi) = (
            auroc["ci95"][0].as_f64().unwrap(),
            auroc["ci95"][1].as_f64().unwrap(),
        );
        let value = class["classification"]["auroc"].as_f64().unwrap();
        assert!(lo <= value && value <= hi, "{lo} {value} {hi}");
    }
    // The same statistics on the same resamples: every paired difference is 0.
    let versus = &classes[2]["versus_first"];
    assert_eq!(versus["backbone"], "r18#1");
    assert_eq!(
        versus["classification"]["auroc"]["ci95"],
        serde_json::json!([0.0, 0.0])
    );
    assert_eq!(versus["au_pro"]["share_positive"], 0.0);
    // Two equal seeds: a standard deviation of 0.
    let seeds = &details["seeds"][0];
    assert_eq!(
        (seeds["backbone"].as_str(), seeds["seeds"].as_u64()),
        (Some("r18"), Some(2))
    );
    assert_eq!(seeds["rows"][1]["class"], "mean");
    assert_eq!(seeds["rows"][0]["classification"]["auroc"]["sd"], 0.0);
    assert!(report.join("seeds.md").is_file());
    // One raw map per test image and backbone: numpy's header, 64x64 f32.
    for (file, _) in test_images(&root) {
        let relative = Path::new(&file).strip_prefix(&root).unwrap();
        let path = report.join("maps/a").join(relative).with_extension("npy");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        assert_eq!(bytes.len(), 128 + 4 * 64 * 64, "{}", path.display());
    }
    let markdown = std::fs::read_to_string(report.join("classification.md")).unwrap();
    assert!(
        markdown.contains("95% bootstrap interval over 200 resamples"),
        "{markdown}"
    );
}

/// The test images of the tiny set's 1cls split, as (path, anomalous).
fn test_images(root: &Path) -> Vec<(String, bool)> {
    std::fs::read_to_string(root.join("split_csv/1cls.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter(|fields| fields[1] == "test")
        .map(|fields| {
            (
                root.join(fields[3]).to_str().unwrap().to_string(),
                fields[2] == "anomaly",
            )
        })
        .collect()
}

/// The bundle's JSON header, read by the documented layout.
fn bundle_header(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"SPOTDIFF");
    let len = u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
    serde_json::from_slice(&bytes[24..24 + len]).unwrap()
}

fn export(stats: &Path, class: &str, root: &Path, precision: &str, out: &Path) -> Output {
    export_with(stats, class, root, precision, out, &[])
}

/// `export` with more flags.
fn export_with(
    stats: &Path,
    class: &str,
    root: &Path,
    precision: &str,
    out: &Path,
    extra: &[&str],
) -> Output {
    let mut args = vec![
        "export",
        "--stats",
        stats.to_str().unwrap(),
        "--class",
        class,
        "--data",
        root.to_str().unwrap(),
        "--precision",
        precision,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    spotdiff(&args)
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn export_and_score_agree_with_eval_and_pick_the_max_f1_threshold() {
    let (dir, root, stats, _) = fitted_tiny_set("export_score", "stats");
    let bundle = dir.join("www/models/cashew.spotdiff");
    let output = export(&stats, "cashew", &root, "f32", &bundle);
    assert!(output.status.success(), "{}", stderr(&output));
    let header = bundle_header(&bundle);
    assert_eq!(header["class"], "cashew");
    assert!(header["threshold_source"]
        .as_str()
        .unwrap()
        .starts_with("max-F1"));
    // Scores and the threshold are f32 in the product: compared as f64, the
    // threshold's shortest decimal can land above the score it was taken from.
    let threshold = header["threshold"].as_f64().unwrap() as f32;
    // The scoring page's list of bundles beside it.
    let index = read_json(&dir.join("www/models/index.json"));
    assert_eq!(index["bundles"][0]["file"], "cashew.spotdiff");
    assert_eq!(index["bundles"][0]["class_name"], "cashew");
    assert_eq!(index["bundles"][0]["threshold"], header["threshold"]);
    assert_eq!(
        index["bundles"][0]["bytes"],
        std::fs::metadata(&bundle).unwrap().len()
    );

    let tests = test_images(&root);
    let out = dir.join("scored");
    let mut args = vec!["score", "--bundle", bundle.to_str().unwrap()];
    args.extend(tests.iter().map(|(path, _)| path.as_str()));
    args.extend(["--out", out.to_str().unwrap()]);
    let output = spotdiff(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let json = read_json(&out.join("scores.json"));
    let scored = json["images"].as_array().unwrap();
    assert_eq!(scored.len(), tests.len());
    let scores: Vec<f32> = scored
        .iter()
        .map(|s| s["score"].as_f64().unwrap() as f32)
        .collect();
    for (s, &score) in scored.iter().zip(&scores) {
        assert_eq!(s["anomalous"].as_bool().unwrap(), score >= threshold);
        let png = std::fs::read(s["overlay"].as_str().unwrap()).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: the 64 px crop.
        assert_eq!(&png[16..24], &[0, 0, 0, 64, 0, 0, 0, 64]);
    }
    let csv = std::fs::read_to_string(out.join("scores.csv")).unwrap();
    assert_eq!(csv.lines().count(), tests.len() + 1);
    assert_eq!(csv.lines().next(), Some("file,score,anomalous"));

    // By hand: F1 = 2TP / (2TP + FP + FN) with "score >= t" anomalous, for
    // every score as t; the bundle's threshold reaches the best of them.
    let f1 = |t: f32| {
        let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
        for (&score, (_, anomalous)) in scores.iter().zip(&tests) {
            match (score >= t, *anomalous) {
                (true, true) => tp += 1.0,
                (true, false) => fp += 1.0,
                (false, true) => fn_ += 1.0,
                _ => {}
            }
        }
        2.0 * tp / (2.0 * tp + fp + fn_)
    };
    let best = scores.iter().map(|&t| f1(t)).fold(0.0, f64::max);
    assert_eq!(f1(threshold), best);

    // A lossless bundle scores as the statistics folder does in `eval`.
    let report = dir.join("report");
    let output = spotdiff(&eval_args(&root, &stats, &report));
    assert!(output.status.success(), "{}", stderr(&output));
    let details = read_json(&report.join("details.json"));
    let evaluated = details["classes"][0]["images"].as_array().unwrap();
    for (got, want) in scores.iter().zip(evaluated) {
        let want = want["score"].as_f64().unwrap() as f32;
        assert!((got - want).abs() <= 1e-5 * want, "{got} vs {want}");
    }
    let panels = std::fs::read(report.join("panels/cashew.png")).unwrap();
    assert_eq!(&panels[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn export_and_score_refuse_bad_inputs_with_clear_errors() {
    let (dir, root, stats, _) = fitted_tiny_set("export_score_refusals", "stats");
    let bundle = dir.join("cashew.spotdiff");
    let output = export(&stats, "pcb1", &root, "f16", &bundle);
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(&output, "class `pcb1` was not fitted into");
    let output = export(&stats, "cashew", &root, "f8", &bundle);
    assert_fails_with(&output, "invalid value 'f8' for '--precision <PRECISION>'");
    // A malformed bundle list is refused, not overwritten.
    write(&dir, "index.json", "[1, 2]");
    let output = export(&stats, "cashew", &root, "f16", &bundle);
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(&output, "index.json is not a bundle list");
    assert_eq!(
        std::fs::read_to_string(dir.join("index.json")).unwrap(),
        "[1, 2]"
    );
    std::fs::remove_file(dir.join("index.json")).unwrap();
    let output = export(&stats, "cashew", &root, "f16", &bundle);
    assert!(output.status.success(), "{}", stderr(&output));

    // One unreadable image among good ones: reported by name, the others
    // scored, and the run fails at the end.
    let junk = write(&dir, "junk.png", "not an image");
    let good = test_images(&root)[0].0.clone();
    let out = dir.join("scored");
    let output = spotdiff(&[
        "score",
        "--bundle",
        bundle.to_str().unwrap(),
        &junk,
        &good,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(&output, &format!("{junk}: not a readable JPEG or PNG"));
    assert_fails_with(&output, "1 of 2 images could not be scored");
    let csv = std::fs::read_to_string(out.join("scores.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");

    // A tampered bundle.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&bundle, bytes).unwrap();
    let output = spotdiff(&[
        "score",
        "--bundle",
        bundle.to_str().unwrap(),
        &good,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(&output, "is not a usable bundle");
    assert_fails_with(&output, "checksum does not match");
}

#[test]
fn fitting_another_class_adds_it_to_the_manifest() {
    let dir = temp_dir("padim_fit_adds");
    let root = dir.join("set");
    let output = spotdiff(&[
        "synth",
        "--out",
        root.to_str().unwrap(),
        "--size",
        "64",
        "--normals",
        "4",
        "--anomalies",
        "2",
        "--classes",
        "cashew,fryum",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let stats = dir.join("stats");
    for class in ["fryum", "cashew", "fryum"] {
        let output = padim_fit(&root, &stats, class);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let manifest = read_json(&stats.join("manifest.json"));
    assert_eq!(manifest["classes"], serde_json::json!(["fryum", "cashew"]));

    let output = spotdiff(&[
        "padim",
        "fit",
        "--data",
        root.to_str().unwrap(),
        "--class",
        "cashew",
        "--out",
        stats.to_str().unwrap(),
        "--width",
        "0.25",
        "--size",
        "64",
        "--seed",
        "3",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(
        &output,
        "width 0.125 there, 0.25 here): fit into another --out folder, or delete it first",
    );
}

/// Each tensor of a safetensors file by name: the header's JSON gives every
/// tensor's byte range after it (the header's key order is not fixed).
fn safetensors_tensors(path: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + length]).unwrap();
    let data = &bytes[8 + length..];
    header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| *name != "__metadata__")
        .map(|(name, info)| {
            let range = &info["data_offsets"];
            let (start, end) = (range[0].as_u64().unwrap(), range[1].as_u64().unwrap());
            (name.clone(), data[start as usize..end as usize].to_vec())
        })
        .collect()
}

/// Two classes of 8 normals at 64 px: 14 training images.
fn pretraining_set(dir: &Path) -> PathBuf {
    let root = dir.join("set");
    let output = spotdiff(&[
        "synth",
        "--out",
        root.to_str().unwrap(),
        "--size",
        "64",
        "--normals",
        "8",
        "--anomalies",
        "2",
        "--classes",
        "cashew,capsules",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    root
}

/// A small run on `root` into `out`: 3 steps an epoch, 2 epochs.
fn pretrain_args<'a>(root: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "pretrain",
        "--data",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--width",
        "0.125",
        "--size",
        "32",
        "--epochs",
        "2",
        "--batch",
        "4",
        "--seed",
        "5",
    ];
    args.extend_from_slice(extra);
    args
}

fn pretrain(root: &Path, out: &Path, extra: &[&str]) -> Output {
    spotdiff(&pretrain_args(root, out, extra))
}

/// `spotdiff pretrain --resume RUN`, the run folder alone.
fn resume(run: &Path) -> Output {
    spotdiff(&["pretrain", "--resume", run.to_str().unwrap()])
}

/// Runs spotdiff held still at `moment` (`after-step:N` or
/// `between-renames:N`, through the test-only `SPOTDIFF_TEST_HALT`), and
/// kills it there with SIGKILL once it says it halted.
fn kill_at(args: &[&str], moment: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spotdiff"))
        .args(args)
        .env("SPOTDIFF_TEST_HALT", moment)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the spotdiff binary runs");
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        if line == format!("halted at {moment}") {
            child.kill().unwrap();
            child.wait().unwrap();
            return;
        }
        said += &line;
        said += "\n";
    }
    let status = child.wait().unwrap();
    panic!("spotdiff ended ({status}) without halting at {moment}: {said}");
}

/// The files a run leaves that must not depend on how often it was
/// stopped and resumed.
const RUN_FILES: [&str; 6] = [
    "backbone.safetensors",
    "log.jsonl",
    "run.json",
    "checkpoint/model.bin",
    "checkpoint/optimizer.bin",
    "checkpoint/position.json",
];

/// Asserts that the runs in `a` and `b` left byte-identical files, and
/// nothing of a checkpoint in the making.
#[track_caller]
fn assert_same_files(a: &Path, b: &Path, files: &[&str]) {
    for file in files {
        let read = |run: &Path| {
            std::fs::read(run.join(file))
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", run.join(file).display()))
        };
        assert!(
            read(a) == read(b),
            "{file} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
    for leftover in ["checkpoint.partial", "checkpoint.old"] {
        assert!(
            !b.join(leftover).exists(),
            "{} left {leftover}",
            b.display()
        );
    }
}

fn checkpoint_position(run: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(run.join("checkpoint/position.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A run killed (SIGKILL) at any moment and resumed with `--resume RUN`
/// alone ends with the files of an uninterrupted run, byte for byte: the
/// exported backbone, the step log, run.json and the checkpoint itself.
#[test]
fn pretrain_killed_anywhere_resumes_to_the_same_files() {
    let dir = temp_dir("pretrain_kill");
    let root = pretraining_set(&dir);
    let full = dir.join("full");
    let output = pretrain(&root, &full, &[]);
    assert!(output.status.success(), "{}", stderr(&output));

    // 3 steps an epoch; the checkpoints come at steps 3 and 6.
    for (name, moment) in [
        // Before the first checkpoint: only run.json and a line of log.
        ("first_step", "after-step:1"),
        // The first checkpoint written but not in its place.
        ("first_renames", "between-renames:3"),
        // Mid-epoch, two steps after the first checkpoint.
        ("mid_epoch", "after-step:5"),
        // The last checkpoint written, the first moved aside: no
        // checkpoint/ at all until the resume puts the first back.
        ("last_renames", "between-renames:6"),
    ] {
        let run = dir.join(name);
        kill_at(&pretrain_args(&root, &run, &[]), moment);
        assert!(!run.join("backbone.safetensors").exists(), "{name}");
        match name {
            "first_step" | "first_renames" => assert!(!run.join("checkpoint").exists()),
            "mid_epoch" => assert_eq!(checkpoint_position(&run)["step"], 3),
            _ => assert!(!run.join("checkpoint").exists() && run.join("checkpoint.old").is_dir()),
        }
        let output = resume(&run);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        if name.starts_with("first") {
            assert!(
                stdout(&output).contains("has no checkpoint yet: the run starts over"),
                "{name}: {}",
                stdout(&output)
            );
        }
        assert_same_files(&full, &run, &RUN_FILES);
    }
}

/// `--checkpoint-every N` checkpoints within the epoch too, and a run
/// killed after one continues at the next batch of the same epoch, with the
/// same images and views: the same files as an uninterrupted run, whose
/// weights and log checkpointing does not change.
#[test]
fn pretrain_checkpoints_every_n_steps_and_resumes_mid_epoch() {
    let dir = temp_dir("pretrain_checkpoint_every");
    let root = pretraining_set(&dir);
    let every = ["--checkpoint-every", "2"];
    let full = dir.join("full");
    let output = pretrain(&root, &full, &every);
    assert!(output.status.success(), "{}", stderr(&output));
    let plain = dir.join("plain");
    let output = pretrain(&root, &plain, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_same_files(&plain, &full, &["backbone.safetensors", "log.jsonl"]);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(full.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest["checkpoint_every"], 2);

    // Steps 2 and 4 checkpoint mid-epoch; killed after step 5, the run
    // continues at batch 1 of epoch 1 (step 4 was epoch 1's first).
    let part = dir.join("part");
    kill_at(&pretrain_args(&root, &part, &every), "after-step:5");
    assert_eq!(
        checkpoint_position(&part),
        serde_json::json!({"epoch": 1, "batch": 1, "step": 4})
    );
    let output = resume(&part);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_same_files(&full, &part, &RUN_FILES);

    // A resume may change how often the run checkpoints (not the result),
    // and run.json records it.
    let changed = dir.join("changed");
    kill_at(&pretrain_args(&root, &changed, &[]), "after-step:4");
    let output = spotdiff(&[
        "pretrain",
        "--resume",
        changed.to_str().unwrap(),
        "--checkpoint-every",
        "2",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_same_files(&full, &changed, &RUN_FILES);
}

/// A damaged or incomplete checkpoint is refused naming the file, before
/// anything in the run folder is written.
#[test]
fn pretrain_resume_refuses_a_damaged_checkpoint() {
    let dir = temp_dir("pretrain_damaged_checkpoint");
    let root = pretraining_set(&dir);
    let run = dir.join("run");
    let output = pretrain(&root, &run, &["--pause-after", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest = std::fs::read(run.join("run.json")).unwrap();
    let checkpoint = run.join("checkpoint");

    let model = checkpoint.join("model.bin");
    let saved = std::fs::read(&model).unwrap();
    std::fs::write(&model, b"not a checkpoint").unwrap();
    assert_fails_with(
        &resume(&run),
        &format!(
            "{} is not a checkpoint written by this spotdiff",
            model.display()
        ),
    );
    assert_eq!(std::fs::read(&model).unwrap(), b"not a checkpoint");

    std::fs::write(&model, saved).unwrap();
    let position = checkpoint.join("position.json");
    std::fs::remove_file(&position).unwrap();
    assert_fails_with(
        &resume(&run),
        &format!(
            "cannot read {}: the checkpoint is incomplete",
            position.display()
        ),
    );
    assert_eq!(std::fs::read(run.join("run.json")).unwrap(), manifest);
    assert!(!run.join("backbone.safetensors").exists());
}

/// `--resume RUN` reads every setting from RUN/run.json, from any working
/// folder (the data set's path is stored canonical); a flag that
/// contradicts it is refused naming the field and both values.
#[test]
fn pretrain_resume_takes_the_run_folder_alone() {
    let dir = temp_dir("pretrain_resume_alone");
    pretraining_set(&dir);
    let run = dir.join("run");
    // The data set named relative to the working folder.
    let output = Command::new(env!("CARGO_BIN_EXE_spotdiff"))
        .current_dir(&dir)
        .args(pretrain_args(
            Path::new("set"),
            Path::new("run"),
            &["--pause-after", "1"],
        ))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["settings"]["data"],
        dir.join("set").canonicalize().unwrap().to_str().unwrap()
    );

    let output = spotdiff(&[
        "pretrain",
        "--resume",
        run.to_str().unwrap(),
        "--spd-weight",
        "0.2",
        "--epochs",
        "3",
        "--seed",
        "5",
    ]);
    assert_fails_with(
        &output,
        &format!(
            "this invocation differs from {} in settings.epochs (run.json: 2, now: 3), \
             settings.model.spd_weight (run.json: 0.1, now: 0.2);",
            run.join("run.json").display()
        ),
    );
    let output = spotdiff(&[
        "pretrain",
        "--resume",
        run.to_str().unwrap(),
        "--out",
        dir.join("other").to_str().unwrap(),
    ]);
    assert_fails_with(&output, "name different folders");
    assert_fails_with(
        &spotdiff(&["pretrain", "--resume"]),
        "--resume needs the run folder",
    );
    assert_fails_with(&resume(&dir.join("absent")), "a pretrain run folder?");

    let output = Command::new(env!("CARGO_BIN_EXE_spotdiff"))
        .current_dir("/")
        .args(["pretrain", "--resume", run.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let full = dir.join("full");
    let output = pretrain(&dir.join("set"), &full, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_same_files(&full, &run, &RUN_FILES);
}

/// Data parallelism through burn's collective all-reduce, two peers on
/// flex: MoCo (whose peers pool their keys into one queue) resumed equals
/// uninterrupted, and the run records its device count. The step itself is
/// checked against a one-process reference in the trainer's unit tests.
#[test]
fn pretrain_on_two_devices_resumes_to_the_same_weights() {
    let dir = temp_dir("pretrain_devices");
    let root = pretraining_set(&dir);
    let two = ["--method", "moco", "--moco-queue", "16", "--devices", "2"];

    let full = dir.join("full");
    let output = pretrain(&root, &full, &two);
    assert!(output.status.success(), "{}", stderr(&output));
    let part = dir.join("part");
    let output = pretrain(&root, &part, &[&two[..], &["--pause-after", "1"]].concat());
    assert!(output.status.success(), "{}", stderr(&output));
    let output = pretrain(&root, &part, &[&two[..], &["--resume"]].concat());
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        safetensors_tensors(&full.join("backbone.safetensors")),
        safetensors_tensors(&part.join("backbone.safetensors"))
    );
    let log = std::fs::read_to_string(full.join("log.jsonl")).unwrap();
    assert_eq!(
        log,
        std::fs::read_to_string(part.join("log.jsonl")).unwrap()
    );
    assert_eq!(log.lines().count(), 6);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(full.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest["settings"]["devices"], 2);

    // Resuming on another number of devices would change the result.
    let output = pretrain(&root, &part, &["--devices", "1", "--resume"]);
    assert_fails_with(
        &output,
        "/run.json in settings.devices (run.json: 2, now: 1);",
    );
    let output = pretrain(&root, &dir.join("zero"), &["--devices", "0"]);
    assert_fails_with(
        &output,
        "invalid value '0' for '--devices <DEVICES>': 0 is below the minimum of 1",
    );
    let four = dir.join("four");
    let output = spotdiff(&[
        "pretrain",
        "--data",
        root.to_str().unwrap(),
        "--out",
        four.to_str().unwrap(),
        "--batch",
        "8",
        "--devices",
        "4",
    ]);
    assert_fails_with(&output, "--devices 4: flex runs at most 2 peers");
    assert!(!four.exists(), "a refused run leaves no folder");
}

#[test]
fn pretrain_resumed_equals_uninterrupted() {
    let dir = temp_dir("pretrain_resume");
    let root = pretraining_set(&dir);

    let full = dir.join("full");
    let output = pretrain(&root, &full, &["--report-every", "2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    // Standard error is a pipe here, not a terminal: plain progress lines
    // every 2 steps and at the last of the 6.
    let lines: Vec<String> = stderr(&output)
        .lines()
        .filter(|l| l.starts_with("epoch "))
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect();
    assert_eq!(
        lines,
        ["epoch 1 step 2/6", "epoch 2 step 4/6", "epoch 2 step 6/6"],
        "{}",
        stderr(&output)
    );
    let part = dir.join("part");
    let output = pretrain(&root, &part, &["--pause-after", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("paused after epoch 1 of 2"),
        "{}",
        stdout(&output)
    );
    assert!(!part.join("backbone.safetensors").exists());
    // Resumed with another worker count (batches do not depend on it) and
    // the data set's path spelt another way.
    let output = pretrain(&root.join("."), &part, &["--resume", "--workers", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));

    let weights = safetensors_tensors(&full.join("backbone.safetensors"));
    assert!(weights.contains_key("layer4.1.bn2.running_var"));
    assert_eq!(
        weights,
        safetensors_tensors(&part.join("backbone.safetensors"))
    );
    let log = std::fs::read_to_string(full.join("log.jsonl")).unwrap();
    assert_eq!(
        log,
        std::fs::read_to_string(part.join("log.jsonl")).unwrap()
    );
    // 2 classes x 7 training normals (90% of 8, rounded) = 14 images: 3
    // batches of 4 per epoch, the cosine schedule from 0.05 * 4 / 256.
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0]["lr"], 0.05 * 4.0 / 256.0);
    for line in &lines {
        let (method, spd, total) = (
            line["method_loss"].as_f64().unwrap(),
            line["spd_loss"].as_f64().unwrap(),
            line["total"].as_f64().unwrap(),
        );
        assert!((total - (method + 0.1 * spd)).abs() < 1e-6, "{line}");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(full.join("run.json")).unwrap()).unwrap();
    assert_eq!(manifest["settings"]["model"]["spd_weight"], 0.1);
    assert_eq!(manifest["settings"]["seed"], 5);
    assert_eq!(
        manifest["classes"],
        serde_json::json!(["cashew", "capsules"])
    );

    // PaDiM reads the exported backbone.
    let stats = dir.join("padim");
    let output = spotdiff(&[
        "padim",
        "fit",
        "--data",
        root.to_str().unwrap(),
        "--class",
        "cashew",
        "--out",
        stats.to_str().unwrap(),
        "--width",
        "0.125",
        "--size",
        "32",
        "--weights",
        full.join("backbone.safetensors").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));

    // Refusals: an existing run without --resume, --resume with other flags,
    // a batch the devices cannot share, a bad method.
    let output = pretrain(&root, &full, &[]);
    assert_fails_with(&output, "already exists and is not empty");
    assert_fails_with(&output, "continue its run with --resume");
    let output = pretrain(&root, &part, &["--resume", "--spd-weight", "0.2"]);
    assert_fails_with(
        &output,
        "settings.model.spd_weight (run.json: 0.1, now: 0.2)",
    );
    let output = pretrain(&root, &dir.join("d"), &["--devices", "3"]);
    assert_fails_with(
        &output,
        "--batch 4 on --devices 3: each device takes an equal share",
    );
    let output = pretrain(&root, &dir.join("m"), &["--method", "byol"]);
    assert_fails_with(&output, "invalid value 'byol' for '--method <METHOD>'");
    assert_fails_with(
        &output,
        "[possible values: simsiam, moco, simclr, supervised]",
    );
}

/// Flags out of range are refused as they are parsed, naming the flag and
/// the range, before any file is read or written.
#[test]
fn pretrain_refuses_flags_out_of_range() {
    let dir = temp_dir("pretrain_ranges");
    let out = dir.join("run");
    let pretrain = |flag: &str, value: &str| {
        spotdiff(&[
            "pretrain",
            "--data",
            dir.join("absent").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            &format!("{flag}={value}"),
        ])
    };
    for (flag, value, problem) in [
        ("--batch", "0", "0 is below the minimum of 2"),
        ("--batch", "1", "1 is below the minimum of 2"),
        ("--epochs", "0", "0 is below the minimum of 1"),
        ("--workers", "0", "0 is below the minimum of 1"),
        ("--moco-queue", "0", "0 is below the minimum of 1"),
        ("--pause-after", "0", "0 is below the minimum of 1"),
        ("--report-every", "0", "0 is below the minimum of 1"),
        ("--checkpoint-every", "0", "0 is below the minimum of 1"),
        ("--size", "8", "8 is not in 16..=4096"),
        ("--width", "0", "0 is not above 0"),
        ("--lr", "-0.1", "-0.1 is not above 0"),
        ("--lr", "nan", "`nan` is not a finite number"),
        ("--spd-weight", "-1", "-1 is below 0"),
        (
            "--backbone",
            "resnet34",
            "[possible values: resnet18, resnet50]",
        ),
        (
            "--split",
            "3cls",
            "[possible values: 1cls, 2cls_highshot, 2cls_fewshot, 2cls_5shot, 2cls_10shot]",
        ),
    ] {
        let output = pretrain(flag, value);
        assert_fails_with(&output, &format!("invalid value '{value}' for '{flag} <"));
        assert_fails_with(&output, problem);
    }
    #[cfg(not(feature = "cuda"))]
    assert_fails_with(
        &pretrain("--backend", "cuda"),
        "invalid value 'cuda' for '--backend <BACKEND>'",
    );
    assert!(!out.exists(), "a refused run leaves no folder");
}

/// `spotdiff eval` of one statistics folder on `root`'s default split.
fn eval_args<'a>(root: &'a Path, stats: &'a Path, report: &'a Path) -> [&'a str; 7] {
    [
        "eval",
        "--data",
        root.to_str().unwrap(),
        "--stats",
        stats.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]
}

/// Runs spotdiff with its standard output a pipe whose reader is already
/// gone, as under `spotdiff … | head -1` once head has exited.
fn spotdiff_into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_spotdiff"))
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("the spotdiff binary runs")
}

#[test]
fn a_closed_stdout_neither_fails_the_command_nor_loses_a_file() {
    let output = spotdiff_into_closed_pipe(&["toy"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");

    let (dir, root, stats, _) = fitted_tiny_set("closed_stdout", "stats");
    let report = dir.join("report");
    let output = spotdiff_into_closed_pipe(&eval_args(&root, &stats, &report));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    for file in [
        "classification.md",
        "segmentation.csv",
        "details.json",
        "scatter.svg",
    ] {
        assert!(report.join(file).is_file(), "{file} is missing");
    }
}

/// Copies a folder tree, files and folders alike.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// The files of a folder, relative to `root`, in name order.
fn files_in(root: &Path, folder: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join(folder))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| format!("{folder}/{name}"))
        .collect()
}

/// Fits `root` into `stats` with the tiny set's settings, then evaluates,
/// exports and scores the class `cashew`; returns details.json and the
/// bundle's scores of `images` (relative to `root`).
fn fit_eval_export_score(
    root: &Path,
    out: &Path,
    layout_flags: &[&str],
    images: &[String],
) -> (serde_json::Value, Vec<f64>) {
    let stats = out.join("stats");
    let mut fit = vec![
        "padim",
        "fit",
        "--data",
        root.to_str().unwrap(),
        "--all",
        "--out",
        stats.to_str().unwrap(),
        "--width",
        "0.125",
        "--size",
        "64",
        "--seed",
        "3",
    ];
    fit.extend_from_slice(layout_flags);
    let output = spotdiff(&fit);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = out.join("report");
    let mut eval = eval_args(root, &stats, &report).to_vec();
    eval.extend(["--bootstrap", "0"]);
    eval.extend_from_slice(layout_flags);
    let output = spotdiff(&eval);
    assert!(output.status.success(), "{}", stderr(&output));
    let bundle = out.join("cashew.spotdiff");
    let output = export_with(&stats, "cashew", root, "f32", &bundle, layout_flags);
    assert!(output.status.success(), "{}", stderr(&output));
    // One run per image: MVTec AD and the folder layout repeat file names
    // across folders, and `score` names each overlay after its file.
    let scores = images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            let scored = out.join(format!("scored/{i}"));
            let output = spotdiff(&[
                "score",
                "--bundle",
                bundle.to_str().unwrap(),
                root.join(image).to_str().unwrap(),
                "--out",
                scored.to_str().unwrap(),
            ]);
            assert!(output.status.success(), "{}", stderr(&output));
            read_json(&scored.join("scores.json"))["images"][0]["score"]
                .as_f64()
                .unwrap()
        })
        .collect();
    let mut details = read_json(&report.join("details.json"));
    details["bundle_threshold"] = bundle_header(&bundle)["threshold"].clone();
    (details, scores)
}

/// A VisA copy of `root`: the same files with `split_csv/1cls.csv` listing
/// them, rows as (image, anomaly mask or None, train).
fn visa_copy(root: &Path, copy: &Path, rows: &[(String, Option<String>, bool)]) {
    copy_tree(root, copy);
    std::fs::create_dir_all(copy.join("split_csv")).unwrap();
    let mut csv = String::from("object,split,label,image,mask\n");
    for (image, mask, train) in rows {
        let split = if *train { "train" } else { "test" };
        let label = if mask.is_some() { "anomaly" } else { "normal" };
        let mask = mask.as_deref().unwrap_or("");
        csv.push_str(&format!("cashew,{split},{label},{image},{mask}\n"));
    }
    std::fs::write(copy.join("split_csv/1cls.csv"), csv).unwrap();
}

/// The same images give the same numbers through every layout: the tree
/// read in its own layout, and the same files listed by a split CSV and
/// read as VisA.
#[track_caller]
fn assert_same_as_visa(
    dir: &Path,
    root: &Path,
    layout_flags: &[&str],
    rows: &[(String, Option<String>, bool)],
) {
    let tests: Vec<String> = rows
        .iter()
        .filter(|(_, _, train)| !train)
        .map(|(image, _, _)| image.clone())
        .collect();
    let (own, own_scores) = fit_eval_export_score(root, &dir.join("own"), layout_flags, &tests);
    let copy = dir.join("visa");
    visa_copy(root, &copy, rows);
    let (visa, visa_scores) = fit_eval_export_score(&copy, &dir.join("as_visa"), &[], &tests);
    // The same test images in the same order, with the same scores, metrics
    // and bundle threshold.
    let files = |details: &serde_json::Value| -> Vec<String> {
        details["classes"][0]["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|image| image["file"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(files(&own), tests);
    assert_eq!(own["classes"], visa["classes"]);
    assert_eq!(own["mean"], visa["mean"]);
    assert_eq!(own["bundle_threshold"], visa["bundle_threshold"]);
    assert_eq!(own_scores, visa_scores);
    // And the bundle scores as `eval` did, to f32 rounding.
    for (image, score) in own["classes"][0]["images"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&own_scores)
    {
        let evaluated = image["score"].as_f64().unwrap();
        assert!(
            (score - evaluated).abs() <= 1e-5 * evaluated,
            "{score} vs {evaluated}"
        );
    }
}

/// The synthetic tiny set in `layout`: one class, 6 normals, 3 anomalies.
fn tiny_set_in(root: &Path, layout: &str) {
    let output = spotdiff(&[
        "synth",
        "--out",
        root.to_str().unwrap(),
        "--size",
        "64",
        "--normals",
        "6",
        "--anomalies",
        "3",
        "--classes",
        "cashew",
        "--layout",
        layout,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn issue_16_mvtec_goes_through_every_command_as_its_visa_copy() {
    let dir = temp_dir("layout_mvtec");
    let root = dir.join("mvtec");
    tiny_set_in(&root, "mvtec");
    // MVTec AD by its folders: train/good trains; test/<defect> (good
    // among them) tests, in path order; masks in ground_truth.
    let mut rows: Vec<(String, Option<String>, bool)> = files_in(&root, "cashew/train/good")
        .into_iter()
        .map(|image| (image, None, true))
        .collect();
    let mut defects: Vec<String> = std::fs::read_dir(root.join("cashew/test"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    defects.sort();
    for defect in defects {
        for image in files_in(&root, &format!("cashew/test/{defect}")) {
            let stem = image.rsplit('/').next().unwrap().trim_end_matches(".png");
            let mask =
                (defect != "good").then(|| format!("cashew/ground_truth/{defect}/{stem}_mask.png"));
            rows.push((image, mask, false));
        }
    }
    // round(0.9·6) = 5 training normals; 1 test normal and 3 anomalies.
    assert_eq!(rows.iter().filter(|r| r.2).count(), 5);
    assert_eq!(rows.len(), 9);
    assert_same_as_visa(&dir, &root, &[], &rows);
}

#[test]
fn issue_16_a_plain_folder_goes_through_every_command_as_its_visa_copy() {
    let dir = temp_dir("layout_folder");
    let root = dir.join("folder");
    tiny_set_in(&root, "folder");
    let flags = ["--test-share", "0.5", "--test-seed", "4"];
    // Which good images the folder layout holds out is drawn from the seed,
    // so they are read from a first run's report; their number is checked
    // by hand: round(0.5·6) = 3, beside the 3 defects.
    let probe = dir.join("probe");
    let (details, _) = fit_eval_export_score(&root, &probe, &flags, &[]);
    let tested: Vec<String> = details["classes"][0]["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|image| image["file"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tested.len(), 6);
    let good = files_in(&root, "cashew/good");
    let held_out: Vec<&String> = good.iter().filter(|g| tested.contains(g)).collect();
    assert_eq!(held_out.len(), 3);
    // The manifest records the reader, so a fit can be repeated.
    assert_eq!(
        read_json(&probe.join("stats/manifest.json"))["split"],
        "folder test-share=0.5 test-seed=4"
    );

    let mut rows: Vec<(String, Option<String>, bool)> = good
        .iter()
        .map(|image| (image.clone(), None, !held_out.contains(&image)))
        .collect();
    // The folder reader's order: good images in name order (the training
    // ones listed first here), then the defects.
    rows.sort_by_key(|(_, _, train)| !train);
    for image in files_in(&root, "cashew/defect") {
        let mask = image.replace("/defect/", "/mask/");
        rows.push((image, Some(mask), false));
    }
    assert_same_as_visa(&dir, &root, &flags, &rows);
}

#[test]
fn issue_16_a_visa_tree_with_only_1cls_fits_and_evaluates() {
    let dir = temp_dir("layout_1cls_only");
    let root = dir.join("set");
    tiny_set(&root);
    for csv in ["2cls_highshot", "2cls_fewshot"] {
        std::fs::remove_file(root.join(format!("split_csv/{csv}.csv"))).unwrap();
    }
    let root_arg = root.to_str().unwrap();
    let output = spotdiff(&["data", "check", root_arg]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains(
            "no problems\n  absent, not checked: split_csv/2cls_highshot.csv, split_csv/2cls_fewshot.csv"
        ),
        "{}",
        stdout(&output)
    );
    let output = spotdiff(&["data", "check", root_arg, "--split", "2cls_highshot"]);
    assert_eq!(output.status.code(), Some(1));
    let report = stdout(&output);
    assert!(
        report.contains("1 problem\n  absent, not checked: split_csv/2cls_fewshot.csv\n  `split_csv/2cls_highshot.csv`: no such file"),
        "{report}"
    );

    let stats = dir.join("stats");
    let output = padim_fit(&root, &stats, "cashew");
    assert!(output.status.success(), "{}", stderr(&output));
    let report = dir.join("report");
    let output = spotdiff(&eval_args(&root, &stats, &report));
    assert!(output.status.success(), "{}", stderr(&output));
    // 1cls: round(0.9·6) = 5 normals train; 1 normal and 3 anomalies test.
    let images = &read_json(&report.join("details.json"))["classes"][0]["images"];
    assert_eq!(images.as_array().unwrap().len(), 4);
}

#[test]
fn issue_16_data_check_refuses_trees_without_classes() {
    let dir = temp_dir("layout_no_classes");
    let empty = dir.join("empty");
    std::fs::create_dir_all(empty.join("photos")).unwrap();
    std::fs::write(empty.join("photos/a.png"), b"").unwrap();
    let output = spotdiff(&["data", "check", empty.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(
        &output,
        &format!(
            "error: {}: no classes found: not VisA's layout (no `split_csv/`), MVTec AD's (no `<class>/train` or `<class>/test`) nor a plain folder's (no `<class>/good`)",
            empty.display()
        ),
    );
    assert_eq!(stdout(&output), "");

    let visa = dir.join("visa");
    tiny_set(&visa);
    let visa_arg = visa.to_str().unwrap();
    let output = spotdiff(&["data", "check", visa_arg, "--layout", "mvtec"]);
    assert_eq!(output.status.code(), Some(1));
    assert_fails_with(
        &output,
        &format!(
            "error: {}: no classes found in MVTec AD's layout: no folder holds `train` or `test`",
            visa.display()
        ),
    );
    let output = spotdiff(&["data", "check", visa_arg, "--layout", "folder"]);
    assert_fails_with(
        &output,
        "no classes found in the folder layout: no folder holds `good`",
    );
    // The commands refuse it the same way.
    let output = spotdiff(&[
        "padim",
        "fit",
        "--data",
        visa_arg,
        "--layout",
        "mvtec",
        "--all",
        "--out",
        dir.join("stats").to_str().unwrap(),
    ]);
    assert_fails_with(
        &output,
        "no classes found in MVTec AD's layout: no folder holds `train` or `test`",
    );
    // A flag of another layout is refused, not ignored.
    let output = spotdiff(&["data", "check", visa_arg, "--test-share", "0.2"]);
    assert_fails_with(
        &output,
        &format!(
            "error: --test-share does not apply to {}, read in VisA's layout: it applies to the folder layout only",
            visa.display()
        ),
    );
    let mvtec = dir.join("mvtec");
    tiny_set_in(&mvtec, "mvtec");
    let output = spotdiff(&[
        "data",
        "check",
        mvtec.to_str().unwrap(),
        "--split",
        "2cls_fewshot",
    ]);
    assert_fails_with(
        &output,
        &format!(
            "error: --split does not apply to {}, read in MVTec AD's layout: it applies to the visa layout only",
            mvtec.display()
        ),
    );
    for share in ["0", "1", "nan"] {
        let output = spotdiff(&["data", "check", visa_arg, "--test-share", share]);
        assert_fails_with(
            &output,
            &format!("invalid value '{share}' for '--test-share <TEST_SHARE>'"),
        );
    }
}

/// A reference weight file of tests/fixtures/resnet/ (torchvision's layout,
/// made by make_resnet_fixtures.py): `basic.pth` is a ResNet-18 with 4 stem
/// channels (width 1/16) and 10 classes, `bottleneck.pth` a ResNet of
/// bottleneck blocks 1-2-1-1, neither ResNet-18 nor ResNet-50.
fn reference_weights(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/resnet")
        .join(name)
}

fn padim_fit_with(root: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "padim",
        "fit",
        "--data",
        root.to_str().unwrap(),
        "--class",
        "cashew",
        "--out",
        out.to_str().unwrap(),
        "--size",
        "64",
        "--seed",
        "3",
    ];
    args.extend_from_slice(extra);
    spotdiff(&args)
}

/// Asserts that the run failed with an error of exactly `message`, in one
/// line (after the warning a fit without `--weights` gives).
#[track_caller]
fn assert_fails_with_line(output: &Output, message: &str) {
    assert!(!output.status.success(), "succeeded, expected {message:?}");
    let stderr = stderr(output);
    let error = stderr
        .lines()
        .skip_while(|line| line.starts_with("warning: "));
    assert_eq!(error.collect::<Vec<_>>(), [format!("error: {message}")]);
}

/// Issue 16, "weights that load": the format is told by the content (a
/// `.pth` used to fail with "SafeTensors error: header too large"), and the
/// backbone and width come from the file.
#[test]
fn issue_16_weights_load_by_content_with_their_own_backbone_and_width() {
    let dir = temp_dir("issue_16_weights");
    let root = dir.join("set");
    tiny_set(&root);
    // A PyTorch zip under a misleading name reads all the same.
    let pth = dir.join("model.safetensors");
    std::fs::copy(reference_weights("basic.pth"), &pth).unwrap();
    let from_pth = dir.join("from_pth");
    let output = padim_fit_with(&root, &from_pth, &["--weights", pth.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let manifest = read_json(&from_pth.join("manifest.json"));
    assert_eq!(manifest["backbone"], "resnet18");
    assert_eq!(manifest["width"], 0.0625);

    // The backbone that fit wrote, given back without --width or
    // --backbone: the same network, so the same statistics, byte for byte.
    let backbone = from_pth.join("backbone.safetensors");
    let from_safetensors = dir.join("from_safetensors");
    let output = padim_fit_with(
        &root,
        &from_safetensors,
        &["--weights", backbone.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        read_json(&from_safetensors.join("manifest.json"))["width"],
        0.0625
    );
    assert!(
        std::fs::read(from_pth.join("cashew.padim")).unwrap()
            == std::fs::read(from_safetensors.join("cashew.padim")).unwrap()
    );

    // A flag that contradicts the file: one line naming the value to pass.
    let elsewhere = dir.join("refused");
    let p = pth.to_str().unwrap();
    let output = padim_fit_with(&root, &elsewhere, &["--weights", p, "--width", "0.25"]);
    assert_fails_with_line(
        &output,
        &format!("--width 0.25 does not fit --weights {p}, which holds a resnet18 of width 0.0625 (4 stem channels): pass --width 0.0625, or leave --width out"),
    );
    let output = padim_fit_with(
        &root,
        &elsewhere,
        &["--weights", p, "--backbone", "resnet50"],
    );
    assert_fails_with_line(
        &output,
        &format!("--backbone resnet50 does not fit --weights {p}, which holds a resnet18 of width 0.0625 (4 stem channels): pass --backbone resnet18, or leave --backbone out"),
    );
    let bottleneck = reference_weights("bottleneck.pth");
    let b = bottleneck.to_str().unwrap();
    let output = padim_fit_with(&root, &elsewhere, &["--weights", b]);
    assert_fails_with_line(
        &output,
        &format!("--weights {b} holds a ResNet with bottleneck blocks 1-2-1-1 of width 0.0625 (4 stem channels); spotdiff builds resnet18 and resnet50 only"),
    );
    let junk = write(&dir, "junk.pth", "not weights");
    let output = padim_fit_with(&root, &elsewhere, &["--weights", &junk]);
    assert_fails_with_line(
        &output,
        &format!("--weights {junk} is neither safetensors nor a PyTorch file (torch.save): it starts with the bytes 6e 6f 74 20 77 65 69 67"),
    );
    assert!(!elsewhere.exists());

    // Without --weights, said once.
    let output = padim_fit_with(&root, &dir.join("random"), &["--width", "0.125"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "warning: no --weights: the backbone is randomly initialised (--seed 3); pass --weights FILE for trained features\n"
    );
}

/// `backbone.safetensors` of a fit with one tensor more than the network
/// has, written by hand after the safetensors layout (a little-endian u64
/// header length, the JSON header, the data).
fn with_extra_tensor(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    let length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + length]).unwrap();
    let end = (bytes.len() - 8 - length) as u64;
    header["extra.weight"] =
        serde_json::json!({"dtype": "F32", "shape": [1], "data_offsets": [end, end + 4]});
    let header = serde_json::to_vec(&header).unwrap();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(&bytes[8 + length..]);
    out.extend_from_slice(&[0; 4]);
    out
}

/// Issue 16: an error's lines each start a line, in the order the command
/// printed them (a report on stdout, then the error on stderr), and a
/// cause's own list sits indented under it.
#[test]
fn issue_16_errors_start_their_own_lines() {
    let dir = temp_dir("issue_16_error_layout");
    let root = dir.join("set");
    tiny_set(&root);
    std::fs::remove_file(root.join("cashew/Data/Images/Normal/0000.JPG")).unwrap();
    std::fs::write(root.join("cashew/Data/Images/Normal/0001.JPG"), b"junk").unwrap();
    let log = dir.join("log.txt");
    let file = std::fs::File::create(&log).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_spotdiff"))
        .args(["data", "check", root.to_str().unwrap()])
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .status()
        .unwrap();
    assert!(!status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let r = root.display();
    assert!(
        text.contains("): no such file\n")
            && text.ends_with(&format!(
                "\nerror: {r} has 2 problem(s); fix them before training or evaluating on it\n"
            )),
        "{text}"
    );

    let (dir, root, stats, _) = fitted_tiny_set("issue_16_cause_layout", "stats");
    let extra = dir.join("extra.safetensors");
    std::fs::write(
        &extra,
        with_extra_tensor(&stats.join("backbone.safetensors")),
    )
    .unwrap();
    let output = padim_fit_with(
        &root,
        &dir.join("refused"),
        &["--weights", extra.to_str().unwrap()],
    );
    assert!(!output.status.success());
    assert_eq!(
        stderr(&output),
        format!("error: cannot load --weights {}\n  caused by: the safetensors weights do not fit this model (1 problems; check backbone and width):\n    - `extra.weight` is in the file but not in the model\n", extra.display())
    );
}

/// Issue 16, "no silent wrong results": a class from another data root is
/// refused, naming the setting and both values.
#[test]
fn issue_16_a_class_from_another_data_root_is_refused_with_both_roots() {
    let (dir, root, stats, _) = fitted_tiny_set("issue_16_other_root", "stats");
    let copy = dir.join("copy");
    tiny_set(&copy);
    let output = padim_fit(&copy, &stats, "cashew");
    let there = std::fs::canonicalize(&root).unwrap();
    let here = std::fs::canonicalize(&copy).unwrap();
    assert_fails_with_line(
        &output,
        &format!(
            "{} holds statistics fitted with other settings (data \"{}\" there, \"{}\" here): fit into another --out folder, or delete it first",
            stats.display(),
            there.display(),
            here.display()
        ),
    );
}

/// Issue 16: a report folder keeps nothing of a previous report (here a
/// class and a backbone this run does not evaluate), and nothing else is
/// touched.
#[test]
fn issue_16_a_new_report_leaves_no_stale_files() {
    let (dir, root, stats, _) = fitted_tiny_set("issue_16_stale_report", "stats");
    let report = dir.join("report");
    for stale in [
        "panels/fryum.png",
        "curves/fryum.svg",
        "maps/old/cashew/x.npy",
        "seeds.md",
    ] {
        let path = report.join(stale);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "stale").unwrap();
    }
    write(&report, "notes.txt", "mine");
    let mut args = eval_args(&root, &stats, &report).to_vec();
    args.extend(["--bootstrap", "0"]);
    let output = spotdiff(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    for stale in ["panels/fryum.png", "curves/fryum.svg", "maps", "seeds.md"] {
        assert!(!report.join(stale).exists(), "{stale} is still there");
    }
    assert!(report.join("curves/cashew.svg").is_file());
    assert_eq!(
        std::fs::read_to_string(report.join("notes.txt")).unwrap(),
        "mine"
    );
}

/// Issue 16: `export` lists a bundle only in a bundle list: the site's
/// `www/models/`, a folder holding an `index.json`, or `--index DIR`.
#[test]
fn issue_16_export_lists_bundles_only_in_bundle_lists() {
    let (dir, root, stats, _) = fitted_tiny_set("issue_16_index", "stats");
    let loose = dir.join("loose/cashew.spotdiff");
    let output = export(&stats, "cashew", &root, "f16", &loose);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(loose.is_file());
    assert!(!dir.join("loose/index.json").exists());
    assert!(stdout(&output).ends_with(&format!(
        "not listed: {} is no bundle list (pass --index DIR to list the bundle in DIR/index.json)\n",
        dir.join("loose").display()
    )));

    // --index DIR lists a bundle inside DIR by its path from there.
    let site = dir.join("site");
    let nested = site.join("class/cashew.spotdiff");
    let mut args = vec![
        "export",
        "--stats",
        stats.to_str().unwrap(),
        "--class",
        "cashew",
    ];
    args.extend([
        "--data",
        root.to_str().unwrap(),
        "--out",
        nested.to_str().unwrap(),
    ]);
    args.extend(["--index", site.to_str().unwrap()]);
    let output = spotdiff(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let index = read_json(&site.join("index.json"));
    assert_eq!(index["bundles"][0]["file"], "class/cashew.spotdiff");
    // ... and refuses one outside it.
    args[8] = loose.to_str().unwrap();
    let output = spotdiff(&args);
    assert_fails_with(
        &output,
        &format!("--out {} is not inside --index", loose.display()),
    );

    // The site's folder is a bundle list from the first bundle on.
    let models = dir.join("www/models/cashew.spotdiff");
    let output = export(&stats, "cashew", &root, "f16", &models);
    assert!(output.status.success(), "{}", stderr(&output));
    let index = read_json(&dir.join("www/models/index.json"));
    assert_eq!(index["bundles"][0]["file"], "cashew.spotdiff");
}

#[test]
fn issue_16_statistics_are_tested_only_on_the_split_they_were_fitted_on() {
    let (dir, root, stats, _) = fitted_tiny_set("layout_other_split", "stats");
    let output = spotdiff(&[
        "eval",
        "--data",
        root.to_str().unwrap(),
        "--split",
        "2cls_highshot",
        "--stats",
        stats.to_str().unwrap(),
        "--out",
        dir.join("report").to_str().unwrap(),
    ]);
    let message = format!(
        "error: {} was fitted on the `1cls` split, but the data set is read as `2cls_highshot` here: \
         its test images may be ones the statistics were fitted on; give the layout and split flags the fit had",
        stats.display()
    );
    assert_fails_with(&output, &message);
    let bundle = dir.join("cashew.spotdiff");
    let output = export_with(
        &stats,
        "cashew",
        &root,
        "f32",
        &bundle,
        &["--threshold-split", "2cls_highshot"],
    );
    assert_fails_with(&output, &message);
    assert!(!bundle.exists());
}

#[test]
fn issue_16_pretrain_reads_a_plain_folder_without_its_test_normals() {
    let dir = temp_dir("layout_pretrain_folder");
    let root = dir.join("folder");
    tiny_set_in(&root, "folder");
    let run = dir.join("run");
    let output = pretrain(&root, &run, &["--pause-after", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    // The run folder alone resumes it: run.json's split names the reader.
    let output = resume(&run);
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest = read_json(&run.join("run.json"));
    assert_eq!(
        manifest["settings"]["split"],
        "folder test-share=0.1 test-seed=0"
    );
    // 6 good images, round(0.1·6) = 1 held out for testing: 5 train.
    assert_eq!(manifest["images"], 5);
    assert!(run.join("backbone.safetensors").is_file());
}
