//! `spotdiff pretrain`: SPD pre-training of a backbone on a VisA-layout data
//! set's training normals. The flags are resolved into a [`Plan`] (every
//! input checked before work starts), then one generic loop runs on the
//! chosen backend and method: loader threads feed the core's
//! `train_step`, each step is logged, each epoch (and Ctrl-C) checkpointed,
//! and the backbone is exported with torchvision's names at the end.

mod checkpoint;
mod loader;
mod parallel;

use crate::output::say;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::{AutodiffBackend, BackendTypes};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use spotdiff::data::{Label, Split};
use spotdiff::pretrain::{
    cosine_learning_rate, epoch_order, sgd, train_step, MethodKind, Moco, Pretrain, PretrainConfig,
    PretrainError, SimClr, SimSiam, Supervised, ViewBuilder, MOMENTUM, WEIGHT_DECAY,
};

use self::checkpoint::Position;
use self::loader::{Loader, TrainingSet};
use self::parallel::Team;
use super::data::open_checked_visa;
use super::padim::{backbone_config, BACKBONE_FILE};
use crate::output::write_atomically;
use crate::cli::PretrainArgs;

/// Version of the run folder's layout and manifest.
const MANIFEST_VERSION: u32 = 1;
const MANIFEST: &str = "run.json";
const LOG: &str = "log.jsonl";

/// Everything that decides a run's result; `--resume` requires the same.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub model: PretrainConfig,
    /// `resnet18` or `resnet50`.
    pub backbone: String,
    pub size: u32,
    pub epochs: u64,
    pub batch: usize,
    /// Learning rate at batch 256.
    pub base_lr: f64,
    /// `base_lr · batch / 256`, the cosine schedule's start.
    pub peak_lr: f64,
    pub momentum: f64,
    pub weight_decay: f32,
    pub seed: u64,
    /// The data set's root as given.
    pub data: PathBuf,
    pub split: String,
    pub backend: String,
    /// Data-parallel devices, each taking `batch / devices` images a step;
    /// absent in runs of version 1 made before `--devices`, which used one.
    #[serde(default = "one_device")]
    pub devices: usize,
}

fn one_device() -> usize {
    1
}

/// `run.json`: the settings and what the run read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub generator: String,
    pub settings: Settings,
    /// The object classes in label order.
    pub classes: Vec<String>,
    /// Training images per epoch (before dropping the last incomplete batch).
    pub images: usize,
    pub backbone_file: String,
}

/// One line of `log.jsonl`.
#[derive(Debug, Serialize)]
struct LogLine {
    epoch: u64,
    step: u64,
    lr: f64,
    method_loss: f64,
    spd_loss: Option<f64>,
    total: f64,
}

/// The resolved command line.
struct Plan {
    manifest: Manifest,
    out: PathBuf,
    set: Arc<TrainingSet>,
    builder: Arc<ViewBuilder>,
    resume: bool,
    pause_after: Option<u64>,
    workers: usize,
}

impl Plan {
    fn settings(&self) -> &Settings {
        &self.manifest.settings
    }

    fn batches_per_epoch(&self) -> usize {
        self.manifest.images / self.settings().batch
    }
}

