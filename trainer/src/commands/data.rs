use std::path::Path;

use spotdiff::data::synth::SynthLayout;
use spotdiff::data::{check_mvtec, check_visa, DirSource, SizeLimit};

/// The layout named on the command line, or the one the folder looks like.
pub fn resolve_layout(root: &Path, named: Option<&str>) -> anyhow::Result<SynthLayout> {
    match named {
        Some(name) => name
            .parse()
            .map_err(|message: String| anyhow::anyhow!(message)),
        None if root.join("split_csv").is_dir() => Ok(SynthLayout::Visa),
        None => Ok(SynthLayout::Mvtec),
    }
}

pub fn check(root: &Path, layout: Option<&str>) -> anyhow::Result<()> {
    if !root.is_dir() {
        anyhow::bail!(
            "{} is not a folder: give the data set's root folder",
            root.display()
        );
    }
    let source = DirSource::new(root);
    let limit = SizeLimit::default();
    let report = match resolve_layout(root, layout)? {
        SynthLayout::Visa => check_visa(&source, &limit),
        SynthLayout::Mvtec => check_mvtec(&source, &limit),
    };
    println!("{}: {report}", root.display());
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
