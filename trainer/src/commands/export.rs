//! `spotdiff export`: one class of a statistics folder as a browser bundle,
//! with its decision threshold chosen by the core's max-F1 on held-out test
//! images.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::backend::Flex;
use serde::{Deserialize, Serialize};
use spotdiff::bundle::{Bundle, Threshold};
use spotdiff::data::Split;
use spotdiff::eval::{ClassImages, EvalError};

use crate::cli::ExportArgs;
use crate::dataset::open_checked_visa;
use crate::output::{image_bar, say, write_atomically};
use crate::stats_folder::{read_stats, StatsFolder};

pub fn run(args: &ExportArgs) -> anyhow::Result<()> {
    // Every input is checked before the first image is scored.
    let class = args.class.as_str();
    let folder = StatsFolder::open(&args.stats)?;
    let manifest = &folder.manifest;
    if !manifest.classes.iter().any(|c| c == class) {
        anyhow::bail!(
            "class `{class}` was not fitted into {} (it has: {}): run `spotdiff padim fit --class {class} --out {}` first",
            args.stats.display(),
            manifest.classes.join(", "),
            args.stats.display()
        );
    }
    let stats = read_stats(&folder.dir, class)?;
    let preprocess = folder.preprocess()?;
    let config = manifest.backbone.config(manifest.width);
    // Refuse a malformed bundle list before any work, not after the bundle is written.
    let index = read_index(&args.out)?;
    let data = open_checked_visa(&args.data, args.threshold_split)?;
    data.classes(Some(class))?;
    let tests = data.samples(class, Split::Test);
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }

    let device = Default::default();
    let trunk = folder.load_backbone::<Flex>(&device)?.into_trunk();
    let unthresholded = Bundle::pack(class, config, &trunk, &stats, &preprocess, args.precision)?;
    // The threshold is chosen on the bundle's own scores, so that rounding
    // to half precision cannot move an image across it unnoticed; one image
    // per forward pass, as the scoring page runs it.
    let detector = unthresholded.detector::<Flex>(&device)?;
    let bar = image_bar(tests.len(), format!("threshold {class}"));
    let threshold = Threshold::max_f1(
        &detector,
        &ClassImages::new(&tests, &data.source, 1),
        &format!("the {} split", args.threshold_split),
        &mut |done| bar.inc(done as u64),
    )
    .map_err(|error| match error {
        EvalError::Metrics(_) => anyhow::Error::new(error).context(format!(
            "cannot choose a threshold on class `{class}` of the {} split: it needs normal and anomalous test images",
            args.threshold_split
        )),
        other => other.into(),
    })?;
    bar.finish_and_clear();
    let bundle = unthresholded.with_threshold(threshold)?;
    let bytes = bundle.to_bytes();
    write_atomically(&args.out, &bytes)?;
    let index_path = add_to_index(index, &args.out, &bundle, bytes.len())?;
    say!(
        "{class}: threshold {} ({}); {:.1} MB ({:?}) -> {}",
        bundle.header().threshold,
        bundle.header().threshold_source,
        bytes.len() as f64 / 1e6,
        args.precision,
        args.out.display()
    );
    say!("listed in {}", index_path.display());
    Ok(())
}

/// The name of the list of bundles beside them, which the scoring page reads.
const INDEX: &str = "index.json";

/// One bundle as the scoring page's model list shows it.
#[derive(Debug, Serialize, Deserialize)]
struct IndexEntry {
    file: String,
    class_name: String,
    backbone: String,
    width: f64,
    input: usize,
    threshold: f32,
    bytes: usize,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    bundles: Vec<IndexEntry>,
}

fn index_path(bundle_path: &Path) -> PathBuf {
    bundle_path.parent().unwrap_or(Path::new("")).join(INDEX)
}

/// The bundle list beside `bundle_path` (empty when there is none yet). A
/// malformed list is refused rather than overwritten.
fn read_index(bundle_path: &Path) -> anyhow::Result<Index> {
    let path = index_path(bundle_path);
    match std::fs::read(&path) {
        Ok(text) => serde_json::from_slice(&text).with_context(|| {
            format!(
                "{} is not a bundle list (expected {{\"bundles\": [...]}}); move it away and export again",
                path.display()
            )
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Index::default()),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Adds (or replaces, by file name) the bundle's entry and writes the list.
fn add_to_index(
    mut index: Index,
    bundle_path: &Path,
    bundle: &Bundle,
    bytes: usize,
) -> anyhow::Result<PathBuf> {
    let file = bundle_path
        .file_name()
        .with_context(|| format!("{} names no file", bundle_path.display()))?
        .to_string_lossy()
        .into_owned();
    let header = bundle.header();
    index.bundles.retain(|entry| entry.file != file);
    index.bundles.push(IndexEntry {
        file,
        class_name: header.class.clone(),
        backbone: header
            .backbone
            .torchvision_name()
            .unwrap_or("resnet")
            .to_owned(),
        width: header.backbone.width,
        input: header.input.width,
        threshold: header.threshold,
        bytes,
    });
    index.bundles.sort_by(|a, b| a.file.cmp(&b.file));
    let path = index_path(bundle_path);
    write_atomically(&path, serde_json::to_string_pretty(&index)?.as_bytes())?;
    Ok(path)
}
