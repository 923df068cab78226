mod backends;
mod data;
mod eval;
mod export;
mod metrics;
mod padim;
mod pretrain;
mod score;
mod synth;
mod toy;

use crate::cli::{Cli, Command, DataCommand, PadimCommand};

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Metrics { file, json } => metrics::run(&file, json),
        Command::Toy { json, plot } => toy::run(json, plot.as_deref()),
        Command::Backends => backends::run(),
        Command::Synth(args) => synth::run(&args),
        Command::Data(DataCommand::Check { root, layout }) => data::check(&root, layout),
        Command::Padim(PadimCommand::Fit(args)) => padim::fit(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Score(args) => score::run(&args),
        Command::Pretrain(args) => pretrain::run(&args),
    }
}
