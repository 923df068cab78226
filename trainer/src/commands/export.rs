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
use crate::dataset::{open_checked, resolve_reader};
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
    let list = BundleList::locate(&args.out, args.index.as_deref())?;
    let reader = resolve_reader(
        &args.data,
        &args.layout,
        args.threshold_split,
        "--threshold-split",
    )?;
    let data = open_checked(&args.data, reader)?;
    data.refuse_other_split(&args.stats, &manifest.split)?;
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
        &format!("the {} split", data.reader),
        &mut |done| bar.inc(done as u64),
    )
    .map_err(|error| match error {
        EvalError::Metrics(_) => anyhow::Error::new(error).context(format!(
            "cannot choose a threshold on class `{class}` of the {} split: it needs normal and anomalous test images",
            data.reader
        )),
        other => other.into(),
    })?;
    bar.finish_and_clear();
    let bundle = unthresholded.with_threshold(threshold)?;
    let bytes = bundle.to_bytes();
    write_atomically(&args.out, &bytes)?;
    say!(
        "{class}: threshold {} ({}); {:.1} MB ({:?}) -> {}",
        bundle.header().threshold,
        bundle.header().threshold_source,
        bytes.len() as f64 / 1e6,
        args.precision,
        args.out.display()
    );
    match list {
        Some(list) => say!("listed in {}", list.add(&bundle, bytes.len())?.display()),
        None => say!(
            "not listed: {} is no bundle list (pass --index DIR to list the bundle in DIR/index.json)",
            folder_of(&args.out).display()
        ),
    }
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

/// The folder a file is in ("." for a bare name).
fn folder_of(file: &Path) -> &Path {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The folder the site's scoring page reads its bundle list from, relative
/// to wherever the site is.
const SITE_MODELS: &str = "www/models";

/// A bundle list the bundle goes into: its `index.json`, the list as read,
/// and the bundle's entry name (its path relative to the list's folder).
struct BundleList {
    path: PathBuf,
    index: Index,
    file: String,
}

impl BundleList {
    /// The list `bundle_path` belongs to: `index_dir`'s (the bundle must be
    /// inside it, as the page fetches entries relative to the list), or,
    /// without one, its own folder's when that folder is a bundle list
    /// already or the site's `www/models/`; `None` when it belongs to none.
    /// A malformed list is refused rather than overwritten.
    fn locate(bundle_path: &Path, index_dir: Option<&Path>) -> anyhow::Result<Option<Self>> {
        let absolute = |path: &Path| {
            std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
        };
        let bundle = absolute(bundle_path)?;
        let folder = match index_dir {
            Some(dir) => absolute(dir)?,
            None => {
                let folder = absolute(folder_of(bundle_path))?;
                if !folder.join(INDEX).is_file() && !folder.ends_with(SITE_MODELS) {
                    return Ok(None);
                }
                folder
            }
        };
        let relative = bundle.strip_prefix(&folder).with_context(|| {
            format!(
                "--out {} is not inside --index {}: the scoring page fetches each bundle relative to its list",
                bundle_path.display(),
                folder.display()
            )
        })?;
        let file = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let path = folder.join(INDEX);
        let index = match std::fs::read(&path) {
            Ok(text) => serde_json::from_slice(&text).with_context(|| {
                format!(
                    "{} is not a bundle list (expected {{\"bundles\": [...]}}); move it away and export again",
                    path.display()
                )
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Index::default(),
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", path.display()))
            }
        };
        Ok(Some(Self { path, index, file }))
    }

    /// Adds (or replaces, by file name) the bundle's entry and writes the
    /// list; returns where.
    fn add(mut self, bundle: &Bundle, bytes: usize) -> anyhow::Result<PathBuf> {
        let header = bundle.header();
        self.index.bundles.retain(|entry| entry.file != self.file);
        self.index.bundles.push(IndexEntry {
            file: self.file,
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
        self.index.bundles.sort_by(|a, b| a.file.cmp(&b.file));
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        write_atomically(
            &self.path,
            serde_json::to_string_pretty(&self.index)?.as_bytes(),
        )?;
        Ok(self.path)
    }
}
