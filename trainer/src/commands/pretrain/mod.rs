//! `spotdiff pretrain`: SPD pre-training of a backbone on a VisA-layout data
//! set's training normals. The flags (with `--resume`, the run's run.json
//! and the flags that agree with it) are resolved into a [`Plan`] (every
//! input checked before work starts), then one generic loop runs on the
//! chosen backend and method: loader threads feed the core's
//! `train_step`, each step is logged, each epoch (every
//! `--checkpoint-every` steps, and at Ctrl-C) checkpointed, and the backbone
//! is exported with torchvision's names at the end.

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
use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, BackendTypes};
use serde::{Deserialize, Serialize};
use spotdiff::data::{Label, Reader, Split};
use spotdiff::kernels::on_compute_thread;
use spotdiff::model::Backbone;
use spotdiff::pretrain::{
    cosine_learning_rate, epoch_order, sgd, MethodKind, Moco, Pretrain, PretrainConfig,
    PretrainError, SimClr, SimSiam, Supervised, ViewBuilder, MOMENTUM, WEIGHT_DECAY,
};

use self::checkpoint::Position;
use self::loader::{Loader, TrainingSet};
use self::parallel::Devices;
use self::progress::Progress;
use self::stop::{halt_for_tests, Halt, Stop};
use crate::backend::BackendKind;
use crate::cli::PretrainArgs;
use crate::dataset::{open_checked, resolve_reader};
use crate::output::{differing_leaves, read_versioned_json, say, write_atomically, Versioned};
use crate::stats_folder::BACKBONE_FILE;

/// Version of the run folder's layout and manifest: 2 stores the data
/// set's canonical path and `checkpoint_every`, and keys the checkpoint's
/// tensors by module path.
const MANIFEST_VERSION: u32 = 2;
const MANIFEST: &str = "run.json";

/// Everything that decides a run's result; `--resume` keeps it.
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
    /// The data set's root, canonical (absolute, links resolved), so that
    /// `--resume` finds it from any working folder.
    pub data: PathBuf,
    pub split: String,
    pub backend: BackendKind,
    /// Data-parallel devices, each taking `batch / devices` images a step.
    pub devices: usize,
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
    /// Checkpoint every this many steps of the run besides each epoch's end
    /// (`--checkpoint-every`); none: at each epoch's end only. It does not
    /// change the result, so a resumed run may change it.
    pub checkpoint_every: Option<u64>,
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
    /// The run.json of the run `--resume` continues.
    resumed: Option<Manifest>,
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

    /// Whether the run checkpoints at `position`, within an epoch (its end
    /// checkpoints anyway).
    fn checkpoints_at(&self, position: Position) -> bool {
        position.batch < self.batches_per_epoch()
            && self
                .manifest
                .checkpoint_every
                .is_some_and(|every| position.step.is_multiple_of(every))
    }
}

