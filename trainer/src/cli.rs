//! The parsed command line, kept apart from what the commands do with it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use spotdiff::data::synth::SynthClass;
use spotdiff::data::{Layout, VisaSplit};
use spotdiff::eval::Protocol;
use spotdiff::model::{Backbone, Precision};
use spotdiff::pretrain::MethodKind;

use crate::backend::BackendKind;

#[derive(Debug, Parser)]
#[command(
    name = "spotdiff",
    version,
    about = "SPot-the-Difference pre-training, PaDiM and the paper's evaluation protocol"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// AU-ROC, AU-PR, average precision and max-F1 of any detector's scores.
    ///
    /// FILE is a CSV with a header and the columns `score,label` (label 1 =
    /// anomalous, 0 = normal; other columns are ignored).
    #[command(after_help = "Example:\n  spotdiff metrics scores.csv --json")]
    Metrics {
        /// The CSV of scores and labels.
        file: PathBuf,
        /// Print one JSON object (fractions, not percent) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The supplementary material's AU-PR vs AU-ROC toy example (section B).
    #[command(after_help = "Example:\n  spotdiff toy --plot figures")]
    Toy {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write the ROC and PR curves of Fig. 9 and 10 as SVG files into DIR.
        #[arg(long, value_name = "DIR")]
        plot: Option<PathBuf>,
    },
    /// List the compute backends built into this binary and check each one on a small product of matrices.
    #[command(after_help = "Example:\n  spotdiff backends")]
    Backends,
    /// Write the procedural VisA-layout (or MVTec AD-layout) defect data set.
    ///
    /// The same seed and settings write byte-identical files.
    #[command(
        after_help = "Example:\n  spotdiff synth --out data --seed 7 --size 96 --normals 24 --anomalies 8 --classes cashew,capsules"
    )]
    Synth(SynthArgs),
    /// Data set tools: `data check` reports every problem of a data set.
    #[command(subcommand)]
    Data(DataCommand),
    /// PaDiM: fit per-class statistics on a backbone's features of the training normals.
    #[command(subcommand)]
    Padim(PadimCommand),
    /// SPD pre-training of a ResNet backbone on a data set's training normals.
    ///
    /// Writes OUT/backbone.safetensors (torchvision names, for `padim fit
    /// --weights`), OUT/run.json (every setting), OUT/log.jsonl (every
    /// step's losses) and OUT/checkpoint/ (each epoch, every
    /// --checkpoint-every steps and on Ctrl-C). `--resume OUT` alone
    /// continues a stopped or killed run: each setting flag left out keeps
    /// the run's value (the defaults below are a new run's), and one given
    /// must agree with OUT/run.json.
    #[command(
        after_help = "Example:\n  spotdiff pretrain --data data --out runs/spd --method simsiam --spd-weight 0.1 --width 0.25 --size 64 --epochs 2 --batch 32 --checkpoint-every 100\n  spotdiff pretrain --resume runs/spd"
    )]
    Pretrain(PretrainArgs),
    /// Score every test image with each fitted backbone (and optionally the
    /// per-pixel baseline) and write the paper's tables, scatter plot and curves.
    #[command(
        after_help = "Example:\n  spotdiff eval --data data --stats stats/simsiam --stats stats/simsiam_spd --baseline pixel --out report\n  spotdiff eval --data data --stats simsiam=stats/simsiam_s1,stats/simsiam_s2 --stats spd=stats/spd_s1,stats/spd_s2 --out report"
    )]
    Eval(EvalArgs),
    /// Pack one class of a `padim fit` folder into a single browser bundle
    /// (trunk weights, PaDiM statistics, preprocessing, threshold).
    ///
    /// The threshold is the max-F1 threshold of the bundle's own image scores
    /// on the test images of --threshold-split (held out: PaDiM fits on the
    /// training normals only).
    #[command(
        after_help = "Example:\n  spotdiff export --stats stats/simsiam_spd --class cashew --data data --out www/models/cashew.spotdiff"
    )]
    Export(ExportArgs),
    /// Score images with a bundle: a heat-map overlay PNG per image, and
    /// scores.csv and scores.json with each score and decision.
    #[command(
        after_help = "Example:\n  spotdiff score --bundle www/models/cashew.spotdiff --out scored photos/*.JPG"
    )]
    Score(ScoreArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A folder written by `padim fit`.
    #[arg(long, value_name = "DIR")]
    pub stats: PathBuf,
    /// The class to export (it must have been fitted into DIR).
    #[arg(long)]
    pub class: String,
    /// The data set whose test images set the threshold.
    #[arg(long, value_name = "ROOT")]
    pub data: PathBuf,
    #[command(flatten)]
    pub layout: LayoutArgs,
    /// The VisA split whose test images (normal and anomalous) the max-F1
    /// threshold is chosen on [default: 1cls].
    #[arg(long, value_enum)]
    pub threshold_split: Option<VisaSplit>,
    /// The bundle's precision: f16 stores the convolution weights and
    /// Cholesky factors in half precision (about half the size), f32 is
    /// lossless.
    #[arg(long, value_enum, default_value_t = Precision::F16)]
    pub precision: Precision,
    /// The bundle file to write, e.g. www/models/NAME.spotdiff.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The bundle list (DIR/index.json, created if missing) to add the bundle to; FILE must be inside DIR. Without it the bundle is listed only when its folder is the site's www/models/ or already holds an index.json.
    #[arg(long, value_name = "DIR")]
    pub index: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// A bundle written by `spotdiff export`.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// JPEG or PNG images to score.
    #[arg(required = true, value_name = "IMAGES")]
    pub images: Vec<PathBuf>,
    /// The folder for the overlays, scores.csv and scores.json (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum PadimCommand {
    /// Fit PaDiM per class and write DIR/<class>.padim, DIR/backbone.safetensors and DIR/manifest.json.
    #[command(
        after_help = "Example:\n  spotdiff padim fit --data data --all --weights runs/spd/backbone.safetensors --size 128 --out stats/spd"
    )]
    Fit(PadimFitArgs),
}

