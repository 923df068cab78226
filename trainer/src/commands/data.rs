//! `spotdiff data check`: every problem of a data set, reported in one run.

use std::path::Path;

use spotdiff::data::synth::SynthLayout;
use spotdiff::data::{check_mvtec, check_visa, DirSource, SizeLimit};

use crate::dataset::resolve_layout;
use crate::output::say;

pub fn check(root: &Path, layout: Option<SynthLayout>) -> anyhow::Result<()> {
    if !root.is_dir() {
        anyhow::bail!(
            "{} is not a folder: give the data set's root folder",
            root.display()
        );
    }
    let source = DirSource::new(root);
    let limit = SizeLimit::default();
    let report = match resolve_layout(root, layout) {
        SynthLayout::Visa => check_visa(&source, &limit),
        SynthLayout::Mvtec => check_mvtec(&source, &limit),
    };
    say!("{}: {report}", root.display());
    if report.is_ok() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} has {} problem(s); fix them before training or evaluating on it",
            root.display(),
            report.problems.len()
        )
    }
}
