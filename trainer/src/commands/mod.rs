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

use spotdiff::kernels::on_compute_thread;

use crate::cli::{Cli, Command, DataCommand, PadimCommand};

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Metrics { file, json } => metrics::run(&file, json),
        Command::Toy { json, plot } => toy::run(json, plot.as_deref()),
        Command::Backends => backends::run(),
        Command::Synth(args) => synth::run(&args),
        Command::Data(DataCommand::Check {
            root,
            layout,
            split,
        }) => data::check(&root, &layout, split),
        // The networks' forward passes on flex: on a thread of the kernels'
        // pool, so each convolution's parallel section starts where the
        // command already is (`on_compute_thread`).
        Command::Padim(PadimCommand::Fit(args)) => on_compute_thread(|| padim::fit(&args)),
        Command::Eval(args) => on_compute_thread(|| eval::run(&args)),
        Command::Export(args) => on_compute_thread(|| export::run(&args)),
        Command::Score(args) => on_compute_thread(|| score::run(&args)),
        Command::Pretrain(args) => pretrain::run(&args),
    }
}
