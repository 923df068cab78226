use serde::Serialize;
use thiserror::Error;

use crate::eval::Protocol;

/// AU-PR and AU-ROC of one task, as fractions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    pub aupr: f64,
    pub auroc: f64,
    /// The 95% bootstrap intervals of AU-PR and AU-ROC, shown by the
    /// Markdown table; the CSV and JSON keep the paper's layout of point
    /// estimates (details.json has every interval).
    #[serde(skip)]
    pub ci95: Option<[[f64; 2]; 2]>,
}

/// One backbone's results on one object class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassResult {
    pub class: String,
    pub backbone: String,
    pub classification: Scores,
    pub segmentation: Scores,
}

/// Which task a table reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Classification,
    Segmentation,
}

impl Task {
    fn of(self, result: &ClassResult) -> Scores {
        match self {
            Task::Classification => result.classification,
            Task::Segmentation => result.segmentation,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Segmentation => "segmentation",
        }
    }
}

/// Why results do not make a table.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ReportError {
    #[error("no results to report")]
    Empty,
    #[error("backbone `{backbone}` has no result for class `{class}`: every backbone must be evaluated on every class")]
    Missing { class: String, backbone: String },
    #[error("backbone `{backbone}` has two results for class `{class}`")]
    Duplicate { class: String, backbone: String },
    #[error("a picture is {got:?} pixels (width, height), expected {expected:?}")]
    ImageSize {
        expected: (usize, usize),
        got: (usize, usize),
    },
    #[error("cannot encode the PNG: {0}")]
    Encode(String),
    #[error("the overlay's opacity must be from 0 to 1, got {0}")]
    Opacity(f32),
    #[error("the overlay's thresholds must be finite numbers, got {0}")]
    Threshold(f32),
    #[error("row {row} of the CSV has {fields} fields but the header has {columns} columns")]
    RowLength {
        row: usize,
        fields: usize,
        columns: usize,
    },
    #[error("cannot write the CSV: {0}")]
    Csv(String),
}

/// One class's row: a score pair per backbone, in the table's backbone order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowOfTable {
    pub class: String,
    pub scores: Vec<Scores>,
}

/// What a table was computed on, stated with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    /// The data set's root, as given.
    pub data: String,
    /// How segmentation metrics were computed.
    pub protocol: Protocol,
    /// Bootstrap resamples behind the intervals (0: none).
    pub resamples: u32,
}

/// A per-class table of one task with a mean row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultTable {
    pub task: Task,
    /// The data set and protocol the numbers come from.
    pub provenance: Provenance,
    /// Backbones in the order they first appear in the results.
    pub backbones: Vec<String>,
    /// Classes in the order they first appear in the results.
    pub rows: Vec<RowOfTable>,
    /// The unweighted mean over classes, per backbone.
    pub mean: Vec<Scores>,
}

impl ResultTable {
    /// Arranges results into a table; every backbone needs exactly one
    /// result per class.
    pub fn new(
        results: &[ClassResult],
        task: Task,
        provenance: Provenance,
    ) -> Result<Self, ReportError> {
        let mut backbones: Vec<String> = Vec::new();
        let mut classes: Vec<String> = Vec::new();
        for result in results {
            if !backbones.contains(&result.backbone) {
                backbones.push(result.backbone.clone());
            }
            if !classes.contains(&result.class) {
                classes.push(result.class.clone());
            }
        }
        if results.is_empty() {
            return Err(ReportError::Empty);
        }
        let mut rows = Vec::with_capacity(classes.len());
        for class in &classes {
            let mut scores = Vec::with_capacity(backbones.len());
            for backbone in &backbones {
                let mut matching = results
                    .iter()
                    .filter(|r| &r.class == class && &r.backbone == backbone);
                let found = matching.next().ok_or_else(|| ReportError::Missing {
                    class: class.clone(),
                    backbone: backbone.clone(),
                })?;
                if matching.next().is_some() {
                    return Err(ReportError::Duplicate {
                        class: class.clone(),
                        backbone: backbone.clone(),
                    });
                }
                scores.push(task.of(found));
            }
            rows.push(RowOfTable {
                class: class.clone(),
                scores,
            });
        }
        let count = rows.len() as f64;
        let mean = (0..backbones.len())
            .map(|column| Scores {
                aupr: rows.iter().map(|r| r.scores[column].aupr).sum::<f64>() / count,
                auroc: rows.iter().map(|r| r.scores[column].auroc).sum::<f64>() / count,
                ci95: None,
            })
            .collect();
        Ok(Self {
            task,
            provenance,
            backbones,
            rows,
            mean,
        })
    }

