//! The sample type both layouts read into, and a data set as a list of them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which part of a split a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Test,
}

/// Whether a sample is defect-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    Normal,
    Anomaly,
}

impl Split {
    /// The word VisA's split CSVs use.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

impl Label {
    /// The word VisA's split CSVs use.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Normal => "normal",
            Label::Anomaly => "anomaly",
        }
    }

    pub fn is_anomaly(self) -> bool {
        self == Label::Anomaly
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Split {
    type Err = ();
    fn from_str(text: &str) -> Result<Self, ()> {
        match text {
            "train" => Ok(Split::Train),
            "test" => Ok(Split::Test),
            _ => Err(()),
        }
    }
}

impl FromStr for Label {
    type Err = ();
    fn from_str(text: &str) -> Result<Self, ()> {
        match text {
            "normal" => Ok(Label::Normal),
            "anomaly" => Ok(Label::Anomaly),
            _ => Err(()),
        }
    }
}

/// The CSV row a sample was read from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Row {
    /// The CSV's path relative to the data root, e.g. `split_csv/1cls.csv`.
    pub csv: &'static str,
    /// The line in the file, the header being line 1.
    pub line: u64,
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.csv, self.line)
    }
}

/// One image of a data set. Only paths are held: pixels are decoded on demand
/// ([`Sample::load_image`], [`Sample::load_mask`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The object class, e.g. `candle` or `bottle`.
    pub object: String,
    pub split: Split,
    pub label: Label,
    /// The image's path relative to the data root, `/`-separated.
    pub image: String,
    /// The mask's path relative to the data root; anomalies have one, normal
    /// samples none.
    pub mask: Option<String>,
    /// Where the sample was listed; `None` for folder layouts.
    pub row: Option<Row>,
}

impl Sample {
    /// Names the sample for messages: its image path and, if any, its row.
    pub fn describe(&self) -> String {
        match self.row {
            Some(row) => format!("`{}` ({row})", self.image),
            None => format!("`{}`", self.image),
        }
    }
}

/// The samples of one split of a data set, in the order they were listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dataset {
    pub samples: Vec<Sample>,
}

impl Dataset {
    /// The object classes in order of first appearance.
    pub fn objects(&self) -> Vec<&str> {
        let mut objects: Vec<&str> = Vec::new();
        for sample in &self.samples {
            if !objects.contains(&sample.object.as_str()) {
                objects.push(&sample.object);
            }
        }
        objects
    }

    /// The samples of one object in one split, in listed order.
    pub fn select<'a>(&'a self, object: &'a str, split: Split) -> impl Iterator<Item = &'a Sample> {
        self.samples
            .iter()
            .filter(move |s| s.object == object && s.split == split)
    }

    /// How many samples of `object` have `split` and `label`.
    pub fn count(&self, object: &str, split: Split, label: Label) -> usize {
        self.select(object, split)
            .filter(|s| s.label == label)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for split in [Split::Train, Split::Test] {
            assert_eq!(split.as_str().parse(), Ok(split));
        }
        for label in [Label::Normal, Label::Anomaly] {
            assert_eq!(label.to_string().parse(), Ok(label));
        }
        assert_eq!("Train".parse::<Split>(), Err(()));
        assert_eq!("good".parse::<Label>(), Err(()));
    }
}
