//! The parsed command line, kept apart from what the commands do with it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use spotdiff::data::synth::SynthLayout;
use spotdiff::data::VisaSplit;
use spotdiff::eval::Protocol;
use spotdiff::model::{Backbone, Precision};

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
    Metrics {
        /// The CSV of scores and labels.
        file: PathBuf,
        /// Print one JSON object (fractions, not percent) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The supplementary material's AU-PR vs AU-ROC toy example (section B).
    Toy {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write the ROC and PR curves of Fig. 9 and 10 as SVG files into DIR.
        #[arg(long, value_name = "DIR")]
        plot: Option<PathBuf>,
    },
    /// List the compute backends built into this binary and check each one on a small product of matrices.
    Backends,
    /// Write the procedural VisA-layout (or MVTec AD-layout) defect data set.
    Synth(SynthArgs),
    /// Data set tools.
    #[command(subcommand)]
    Data(DataCommand),
    /// PaDiM: fit per-class statistics on a backbone's features of the training normals.
    #[command(subcommand)]
    Padim(PadimCommand),
    /// SPD pre-training of a ResNet backbone on a data set's training normals.
    ///
    /// Writes OUT/backbone.safetensors (torchvision names, for `padim fit
    /// --weights`), OUT/run.json (every setting), OUT/log.jsonl (every
    /// step's losses) and OUT/checkpoint/ (each epoch and on Ctrl-C).
    Pretrain(PretrainArgs),
    /// Score every test image with each fitted backbone (and optionally the
    /// per-pixel baseline) and write the paper's tables, scatter plot and curves.
    Eval(EvalArgs),
    /// Pack one class of a `padim fit` folder into a single browser bundle
    /// (trunk weights, PaDiM statistics, preprocessing, threshold).
    ///
    /// The threshold is the max-F1 threshold of the bundle's own image scores
    /// on the test images of --threshold-split (held out: PaDiM fits on the
    /// training normals only).
    Export(ExportArgs),
    /// Score images with a bundle: a heat-map overlay PNG per image, and
    /// scores.csv and scores.json with each score and decision.
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
    /// The VisA-layout data set whose test images set the threshold.
    #[arg(long, value_name = "ROOT")]
    pub data: PathBuf,
    /// The VisA split whose test images (normal and anomalous) the max-F1
    /// threshold is chosen on.
    #[arg(long, value_enum, default_value_t = VisaSplit::OneClass)]
    pub threshold_split: VisaSplit,
    /// The bundle's precision: f16 stores the convolution weights and
    /// Cholesky factors in half precision (about half the size), f32 is
    /// lossless.
    #[arg(long, value_enum, default_value_t = Precision::F16)]
    pub precision: Precision,
    /// The bundle file to write, e.g. www/models/NAME.spotdiff.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
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
    Fit(PadimFitArgs),
}