pub fn run(args: &PretrainArgs) -> anyhow::Result<()> {
    let plan = resolve(args)?;
    let count = args.devices;
    match args.backend.as_str() {
        // The peers share the one CPU device (which two keep busier than
        // one). burn's all-reduce sums the peers of one device in hash-map
        // order, which only for two cannot change the result.
        "flex" if count > 2 => anyhow::bail!(
            "--devices {count}: flex runs at most 2 peers (on the one CPU, to test data \
             parallelism); use wgpu or cuda for more devices"
        ),
        "flex" => on_backend::<Autodiff<Flex>>(&plan, vec![Default::default(); count]),
        #[cfg(feature = "wgpu")]
        "wgpu" => {
            use burn::backend::wgpu::{Wgpu, WgpuDevice};
            use burn::tensor::backend::Backend;
            let devices = if count == 1 {
                vec![WgpuDevice::default()]
            } else {
                // Device type 0 is wgpu's discrete GPUs.
                check_device_count(
                    "wgpu",
                    "discrete GPUs",
                    <Wgpu as Backend>::device_count(0),
                    count,
                )?;
                (0..count).map(WgpuDevice::DiscreteGpu).collect()
            };
            on_backend::<Autodiff<Wgpu>>(&plan, devices)
        }
        #[cfg(feature = "cuda")]
        "cuda" => {
            use burn::backend::cuda::{Cuda, CudaDevice};
            use burn::tensor::backend::Backend;
            check_device_count("cuda", "GPUs", <Cuda as Backend>::device_count(0), count)?;
            on_backend::<Autodiff<Cuda>>(&plan, (0..count).map(CudaDevice::new).collect())
        }
        other => anyhow::bail!(
            "--backend `{other}` is not built into this binary: choose {}",
            crate::backend::BackendKind::COMPILED
                .iter()
                .map(|b| b.name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn check_device_count(
    backend: &str,
    what: &str,
    available: usize,
    wanted: usize,
) -> anyhow::Result<()> {
    if available < wanted {
        anyhow::bail!("--devices {wanted}: {backend} sees {available} {what}");
    }
    Ok(())
}

/// Checks every flag and the data set before any work (the devices are
/// checked by [`run`], then the run folder is prepared).
fn resolve(args: &PretrainArgs) -> anyhow::Result<Plan> {
    let method: MethodKind = args
        .method
        .parse()
        .map_err(|m: String| anyhow::anyhow!("--method: {m}"))?;
    if args.devices == 0 {
        anyhow::bail!("--devices 0: train on at least one device");
    }
    if args.batch < 2 * args.devices || !args.batch.is_multiple_of(args.devices) {
        anyhow::bail!(
            "--batch {} on --devices {}: each device takes an equal share of the batch, and \
             batch norm needs at least 2 images per device",
            args.batch,
            args.devices
        );
    }
    if args.epochs == 0 {
        anyhow::bail!("--epochs 0: train for at least one epoch");
    }
    if !(16..=4096).contains(&args.size) {
        anyhow::bail!("--size {}: choose a side of 16 to 4096 pixels", args.size);
    }
    if let Some(lr) = args.lr {
        if !(lr.is_finite() && lr > 0.0) {
            anyhow::bail!("--lr {lr}: the base learning rate must be a positive number");
        }
    }
    if args.pause_after == Some(0) {
        anyhow::bail!("--pause-after 0: pause after at least one epoch");
    }
    if !matches!(args.backend.as_str(), "flex" | "wgpu" | "cuda") {
        anyhow::bail!("--backend `{}`: choose flex, wgpu or cuda", args.backend);
    }
    let backbone = backbone_config(&args.backbone, args.width)?;
    let data = open_checked_visa(&args.data, &args.split)?;
    let classes: Vec<String> = data.classes(None)?;
    let samples: Vec<_> = data
        .dataset
        .samples
        .iter()
        .filter(|s| s.split == Split::Train && s.label == Label::Normal)
        .map(|s| {
            let label = classes.iter().position(|c| *c == s.object).unwrap_or(0) as i64;
            (s.clone(), label)
        })
        .collect();
    if samples.len() < args.batch {
        anyhow::bail!(
            "{} has {} normal training images in the {} split, fewer than --batch {}",
            args.data.display(),
            samples.len(),
            data.split,
            args.batch
        );
    }
    if method == MethodKind::Supervised && classes.len() < 2 {
        anyhow::bail!(
            "--method supervised needs at least two object classes to tell apart; {} has {}",
            args.data.display(),
            classes.len()
        );
    }
    let model = PretrainConfig::new(method, backbone)
        .with_spd_weight(args.spd_weight)
        .with_classes(classes.len())
        .with_moco_queue(args.moco_queue);
    model.check().map_err(|e| match e {
        PretrainError::Setting {
            field: "spd_weight",
            ..
        } => {
            anyhow::anyhow!(
                "--spd-weight {}: use a weight >= 0 (the seed: 0.1)",
                args.spd_weight
            )
        }
        other => anyhow::Error::new(other),
    })?;
    let builder = ViewBuilder::new(method, args.size, model.uses_spd(), args.seed)?;
    let base_lr = args.lr.unwrap_or(method.base_learning_rate());
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        generator: format!("spotdiff {}", env!("CARGO_PKG_VERSION")),
        settings: Settings {
            model,
            backbone: args.backbone.clone(),
            size: args.size,
            epochs: args.epochs,
            batch: args.batch,
            base_lr,
            peak_lr: base_lr * args.batch as f64 / 256.0,
            momentum: MOMENTUM,
            weight_decay: WEIGHT_DECAY,
            seed: args.seed,
            data: args.data.clone(),
            split: data.split.to_string(),
            backend: args.backend.clone(),
            devices: args.devices,
        },
        classes,
        images: samples.len(),
        backbone_file: BACKBONE_FILE.to_string(),
    };
    Ok(Plan {
        manifest,
        out: args.out.clone(),
        set: Arc::new(TrainingSet {
            source: data.source,
            samples,
        }),
        builder: Arc::new(builder),
        resume: args.resume,
        pause_after: args.pause_after,
        workers: args.workers,
    })
}

/// A new run needs a new (or empty) folder; a resumed one needs the same
/// settings and a checkpoint.
fn prepare_out(out: &Path, manifest: &Manifest, resume: bool) -> anyhow::Result<()> {
    let path = out.join(MANIFEST);
    if !resume {
        if out.exists()
            && out
                .read_dir()
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            anyhow::bail!(
                "{} already exists and is not empty: choose a new --out, or pass --resume to continue its run",
                out.display()
            );
        }
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        return write_atomically(&path, serde_json::to_string_pretty(manifest)?.as_bytes());
    }
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "--resume: cannot read {}; is {} a pretrain run folder?",
            path.display(),
            out.display()
        )
    })?;
    let saved: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("--resume: {} is not a pretrain manifest", path.display()))?;
    if saved.version != MANIFEST_VERSION {
        anyhow::bail!(
            "--resume: {} has version {}, this spotdiff writes version {MANIFEST_VERSION}",
            path.display(),
            saved.version
        );
    }
    let (old, new) = (
        serde_json::to_value(&saved.settings)?,
        serde_json::to_value(&manifest.settings)?,
    );
    let differing: Vec<String> = match (&old, &new) {
        (serde_json::Value::Object(old), serde_json::Value::Object(new)) => new
            .iter()
            .filter(|(key, value)| old.get(*key) != Some(*value))
            .map(|(key, value)| {
                format!(
                    "{key}: run {} vs now {value}",
                    old.get(key).cloned().unwrap_or_default()
                )
            })
            .collect(),
        _ => vec![],
    };
    if !differing.is_empty() {
        anyhow::bail!(
            "--resume: the flags differ from the run in {}: {}",
            out.display(),
            differing.join("; ")
        );
    }
    if !checkpoint::folder(out).is_dir() {
        anyhow::bail!("--resume: {} has no checkpoint/ yet", out.display());
    }
    Ok(())
}

