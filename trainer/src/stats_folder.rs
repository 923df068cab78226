//! The PaDiM statistics folder `spotdiff padim fit` writes and `eval`,
//! `export` and `pretrain` read: `<class>.padim` per class, the backbone it
//! used and `manifest.json` saying how to repeat the fit.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};
use spotdiff::data::{Preprocess, PreprocessConfig};
use spotdiff::model::{Backbone, ResNet};
use spotdiff::padim::{PadimConfig, PadimStats};

use crate::output::{differing_fields, read_versioned_json, Versioned};

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
    /// which `other` differs, by field name.
    pub fn differences(&self, other: &Manifest) -> anyhow::Result<Vec<String>> {
        Ok(differing_fields(self, other, &["classes", "generator"])?
            .into_iter()
            .map(|(key, _, _)| key)
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

    /// The backbone, loaded from the folder's weights file.
    pub fn load_backbone<B: Backend>(&self, device: &B::Device) -> anyhow::Result<ResNet<B>> {
        let path = self.dir.join(&self.manifest.backbone_file);
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        self.manifest
            .backbone
            .config(self.manifest.width)
            .init::<B>(device)?
            .load_safetensors(bytes)
            .with_context(|| format!("cannot load the backbone {}", path.display()))
    }
}
