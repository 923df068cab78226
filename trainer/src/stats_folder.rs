//! The PaDiM statistics folder `spotdiff padim fit` writes and `eval`,
//! `export` and `pretrain` read: `<class>.padim` per class, the backbone it
//! used and `manifest.json` saying how to repeat the fit.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};
use spotdiff::data::{Preprocess, PreprocessConfig};
use spotdiff::model::weights::StoredArchitecture;
use spotdiff::model::{Backbone, ResNet};
use spotdiff::padim::{PadimConfig, PadimStats};

use crate::output::{differing_leaves, read_versioned_json, Versioned};

/// Version of the statistics folder's layout and manifest.
pub const MANIFEST_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
/// The backbone is always saved beside the statistics, so evaluation never
/// depends on a random initialisation being repeatable.
pub const BACKBONE_FILE: &str = "backbone.safetensors";

/// Where the statistics of `class` are in the folder `dir`.
pub fn stats_path(dir: &Path, class: &str) -> PathBuf {
    dir.join(format!("{class}.padim"))
}

/// The statistics of `class` in the folder `dir`.
pub fn read_stats(dir: &Path, class: &str) -> anyhow::Result<PadimStats> {
    let path = stats_path(dir, class);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    PadimStats::from_bytes(&bytes)
        .with_context(|| format!("{} is not usable PaDiM statistics", path.display()))
}

/// Everything needed to score with a statistics folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub generator: String,
    pub backbone: Backbone,
    pub width: f64,
    /// The weights file given, or `None` for a random initialisation from `seed`.
    pub weights: Option<PathBuf>,
    pub seed: u64,
    /// The data set's root, canonical, so that a class from another data
    /// set is not added to the folder unnoticed; `None` in folders written
    /// before it was recorded.
    #[serde(default)]
    pub data: Option<PathBuf>,
    pub backbone_file: String,
    pub preprocess: PreprocessConfig,
    pub padim: PadimConfig,
    pub split: String,
    /// Classes with a `<class>.padim` file from this run.
    pub classes: Vec<String>,
}

impl Versioned for Manifest {
    const VERSION: u32 = MANIFEST_VERSION;
    const WHAT: &'static str = "PaDiM manifest";

    fn version(&self) -> u32 {
        self.version
    }
}

impl Manifest {
    /// The settings (all but the classes and the writer's version) in
    /// which `other` differs, each as "field this there, that here", down to
    /// the dotted field inside an object (`preprocess.crop 64 there, 128
    /// here`).
    pub fn differences(&self, other: &Manifest) -> anyhow::Result<Vec<String>> {
        Ok(differing_leaves(self, other, &["classes", "generator"])?
            .into_iter()
            .map(|(key, there, here)| format!("{key} {there} there, {here} here"))
            .collect())
    }
}

/// A statistics folder whose manifest has been read.
#[derive(Debug, Clone)]
pub struct StatsFolder {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl StatsFolder {
    /// Reads `dir`'s manifest, refusing another version.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let manifest = read_versioned_json(
            &dir.join(MANIFEST),
            &format!(
                "is {} a folder written by `spotdiff padim fit`?",
                dir.display()
            ),
        )?;
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// The preprocessing the statistics were fitted with.
    pub fn preprocess(&self) -> anyhow::Result<Preprocess> {
        self.manifest
            .preprocess
            .check()
            .with_context(|| format!("{}: bad preprocessing", self.dir.join(MANIFEST).display()))
    }

    /// The backbone, loaded from the folder's weights file, with the
    /// classifier the file holds (the `--weights` file's, which need not be
    /// ImageNet's 1000 classes).
    pub fn load_backbone<B: Backend>(&self, device: &B::Device) -> anyhow::Result<ResNet<B>> {
        let path = self.dir.join(&self.manifest.backbone_file);
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let cannot_load = || format!("cannot load the backbone {}", path.display());
        let stored = StoredArchitecture::of_safetensors(&bytes).with_context(cannot_load)?;
        let config = self.manifest.backbone.config(self.manifest.width);
        let config = match stored.num_classes {
            Some(classes) => config.with_num_classes(classes),
            None => config,
        };
        config
            .init::<B>(device)?
            .load_safetensors(bytes)
            .with_context(cannot_load)
    }
}
