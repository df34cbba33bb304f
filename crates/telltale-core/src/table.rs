//! Reading a sensor log from CSV into typed columns.
//!
//! The reader detects the separator (`,`, `;` or tab) from the header line,
//! keeps the source line of every row for error messages, and infers each
//! column's type: a column is numeric while every non-missing cell parses as a
//! finite number, and text otherwise (timestamps are text or numeric epochs
//! until [`crate::timestamp`] reads them).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Cell texts treated as a missing value (compared after trimming spaces).
pub const MISSING_TOKENS: &[&str] = &["", "NA", "N/A", "NaN", "nan", "NAN", "null", "NULL", "None"];

/// How to read a CSV file.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// Field separator; detected from the header line when `None`.
    pub separator: Option<u8>,
}

/// The cells of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Every non-missing cell is a finite number; missing cells are NaN.
    Numeric(Vec<f64>),
    /// At least one cell is not a number; missing cells are empty strings.
    Text(Vec<String>),
}

/// One named column of a [`Table`].
#[derive(Debug, Clone)]
pub struct Column {
    name: String,
    data: ColumnData,
    missing: usize,
    /// Line and text of the first cell that made the column textual.
    first_text: Option<(u64, String)>,
}

impl Column {
    /// The header name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cells.
    pub fn data(&self) -> &ColumnData {
        &self.data
    }

    /// How many cells are missing (see [`MISSING_TOKENS`]).
    pub fn missing(&self) -> usize {
        self.missing
    }

    /// True when every non-missing cell is a number.
    pub fn is_numeric(&self) -> bool {
        matches!(self.data, ColumnData::Numeric(_))
    }

    /// Line and text of the first non-numeric cell, for a text column.
    pub fn first_text(&self) -> Option<(u64, &str)> {
        self.first_text.as_ref().map(|(l, v)| (*l, v.as_str()))
    }

    fn push(&mut self, cell: &str, line: u64) {
        let cell = cell.trim();
        let is_missing = MISSING_TOKENS.contains(&cell);
        if is_missing {
            self.missing += 1;
        }
        match &mut self.data {
            ColumnData::Numeric(values) => {
                if is_missing {
                    values.push(f64::NAN);
                    return;
                }
                match cell.parse::<f64>() {
                    Ok(v) if v.is_finite() => values.push(v),
                    _ => {
                        let mut texts: Vec<String> =
                            values.iter().map(|v| if v.is_nan() { String::new() } else { v.to_string() }).collect();
                        texts.push(cell.to_owned());
                        self.first_text = Some((line, cell.to_owned()));
                        self.data = ColumnData::Text(texts);
                    }
                }
            }
            ColumnData::Text(texts) => {
                texts.push(if is_missing { String::new() } else { cell.to_owned() });
            }
        }
    }
}

/// A CSV file read into typed columns, with the source line of every row.
#[derive(Debug, Clone)]
pub struct Table {
    path: PathBuf,
    separator: u8,
    columns: Vec<Column>,
    lines: Vec<u64>,
}

/// Column names an error lists at most.
pub const HEADER_PREVIEW: usize = 20;

impl Table {
    /// Reads `path`. Errors name the file and line: empty file, ragged rows,
    /// malformed quoting or encoding.
    pub fn read(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Table> {
        let path = path.as_ref();
        let io_err = |source| Error::Io { path: path.to_owned(), source };
        let mut file = File::open(path).map_err(io_err)?;
        let separator = match options.separator {
            Some(sep) => sep,
            None => {
                let mut first = String::new();
                BufReader::new(&mut file).read_line(&mut first).map_err(io_err)?;
                detect_separator(&first)
            }
        };
        let file = File::open(path).map_err(io_err)?;
        Table::from_reader(path, separator, file)
    }

    /// Reads CSV text from any reader; `path` is used in messages only.
    pub fn from_reader(path: &Path, separator: u8, reader: impl Read) -> Result<Table> {
        let csv_err = |e: csv::Error| Error::Csv {
            path: path.to_owned(),
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        };
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(separator)
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::Headers)
            .from_reader(reader);
        let header = rdr.headers().map_err(csv_err)?.clone();
        if header.is_empty() || (header.len() == 1 && header[0].trim().is_empty()) {
            return Err(Error::EmptyFile { path: path.to_owned() });
        }
        let mut columns: Vec<Column> = header
            .iter()
            .map(|name| Column {
                name: name.to_owned(),
                data: ColumnData::Numeric(Vec::new()),
                missing: 0,
                first_text: None,
            })
            .collect();
        let mut lines = Vec::new();
        let mut record = csv::StringRecord::new();
        while rdr.read_record(&mut record).map_err(csv_err)? {
            let line = record.position().map_or(0, |p| p.line());
            if record.len() != columns.len() {
                // A lone empty field is a blank line inside the file: skip it.
                if record.len() == 1 && record[0].trim().is_empty() {
                    continue;
                }
                return Err(Error::Ragged {
                    path: path.to_owned(),
                    line,
                    expected: columns.len(),
                    found: record.len(),
                });
            }
            for (column, cell) in columns.iter_mut().zip(record.iter()) {
                column.push(cell, line);
            }
            lines.push(line);
        }
        Ok(Table { path: path.to_owned(), separator, columns, lines })
    }

