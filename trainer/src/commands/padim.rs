//! `spotdiff padim fit`: streams each class's training normals through the
//! backbone into PaDiM's streaming fit and writes one statistics file per
//! class, the backbone it used and a manifest that says how to repeat it.

use crate::output::say;
use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::backend::Flex;
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};
use spotdiff::data::{Label, Preprocess, PreprocessConfig, SizeLimit, Split};
use spotdiff::eval::{load_preprocessed, padim_taps};
use spotdiff::model::{ResNet, ResNetConfig};
use spotdiff::padim::{MapSize, PadimConfig};

use super::data::open_checked_visa;
use crate::output::image_bar;
use crate::output::write_atomically;
use crate::cli::PadimFitArgs;

/// Version of the statistics folder's layout and manifest.
pub const MANIFEST_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
/// The backbone is always saved beside the statistics, so evaluation never
/// depends on a random initialisation being repeatable.
pub const BACKBONE_FILE: &str = "backbone.safetensors";

/// Everything needed to score with a statistics folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub generator: String,
    /// `resnet18` or `resnet50`.
    pub backbone: String,
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

impl Manifest {
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}: is {} a folder written by `spotdiff padim fit`?",
                path.display(),
                dir.display()
            )
        })?;
        let manifest: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a PaDiM manifest", path.display()))?;
        if manifest.version != MANIFEST_VERSION {
            anyhow::bail!(
                "{} has version {}, this spotdiff reads version {MANIFEST_VERSION}; refit the statistics",
                path.display(),
                manifest.version
            );
        }
        Ok(manifest)
    }

    /// The settings (all but the classes and the writer's version) in
    /// which `other` differs, by field name.
    fn differences(&self, other: &Manifest) -> anyhow::Result<Vec<String>> {
        let fields = |m: &Manifest| -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
            match serde_json::to_value(m)? {
                serde_json::Value::Object(mut map) => {
                    map.remove("classes");
                    map.remove("generator");
                    Ok(map)
                }
                _ => unreachable!("a manifest serialises to an object"),
            }
        };
        let (mine, theirs) = (fields(self)?, fields(other)?);
        Ok(mine
            .iter()
            .filter(|(key, value)| theirs.get(*key) != Some(value))
            .map(|(key, _)| key.clone())
            .collect())
    }

    /// The backbone, loaded from the folder's weights file.
    pub fn load_backbone<B: Backend>(
        &self,
        dir: &Path,
        device: &B::Device,
    ) -> anyhow::Result<ResNet<B>> {
        let path = dir.join(&self.backbone_file);
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        backbone_config(&self.backbone, self.width)?
            .init::<B>(device)?
            .load_safetensors(bytes)
            .with_context(|| format!("cannot load the backbone {}", path.display()))
    }
}

pub fn backbone_config(name: &str, width: f64) -> anyhow::Result<ResNetConfig> {
    let config = match name {
        "resnet18" => ResNetConfig::resnet18(),
        "resnet50" => ResNetConfig::resnet50(),
        other => anyhow::bail!("--backbone `{other}`: choose `resnet18` or `resnet50`"),
    };
    Ok(config.with_width(width))
}

/// PaDiM's d for the backbone: the paper's 100 of 448 channels (ResNet-18) or
/// 550 of 1792 (ResNet-50), kept as the same fraction of the tapped channels
/// when the width shrinks them.
fn default_d(name: &str, tapped: usize) -> usize {
    let (d, channels) = match name {
        "resnet50" => (550, 1792),
        _ => (100, 448),
    };
    ((d * tapped) as f64 / channels as f64).round().max(1.0) as usize
}

/// PaDiM's preprocessing at `size`: resize to size·256/224, centre crop `size`.
pub fn preprocess_for(size: u32, resize: Option<u32>) -> anyhow::Result<Preprocess> {
    let resize = resize.unwrap_or_else(|| (f64::from(size) * 256.0 / 224.0).round() as u32);
    Ok(PreprocessConfig {
        resize,
        crop: size,
        ..PreprocessConfig::default()
    }
    .check()?)
}