/// Which layout a data root has and, for the folder layout, which good
/// images are held out for testing.
#[derive(Debug, Args)]
pub struct LayoutArgs {
    /// The data set's layout: visa (split_csv/), mvtec (<class>/train,
    /// <class>/test) or folder (<class>/good, optionally <class>/defect and
    /// <class>/mask/<stem>.png); told from the tree when left out.
    #[arg(long, value_enum)]
    pub layout: Option<Layout>,
    /// Folder layout only: the share of each class's good images held out as
    /// test normals, above 0 and below 1; at least one image each side [default: 0.1].
    #[arg(long, value_parser = share)]
    pub test_share: Option<f64>,
    /// Folder layout only: the seed choosing the held-out good images [default: 0].
    #[arg(long)]
    pub test_seed: Option<u64>,
}

/// The data set and split both PaDiM and the evaluation read.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// The data set's root folder, in VisA's, MVTec AD's or the folder layout.
    #[arg(long, value_name = "ROOT")]
    pub data: PathBuf,
    #[command(flatten)]
    pub layout: LayoutArgs,
    /// The VisA split; only 1cls (train on normals, test on the rest) makes sense for PaDiM [default: 1cls].
    #[arg(long, value_enum)]
    pub split: Option<VisaSplit>,
    /// Images per forward pass, at least 1.
    #[arg(long, default_value_t = 8, value_parser = at_least::<usize>(1))]
    pub batch: usize,
}

