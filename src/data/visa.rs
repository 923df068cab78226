//! The VisA data set (Zou et al., ECCV 2022) through its split CSVs.
//!
//! Layout (SPEC "Data"): `<root>/<object>/Data/Images/{Normal,Anomaly}/*.JPG`,
//! `<root>/<object>/Data/Masks/Anomaly/*.png`, and
//! `<root>/split_csv/{1cls,2cls_highshot,2cls_fewshot}.csv`, each with the
//! header `object,split,label,image,mask`: split `train|test`, label
//! `normal|anomaly`, paths relative to the root, the mask empty for normal
//! rows. Columns are found by name, so their order may differ and extra
//! columns are ignored.
//!
//! The 5-shot and 10-shot setups read `2cls_fewshot.csv` and keep only the
//! first 5 or 10 training anomalies of each object in file order; every other
//! row is kept unchanged.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::str::FromStr;

use super::problem::{DataError, Problem, ProblemKind};
use super::sample::{Dataset, Label, Row, Sample, Split};
use super::source::Source;

/// The header of VisA's split CSVs.
pub const VISA_HEADER: [&str; 5] = ["object", "split", "label", "image", "mask"];

/// One of VisA's split setups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum VisaSplit {
    /// `1cls.csv`: normals about 90% train, all anomalies test.
    #[cfg_attr(feature = "clap", value(name = "1cls"))]
    OneClass,
    /// `2cls_highshot.csv`: 60/40 train/test of normals and anomalies.
    #[cfg_attr(feature = "clap", value(name = "2cls_highshot"))]
    HighShot,
    /// `2cls_fewshot.csv` whole: 20 training anomalies per object.
    #[cfg_attr(feature = "clap", value(name = "2cls_fewshot"))]
    FewShot,
    /// `2cls_fewshot.csv`, the first 5 training anomalies per object.
    #[cfg_attr(feature = "clap", value(name = "2cls_5shot"))]
    FiveShot,
    /// `2cls_fewshot.csv`, the first 10 training anomalies per object.
    #[cfg_attr(feature = "clap", value(name = "2cls_10shot"))]
    TenShot,
}

impl VisaSplit {
    pub const ALL: [VisaSplit; 5] = [
        VisaSplit::OneClass,
        VisaSplit::HighShot,
        VisaSplit::FewShot,
        VisaSplit::FiveShot,
        VisaSplit::TenShot,
    ];

    /// The three files on disk.
    pub const FILES: [&'static str; 3] = [
        "split_csv/1cls.csv",
        "split_csv/2cls_highshot.csv",
        "split_csv/2cls_fewshot.csv",
    ];

    /// The CSV this setup reads, relative to the data root.
    pub fn csv(self) -> &'static str {
        match self {
            VisaSplit::OneClass => Self::FILES[0],
            VisaSplit::HighShot => Self::FILES[1],
            VisaSplit::FewShot | VisaSplit::FiveShot | VisaSplit::TenShot => Self::FILES[2],
        }
    }

    /// How many training anomalies per object the setup keeps, if it cuts.
    pub fn shots(self) -> Option<usize> {
        match self {
            VisaSplit::FiveShot => Some(5),
            VisaSplit::TenShot => Some(10),
            _ => None,
        }
    }

    /// The setup's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            VisaSplit::OneClass => "1cls",
            VisaSplit::HighShot => "2cls_highshot",
            VisaSplit::FewShot => "2cls_fewshot",
            VisaSplit::FiveShot => "2cls_5shot",
            VisaSplit::TenShot => "2cls_10shot",
        }
    }
}

impl fmt::Display for VisaSplit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for VisaSplit {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|split| split.name() == text)
            .ok_or_else(|| {
                format!(
                    "unknown VisA split `{text}`; choose one of {}",
                    Self::ALL.map(|s| format!("`{s}`")).join(", ")
                )
            })
    }
}

/// Reads one setup of a VisA data set; refuses it with every problem its CSV
/// has. Files are not opened: run [`super::check_visa`] for that.
pub fn read_visa(source: &(impl Source + ?Sized), split: VisaSplit) -> Result<Dataset, DataError> {
    let (dataset, problems) = scan_visa(source, split);
    if problems.is_empty() {
        Ok(dataset)
    } else {
        Err(DataError::Invalid(problems))
    }
}

/// Reads one setup, returning what could be read and every problem found.
pub fn scan_visa(source: &(impl Source + ?Sized), split: VisaSplit) -> (Dataset, Vec<Problem>) {
    let (samples, problems) = match source.read(split.csv()) {
        Ok(bytes) => parse_visa_csv(bytes.as_slice(), split.csv()),
        Err(error) => (Vec::new(), vec![Problem::from(error)]),
    };
    let samples = match split.shots() {
        Some(shots) => first_anomalies(samples, shots),
        None => samples,
    };
    (Dataset { samples }, problems)
}

