//! The `score,label` CSV that any detector can write and `spotdiff metrics`
//! reads: a header naming (at least) the columns `score` and `label`, then one
//! row per sample; label 1 = anomalous, 0 = normal. Other columns (an image
//! path, say) are allowed and ignored.

use std::fmt;
use std::io::Read;

use thiserror::Error;

/// Scores and labels read from a CSV, every row checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreTable {
    pub scores: Vec<f64>,
    pub anomalous: Vec<bool>,
}

/// One bad row of a score CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct RowProblem {
    /// The line in the file, counting the header as line 1.
    pub line: u64,
    pub problem: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// Why a score CSV cannot be used.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ScoreCsvError {
    #[error("cannot read the CSV: {0}")]
    Unreadable(String),
    #[error("the header has no `{missing}` column (found: {found}); the file needs a header with columns `score,label`")]
    MissingColumn {
        missing: &'static str,
        found: String,
    },
    #[error("the file has a header but no data rows")]
    NoRows,
    #[error("{} of {rows} rows are bad:\n  {}", problems.len(), problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    BadRows {
        rows: u64,
        problems: Vec<RowProblem>,
    },
}

impl ScoreTable {
    /// Reads and checks a whole CSV; reports every bad row, not just the first.
    pub fn from_reader(reader: impl Read) -> Result<Self, ScoreCsvError> {
        let mut csv = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(reader);
        let header = csv
            .headers()
            .map_err(|e| ScoreCsvError::Unreadable(e.to_string()))?
            .clone();
        let column = |name: &'static str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| ScoreCsvError::MissingColumn {
                    missing: name,
                    found: header
                        .iter()
                        .map(|h| format!("`{h}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
        };
        let (score_column, label_column) = (column("score")?, column("label")?);
        let mut table = ScoreTable {
            scores: Vec::new(),
            anomalous: Vec::new(),
        };
        let mut problems = Vec::new();
        let mut rows = 0;
        for record in csv.records() {
            rows += 1;
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    let line = error.position().map_or(rows + 1, |p| p.line());
                    match error.kind() {
                        csv::ErrorKind::Io(_) => {
                            return Err(ScoreCsvError::Unreadable(error.to_string()))
                        }
                        _ => problems.push(RowProblem {
                            line,
                            problem: error.to_string(),
                        }),
                    }
                    continue;
                }
            };
            let line = record.position().map_or(rows + 1, |p| p.line());
            let field = |index: usize| record.get(index);
            let score = match field(score_column) {
                None => Err(format!(
                    "no `score` field (the row has {} fields)",
                    record.len()
                )),
                Some(text) => match text.parse::<f64>() {
                    Ok(value) if value.is_finite() => Ok(value),
                    Ok(value) => Err(format!(
                        "score `{text}` is {value}; scores must be finite numbers"
                    )),
                    Err(_) => Err(format!("score `{text}` is not a number")),
                },
            };
            let label = match field(label_column) {
                None => Err(format!(
                    "no `label` field (the row has {} fields)",
                    record.len()
                )),
                Some("1") => Ok(true),
                Some("0") => Ok(false),
                Some(text) => Err(format!("label `{text}` is not 0 (normal) or 1 (anomalous)")),
            };
            match (score, label) {
                (Ok(score), Ok(label)) => {
                    table.scores.push(score);
                    table.anomalous.push(label);
                }
                (score, label) => problems.extend(
                    [score.err(), label.err()]
                        .into_iter()
                        .flatten()
                        .map(|problem| RowProblem { line, problem }),
                ),
            }
        }
        if !problems.is_empty() {
            return Err(ScoreCsvError::BadRows { rows, problems });
        }
        if rows == 0 {
            return Err(ScoreCsvError::NoRows);
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_columns_in_any_order_with_extra_columns() {
        let table = ScoreTable::from_reader(
            "image,label,score\na.png,1,0.5\n\"b,c.png\",0,-2e-3\n".as_bytes(),
        )
        .unwrap();
        assert_eq!(table.scores, [0.5, -0.002]);
        assert_eq!(table.anomalous, [true, false]);
    }

    #[test]
    fn reports_every_bad_row_by_line() {
        let csv = "score,label\n0.1,0\nabc,1\n0.3,2\nNaN,1\n0.5\n0.6,1\n";
        let error = ScoreTable::from_reader(csv.as_bytes()).unwrap_err();
        let ScoreCsvError::BadRows { rows, problems } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(*rows, 6);
        let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4, 5, 6]);
        let text = error.to_string();
        assert!(
            text.contains("line 3: score `abc` is not a number"),
            "{text}"
        );
        assert!(
            text.contains("line 4: label `2` is not 0 (normal) or 1 (anomalous)"),
            "{text}"
        );
        assert!(text.contains("line 5: score `NaN` is NaN"), "{text}");
        assert!(
            text.contains("line 6: no `label` field (the row has 1 fields)"),
            "{text}"
        );
    }

    #[test]
    fn refuses_missing_columns_and_empty_files() {
        let error = ScoreTable::from_reader("value,label\n1,0\n".as_bytes()).unwrap_err();
        assert_eq!(
            error,
            ScoreCsvError::MissingColumn {
                missing: "score",
                found: "`value`, `label`".into()
            }
        );
        assert_eq!(
            ScoreTable::from_reader("score,label\n".as_bytes()),
            Err(ScoreCsvError::NoRows)
        );
        assert_eq!(
            ScoreTable::from_reader("".as_bytes()).unwrap_err(),
            ScoreCsvError::MissingColumn {
                missing: "score",
                found: String::new()
            }
        );
    }
}
