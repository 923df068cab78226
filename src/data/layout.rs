//! The three layouts a data set's tree can have, told apart by the tree, and
//! [`Reader`], the one way every command reads any of them: VisA through a
//! split CSV ([`super::visa`]), MVTec AD by its folders ([`super::mvtec`]),
//! and a plain folder of one's own images ([`super::folder`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::check::{check_folder, check_mvtec, check_visa, CheckReport};
use super::decode::SizeLimit;
use super::folder::{scan_folder, FolderSplit, FOLDER_GOOD};
use super::mvtec::scan_mvtec;
use super::problem::{DataError, Problem};
use super::sample::Dataset;
use super::source::Source;
use super::visa::{scan_visa, VisaSplit};

/// A data set's folder layout (SPEC "Data").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Layout {
    /// VisA's: images listed by `split_csv/<split>.csv`.
    #[cfg_attr(feature = "clap", value(name = "visa"))]
    Visa,
    /// MVTec AD's: `<class>/train/good`, `<class>/test/<defect>`,
    /// `<class>/ground_truth/<defect>/<stem>_mask.png`.
    #[cfg_attr(feature = "clap", value(name = "mvtec"))]
    Mvtec,
    /// A plain folder: `<class>/good`, optionally `<class>/defect` and
    /// `<class>/mask/<stem>.png`.
    #[cfg_attr(feature = "clap", value(name = "folder"))]
    Folder,
}

impl Layout {
    /// The layout the tree has: VisA's when the root holds `split_csv/`,
    /// else MVTec AD's when a root folder holds `train` or `test`, else the
    /// folder layout when one holds `good`; `None` for a tree of none of
    /// them (an empty one, say).
    pub fn detect(source: &(impl Source + ?Sized)) -> Option<Layout> {
        let root = source.list("").ok()?;
        if root.folders.iter().any(|f| f == "split_csv") {
            return Some(Layout::Visa);
        }
        let inner: Vec<Vec<String>> = root
            .folders
            .iter()
            .map(|class| source.list(class).map(|l| l.folders).unwrap_or_default())
            .collect();
        let any_holds = |names: &[&str]| {
            inner
                .iter()
                .any(|folders| folders.iter().any(|f| names.contains(&f.as_str())))
        };
        if any_holds(&["train", "test"]) {
            Some(Layout::Mvtec)
        } else if any_holds(&[FOLDER_GOOD]) {
            Some(Layout::Folder)
        } else {
            None
        }
    }
}

/// How to read a data set: its layout with the one setting each layout
/// needs to say which images are for training and which for testing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reader {
    /// VisA through one split's CSV; only that CSV need exist.
    Visa(VisaSplit),
    /// MVTec AD: `train` trains, `test` tests.
    Mvtec,
    /// A plain folder, a seeded share of the good images tested.
    Folder(FolderSplit),
}

impl Reader {
    pub fn layout(&self) -> Layout {
        match self {
            Reader::Visa(_) => Layout::Visa,
            Reader::Mvtec => Layout::Mvtec,
            Reader::Folder(_) => Layout::Folder,
        }
    }

    /// The samples the reader lists, and every problem found listing them.
    /// Files are not opened: [`Reader::check`] does that.
    pub fn scan(&self, source: &(impl Source + ?Sized)) -> (Dataset, Vec<Problem>) {
        match *self {
            Reader::Visa(split) => scan_visa(source, split),
            Reader::Mvtec => scan_mvtec(source),
            Reader::Folder(split) => scan_folder(source, split),
        }
    }

    /// The samples, refused with every problem of their listing, or when
    /// there are none.
    pub fn read(&self, source: &(impl Source + ?Sized)) -> Result<Dataset, DataError> {
        let (dataset, problems) = self.scan(source);
        if !problems.is_empty() {
            Err(DataError::Invalid(problems))
        } else if dataset.samples.is_empty() {
            Err(DataError::NoClasses(Some(self.layout())))
        } else {
            Ok(dataset)
        }
    }

    /// Checks the tree as `spotdiff data check` does: every listed file
    /// opened and decoded. VisA's other split CSVs are checked too when
    /// present, and listed as absent otherwise. A tree in which the layout
    /// finds nothing at all is refused as having no classes.
    pub fn check(
        &self,
        source: &(impl Source + ?Sized),
        limit: &SizeLimit,
    ) -> Result<CheckReport, DataError> {
        let report = match *self {
            Reader::Visa(split) => check_visa(source, split, limit),
            Reader::Mvtec => check_mvtec(source, limit),
            Reader::Folder(_) => check_folder(source, limit),
        };
        if report.samples == 0 && report.problems.is_empty() {
            return Err(DataError::NoClasses(Some(self.layout())));
        }
        Ok(report)
    }
}

/// The words `--split`, manifests and messages use: VisA's split name
/// (`1cls`), `mvtec`, or `folder test-share=0.1 test-seed=0`.
impl fmt::Display for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reader::Visa(split) => write!(f, "{split}"),
            Reader::Mvtec => f.write_str(MVTEC),
            Reader::Folder(split) => write!(
                f,
                "{FOLDER} test-share={} test-seed={}",
                split.test_share, split.seed
            ),
        }
    }
}

const MVTEC: &str = "mvtec";
const FOLDER: &str = "folder";

impl FromStr for Reader {
    type Err = String;