    /// The table in Markdown, percent with one decimal as the paper prints,
    /// each with its 95% interval where one was computed, under a line
    /// naming the data set and protocol.
    pub fn to_markdown(&self) -> String {
        let p = &self.provenance;
        let mut text = format!(
            "{} on `{}`, segmentation protocol {}",
            self.task.name(),
            p.data,
            p.protocol.name()
        );
        if p.resamples > 0 {
            text.push_str(&format!(
                "; [lo, hi]: 95% bootstrap interval over {} resamples of the test images",
                p.resamples
            ));
        }
        text.push_str(".\n\n");
        text.push_str(&format!("| {} |", self.task.name()));
        let mut rule = String::from("|---|");
        for backbone in &self.backbones {
            text.push_str(&format!(" {backbone} AU-PR | {backbone} AU-ROC |"));
            rule.push_str("---:|---:|");
        }
        text.push('\n');
        text.push_str(&rule);
        text.push('\n');
        let mut line = |name: &str, scores: &[Scores]| {
            text.push_str(&format!("| {name} |"));
            for s in scores {
                for (column, value) in [s.aupr, s.auroc].into_iter().enumerate() {
                    text.push_str(&format!(" {:.1}", 100.0 * value));
                    if let Some(ci95) = s.ci95 {
                        let [lo, hi] = ci95[column];
                        text.push_str(&format!(" [{:.1}, {:.1}]", 100.0 * lo, 100.0 * hi));
                    }
                    text.push_str(" |");
                }
            }
            text.push('\n');
        };
        for row in &self.rows {
            line(&row.class, &row.scores);
        }
        line("**mean**", &self.mean);
        text
    }

    /// The table as CSV: one row per class and the mean, fractions at full precision.
    pub fn to_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["class".to_string()];
        for backbone in &self.backbones {
            header.push(format!("{backbone} aupr"));
            header.push(format!("{backbone} auroc"));
        }
        let mean = RowOfTable {
            class: "mean".into(),
            scores: self.mean.clone(),
        };
        let records = std::iter::once(header).chain(self.rows.iter().chain([&mean]).map(|row| {
            std::iter::once(row.class.clone())
                .chain(
                    row.scores
                        .iter()
                        .flat_map(|s| [s.aupr.to_string(), s.auroc.to_string()]),
                )
                .collect()
        }));
        for record in records {
            writer
                .write_record(&record)
                .expect("writing CSV into memory cannot fail");
        }
        String::from_utf8(writer.into_inner().expect("an in-memory writer flushes"))
            .expect("the CSV is made of UTF-8 strings")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(class: &str, backbone: &str, aupr: f64) -> ClassResult {
        ClassResult {
            class: class.into(),
            backbone: backbone.into(),
            classification: Scores {
                aupr,
                auroc: 0.5,
                ci95: None,
            },
            segmentation: Scores {
                aupr: aupr / 10.0,
                auroc: 0.9,
                ci95: None,
            },
        }
    }

    fn provenance() -> Provenance {
        Provenance {
            data: "data".into(),
            protocol: Protocol::Exact,
            resamples: 0,
        }
    }

    #[test]
    fn markdown_and_csv_have_a_column_pair_per_backbone_and_a_mean() {
        let results = [
            result("pcb1", "a", 0.8),
            result("pcb1", "b,+spd", 0.6),
            result("capsules", "a", 0.4),
            result("capsules", "b,+spd", 0.3),
        ];
        let table = ResultTable::new(&results, Task::Classification, provenance()).unwrap();
        assert_eq!(
            table.to_markdown(),
            "classification on `data`, segmentation protocol exact.\n\n\
             | classification | a AU-PR | a AU-ROC | b,+spd AU-PR | b,+spd AU-ROC |\n\
             |---|---:|---:|---:|---:|\n\
             | pcb1 | 80.0 | 50.0 | 60.0 | 50.0 |\n\
             | capsules | 40.0 | 50.0 | 30.0 | 50.0 |\n\
             | **mean** | 60.0 | 50.0 | 45.0 | 50.0 |\n"
        );
        let csv = table.to_csv();
        assert_eq!(
            csv.lines().next(),
            Some("class,a aupr,a auroc,\"b,+spd aupr\",\"b,+spd auroc\"")
        );
        assert_eq!(
            csv.lines().last(),
            Some("mean,0.6000000000000001,0.5,0.44999999999999996,0.5")
        );
        let segmentation = ResultTable::new(&results, Task::Segmentation, provenance()).unwrap();
        assert!((segmentation.mean[0].aupr - 0.06).abs() < 1e-15);
    }

    #[test]
    fn missing_and_duplicate_results_are_refused() {
        let missing = [
            result("pcb1", "a", 0.8),
            result("pcb1", "b", 0.6),
            result("pcb2", "a", 0.4),
        ];
        assert_eq!(
            ResultTable::new(&missing, Task::Classification, provenance()).unwrap_err().to_string(),
            "backbone `b` has no result for class `pcb2`: every backbone must be evaluated on every class"
        );
        let duplicate = [result("pcb1", "a", 0.8), result("pcb1", "a", 0.6)];
        assert_eq!(
            ResultTable::new(&duplicate, Task::Classification, provenance()),
            Err(ReportError::Duplicate {
                class: "pcb1".into(),
                backbone: "a".into()
            })
        );
        assert_eq!(
            ResultTable::new(&[], Task::Segmentation, provenance()),
            Err(ReportError::Empty)
        );
    }
}
