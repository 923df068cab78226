//! `spotdiff`: the command line of the spotdiff toolkit. Each subcommand is a
//! thin shell over the core library: it parses flags, checks paths, calls the
//! core and prints the result.

mod backend;
mod cli;
mod commands;
mod dataset;
mod output;
mod stats_folder;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}
