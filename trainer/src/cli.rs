//! The parsed command line, kept apart from what the commands do with it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
}