#[derive(Debug, Args)]
pub struct PadimFitArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The object class to fit.
    #[arg(long, conflicts_with = "all", required_unless_present = "all")]
    pub class: Option<String>,
    /// Fit every class of the data set.
    #[arg(long)]
    pub all: bool,
    /// The folder to write the statistics into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Backbone weights with torchvision's names, safetensors or PyTorch (told by the content, not the name); random initialisation from --seed without.
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// The backbone architecture (default: the one --weights holds, resnet18 without).
    #[arg(long, value_enum)]
    pub backbone: Option<Backbone>,
    /// The backbone's channel width multiplier, above 0 (1 is torchvision's; default: the one --weights holds, 1 without).
    #[arg(long, value_parser = positive_number)]
    pub width: Option<f64>,
    /// The side of the square input in pixels, 32 to 4096: the centre crop; the resize is size·256/224 as in PaDiM.
    #[arg(long, default_value_t = 224, value_parser = clap::value_parser!(u32).range(32..=4096))]
    pub size: u32,
    /// The resize target in pixels, overriding the one --size implies; at least 32, and at least --size.
    #[arg(long, value_parser = at_least::<u32>(32))]
    pub resize: Option<u32>,
    /// The channels PaDiM keeps, at least 1 (default: 100 for ResNet-18, 550 for ResNet-50, scaled with the width).
    #[arg(long, value_parser = at_least::<usize>(1))]
    pub d: Option<usize>,
    /// Seed of the random initialisation (without --weights) and of the channel subset.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// A folder written by `padim fit` (the backbone is named by the folder), or NAME=DIR,DIR,... for a backbone fitted with several seeds (one folder each; reported as mean ± standard deviation over them); repeat for several backbones.
    #[arg(long, value_name = "DIR|NAME=DIRS")]
    pub stats: Vec<StatsGroup>,
    /// Also evaluate a trivial detector fitted on the training normals.
    #[arg(long, value_enum)]
    pub baseline: Option<Baseline>,
    /// The baseline's input side in pixels, 32 to 4096, when no --stats gives the preprocessing.
    #[arg(long, default_value_t = 224, value_parser = clap::value_parser!(u32).range(32..=4096))]
    pub size: u32,
    /// Evaluate only this class (default: every class the first --stats fitted, or all).
    #[arg(long)]
    pub class: Option<String>,
    /// How segmentation metrics are computed: exact (every distinct score is a threshold) or paper (the paper's 202 thresholds).
    #[arg(long, value_enum, default_value_t = Protocol::Exact)]
    pub protocol: Protocol,
    /// Bootstrap resamples of the test images for the 95% intervals, 0 for none (at most 100000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub bootstrap: u32,
    /// The seed of the bootstrap's resamples.
    #[arg(long, default_value_t = 0)]
    pub bootstrap_seed: u64,
    /// Also write every test image's raw anomaly map to REPORT/maps/<backbone>/<class>/<image>.npy (f32).
    #[arg(long)]
    pub save_maps: bool,
    /// The report folder (created if missing; its report files are replaced).
    #[arg(long, value_name = "REPORT")]
    pub out: PathBuf,
}

/// One backbone of `eval --stats`: a statistics folder, named by the folder,
/// or `NAME=DIR,DIR,…`, one folder per seed. A value with `=` is the second
/// form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsGroup {
    pub name: Option<String>,
    pub dirs: Vec<PathBuf>,
}

impl std::str::FromStr for StatsGroup {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let Some((name, dirs)) = text.split_once('=') else {
            if text.is_empty() {
                return Err("empty: give a statistics folder, or NAME=DIR,DIR,...".into());
            }
            return Ok(Self {
                name: None,
                dirs: vec![PathBuf::from(text)],
            });
        };
        if name.is_empty() {
            return Err(format!(
                "no backbone name before `=` in `{text}`: write NAME=DIR,DIR,..."
            ));
        }
        let dirs: Vec<PathBuf> = dirs.split(',').map(PathBuf::from).collect();
        if dirs.iter().any(|dir| dir.as_os_str().is_empty()) {
            return Err(format!(
                "an empty folder name in `{text}`: separate the folders of `{name}` with single commas"
            ));
        }
        Ok(Self {
            name: Some(name.to_string()),
            dirs,
        })
    }
}