/// The data set and split both PaDiM and the evaluation read.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// The VisA-layout data set's root folder.
    #[arg(long, value_name = "ROOT")]
    pub data: PathBuf,
    /// The VisA split; only 1cls (train on normals, test on the rest) makes sense for PaDiM.
    #[arg(long, value_enum, default_value_t = VisaSplit::OneClass)]
    pub split: VisaSplit,
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
    /// Backbone weights (safetensors, torchvision names); random initialisation from --seed without.
    #[arg(long, value_name = "W.safetensors")]
    pub weights: Option<PathBuf>,
    /// The backbone architecture.
    #[arg(long, value_enum, default_value_t = Backbone::Resnet18)]
    pub backbone: Backbone,
    /// The backbone's channel width multiplier, above 0 (1 is torchvision's).
    #[arg(long, default_value_t = 1.0, value_parser = positive_number)]
    pub width: f64,
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
    /// A folder written by `padim fit`; repeat for several backbones (named by folder).
    #[arg(long, value_name = "DIR")]
    pub stats: Vec<PathBuf>,
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
    /// The report folder (created if missing; its report files are replaced).
    #[arg(long, value_name = "REPORT")]
    pub out: PathBuf,
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
    /// Seed of every random draw: the same seed writes byte-identical files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Side of the square images, in pixels.
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// Defect-free images per class.
    #[arg(long, default_value_t = 200)]
    pub normals: u32,
    /// Defective images per class.
    #[arg(long, default_value_t = 60)]
    pub anomalies: u32,
    /// Classes to generate, comma-separated (default: all six).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub classes: Vec<String>,
    /// Folder layout: `visa` (JPEG images, split CSVs) or `mvtec`.
    #[arg(long, default_value = "visa")]
    pub layout: String,
    /// JPEG quality of VisA-layout images.
    #[arg(long, default_value_t = 92)]
    pub jpeg_quality: u8,
    /// Also write one contact sheet per class (a PNG grid of examples with the defects outlined) into DIR/contact_sheets/.
    #[arg(long)]
    pub contact_sheet: bool,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Report every problem of a data set in one run: missing or undecodable
    /// files, masks of the wrong size, bad CSV rows, oversized images.
    Check {
        /// The data set's root folder.
        root: PathBuf,
        /// The data set's layout: visa (read through split_csv/) or mvtec;
        /// by default visa when ROOT/split_csv exists, else mvtec.
        #[arg(long, value_enum)]
        layout: Option<SynthLayout>,
    },
}

#[derive(Debug, Args)]
pub struct PretrainArgs {
    /// `simsiam`, `moco`, `simclr` or `supervised` (on the object classes).
    #[arg(long, default_value = "simsiam")]
    pub method: String,
    /// SPD's weight η in L = L_method + η·L_spd; 0 trains the plain method.
    #[arg(long, default_value_t = 0.1)]
    pub spd_weight: f64,
    /// `resnet18` or `resnet50`.
    #[arg(long, default_value = "resnet18")]
    pub backbone: String,
    /// Channel width multiplier of the backbone.
    #[arg(long, default_value_t = 0.25)]
    pub width: f64,
    /// Side of the square training views, in pixels.
    #[arg(long, default_value_t = 64)]
    pub size: u32,
    /// Passes over the training images; the cosine schedule spans them all.
    #[arg(long, default_value_t = 10)]
    pub epochs: u64,
    /// Images per step (the last incomplete batch of an epoch is dropped).
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// The VisA-layout data set's root folder.
    #[arg(long, value_name = "ROOT")]
    pub data: PathBuf,
    /// The VisA split whose training normals are used.
    #[arg(long, default_value = "1cls")]
    pub split: String,
    /// The run folder (created; must be new unless --resume).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// `flex` (CPU), or `wgpu` / `cuda` when built with those features.
    #[arg(long, default_value = "flex")]
    pub backend: String,
    /// Seed of the initialisation, the epoch orders and every augmentation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Continue the run in --out from its last checkpoint, with the same settings.
    #[arg(long)]
    pub resume: bool,
    /// Stop (with a checkpoint) after this many epochs of this invocation;
    /// the schedule still spans --epochs and --resume continues it.
    #[arg(long, value_name = "N")]
    pub pause_after: Option<u64>,
    /// Devices to train on, data-parallel with burn's all-reduce: the
    /// first N GPUs of wgpu or cuda (flex: at most 2 peers sharing the
    /// CPU). Each takes batch/N images a step.
    #[arg(long, default_value_t = 1)]
    pub devices: usize,
    /// Base learning rate at batch 256 (default: the method's own; scaled by batch/256).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Threads decoding and augmenting images ahead of the training step.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// MoCo's queue of negative keys.
    #[arg(long, default_value_t = 65536)]
    pub moco_queue: usize,
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

/// A finite number above 0 (`--width`, `--lr`).
fn positive_number(text: &str) -> Result<f64, String> {
    let value = finite_number(text)?;
    if value > 0.0 {
        Ok(value)
    } else {
        Err(format!("{value} is not above 0"))
    }
}

fn finite_number(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(format!("`{text}` is not a finite number")),
    }
}