    /// Reads back what [`Reader`]'s `Display` writes.
    fn from_str(text: &str) -> Result<Self, String> {
        if text == MVTEC {
            return Ok(Reader::Mvtec);
        }
        let mut words = text.split(' ');
        if words.next() != Some(FOLDER) {
            return text.parse().map(Reader::Visa);
        }
        let mut value = |key: &str| {
            words
                .next()
                .and_then(|word| word.strip_prefix(key))
                .and_then(|word| word.strip_prefix('='))
                .map(str::to_owned)
                .ok_or_else(|| {
                    format!("`{text}` lacks `{key}=`: write `{FOLDER} test-share=S test-seed=N`")
                })
        };
        let share = value("test-share")?;
        let seed = value("test-seed")?;
        let test_share = share
            .parse()
            .map_err(|_| format!("test-share `{share}` in `{text}` is not a number"))?;
        let seed = seed
            .parse()
            .map_err(|_| format!("test-seed `{seed}` in `{text}` is not a whole number"))?;
        Ok(Reader::Folder(FolderSplit { test_share, seed }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Label, MemorySource, Split};

    /// A tree of empty files.
    fn tree(paths: &[&str]) -> MemorySource {
        let mut source = MemorySource::new();
        for path in paths {
            source.insert(*path, Vec::new());
        }
        source
    }

    #[test]
    fn each_layout_is_told_by_its_tree() {
        let visa = tree(&["split_csv/1cls.csv", "candle/Data/Images/Normal/0.JPG"]);
        let mvtec = tree(&["license.txt", "bottle/train/good/000.png"]);
        let test_only = tree(&["bottle/test/good/000.png"]);
        let folder = tree(&["bolt/good/a.png"]);
        assert_eq!(Layout::detect(&visa), Some(Layout::Visa));
        assert_eq!(Layout::detect(&mvtec), Some(Layout::Mvtec));
        assert_eq!(Layout::detect(&test_only), Some(Layout::Mvtec));
        assert_eq!(Layout::detect(&folder), Some(Layout::Folder));
        assert_eq!(Layout::detect(&tree(&[])), None);
        assert_eq!(Layout::detect(&tree(&["a/b/c.png", "d.png"])), None);
    }

    #[test]
    fn a_reader_of_another_layout_finds_no_classes() {
        let visa = tree(&["split_csv/1cls.csv", "candle/Data/Images/Normal/0.JPG"]);
        let limit = SizeLimit::default();
        for (reader, layout) in [
            (Reader::Mvtec, Layout::Mvtec),
            (
                Reader::Folder(FolderSplit {
                    test_share: 0.1,
                    seed: 0,
                }),
                Layout::Folder,
            ),
        ] {
            assert_eq!(
                reader.check(&visa, &limit),
                Err(DataError::NoClasses(Some(layout)))
            );
            assert_eq!(reader.read(&visa), Err(DataError::NoClasses(Some(layout))));
        }
        assert_eq!(
            DataError::NoClasses(Some(Layout::Mvtec)).to_string(),
            "no classes found in MVTec AD's layout: no folder holds `train` or `test`"
        );
    }

    #[test]
    fn only_the_split_in_use_must_exist() {
        let row = "object,split,label,image,mask\nc,train,normal,c/0.png,\n";
        let mut visa = tree(&[]);
        visa.insert("split_csv/1cls.csv", row.as_bytes().to_vec());
        let limit = SizeLimit::default();
        // The image is empty bytes, so the only problem is that it does not decode.
        let report = Reader::Visa(VisaSplit::OneClass)
            .check(&visa, &limit)
            .unwrap();
        assert_eq!(
            report.absent,
            ["split_csv/2cls_highshot.csv", "split_csv/2cls_fewshot.csv"]
        );
        assert_eq!(report.problems.len(), 1);
        assert_eq!(report.problems[0].file, "c/0.png");
        let report = Reader::Visa(VisaSplit::HighShot)
            .check(&visa, &limit)
            .unwrap();
        assert_eq!(report.absent, ["split_csv/2cls_fewshot.csv"]);
        assert_eq!(
            report.problems[0].to_string(),
            "`split_csv/2cls_highshot.csv`: no such file"
        );
        let dataset = Reader::Visa(VisaSplit::OneClass).read(&visa).unwrap();
        let rows: Vec<_> = dataset
            .samples
            .iter()
            .map(|s| (s.object.as_str(), s.split, s.label, s.image.as_str()))
            .collect();
        assert_eq!(rows, [("c", Split::Train, Label::Normal, "c/0.png")]);
    }

    #[test]
    fn readers_name_themselves_and_read_their_names_back() {
        let folder = Reader::Folder(FolderSplit {
            test_share: 0.25,
            seed: 7,
        });
        assert_eq!(folder.to_string(), "folder test-share=0.25 test-seed=7");
        for reader in [Reader::Visa(VisaSplit::TenShot), Reader::Mvtec, folder] {
            assert_eq!(reader.to_string().parse(), Ok(reader));
        }
        assert_eq!(Reader::Visa(VisaSplit::OneClass).to_string(), "1cls");
        assert!("folder test-seed=1"
            .parse::<Reader>()
            .unwrap_err()
            .contains("lacks `test-share=`"));
        assert!("3cls".parse::<Reader>().unwrap_err().contains("`1cls`"));
    }
}
