//! The data sets the commands read: a VisA-layout folder checked whole before
//! any work, and the layout a folder has.

use std::path::Path;

use anyhow::Context;
use spotdiff::data::synth::SynthLayout;
use spotdiff::data::{
    check_visa, read_visa, Dataset, DirSource, Label, Sample, SizeLimit, Split, VisaSplit,
};

/// The layout named on the command line, or the one the folder looks like.
pub fn resolve_layout(root: &Path, named: Option<SynthLayout>) -> SynthLayout {
    match named {
        Some(layout) => layout,
        None if root.join("split_csv").is_dir() => SynthLayout::Visa,
        None => SynthLayout::Mvtec,
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
pub fn open_checked_visa(root: &Path, split: VisaSplit) -> anyhow::Result<CheckedVisa> {
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

    /// One class's normal training samples, in listed order: what PaDiM and
    /// the pixel baseline are fitted on.
    pub fn training_normals(&self, class: &str) -> Vec<&Sample> {
        self.samples(class, Split::Train)
            .into_iter()
            .filter(|s| s.label == Label::Normal)
            .collect()
    }
}