    /// The file this table was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The separator used.
    pub fn separator(&self) -> u8 {
        self.separator
    }

    /// Number of data rows.
    pub fn n_rows(&self) -> usize {
        self.lines.len()
    }

    /// All columns, in header order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Source line (1-based, header = 1) of data row `row`.
    pub fn line(&self, row: usize) -> u64 {
        self.lines[row]
    }

    /// Source lines of all data rows.
    pub fn lines(&self) -> &[u64] {
        &self.lines
    }

    /// Index of the column called `name`; a clear error listing the header when absent.
    pub fn index_of(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c.name == name).ok_or_else(|| Error::MissingColumn {
            path: self.path.clone(),
            column: name.to_owned(),
            available: self.header_preview(),
        })
    }

    /// The header's names for a message: the first [`HEADER_PREVIEW`], then how many more (a header of a million
    /// columns makes a short error, not megabytes).
    fn header_preview(&self) -> String {
        let mut names: Vec<&str> = self.columns.iter().take(HEADER_PREVIEW).map(|c| c.name.as_str()).collect();
        let more = self.columns.len().saturating_sub(HEADER_PREVIEW);
        let tail = format!("… and {more} more");
        if more > 0 {
            names.push(&tail);
        }
        names.join(", ")
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Result<&Column> {
        Ok(&self.columns[self.index_of(name)?])
    }

    /// The values of numeric column `name`; an error naming the first
    /// non-numeric cell's line when the column holds text.
    pub fn numeric(&self, name: &str) -> Result<&[f64]> {
        self.numeric_at(self.index_of(name)?)
    }

    /// [`Table::numeric`] of the column at `index` (found once: no search by name per call).
    pub fn numeric_at(&self, index: usize) -> Result<&[f64]> {
        let Some(column) = self.columns.get(index) else {
            return Err(Error::invalid("column", format!("{}: no column {index}", self.path.display())));
        };
        let name = column.name.as_str();
        match &column.data {
            ColumnData::Numeric(values) => Ok(values),
            ColumnData::Text(_) => {
                let (line, value) = column.first_text().unwrap_or((0, ""));
                Err(Error::NotNumeric {
                    path: self.path.clone(),
                    line,
                    column: name.to_owned(),
                    value: value.to_owned(),
                })
            }
        }
    }

    /// The values of numeric column `name`, none missing: a missing cell is
    /// an error naming its line.
    pub fn complete_numeric(&self, name: &str) -> Result<&[f64]> {
        let values = self.numeric(name)?;
        match values.iter().position(|v| v.is_nan()) {
            Some(row) => Err(Error::MissingValue {
                path: self.path.clone(),
                line: self.lines[row],
                column: name.to_owned(),
                hint: "",
            }),
            None => Ok(values),
        }
    }

    /// Column `name` as labels: every cell must be 0 or 1.
    pub fn binary_labels(&self, name: &str) -> Result<Vec<u8>> {
        let values = self.complete_numeric(name)?;
        values
            .iter()
            .enumerate()
            .map(|(row, &v)| match v {
                0.0 => Ok(0),
                1.0 => Ok(1),
                _ => Err(Error::NotLabel {
                    path: self.path.clone(),
                    line: self.lines[row],
                    column: name.to_owned(),
                    value: v.to_string(),
                }),
            })
            .collect()
    }
}

