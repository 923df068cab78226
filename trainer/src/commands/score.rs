//! `spotdiff score`: a bundle's scores, decisions and heat-map overlays for
//! any images. A bad image is reported and skipped; the command fails at the
//! end if any was.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::backend::Flex;
use serde::Serialize;
use spotdiff::bundle::Bundle;
use spotdiff::data::{decode_rgb_f32, SizeLimit};
use spotdiff::eval::Detector;
use spotdiff::report::{csv_table, encode_png, overlay, DEFAULT_OPACITY};

use crate::cli::ScoreArgs;
use crate::output::{image_bar, say, write_atomically};

#[derive(Serialize)]
struct Scored {
    file: PathBuf,
    score: f32,
    anomalous: bool,
    overlay: PathBuf,
}

#[derive(Serialize)]
struct Failed {
    file: PathBuf,
    error: String,
}

pub fn run(args: &ScoreArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.bundle)
        .with_context(|| format!("cannot read --bundle {}", args.bundle.display()))?;
    let bundle = Bundle::from_bytes(&bytes)
        .with_context(|| format!("{} is not a usable bundle", args.bundle.display()))?;
    // One overlay per image, named after it: two inputs of one name would
    // overwrite each other's.
    let mut stems = HashSet::new();
    for path in &args.images {
        let stem = path
            .file_stem()
            .with_context(|| format!("{} names no file", path.display()))?;
        if !stems.insert(stem.to_owned()) {
            anyhow::bail!(
                "two images are named `{}` (one is {}): their overlays would overwrite each other; score them in separate runs",
                stem.to_string_lossy(),
                path.display()
            );
        }
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let detector = bundle.detector::<Flex>(&Default::default())?;
    let bar = image_bar(args.images.len(), "score".into());
    let mut scored = Vec::new();
    let mut failed = Vec::new();
    for path in &args.images {
        match score(&detector, &bundle, path, &args.out) {
            Ok(result) => scored.push(result),
            Err(error) => {
                bar.suspend(|| eprintln!("{}: {error:#}", path.display()));
                failed.push(Failed {
                    file: path.clone(),
                    error: format!("{error:#}"),
                });
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let header = bundle.header();
    let lines = scored.iter().map(|s| {
        [
            s.file.to_string_lossy().into_owned(),
            s.score.to_string(),
            s.anomalous.to_string(),
        ]
    });
    let csv = csv_table(&["file", "score", "anomalous"], lines)?;
    write_atomically(&args.out.join("scores.csv"), csv.as_bytes())?;
    let json = serde_json::json!({
        "bundle": args.bundle,
        "class": header.class,
        "threshold": header.threshold,
        "threshold_source": header.threshold_source,
        "images": scored,
        "failed": failed,
    });
    write_atomically(
        &args.out.join("scores.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    for s in &scored {
        say!(
            "{}: {:.3} {}",
            s.file.display(),
            s.score,
            if s.anomalous { "anomalous" } else { "normal" }
        );
    }
    say!(
        "threshold {} for class `{}`; wrote {}",
        header.threshold,
        header.class,
        args.out.display()
    );
    if !failed.is_empty() {
        anyhow::bail!(
            "{} of {} images could not be scored (listed above and in scores.json)",
            failed.len(),
            args.images.len()
        );
    }
    Ok(())
}

/// Scores one image and writes its overlay (the core's one colour scale,
/// [0, 2·threshold]) at the default opacity.
fn score(
    detector: &Detector<Flex>,
    bundle: &Bundle,
    path: &Path,
    out: &Path,
) -> anyhow::Result<Scored> {
    let bytes = std::fs::read(path).context("cannot read the file")?;
    let image =
        decode_rgb_f32(&bytes, &SizeLimit::default()).context("not a readable JPEG or PNG")?;
    let detection = detector.anomaly_map(&image)?;
    let threshold = bundle.header().threshold;
    let picture = detector.preprocess().to_rgb8(&detection.input);
    let drawn = overlay(
        &picture,
        &detection.map,
        threshold,
        threshold,
        DEFAULT_OPACITY,
    )?;
    let stem = path.file_stem().expect("checked before scoring");
    let overlay = out.join(format!("{}.png", stem.to_string_lossy()));
    write_atomically(&overlay, &encode_png(&drawn)?)?;
    Ok(Scored {
        file: path.to_path_buf(),
        score: detection.score,
        anomalous: bundle.is_anomalous(detection.score),
        overlay,
    })
}
