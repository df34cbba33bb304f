//! What every corpus reader starts from: a CSV file as one timestamp column
//! and numeric columns ([`Frame`]), and the CSV files of a folder
//! ([`csv_files`]). Errors are the data core's, naming file, line and column.

use std::path::{Path, PathBuf};

use telltale_core::table::{ColumnData, CsvOptions, Table};
use telltale_core::timestamp::{self, EpochUnit};
use telltale_core::{Error, Result};

/// A CSV file read as one timestamp column and numeric columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The file.
    pub path: PathBuf,
    /// Source line of every row.
    pub lines: Vec<u64>,
    /// Epoch milliseconds per row.
    pub timestamps: Vec<i64>,
    /// Numeric columns by header name, in file order.
    pub columns: Vec<(String, Vec<f64>)>,
}

impl Frame {
    /// Reads `path` (header row, `separator`) through [`Table`], taking `time`
    /// as the timestamp column and every column that `keep` accepts as
    /// numeric, with no missing cell. Errors name the file, line and column.
    pub fn read(path: &Path, separator: u8, time: &str, keep: impl Fn(&str) -> bool) -> Result<Frame> {
        let table = Table::read(path, &CsvOptions { separator: Some(separator) })?;
        if table.n_rows() == 0 {
            return Err(Error::NoRows { path: path.to_owned(), detail: String::new() });
        }
        let time_at = table.index_of(time)?;
        let timestamps = read_timestamps(&table, time_at)?;
        let mut columns = Vec::new();
        for (i, column) in table.columns().iter().enumerate() {
            if i == time_at || !keep(column.name()) {
                continue;
            }
            let values = table.numeric(column.name())?;
            if let Some(row) = values.iter().position(|v| v.is_nan()) {
                return Err(Error::MissingValue {
                    path: path.to_owned(),
                    line: table.line(row),
                    column: column.name().to_owned(),
                    hint: "",
                });
            }
            columns.push((column.name().to_owned(), values.to_vec()));
        }
        Ok(Frame { path: path.to_owned(), lines: table.lines().to_vec(), timestamps, columns })
    }

    /// The numeric column called `name`.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    /// True when the frame has no rows (never, once read).
    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }
}

/// Every row's timestamp in column `col` (text in the accepted formats, or
/// epoch seconds/milliseconds); an unreadable one names its file, line and column.
fn read_timestamps(table: &Table, col: usize) -> Result<Vec<i64>> {
    let column = &table.columns()[col];
    (0..table.n_rows())
        .map(|row| {
            let (parsed, text) = match column.data() {
                ColumnData::Numeric(v) => (timestamp::from_epoch(v[row], EpochUnit::Auto), v[row].to_string()),
                ColumnData::Text(t) => (timestamp::parse_text(&t[row]), t[row].clone()),
            };
            parsed.ok_or_else(|| Error::BadTimestamp {
                path: table.path().to_owned(),
                line: table.line(row),
                column: column.name().to_owned(),
                value: text,
                hint: timestamp::FORMATS_HINT,
            })
        })
        .collect()
}

/// Every file under `dir` (recursively) whose name ends in `.csv`, sorted.
pub fn csv_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| Error::Io { path: d.clone(), source })?;
        for entry in entries {
            let path = entry.map_err(|source| Error::Io { path: d.clone(), source })?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "csv") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}