/// Picks `,`, `;` or tab, whichever occurs most often outside quotes in the
/// header line; `,` when none occurs.
pub fn detect_separator(header_line: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for ch in header_line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let best = (0..3).max_by_key(|&i| (counts[i], std::cmp::Reverse(i))).unwrap_or(0);
    if counts[best] == 0 { b',' } else { candidates[best] }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Table> {
        let sep = detect_separator(text.lines().next().unwrap_or(""));
        Table::from_reader(Path::new("t.csv"), sep, text.as_bytes())
    }

    #[test]
    fn detects_separators() {
        assert_eq!(detect_separator("a,b,c"), b',');
        assert_eq!(detect_separator("datetime;Accelerometer1RMS;Volume Flow RateRMS"), b';');
        assert_eq!(detect_separator("a\tb"), b'\t');
        assert_eq!(detect_separator("\"a;b\",c"), b',');
        assert_eq!(detect_separator("single"), b',');
    }

    #[test]
    fn infers_types_and_counts_missing() {
        let t = read("ts;x;s\n2020-01-01 00:00:00;1.5;ok\n2020-01-01 00:00:01;NaN;\n").unwrap();
        assert_eq!(t.n_rows(), 2);
        assert_eq!(t.separator(), b';');
        let x = t.column("x").unwrap();
        assert!(x.is_numeric());
        assert_eq!(x.missing(), 1);
        assert!(!t.column("ts").unwrap().is_numeric());
        assert_eq!(t.column("s").unwrap().missing(), 1);
        assert_eq!(t.lines(), &[2, 3]);
    }

    #[test]
    fn ragged_row_names_line() {
        let err = read("a,b\n1,2\n3\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("1 fields, but the header has 2"), "{msg}");
    }

    #[test]
    fn empty_file_is_an_error() {
        let err = read("").unwrap_err();
        assert!(matches!(err, Error::EmptyFile { .. }), "{err}");
    }

    #[test]
    fn non_numeric_cell_is_reported_with_line() {
        let t = read("a,b\n1,2\n3,oops\n4,5\n").unwrap();
        let err = t.numeric("b").unwrap_err().to_string();
        assert_eq!(err, "t.csv, line 3, column 'b': 'oops' is not a number");
        let err = t.numeric("c").unwrap_err().to_string();
        assert!(err.contains("no column named 'c' (columns: a, b)"), "{err}");
    }

    #[test]
    fn complete_columns_and_labels() {
        let t = read("y,s\n0,0.5\n1,\n2,0.1\n").unwrap();
        let err = t.complete_numeric("s").unwrap_err().to_string();
        assert_eq!(err, "t.csv, line 3, column 's': missing value");
        let err = t.binary_labels("y").unwrap_err().to_string();
        assert_eq!(err, "t.csv, line 4, column 'y': '2' is not a label (expected 0 or 1)");
        let t = read("y\n0\n1.0\n").unwrap();
        assert_eq!(t.binary_labels("y").unwrap(), vec![0, 1]);
    }

    #[test]
    fn infinity_is_not_a_number() {
        let t = read("a\n1\ninf\n").unwrap();
        assert!(!t.column("a").unwrap().is_numeric());
    }

    #[test]
    fn blank_lines_are_skipped() {
        let t = read("a,b\n1,2\n\n3,4\n").unwrap();
        assert_eq!(t.n_rows(), 2);
    }

    #[test]
    fn a_very_wide_header_gives_short_errors_and_loads() {
        let n = 100_000;
        let header: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        let text = format!("{}\n{}\n", header.join(","), vec!["1"; n].join(","));
        let t = read(&text).unwrap();
        let e = t.index_of("nope").expect_err("absent").to_string();
        assert!(e.len() < 1_000 && e.contains("c19") && e.contains("… and 99980 more"), "{} bytes", e.len());
        assert!(!e.contains("c20,") && !e.contains("c20 "), "{e}");
        // Every column a feature: found by index, once each.
        let d = crate::Dataset::from_table(&t, &crate::DataSpec::default()).expect("dataset");
        assert_eq!(d.n_features(), n);
    }
}