/// Prepares the run folder, then trains on `devices` (one, or
/// data-parallel peers).
fn on_backend<B: AutodiffBackend>(plan: &Plan, devices: Vec<B::Device>) -> anyhow::Result<()> {
    prepare_out(&plan.out, &plan.manifest, plan.resume)?;
    match plan.settings().model.method {
        MethodKind::SimSiam => train::<B, SimSiam<B>>(plan, &devices, SimSiam::init),
        MethodKind::Moco => train::<B, Moco<B>>(plan, &devices, Moco::init),
        MethodKind::SimClr => train::<B, SimClr<B>>(plan, &devices, SimClr::init),
        MethodKind::Supervised => train::<B, Supervised<B>>(plan, &devices, Supervised::init),
    }
}

type Init<B, M> = fn(&PretrainConfig, &<B as BackendTypes>::Device) -> Result<M, PretrainError>;

fn train<B: AutodiffBackend, M: Pretrain<B> + 'static>(
    plan: &Plan,
    devices: &[B::Device],
    init: Init<B, M>,
) -> anyhow::Result<()> {
    let settings = plan.settings();
    let device = &devices[0];
    B::seed(device, settings.seed);
    let model = init(&settings.model, device)?;
    let optimizer = sgd().init::<B, M>();
    let (mut model, mut optimizer, start) = if plan.resume {
        checkpoint::load(&plan.out, model, optimizer, device)?
    } else {
        (
            model,
            optimizer,
            Position {
                epoch: 0,
                batch: 0,
                step: 0,
            },
        )
    };
    let mut log = open_log(&plan.out, start.step)?;
    let team = match devices.len() {
        1 => None,
        _ => Some(Team::start(
            devices,
            &model,
            &optimizer,
            settings.model.spd_weight,
        )?),
    };

    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    // A second handler cannot be set in the same process; training then
    // simply stops at Ctrl-C without a final checkpoint.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));

    let batches = plan.batches_per_epoch();
    let total_steps = settings.epochs * batches as u64;
    let bar = ProgressBar::new(total_steps);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} steps, ETA {eta}")
            .expect("the progress template is valid"),
    );
    bar.set_position(start.step);
    let mut position = start;
    let mut epochs_run = 0;
    let training = Instant::now();
    while position.epoch < settings.epochs {
        let order = Arc::new(epoch_order(
            settings.seed,
            position.epoch,
            plan.manifest.images,
        ));
        let loader = Loader::start(
            &plan.set,
            &plan.builder,
            position.epoch,
            order,
            settings.batch,
            (position.batch, batches),
            plan.workers,
        );
        for host in loader {
            let started = Instant::now();
            let host = host?;
            let lr = cosine_learning_rate(settings.peak_lr, position.step, total_steps);
            let (next, losses) = match &team {
                None => train_step(
                    model,
                    &mut optimizer,
                    &host.to_device::<B>(device),
                    settings.model.spd_weight,
                    lr,
                ),
                Some(team) => team.step(model, &mut optimizer, &host, device, lr)?,
            };
            model = next;
            if !losses.total.is_finite() {
                anyhow::bail!(
                    "the loss became {} at step {}: lower --lr (now {} at batch 256)",
                    losses.total,
                    position.step,
                    settings.base_lr
                );
            }
            let line = LogLine {
                epoch: position.epoch,
                step: position.step,
                lr,
                method_loss: losses.method,
                spd_loss: losses.spd,
                total: losses.total,
            };
            writeln!(log, "{}", serde_json::to_string(&line)?)
                .with_context(|| format!("cannot append to {}", plan.out.join(LOG).display()))?;
            position.step += 1;
            position.batch += 1;
            let rate = settings.batch as f64 / started.elapsed().as_secs_f64();
            bar.set_message(format!(
                "epoch {} loss {:.4}, {rate:.1} images/s",
                position.epoch + 1,
                losses.total
            ));
            bar.inc(1);
            if interrupted.load(Ordering::SeqCst) {
                bar.abandon();
                checkpoint::save(&plan.out, &model, &optimizer, position)?;
                anyhow::bail!(
                    "interrupted at step {}; checkpoint saved in {}: continue with --resume",
                    position.step,
                    checkpoint::folder(&plan.out).display()
                );
            }
        }
        position = Position {
            epoch: position.epoch + 1,
            batch: 0,
            step: position.step,
        };
        checkpoint::save(&plan.out, &model, &optimizer, position)?;
        epochs_run += 1;
        if plan.pause_after == Some(epochs_run) && position.epoch < settings.epochs {
            bar.abandon();
            if let Some(team) = team {
                team.finish::<B>()?;
            }
            say!(
                "paused after epoch {} of {}; continue with --resume",
                position.epoch, settings.epochs
            );
            return Ok(());
        }
    }
    bar.finish();
    if let Some(team) = team {
        team.finish::<B>()?;
    }
    let images = (position.step - start.step) as f64 * settings.batch as f64;
    let seconds = training.elapsed().as_secs_f64();
    say!(
        "{images} images in {seconds:.1} s: {:.1} images/s (loading overlapped)",
        images / seconds
    );
    let path = plan.out.join(BACKBONE_FILE);
    write_atomically(&path, &model.backbone().to_safetensors()?)?;
    say!(
        "{} {} steps -> {} (use with `spotdiff padim fit --weights {} --backbone {} --width {}`)",
        settings.model.method,
        position.step,
        path.display(),
        path.display(),
        settings.backbone,
        settings.model.backbone.width
    );
    Ok(())
}

/// The step log, keeping only the steps before `step` (a resumed run
/// repeats those after its checkpoint).
fn open_log(out: &Path, step: u64) -> anyhow::Result<std::fs::File> {
    let path = out.join(LOG);
    let kept: String = match std::fs::read_to_string(&path) {
        Ok(text) => text
            .lines()
            .take(step as usize)
            .map(|line| format!("{line}\n"))
            .collect(),
        Err(_) => String::new(),
    };
    write_atomically(&path, kept.as_bytes())?;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))
}