/// The trivial detectors `eval` can add beside PaDiM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Baseline {
    /// Per pixel and channel, the training normals' mean and standard deviation.
    Pixel,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The folder to create; it must not exist yet, or be empty.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The seed of every random draw: the same seed writes byte-identical files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The side of the square images in pixels, 64 to 4096, so the objects have room to be drawn.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(64..=4096))]
    pub size: u32,
    /// Defect-free images per class, at least 2 (one to train on, one to test).
    #[arg(long, default_value_t = 200, value_parser = at_least::<u32>(2))]
    pub normals: u32,
    /// Defective images per class, at least 2 (one to train on, one to test).
    #[arg(long, default_value_t = 60, value_parser = at_least::<u32>(2))]
    pub anomalies: u32,
    /// The classes to generate, comma-separated; all six when left out.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub classes: Vec<SynthClass>,
    /// The folder layout: VisA's (JPEG images, split CSVs), MVTec AD's or a plain folder's (PNG images, one defect each).
    #[arg(long, value_enum, default_value_t = Layout::Visa)]
    pub layout: Layout,
    /// The JPEG quality of VisA-layout images, 1 to 100.
    #[arg(long, default_value_t = 92, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub jpeg_quality: u8,
    /// Also write one contact sheet per class (a PNG grid of examples with the defects outlined) into DIR/contact_sheets/.
    #[arg(long)]
    pub contact_sheet: bool,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Report every problem of a data set in one run: missing or undecodable
    /// files, masks of the wrong size, bad CSV rows, oversized images.
    #[command(after_help = "Example:\n  spotdiff data check data")]
    Check {
        /// The data set's root folder.
        root: PathBuf,
        #[command(flatten)]
        layout: LayoutArgs,
        /// The VisA split that must be there; the other split CSVs are checked when present and listed as absent otherwise [default: 1cls].
        #[arg(long, value_enum)]
        split: Option<VisaSplit>,
    },
}