pub fn run(args: &PretrainArgs) -> anyhow::Result<()> {
    let plan = resolve(args)?;
    let count = plan.settings().devices;
    match plan.settings().backend {
        // The peers share the one CPU device (which two keep busier than
        // one). burn's all-reduce sums the peers of one device in hash-map
        // order, which only for two cannot change the result.
        BackendKind::Flex if count > 2 => anyhow::bail!(
            "--devices {count}: flex runs at most 2 peers (on the one CPU, to test data \
             parallelism); use wgpu or cuda for more devices"
        ),
        // One peer: the whole run on a thread of the kernels' pool (see
        // `on_compute_thread`); two keep their own threads.
        BackendKind::Flex if count == 1 => {
            on_compute_thread(|| on_backend::<Autodiff<Flex>>(&plan, vec![Default::default()]))
        }
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

/// The settings that decide a run's result, before they are checked.
struct Choices {
    method: MethodKind,
    spd_weight: f64,
    backbone: Backbone,
    width: f64,
    size: u32,
    epochs: u64,
    batch: usize,
    base_lr: f64,
    seed: u64,
    data: PathBuf,
    reader: Reader,
    backend: BackendKind,
    devices: usize,
    moco_queue: usize,
}

impl Choices {
    /// A new run's: each flag given, or the default its help names.
    fn new_run(args: &PretrainArgs) -> anyhow::Result<Self> {
        let method = args.method.unwrap_or(MethodKind::SimSiam);
        let data = args.data.clone().context("a new run needs --data ROOT")?;
        let reader = resolve_reader(&data, &args.layout, args.split, "--split")?;
        Ok(Choices {
            method,
            spd_weight: args.spd_weight.unwrap_or(0.1),
            backbone: args.backbone.unwrap_or(Backbone::Resnet18),
            width: args.width.unwrap_or(0.25),
            size: args.size.unwrap_or(64),
            epochs: args.epochs.unwrap_or(10),
            batch: args.batch.unwrap_or(32),
            base_lr: args.lr.unwrap_or(method.base_learning_rate()),
            seed: args.seed.unwrap_or(0),
            data,
            reader,
            backend: args.backend.unwrap_or(BackendKind::Flex),
            devices: args.devices.unwrap_or(1),
            moco_queue: args.moco_queue.unwrap_or(65536),
        })
    }

    /// A resumed run's: each flag given, or the run's own setting in `run`
    /// (read from `path`).
    fn resumed(args: &PretrainArgs, run: &Settings, path: &Path) -> anyhow::Result<Self> {
        let data = args.data.clone().unwrap_or_else(|| run.data.clone());
        let flags = &args.layout;
        let reader = if args.split.is_some()
            || flags.layout.is_some()
            || flags.test_share.is_some()
            || flags.test_seed.is_some()
        {
            resolve_reader(&data, flags, args.split, "--split")?
        } else {
            run.split
                .parse()
                .map_err(|problem| anyhow::anyhow!("{}: {problem}", path.display()))?
        };
        Ok(Choices {
            method: args.method.unwrap_or(run.model.method),
            spd_weight: args.spd_weight.unwrap_or(run.model.spd_weight),
            backbone: args.backbone.unwrap_or(run.backbone),
            width: args.width.unwrap_or(run.model.backbone.width),
            size: args.size.unwrap_or(run.size),
            epochs: args.epochs.unwrap_or(run.epochs),
            batch: args.batch.unwrap_or(run.batch),
            base_lr: args.lr.unwrap_or(run.base_lr),
            seed: args.seed.unwrap_or(run.seed),
            data,
            reader,
            backend: args.backend.unwrap_or(run.backend),
            devices: args.devices.unwrap_or(run.devices),
            moco_queue: args.moco_queue.unwrap_or(run.model.moco_queue),
        })
    }
}

/// Checks what the flags' own ranges cannot (the batch against the
/// devices, the model, the data set) before any work; the devices are
/// checked by [`run`], and the run folder is prepared by [`prepare_out`].
fn resolve(args: &PretrainArgs) -> anyhow::Result<Plan> {
    let (out, resumed) = match &args.resume {
        None => {
            let out = args.out.clone().context("a new run needs --out DIR")?;
            refuse_used_folder(&out)?;
            (out, None)
        }
        Some(folder) => {
            let out = run_folder(folder.as_deref(), args.out.as_deref())?;
            let manifest: Manifest = read_versioned_json(
                &out.join(MANIFEST),
                &format!("is {} a pretrain run folder?", out.display()),
            )
            .context("--resume: cannot continue the run")?;
            (out, Some(manifest))
        }
    };
    let choices = match &resumed {
        None => Choices::new_run(args)?,
        Some(run) => Choices::resumed(args, &run.settings, &out.join(MANIFEST))?,
    };
    let checkpoint_every = args
        .checkpoint_every
        .or(resumed.as_ref().and_then(|run| run.checkpoint_every));
    let (manifest, set, builder) = check(choices, checkpoint_every)?;
    if let Some(run) = &resumed {
        refuse_contradictions(&out, run, &manifest)?;
    }
    Ok(Plan {
        manifest,
        out,
        set: Arc::new(set),
        builder: Arc::new(builder),
        resumed,
        pause_after: args.pause_after,
        report_every: args.report_every,
        workers: args.workers,
    })
}

/// The folder `--resume [DIR]` continues: DIR, or --out without one.
fn run_folder(resume: Option<&Path>, out: Option<&Path>) -> anyhow::Result<PathBuf> {
    match (resume, out) {
        (Some(dir), Some(out)) if !same_folder(dir, out) => anyhow::bail!(
            "--resume {} and --out {} name different folders: name the run folder once, \
             --resume DIR",
            dir.display(),
            out.display()
        ),
        (Some(dir), _) | (None, Some(dir)) => Ok(dir.to_path_buf()),
        (None, None) => anyhow::bail!("--resume needs the run folder: --resume DIR"),
    }
}

/// Whether two paths name one folder, however they are spelt.
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The run `choices` describe, with its training images and views.
fn check(
    choices: Choices,
    checkpoint_every: Option<u64>,
) -> anyhow::Result<(Manifest, TrainingSet, ViewBuilder)> {
    let (method, batch, devices, data) = (
        choices.method,
        choices.batch,
        choices.devices,
        &choices.data,
    );
    if batch < 2 * devices || !batch.is_multiple_of(devices) {
        anyhow::bail!(
            "--batch {batch} on --devices {devices}: each device takes an equal share of the \
             batch, and batch norm needs at least 2 images per device"
        );
    }
    let backbone = choices.backbone.config(choices.width);
    let data_set = open_checked(data, choices.reader)?;
    let root = data
        .canonicalize()
        .with_context(|| format!("cannot resolve the path {}", data.display()))?;
    let classes: Vec<String> = data_set.classes(None)?;
    let samples: Vec<_> = data_set
        .dataset
        .samples
        .iter()
        .filter(|s| s.split == Split::Train && s.label == Label::Normal)
        .map(|s| {
            let label = classes.iter().position(|c| *c == s.object).unwrap_or(0) as i64;
            (s.clone(), label)
        })
        .collect();
    if samples.len() < batch {
        anyhow::bail!(
            "{} has {} normal training images in the {} split, fewer than --batch {batch}",
            data.display(),
            samples.len(),
            data_set.reader,
        );
    }
    if method == MethodKind::Supervised && classes.len() < 2 {
        anyhow::bail!(
            "--method supervised needs at least two object classes to tell apart; {} has {}",
            data.display(),
            classes.len()
        );
    }
    let model = PretrainConfig::new(method, backbone)
        .with_spd_weight(choices.spd_weight)
        .with_classes(classes.len())
        .with_moco_queue(choices.moco_queue);
    model.check()?;
    let builder = ViewBuilder::new(method, choices.size, model.uses_spd(), choices.seed)?;
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        generator: format!("spotdiff {}", env!("CARGO_PKG_VERSION")),
        settings: Settings {
            model,
            backbone: choices.backbone,
            size: choices.size,
            epochs: choices.epochs,
            batch,
            base_lr: choices.base_lr,
            peak_lr: choices.base_lr * batch as f64 / 256.0,
            momentum: MOMENTUM,
            weight_decay: WEIGHT_DECAY,
            seed: choices.seed,
            data: root,
            split: data_set.reader.to_string(),
            backend: choices.backend,
            devices,
        },
        classes,
        images: samples.len(),
        backbone_file: BACKBONE_FILE.to_string(),
        checkpoint_every,
    };
    let set = TrainingSet {
        source: data_set.source,
        samples,
    };
    Ok((manifest, set, builder))
}

/// Refuses to resume `run` (in `out`) as another run: a setting flag given
/// with `--resume` that differs from run.json, or a data set that changed,
/// naming each field with both values.
fn refuse_contradictions(out: &Path, run: &Manifest, now: &Manifest) -> anyhow::Result<()> {
    let differing: Vec<String> = differing_leaves(run, now, &["generator", "checkpoint_every"])?
        .into_iter()
        .map(|(field, then, now)| format!("{field} (run.json: {then}, now: {now})"))
        .collect();
    if !differing.is_empty() {
        anyhow::bail!(
            "--resume: this invocation differs from {} in {}; a resumed run keeps its own \
             settings and data set: leave out the flags that change them",
            out.join(MANIFEST).display(),
            differing.join(", ")
        );
    }
    Ok(())
}

/// A new run needs a new or empty folder.
fn refuse_used_folder(out: &Path) -> anyhow::Result<()> {
    let used = out.exists()
        && out
            .read_dir()
            .map(|mut entries| entries.next().is_some())
            .unwrap_or(true);
    if used {
        anyhow::bail!(
            "{} already exists and is not empty: choose a new --out, or continue its run with \
             --resume {}",
            out.display(),
            out.display()
        );
    }
    Ok(())
}

/// A new run's folder is created with its run.json; a resumed one records
/// a new `--checkpoint-every`.
fn prepare_out(plan: &Plan) -> anyhow::Result<()> {
    let out = &plan.out;
    let path = out.join(MANIFEST);
    match &plan.resumed {
        None => {
            std::fs::create_dir_all(out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            write_atomically(
                &path,
                serde_json::to_string_pretty(&plan.manifest)?.as_bytes(),
            )
        }
        Some(run) if run.checkpoint_every != plan.manifest.checkpoint_every => {
            let updated = Manifest {
                checkpoint_every: plan.manifest.checkpoint_every,
                ..run.clone()
            };
            write_atomically(&path, serde_json::to_string_pretty(&updated)?.as_bytes())
        }
        Some(_) => Ok(()),
    }
}

/// Prepares the run folder, then trains on `devices` (one, or
/// data-parallel peers).
fn on_backend<B: AutodiffBackend>(plan: &Plan, devices: Vec<B::Device>) -> anyhow::Result<()> {
    prepare_out(plan)?;
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
    let resuming = plan.resumed.is_some();
    let (mut model, mut optimizer, start) = if resuming && checkpoint::present(&plan.out)? {
        checkpoint::load(&plan.out, model, optimizer, device)?
    } else {
        if resuming {
            say!(
                "{} has no checkpoint yet: the run starts over",
                plan.out.display()
            );
        }
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
            halt_for_tests(Halt::AfterStep, position.step);
            if stop.interrupted() {
                progress.abandon();
                checkpoint::save(&plan.out, &model, &optimizer, position)?;
                anyhow::bail!(
                    "interrupted at step {}; checkpoint saved in {}: continue with --resume {}",
                    position.step,
                    checkpoint::folder(&plan.out).display(),
                    plan.out.display()
                );
            }
            if plan.checkpoints_at(position) {
                checkpoint::save(&plan.out, &model, &optimizer, position)?;
            }
        }
        position = position.next_epoch();
        checkpoint::save(&plan.out, &model, &optimizer, position)?;
        if stop.pause_after_epoch(position.epoch, settings.epochs) {
            progress.abandon();
            team.finish()?;
            say!(
                "paused after epoch {} of {}; continue with --resume {}",
                position.epoch,
                settings.epochs,
                plan.out.display()
            );
            return Ok(());
        }
    }
    team.finish()?;
    progress.finish(position.step);
    let path = plan.out.join(BACKBONE_FILE);
    // `valid()` first: it folds the last step's pending running statistics
    // into the batch norms (burn keeps them per thread until a sync), which
    // the export would otherwise miss.
    write_atomically(&path, &model.backbone().valid().to_safetensors()?)?;
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
