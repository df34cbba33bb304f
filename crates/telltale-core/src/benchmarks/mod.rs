//! Public benchmark corpora read from their own layouts: NAB (`data/` and
//! `labels/combined_windows.json`, plus detectors' result folders) and SKAB
//! (`;`-separated experiment files with `anomaly` and `changepoint` columns).
//! Both readers take any folder laid out the same way.

pub mod nab;
pub mod skab;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::timestamp;

/// A CSV file read as one timestamp column and numeric columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The file.
    pub path: PathBuf,
    /// Epoch milliseconds per row.
    pub timestamps: Vec<i64>,
    /// Numeric columns by header name, in file order.
    pub columns: Vec<(String, Vec<f64>)>,
}

impl Frame {
    /// Reads `path` (header row, `separator`), taking `time` as the
    /// timestamp column and every column that `keep` accepts as numeric.
    /// Errors name the file, line and column.
    pub fn read(path: &Path, separator: u8, time: &str, keep: impl Fn(&str) -> bool) -> Result<Frame> {
        let file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
        let mut reader = csv::ReaderBuilder::new().delimiter(separator).from_reader(std::io::BufReader::new(file));
        let csv_err = |e: csv::Error| Error::Csv {
            path: path.to_owned(),
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        };
        let header = reader.headers().map_err(csv_err)?.clone();
        if header.is_empty() {
            return Err(Error::EmptyFile { path: path.to_owned() });
        }
        let time_at = header.iter().position(|h| h.trim() == time).ok_or_else(|| Error::MissingColumn {
            path: path.to_owned(),
            column: time.to_owned(),
            available: header.iter().collect::<Vec<_>>().join(", "),
        })?;
        let picked: Vec<usize> = (0..header.len()).filter(|&i| i != time_at && keep(header[i].trim())).collect();
        let mut frame = Frame {
            path: path.to_owned(),
            timestamps: Vec::new(),
            columns: picked.iter().map(|&i| (header[i].trim().to_owned(), Vec::new())).collect(),
        };
        for record in reader.records() {
            let record = record.map_err(csv_err)?;
            let line = record.position().map_or(0, |p| p.line());
            let cell = |i: usize| record.get(i).unwrap_or("").trim();
            let ts = timestamp::parse_text(cell(time_at)).ok_or_else(|| Error::BadTimestamp {
                path: path.to_owned(),
                line,
                column: time.to_owned(),
                value: cell(time_at).to_owned(),
                hint: timestamp::FORMATS_HINT,
            })?;
            frame.timestamps.push(ts);
            for (&i, (name, values)) in picked.iter().zip(frame.columns.iter_mut()) {
                let v = cell(i).parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| Error::NotNumeric {
                    path: path.to_owned(),
                    line,
                    column: name.clone(),
                    value: cell(i).to_owned(),
                })?;
                values.push(v);
            }
        }
        if frame.timestamps.is_empty() {
            return Err(Error::NoRows { path: path.to_owned(), detail: String::new() });
        }
        Ok(frame)
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
