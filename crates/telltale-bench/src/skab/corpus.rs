//! SKAB's corpus reader. Its layout: one experiment per `;`-separated CSV with a `datetime`
//! column, sensor columns, and the `anomaly` (outlier markup) and
//! `changepoint` labels. The upstream protocol fits on the first 400 rows of
//! each file and scores the rest; counts are pooled over files.

use std::path::{Path, PathBuf};

use telltale_core::{Error, Result};

use crate::frame::{Frame, csv_files};

/// Rows of each file that SKAB's protocol fits on.
pub const TRAIN_ROWS: usize = 400;

/// Columns that are labels, not sensors.
const LABELS: [&str; 2] = ["anomaly", "changepoint"];

/// One labelled SKAB experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct SkabFile {
    /// The file.
    pub path: PathBuf,
    /// Its path relative to the folder read (e.g. `valve1/3.csv`).
    pub name: String,
    /// Epoch milliseconds per row.
    pub timestamps: Vec<i64>,
    /// Sensor names.
    pub features: Vec<String>,
    /// Sensor values, row-major `[rows, features]`.
    pub values: Vec<f32>,
    /// Outlier markup per row (0/1).
    pub anomaly: Vec<u8>,
    /// Changepoint markup per row (0/1).
    pub changepoint: Vec<u8>,
}

impl SkabFile {
    /// Rows.
    pub fn rows(&self) -> usize {
        self.timestamps.len()
    }

    /// Reads one SKAB-format file; `None` when it has no label columns (such
    /// as `anomaly-free.csv`).
    pub fn read(path: &Path, root: &Path) -> Result<Option<SkabFile>> {
        let frame = Frame::read(path, b';', "datetime", |_| true)?;
        let (Some(anomaly), Some(changepoint)) = (frame.column("anomaly"), frame.column("changepoint")) else {
            return Ok(None);
        };
        let flag = |name: &str, v: &[f64]| -> Result<Vec<u8>> {
            v.iter()
                .enumerate()
                .map(|(i, &x)| match x {
                    0.0 => Ok(0),
                    1.0 => Ok(1),
                    _ => Err(Error::NotLabel {
                        path: path.to_owned(),
                        line: frame.lines[i],
                        column: name.to_owned(),
                        value: x.to_string(),
                    }),
                })
                .collect()
        };
        let anomaly = flag("anomaly", anomaly)?;
        let changepoint = flag("changepoint", changepoint)?;
        let sensors: Vec<&(String, Vec<f64>)> =
            frame.columns.iter().filter(|(n, _)| !LABELS.contains(&n.as_str())).collect();
        if sensors.is_empty() {
            return Err(Error::NoRows { path: path.to_owned(), detail: " (no sensor columns)".into() });
        }
        let rows = frame.len();
        let mut values = Vec::with_capacity(rows * sensors.len());
        for r in 0..rows {
            values.extend(sensors.iter().map(|(_, v)| v[r] as f32));
        }
        let name = path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/");
        Ok(Some(SkabFile {
            path: path.to_owned(),
            name,
            timestamps: frame.timestamps,
            features: sensors.iter().map(|(n, _)| n.clone()).collect(),
            values,
            anomaly,
            changepoint,
        }))
    }
}

/// Every labelled SKAB-format file under `dir` (recursively, sorted), and the
/// files left out (no labels, or no rows after the first [`TRAIN_ROWS`]).
pub fn read_folder(dir: &Path) -> Result<(Vec<SkabFile>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in csv_files(dir)? {
        match SkabFile::read(&path, dir)? {
            Some(f) if f.rows() > TRAIN_ROWS => files.push(f),
            _ => skipped.push(path),
        }
    }
    if files.is_empty() {
        return Err(Error::Undefined(format!(
            "{}: no labelled SKAB files (';'-separated CSV with datetime, sensors, anomaly, changepoint; more than {TRAIN_ROWS} rows)",
            dir.display()
        )));
    }
    Ok((files, skipped))
}
