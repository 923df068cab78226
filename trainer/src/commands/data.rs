use crate::output::say;
use std::path::Path;

use anyhow::Context;
use spotdiff::data::synth::SynthLayout;
use spotdiff::data::{
    check_mvtec, check_visa, read_visa, Dataset, DirSource, Sample, SizeLimit, Split, VisaSplit,
};

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

/// A VisA data set that passed the checker, read for one split.
pub struct CheckedVisa {
    pub source: DirSource,
    pub dataset: Dataset,
    pub split: VisaSplit,
}

/// Checks the whole data set (every file of every CSV) and reads `split`;
/// training and evaluation refuse a data set with the checker's messages.
pub fn open_checked_visa(root: &Path, split: &str) -> anyhow::Result<CheckedVisa> {
    let split: VisaSplit = split
        .parse()
        .map_err(|m: String| anyhow::anyhow!("--split: {m}"))?;
    if !root.join("split_csv").is_dir() {
        anyhow::bail!(
            "{} is not a VisA-layout data set (no split_csv/ folder in it)",
            root.display()
        );
    }
    let source = DirSource::new(root);
    let report = check_visa(&source, &SizeLimit::default());
    report
        .into_result()
        .with_context(|| format!("{} failed the data check", root.display()))?;
    let dataset = read_visa(&source, split)?;
    Ok(CheckedVisa {
        source,
        dataset,
        split,
    })
}

impl CheckedVisa {
    /// The named class, or every class, refusing a name the split lacks.
    pub fn classes(&self, class: Option<&str>) -> anyhow::Result<Vec<String>> {
        let objects = self.dataset.objects();
        match class {
            Some(name) if objects.contains(&name) => Ok(vec![name.to_string()]),
            Some(name) => anyhow::bail!(
                "class `{name}` is not in the data set's {} split; it has: {}",
                self.split,
                objects.join(", ")
            ),
            None => Ok(objects.into_iter().map(String::from).collect()),
        }
    }

    /// One class's samples of `split`, in listed order.
    pub fn samples(&self, class: &str, split: Split) -> Vec<&Sample> {
        self.dataset
            .samples
            .iter()
            .filter(|s| s.object == class && s.split == split)
            .collect()
    }
}
