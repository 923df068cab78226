//! `spotdiff`: the command line of the spotdiff toolkit. Each subcommand is a
//! thin shell over the core library: it parses flags, checks paths, calls the
//! core and prints the result.

mod backend;
mod cli;
mod commands;
mod dataset;
mod output;
mod stats_folder;
mod weights_file;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // What the command printed reaches its reader before the error,
            // so a reader of both streams sees the error on a line of its own.
            output::flush_stdout();
            eprint!("{}", error_report(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, one per line: "error: …", then "  caused by:
/// …" for each cause, a message's further lines (a list of problems)
/// indented under the line they continue.
fn error_report(error: &anyhow::Error) -> String {
    let mut report = String::new();
    for (depth, message) in error.chain().enumerate() {
        let (first, indent) = match depth {
            0 => ("error: ", ""),
            _ => ("  caused by: ", "  "),
        };
        for (number, line) in message.to_string().lines().enumerate() {
            let prefix = if number == 0 { first } else { indent };
            report.push_str(&format!("{prefix}{line}\n"));
        }
    }
    report
}