pub fn fit(args: &PadimFitArgs) -> anyhow::Result<()> {
    // Every input is checked before the first image is read.
    let config = backbone_config(&args.backbone, args.width)?;
    let channels = config.feature_channels()?;
    let tapped = &channels[..3];
    let preprocess = preprocess_for(args.size, args.resize)?;
    let weights = match &args.weights {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read --weights {}", path.display()))?,
        ),
        None => None,
    };
    let data = open_checked_visa(&args.data.data, &args.data.split)?;
    let classes = data.classes(args.class.as_deref())?;
    let d = match args.d {
        Some(d) => d,
        None => {
            let d = default_d(&args.backbone, tapped.iter().sum());
            if args.width != 1.0 {
                say!(
                    "d = {d}: the paper's d scaled with the width {} to the {} tapped channels",
                    args.width,
                    tapped.iter().sum::<usize>()
                );
            }
            d
        }
    };
    let padim = PadimConfig::new(d).with_seed(args.seed);
    let batch = args.data.batch.max(1);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let mut manifest = Manifest {
        version: MANIFEST_VERSION,
        generator: format!("spotdiff {}", env!("CARGO_PKG_VERSION")),
        backbone: args.backbone.clone(),
        width: args.width,
        weights: args.weights.clone(),
        seed: args.seed,
        backbone_file: BACKBONE_FILE.to_string(),
        preprocess: *preprocess.config(),
        padim,
        split: data.split.to_string(),
        classes: Vec::new(),
    };
    // Fitting into a folder that holds other classes adds to them, on the
    // same backbone; other settings would leave those classes' statistics
    // meaningless, so they are refused.
    let previous = if args.out.join(MANIFEST).is_file() {
        let previous = Manifest::read(&args.out)?;
        let differences = previous.differences(&manifest)?;
        if !differences.is_empty() {
            anyhow::bail!(
                "{} holds statistics fitted with other settings ({}): fit into another --out folder, or delete it first",
                args.out.display(),
                differences.join(", ")
            );
        }
        Some(previous)
    } else {
        None
    };

    let device = Default::default();
    let model = match &previous {
        Some(previous) => previous.load_backbone::<Flex>(&args.out, &device)?,
        None => {
            Flex::seed(&device, args.seed);
            let mut model = config.init::<Flex>(&device)?;
            if let (Some(bytes), Some(path)) = (weights, &args.weights) {
                model = model
                    .load_safetensors(bytes)
                    .with_context(|| format!("cannot load --weights {}", path.display()))?;
            }
            write_atomically(&args.out.join(BACKBONE_FILE), &model.to_safetensors()?)?;
            model
        }
    };
    let trunk = model.into_trunk().fold_batch_norm();

    let limit = SizeLimit::default();
    let size = preprocess.output_size() as usize;
    for class in &classes {
        let samples: Vec<_> = data
            .samples(class, Split::Train)
            .into_iter()
            .filter(|s| s.label == Label::Normal)
            .collect();
        if samples.is_empty() {
            anyhow::bail!(
                "class `{class}` has no normal training images in the {} split",
                data.split
            );
        }
        let mut fitter = manifest.padim.fitter(tapped, MapSize::new(size, size))?;
        let bar = image_bar(samples.len(), format!("fit {class}"));
        for chunk in samples.chunks(batch) {
            let loaded = chunk
                .iter()
                .map(|s| load_preprocessed(s, &data.source, &preprocess, &limit))
                .collect::<Result<Vec<_>, _>>()?;
            let images: Vec<_> = loaded.iter().map(|p| &p.image).collect();
            let taps = padim_taps(&trunk, &images, &device)?;
            let maps: Vec<_> = taps.iter().map(|t| t.maps()).collect();
            fitter.push_batch(&maps)?;
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        let stats = fitter
            .finish()
            .with_context(|| format!("cannot fit class `{class}`"))?;
        let path = args.out.join(format!("{class}.padim"));
        write_atomically(&path, &stats.to_bytes())?;
        say!("{class}: {} images -> {}", samples.len(), path.display());
    }

    manifest.classes = previous.map(|p| p.classes).unwrap_or_default();
    for class in classes {
        if !manifest.classes.contains(&class) {
            manifest.classes.push(class);
        }
    }
    write_atomically(
        &args.out.join(MANIFEST),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;
    Ok(())
}