/// `pretrain`'s flags. Those that decide the result are optional: a new run
/// takes the default each one's help names, a resumed run the value in its
/// run.json (a flag given with --resume must agree with it).
#[derive(Debug, Args)]
pub struct PretrainArgs {
    /// The pre-training method; SPD adds its term to any of them [default: simsiam].
    #[arg(long, value_enum)]
    pub method: Option<MethodKind>,
    /// SPD's weight η in L = L_method + η·L_spd, at least 0; 0 trains the plain method [default: 0.1].
    #[arg(long, value_parser = non_negative_number)]
    pub spd_weight: Option<f64>,
    /// The backbone architecture [default: resnet18].
    #[arg(long, value_enum)]
    pub backbone: Option<Backbone>,
    /// The backbone's channel width multiplier, above 0 (1 is torchvision's) [default: 0.25].
    #[arg(long, value_parser = positive_number)]
    pub width: Option<f64>,
    /// The side of the square training views in pixels, 16 to 4096 [default: 64].
    #[arg(long, value_parser = clap::value_parser!(u32).range(16..=4096))]
    pub size: Option<u32>,
    /// Passes over the training images, at least 1; the cosine schedule spans them all [default: 10].
    #[arg(long, value_parser = at_least::<u64>(1))]
    pub epochs: Option<u64>,
    /// Images per step, at least 2 per device for batch norm (the last incomplete batch of an epoch is dropped) [default: 32].
    #[arg(long, value_parser = at_least::<usize>(2))]
    pub batch: Option<usize>,
    /// The data set's root folder, in any layout (required for a new run).
    #[arg(long, value_name = "ROOT", required_unless_present = "resume")]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub layout: LayoutArgs,
    /// The VisA split whose training normals are used [default: 1cls].
    #[arg(long, value_enum)]
    pub split: Option<VisaSplit>,
    /// The run folder: created for a new run (it must be new or empty), or the one --resume continues.
    #[arg(long, value_name = "DIR", required_unless_present = "resume")]
    pub out: Option<PathBuf>,
    /// The compute backend; only those built into this binary are offered [default: flex].
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
    /// The seed of the initialisation, the epoch orders and every augmentation [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Continue the run in DIR (or in --out) from its last checkpoint, with
    /// every setting read from DIR/run.json; without a checkpoint yet it
    /// starts over. Either way it ends with the weights an uninterrupted run
    /// has.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<Option<PathBuf>>,
    /// Also checkpoint every N steps, at least 1, so that a killed run loses
    /// at most N steps; without it, at the end of each epoch only. Kept in
    /// run.json: a resumed run goes on with it unless given again.
    #[arg(long, value_name = "N", value_parser = at_least::<u64>(1))]
    pub checkpoint_every: Option<u64>,
    /// Stop (with a checkpoint) after this many epochs of this invocation, at
    /// least 1; the schedule still spans --epochs and --resume continues it.
    #[arg(long, value_name = "N", value_parser = at_least::<u64>(1))]
    pub pause_after: Option<u64>,
    /// Devices to train on, at least 1, data-parallel with burn's
    /// all-reduce: the first N GPUs of wgpu or cuda (flex: at most 2 peers
    /// sharing the CPU). Each takes batch/N images a step [default: 1].
    #[arg(long, value_parser = at_least::<usize>(1))]
    pub devices: Option<usize>,
    /// The base learning rate at batch 256, above 0 (scaled by batch/256); the method's own when left out.
    #[arg(long, value_parser = positive_number)]
    pub lr: Option<f64>,
    /// Threads decoding and augmenting images ahead of the training step, at least 1.
    #[arg(long, default_value_t = 2, value_parser = at_least::<usize>(1))]
    pub workers: usize,
    /// The length of MoCo's queue of negative keys, at least 1 [default: 65536].
    #[arg(long, value_parser = at_least::<usize>(1))]
    pub moco_queue: Option<usize>,
    /// When standard error is not a terminal (a log file, CI, nohup), print
    /// a line every N steps, at least 1: epoch, step, losses, images/s and
    /// the time left. On a terminal the progress bar shows the same.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = at_least::<u64>(1))]
    pub report_every: u64,
}

/// A whole number of at least `minimum`, checked as the flag is parsed (clap's
/// own ranges would print an open range's end as 2^64 − 1).
fn at_least<T: TryFrom<u64>>(
    minimum: u64,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |text| {
        let value: u64 = text
            .parse()
            .map_err(|_| format!("`{text}` is not a whole number"))?;
        if value < minimum {
            return Err(format!("{value} is below the minimum of {minimum}"));
        }
        T::try_from(value).map_err(|_| format!("{value} is too large"))
    }
}

/// A finite number above 0 and below 1 (`--test-share`).
fn share(text: &str) -> Result<f64, String> {
    let value = finite_number(text)?;
    if value > 0.0 && value < 1.0 {
        Ok(value)
    } else {
        Err(format!("{value} is not above 0 and below 1"))
    }
}

/// A finite number above 0 (`--width`, `--lr`).
fn positive_number(text: &str) -> Result<f64, String> {
    let value = finite_number(text)?;
    if value > 0.0 {
        Ok(value)
    } else {
        Err(format!("{value} is not above 0"))
    }
}

/// A finite number of at least 0 (`--spd-weight`).
fn non_negative_number(text: &str) -> Result<f64, String> {
    let value = finite_number(text)?;
    if value >= 0.0 {
        Ok(value)
    } else {
        Err(format!("{value} is below 0"))
    }
}

fn finite_number(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(format!("`{text}` is not a finite number")),
    }
}
