//! Rows of text as CSV: the one writer behind `spotdiff score`'s scores.csv
//! and the scoring page's CSV download.

use super::ReportError;

/// A header and rows of text fields as CSV (RFC 4180): a field is quoted when
/// it holds a comma, a quote (doubled inside) or a line break; lines end in
/// `\n`. Every row must have as many fields as the header.
pub fn csv_table<R, F>(header: &[&str], rows: R) -> Result<String, ReportError>
where
    R: IntoIterator,
    R::Item: IntoIterator<Item = F>,
    F: AsRef<str>,
{
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let failed = |error: csv::Error| ReportError::Csv(error.to_string());
    writer.write_record(header).map_err(failed)?;
    for (index, row) in rows.into_iter().enumerate() {
        let fields: Vec<F> = row.into_iter().collect();
        if fields.len() != header.len() {
            return Err(ReportError::RowLength {
                row: index + 1,
                fields: fields.len(),
                columns: header.len(),
            });
        }
        writer
            .write_record(fields.iter().map(|field| field.as_ref()))
            .map_err(failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| ReportError::Csv(error.to_string()))?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 fields is UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_quotes_or_line_breaks_are_quoted() {
        let rows = [
            ["plain.jpg", "0.5"],
            ["a,b.jpg", "1"],
            ["say \"hi\".png", "2"],
            ["two\nlines", "3"],
            ["carriage\rreturn", "4"],
            ["", "5"],
        ];
        let text = csv_table(&["file", "score"], rows).unwrap();
        assert_eq!(
            text,
            "file,score\n\
             plain.jpg,0.5\n\
             \"a,b.jpg\",1\n\
             \"say \"\"hi\"\".png\",2\n\
             \"two\nlines\",3\n\
             \"carriage\rreturn\",4\n\
             ,5\n"
        );
    }

    #[test]
    fn a_row_of_the_wrong_length_is_an_error() {
        let rows = [vec!["a", "1"], vec!["b"]];
        let error = csv_table(&["file", "score"], rows).unwrap_err();
        assert_eq!(
            error.to_string(),
            "row 2 of the CSV has 1 fields but the header has 2 columns"
        );
    }
}