/// Keeps the first `shots` training anomalies of each object (in listed
/// order) and every other sample.
pub fn first_anomalies(samples: Vec<Sample>, shots: usize) -> Vec<Sample> {
    let mut kept: BTreeMap<String, usize> = BTreeMap::new();
    samples
        .into_iter()
        .filter(|sample| {
            if sample.split != Split::Train || sample.label != Label::Anomaly {
                return true;
            }
            let count = kept.entry(sample.object.clone()).or_default();
            *count += 1;
            *count <= shots
        })
        .collect()
}

/// Parses one split CSV. `file` is its path relative to the root, for
/// messages. Returns the good rows and a problem for every bad one; a row
/// that repeats an earlier row's image is reported and dropped.
pub fn parse_visa_csv(reader: impl Read, file: &'static str) -> (Vec<Sample>, Vec<Problem>) {
    let mut problems = Vec::new();
    let problem = |line: u64, kind: ProblemKind| Problem {
        file: file.to_string(),
        row: Some(Row { csv: file, line }),
        kind,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(reader);
    let header = match reader.headers() {
        Ok(header) => header.clone(),
        Err(error) => {
            return (
                Vec::new(),
                vec![problem(1, ProblemKind::BadCsv(error.to_string()))],
            )
        }
    };
    let mut columns = [0usize; 5];
    for (slot, name) in columns.iter_mut().zip(VISA_HEADER) {
        match header.iter().position(|h| h == name) {
            Some(index) => *slot = index,
            None => problems.push(problem(
                1,
                ProblemKind::MissingColumn {
                    missing: name,
                    found: header
                        .iter()
                        .map(|h| format!("`{h}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                },
            )),
        }
    }
    if !problems.is_empty() {
        return (Vec::new(), problems);
    }

    let mut samples = Vec::new();
    let mut first_line: BTreeMap<String, u64> = BTreeMap::new();
    let mut rows = 0u64;
    for record in reader.records() {
        rows += 1;
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(rows + 1, |p| p.line());
                problems.push(problem(line, ProblemKind::BadCsv(error.to_string())));
                continue;
            }
        };
        let line = record.position().map_or(rows + 1, |p| p.line());
        let before = problems.len();
        let mut field = |index: usize| -> Option<&str> {
            let column = VISA_HEADER[index];
            let value = record.get(columns[index]);
            if value.is_none() {
                problems.push(problem(
                    line,
                    ProblemKind::MissingField {
                        column,
                        fields: record.len(),
                    },
                ));
            }
            value
        };
        let (object, split, label, image, mask) =
            (field(0), field(1), field(2), field(3), field(4));
        let mut check = |kind: Option<ProblemKind>| {
            if let Some(kind) = kind {
                problems.push(problem(line, kind));
            }
        };
        check(
            object
                .filter(|o| o.is_empty())
                .map(|_| ProblemKind::EmptyField { column: "object" }),
        );
        let split = split.map(|text| {
            let parsed = text.parse::<Split>();
            check(parsed.is_err().then(|| ProblemKind::UnknownValue {
                column: "split",
                value: text.to_string(),
                expected: "`train`, `test`",
            }));
            parsed
        });
        let label = label.map(|text| {
            let parsed = text.parse::<Label>();
            check(parsed.is_err().then(|| ProblemKind::UnknownValue {
                column: "label",
                value: text.to_string(),
                expected: "`normal`, `anomaly`",
            }));
            parsed
        });
        check(
            image
                .filter(|i| i.is_empty())
                .map(|_| ProblemKind::EmptyField { column: "image" }),
        );
        for path in [image, mask].into_iter().flatten() {
            check(leaves_root(path).then(|| ProblemKind::PathOutsideRoot(path.to_string())));
        }
        if let Some(image) = image.filter(|i| !i.is_empty()) {
            if let Some(&first) = first_line.get(image) {
                check(Some(ProblemKind::Duplicate {
                    image: image.to_string(),
                    first_line: first,
                }));
            } else {
                first_line.insert(image.to_string(), line);
            }
        }
        if problems.len() > before {
            continue;
        }
        // Every field was present and parsed, or a problem was recorded above.
        if let (Some(object), Some(Ok(split)), Some(Ok(label)), Some(image), Some(mask)) =
            (object, split, label, image, mask)
        {
            samples.push(Sample {
                object: object.to_string(),
                split,
                label,
                image: image.to_string(),
                mask: (!mask.is_empty()).then(|| mask.to_string()),
                row: Some(Row { csv: file, line }),
            });
        }
    }
    if rows == 0 {
        problems.push(problem(1, ProblemKind::NoRows));
    }
    (samples, problems)
}

/// Whether a listed path is absolute or climbs out of the root.
fn leaves_root(path: &str) -> bool {
    path.starts_with('/')
        || path.starts_with('\\')
        || path.contains(':')
        || path.split(['/', '\\']).any(|part| part == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "split_csv/1cls.csv";

    #[test]
    fn reads_rows_in_order_with_optional_masks() {
        let text = "object,split,label,image,mask\n\
            candle,train,normal,candle/Data/Images/Normal/0000.JPG,\n\
            candle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data/Masks/Anomaly/000.png\n";
        let (samples, problems) = parse_visa_csv(text.as_bytes(), CSV);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].mask, None);
        assert_eq!(samples[0].row, Some(Row { csv: CSV, line: 2 }));
        assert_eq!(samples[1].split, Split::Test);
        assert_eq!(samples[1].label, Label::Anomaly);
        assert_eq!(
            samples[1].mask.as_deref(),
            Some("candle/Data/Masks/Anomaly/000.png")
        );
    }

    #[test]
    fn columns_are_found_by_name() {
        let text = "image,mask,label,split,object,extra\na.JPG,,normal,train,pcb1,x\n";
        let (samples, problems) = parse_visa_csv(text.as_bytes(), CSV);
        assert!(problems.is_empty());
        assert_eq!(samples[0].object, "pcb1");
        assert_eq!(samples[0].image, "a.JPG");
    }

    #[test]
    fn every_bad_row_is_reported_by_line() {
        // line 1 header; 2 good; 3 unknown split and label; 4 too few fields;
        // 5 duplicate of line 2; 6 path outside the root; 7 empty object.
        let text = "object,split,label,image,mask\n\
            a,train,normal,a/1.JPG,\n\
            a,val,good,a/2.JPG,\n\
            a,train\n\
            a,test,normal,a/1.JPG,\n\
            a,test,normal,../x.JPG,\n\
            ,test,normal,a/3.JPG,\n";
        let (samples, problems) = parse_visa_csv(text.as_bytes(), CSV);
        assert_eq!(samples.len(), 1);
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "split_csv/1cls.csv line 3: split `val` is not one of `train`, `test`",
                "split_csv/1cls.csv line 3: label `good` is not one of `normal`, `anomaly`",
                "split_csv/1cls.csv line 4: no `label` field (the row has 2 fields)",
                "split_csv/1cls.csv line 4: no `image` field (the row has 2 fields)",
                "split_csv/1cls.csv line 4: no `mask` field (the row has 2 fields)",
                "split_csv/1cls.csv line 5: lists `a/1.JPG` again (first listed on line 2)",
                "split_csv/1cls.csv line 6: path `../x.JPG` leaves the data root: paths must be relative, without `..`",
                "split_csv/1cls.csv line 7: the object is empty",
            ]
        );
    }

    #[test]
    fn missing_columns_are_all_named() {
        let (samples, problems) = parse_visa_csv("object,image\na,b\n".as_bytes(), CSV);
        assert!(samples.is_empty());
        let missing: Vec<_> = problems
            .iter()
            .map(|p| match &p.kind {
                ProblemKind::MissingColumn { missing, .. } => *missing,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(missing, ["split", "label", "mask"]);
    }

    #[test]
    fn shots_keep_the_first_training_anomalies_per_object() {
        let sample = |object: &str, split, label, n: usize| Sample {
            object: object.into(),
            split,
            label,
            image: format!("{object}/{n}"),
            mask: None,
            row: None,
        };
        use Label::*;
        use Split::*;
        // a: train anomalies 0, 2, 3 (1 is a test anomaly, 4 a train normal);
        // b: train anomalies 5, 6.
        let samples = vec![
            sample("a", Train, Anomaly, 0),
            sample("a", Test, Anomaly, 1),
            sample("b", Train, Anomaly, 5),
            sample("a", Train, Anomaly, 2),
            sample("a", Train, Normal, 4),
            sample("a", Train, Anomaly, 3),
            sample("b", Train, Anomaly, 6),
        ];
        let kept: Vec<String> = first_anomalies(samples, 1)
            .into_iter()
            .map(|s| s.image)
            .collect();
        assert_eq!(kept, ["a/0", "a/1", "b/5", "a/4"]);
    }

    #[test]
    fn split_names_parse() {
        assert_eq!("2cls_5shot".parse(), Ok(VisaSplit::FiveShot));
        assert_eq!(VisaSplit::TenShot.csv(), "split_csv/2cls_fewshot.csv");
        assert!("3cls".parse::<VisaSplit>().unwrap_err().contains("`1cls`"));
    }
}
