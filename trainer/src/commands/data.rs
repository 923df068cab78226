//! `spotdiff data check`: every problem of a data set, reported in one run.

use std::path::Path;

use spotdiff::data::{DirSource, SizeLimit, VisaSplit};

use crate::cli::LayoutArgs;
use crate::dataset::resolve_reader;
use crate::output::say;

pub fn check(root: &Path, layout: &LayoutArgs, split: Option<VisaSplit>) -> anyhow::Result<()> {
    let reader = resolve_reader(root, layout, split, "--split")?;
    let report = reader
        .check(&DirSource::new(root), &SizeLimit::default())
        .map_err(|error| anyhow::anyhow!("{}: {error}", root.display()))?;
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
