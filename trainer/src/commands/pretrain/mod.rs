//! `spotdiff pretrain`: SPD pre-training of a backbone on a VisA-layout data
//! set's training normals. The flags are resolved into a [`Plan`] (every
//! input checked before work starts), then one generic loop runs on the
//! chosen backend and method: loader threads feed the core's
//! `train_step`, each step is logged, each epoch (and Ctrl-C) checkpointed,
//! and the backbone is exported with torchvision's names at the end.

mod checkpoint;
mod loader;
mod parallel;
mod progress;
mod stop;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::{AutodiffBackend, BackendTypes};
use serde::{Deserialize, Serialize};
use spotdiff::data::{Label, Split};
use spotdiff::model::Backbone;
use spotdiff::pretrain::{
    cosine_learning_rate, epoch_order, sgd, MethodKind, Moco, Pretrain, PretrainConfig,
    PretrainError, SimClr, SimSiam, Supervised, ViewBuilder, MOMENTUM, WEIGHT_DECAY,
};

use self::checkpoint::Position;
use self::loader::{Loader, TrainingSet};
use self::parallel::Devices;
use self::progress::Progress;
use self::stop::Stop;
use crate::backend::BackendKind;
use crate::cli::PretrainArgs;
use crate::dataset::open_checked_visa;
use crate::output::{differing_fields, read_versioned_json, say, write_atomically, Versioned};
use crate::stats_folder::BACKBONE_FILE;

/// Version of the run folder's layout and manifest.
const MANIFEST_VERSION: u32 = 1;
const MANIFEST: &str = "run.json";

/// Everything that decides a run's result; `--resume` requires the same.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub model: PretrainConfig,
    pub backbone: Backbone,
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
    pub backend: BackendKind,
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

impl Versioned for Manifest {
    const VERSION: u32 = MANIFEST_VERSION;
    const WHAT: &'static str = "pretrain manifest";

    fn version(&self) -> u32 {
        self.version
    }
}

/// The resolved command line.
struct Plan {
    manifest: Manifest,
    out: PathBuf,
    set: Arc<TrainingSet>,
    builder: Arc<ViewBuilder>,
    resume: bool,
    pause_after: Option<u64>,
    report_every: u64,
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
    match args.backend {
        // The peers share the one CPU device (which two keep busier than
        // one). burn's all-reduce sums the peers of one device in hash-map
        // order, which only for two cannot change the result.
        BackendKind::Flex if count > 2 => anyhow::bail!(
            "--devices {count}: flex runs at most 2 peers (on the one CPU, to test data \
             parallelism); use wgpu or cuda for more devices"
        ),
        BackendKind::Flex => on_backend::<Autodiff<Flex>>(&plan, vec![Default::default(); count]),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => {
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
        BackendKind::Cuda => {
            use burn::backend::cuda::{Cuda, CudaDevice};
            use burn::tensor::backend::Backend;
            check_device_count("cuda", "GPUs", <Cuda as Backend>::device_count(0), count)?;
            on_backend::<Autodiff<Cuda>>(&plan, (0..count).map(CudaDevice::new).collect())
        }
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

/// Checks what the flags' own ranges cannot (the batch against the
/// devices, the model, the data set) before any work; the devices are
/// checked by [`run`], then the run folder is prepared.
fn resolve(args: &PretrainArgs) -> anyhow::Result<Plan> {
    let method = args.method;
    if args.batch < 2 * args.devices || !args.batch.is_multiple_of(args.devices) {
        anyhow::bail!(
            "--batch {} on --devices {}: each device takes an equal share of the batch, and \
             batch norm needs at least 2 images per device",
            args.batch,
            args.devices
        );
    }
    let backbone = args.backbone.config(args.width);
    let data = open_checked_visa(&args.data, args.split)?;
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
    model.check()?;
    let builder = ViewBuilder::new(method, args.size, model.uses_spd(), args.seed)?;
    let base_lr = args.lr.unwrap_or(method.base_learning_rate());
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        generator: format!("spotdiff {}", env!("CARGO_PKG_VERSION")),
        settings: Settings {
            model,
            backbone: args.backbone,
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
            backend: args.backend,
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
        report_every: args.report_every,
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
    let saved: Manifest = read_versioned_json(
        &path,
        &format!("is {} a pretrain run folder?", out.display()),
    )
    .context("--resume: cannot continue the run")?;
    // The data set is the same folder however its path is spelt
    // (`./set`, `set`, an absolute path); the run keeps the spelling it
    // started with.
    let mut settings = manifest.settings.clone();
    if same_folder(&saved.settings.data, &settings.data) {
        settings.data = saved.settings.data.clone();
    }
    let differing: Vec<String> = differing_fields(&saved.settings, &settings, &[])?
        .into_iter()
        .map(|(key, run, now)| format!("{key}: run {run} vs now {now}"))
        .collect();
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

/// Whether two paths name one existing folder.
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
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
        (model, optimizer, Position::START)
    };
    let batches = plan.batches_per_epoch();
    let total_steps = settings.epochs * batches as u64;
    let team = Devices::start(devices, &model, &optimizer, settings.model.spd_weight)?;
    let mut progress = Progress::start(
        &plan.out,
        start.step,
        total_steps,
        settings.batch,
        plan.report_every,
    )?;
    let mut stop = Stop::install(plan.pause_after);
    let mut position = start;
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
            let (next, losses) = team.step(model, &mut optimizer, &host, lr)?;
            model = next;
            if !losses.total.is_finite() {
                anyhow::bail!(
                    "the loss became {} at step {}: lower --lr (now {} at batch 256)",
                    losses.total,
                    position.step,
                    settings.base_lr
                );
            }
            progress.step(position, lr, &losses, started)?;
            position.step += 1;
            position.batch += 1;
            if stop.interrupted() {
                progress.abandon();
                checkpoint::save(&plan.out, &model, &optimizer, position)?;
                anyhow::bail!(
                    "interrupted at step {}; checkpoint saved in {}: continue with --resume",
                    position.step,
                    checkpoint::folder(&plan.out).display()
                );
            }
        }
        position = position.next_epoch();
        checkpoint::save(&plan.out, &model, &optimizer, position)?;
        if stop.pause_after_epoch(position.epoch, settings.epochs) {
            progress.abandon();
            team.finish()?;
            say!(
                "paused after epoch {} of {}; continue with --resume",
                position.epoch,
                settings.epochs
            );
            return Ok(());
        }
    }
    team.finish()?;
    progress.finish(position.step);
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
