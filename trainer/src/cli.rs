//! The parsed command line, kept apart from what the commands do with it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
        /// `visa` (read through split_csv/) or `mvtec`; by default `visa`
        /// when ROOT/split_csv exists, else `mvtec`.
        #[arg(long)]
        layout: Option<String>,
    },
}
