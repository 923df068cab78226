//! The data sets the commands read: the reader the flags name for a data
//! root (its layout given or told from the tree), and a data set checked
//! whole before any work. The commands see only samples, never the layout.

use std::path::Path;

use anyhow::Context;
use spotdiff::data::{
    Dataset, DirSource, FolderSplit, Label, Layout, Reader, Sample, SizeLimit, Split, VisaSplit,
};

use crate::cli::{DataArgs, LayoutArgs};

/// The reader for the tree at `root`: the layout `--layout` names or the
/// tree has, with VisA's split (`split`, given as `split_flag`; 1cls by
/// default) or the folder layout's held-out share. A flag that belongs to
/// another layout is refused rather than ignored.
pub fn resolve_reader(
    root: &Path,
    flags: &LayoutArgs,
    split: Option<VisaSplit>,
    split_flag: &str,
) -> anyhow::Result<Reader> {
    if !root.is_dir() {
        anyhow::bail!(
            "{} is not a folder: give the data set's root folder",
            root.display()
        );
    }
    let layout = match flags.layout {
        Some(layout) => layout,
        None => Layout::detect(&DirSource::new(root)).ok_or_else(|| {
            anyhow::anyhow!(
                "{}: {}",
                root.display(),
                spotdiff::data::DataError::NoClasses(None)
            )
        })?,
    };
    let folder_flag = match (flags.test_share, flags.test_seed) {
        (Some(_), _) => Some("--test-share"),
        (None, Some(_)) => Some("--test-seed"),
        (None, None) => None,
    };
    let refuse = |flag: &str| {
        anyhow::anyhow!(
            "{flag} does not apply to {}, read in {}: it applies to the {} layout only",
            root.display(),
            name(layout),
            if flag == split_flag { "visa" } else { "folder" }
        )
    };
    match layout {
        Layout::Visa => match folder_flag {
            Some(flag) => Err(refuse(flag)),
            None => Ok(Reader::Visa(split.unwrap_or(VisaSplit::OneClass))),
        },
        Layout::Mvtec => match (split, folder_flag) {
            (Some(_), _) => Err(refuse(split_flag)),
            (None, Some(flag)) => Err(refuse(flag)),
            (None, None) => Ok(Reader::Mvtec),
        },
        Layout::Folder => match split {
            Some(_) => Err(refuse(split_flag)),
            None => Ok(Reader::Folder(FolderSplit {
                test_share: flags.test_share.unwrap_or(FolderSplit::DEFAULT_TEST_SHARE),
                seed: flags.test_seed.unwrap_or(0),
            })),
        },
    }
}

/// The layout as messages name it.
fn name(layout: Layout) -> &'static str {
    match layout {
        Layout::Visa => "VisA's layout",
        Layout::Mvtec => "MVTec AD's layout",
        Layout::Folder => "the folder layout",
    }
}

/// The data set `padim fit` and `eval` read: `--data` in the layout and
/// split their flags name, checked.
pub fn open_data(args: &DataArgs) -> anyhow::Result<CheckedData> {
    let reader = resolve_reader(&args.data, &args.layout, args.split, "--split")?;
    open_checked(&args.data, reader)
}

/// A data set that passed the checker, read by one reader.
pub struct CheckedData {
    pub source: DirSource,
    pub dataset: Dataset,
    pub reader: Reader,
}

/// Checks the data set (every file the reader lists, and VisA's other
/// split CSVs where present) and reads it; training and evaluation refuse
/// a data set with the checker's messages.
pub fn open_checked(root: &Path, reader: Reader) -> anyhow::Result<CheckedData> {
    let source = DirSource::new(root);
    let report = reader
        .check(&source, &SizeLimit::default())
        .map_err(|error| anyhow::anyhow!("{}: {error}", root.display()))?;
    report
        .into_result()
        .with_context(|| format!("{} failed the data check", root.display()))?;
    let dataset = reader.read(&source)?;
    Ok(CheckedData {
        source,
        dataset,
        reader,
    })
}

impl CheckedData {
    /// Refuses statistics fitted on this data read another way (`fitted`,
    /// their manifest's `split`): the test images here could be the ones
    /// they were fitted on.
    pub fn refuse_other_split(&self, stats: &Path, fitted: &str) -> anyhow::Result<()> {
        let here = self.reader.to_string();
        if fitted != here {
            anyhow::bail!(
                "{} was fitted on the `{fitted}` split, but the data set is read as `{here}` here: \
                 its test images may be ones the statistics were fitted on; give the layout and split flags the fit had",
                stats.display()
            );
        }
        Ok(())
    }

    /// The named class, or every class, refusing a name the data set lacks.
    pub fn classes(&self, class: Option<&str>) -> anyhow::Result<Vec<String>> {
        let objects = self.dataset.objects();
        match class {
            Some(name) if objects.contains(&name) => Ok(vec![name.to_string()]),
            Some(name) => anyhow::bail!(
                "class `{name}` is not in the data set's {} split; it has: {}",
                self.reader,
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
