//! The run record: what a training, evaluation or benchmark run leaves behind
//! for its report.
//!
//! ```text
//! run-dir/
//!   run.json      RunInfo: title, kind, protocol, threshold, headline figures, channel names
//!   scores.csv    one row per scored item: series,row,time_ms,label,score,flag,<channel…>
//!   history.csv   optional, per-epoch losses: epoch,train_loss,val_loss,…
//! ```
//!
//! `row` is the item's last row in its series (a window is drawn at the row it
//! ends on), `label` is empty when the data carries none, `flag` is 1 when the
//! detector flagged it, and the channel columns hold the readings at that row.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use telltale_core::{Dataset, Windows};

use crate::error::{Error, Result, io};

/// File name of the run's description.
pub const INFO: &str = "run.json";
/// File name of the scored items.
pub const SCORES: &str = "scores.csv";
/// File name of the per-epoch losses.
pub const HISTORY: &str = "history.csv";

const FIXED: [&str; 6] = ["series", "row", "time_ms", "label", "score", "flag"];

/// What a run was: shown at the top of its report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// One line naming the model and the data.
    pub title: String,
    /// `train`, `evaluate`, `bench skab`, `bench nab`, …
    pub kind: String,
    /// How the figures were obtained (split, threshold, what was scored).
    pub protocol: String,
    /// The static cut on the score, when the threshold is one; `None` when it moves over time.
    pub threshold: Option<f64>,
    /// Headline figures, name and value, in display order.
    pub figures: Vec<(String, String)>,
    /// Names of the channel columns in `scores.csv`.
    pub channels: Vec<String>,
}

/// One scored item (a window, or a reading for streaming detectors).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    /// The series (file) it belongs to.
    pub series: String,
    /// Its last row in the series, 0-based.
    pub row: usize,
    /// Timestamp of that row, milliseconds since the Unix epoch.
    pub time_ms: Option<i64>,
    /// 0 normal, 1 anomalous; `None` without labels.
    pub label: Option<u8>,
    /// The anomaly score (higher = more anomalous).
    pub score: f64,
    /// Whether the detector flagged it.
    pub flag: bool,
    /// Readings at `row`, one per channel of [`RunInfo::channels`].
    pub values: Vec<f64>,
}

/// One epoch of training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Epoch {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation loss, when there was a validation part.
    pub val_loss: Option<f64>,
}

/// A run record, as written by a run and read by the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The description.
    pub info: RunInfo,
    /// The scored items, grouped by series in the order written.
    pub rows: Vec<ScoreRow>,
    /// Per-epoch losses (empty for models that do not train by epochs).
    pub history: Vec<Epoch>,
}

impl Record {
    /// Writes `run.json`, `scores.csv` and, when there is a history, `history.csv` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let info = dir.join(INFO);
        let json = serde_json::to_string_pretty(&self.info).map_err(|e| Error::Parse {
            path: info.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        std::fs::write(&info, json + "\n").map_err(io(&info))?;
        let path = dir.join(SCORES);
        let mut w = csv::Writer::from_path(&path).map_err(|e| csv_error(&path, e))?;
        let mut header: Vec<&str> = FIXED.to_vec();
        header.extend(self.info.channels.iter().map(String::as_str));
        w.write_record(&header).map_err(|e| csv_error(&path, e))?;
        for r in &self.rows {
            let mut fields = vec![
                r.series.clone(),
                r.row.to_string(),
                r.time_ms.map(|t| t.to_string()).unwrap_or_default(),
                r.label.map(|l| l.to_string()).unwrap_or_default(),
                r.score.to_string(),
                u8::from(r.flag).to_string(),
            ];
            fields.extend(r.values.iter().map(f64::to_string));
            w.write_record(&fields).map_err(|e| csv_error(&path, e))?;
        }
        w.flush().map_err(io(&path))?;
        if !self.history.is_empty() {
            let path = dir.join(HISTORY);
            let mut s = String::from("epoch,train_loss,val_loss\n");
            for e in &self.history {
                let val = e.val_loss.map(|v| v.to_string()).unwrap_or_default();
                s += &format!("{},{},{val}\n", e.epoch, e.train_loss);
            }
            std::fs::write(&path, s).map_err(io(&path))?;
        }
        Ok(())
    }

    /// Reads the record in `dir` (`history.csv` is optional; extra columns in it are ignored).
    pub fn read(dir: &Path) -> Result<Record> {
        let path = dir.join(INFO);
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let info: RunInfo = serde_json::from_str(&text).map_err(|e| Error::Parse {
            path: path.clone(),
            line: e.line() as u64,
            message: e.to_string(),
        })?;
        let rows = read_scores(&dir.join(SCORES), &info.channels)?;
        let history_path = dir.join(HISTORY);
        let history = if history_path.exists() { read_history(&history_path)? } else { Vec::new() };
        Ok(Record { info, rows, history })
    }

    /// True when `dir` holds a run record.
    pub fn is_run(dir: &Path) -> bool {
        dir.join(INFO).is_file() && dir.join(SCORES).is_file()
    }

    /// The series names in order of first appearance.
    pub fn series(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.rows {
            if out.last() != Some(&r.series.as_str()) && !out.contains(&r.series.as_str()) {
                out.push(&r.series);
            }
        }
        out
    }
}

/// The scored windows `idx` of `data`: each drawn at the last row it covers,
/// with that row's timestamp and readings and the window's label.
pub fn window_rows(
    series: &str,
    data: &Dataset,
    windows: &Windows,
    idx: &[usize],
    scores: &[f64],
    flags: &[bool],
) -> Vec<ScoreRow> {
    let labels = windows.labels();
    let channels = data.n_features();
    idx.iter()
        .zip(scores.iter().zip(flags))
        .map(|(&i, (&score, &flag))| {
            let row = windows.rows(i).end.saturating_sub(1).min(data.n_rows().saturating_sub(1));
            ScoreRow {
                series: series.to_owned(),
                row,
                time_ms: data.timestamps().map(|t| t[row]),
                label: labels.map(|l| l[i]),
                score,
                flag,
                values: data.values()[row * channels..(row + 1) * channels].iter().map(|&v| f64::from(v)).collect(),
            }
        })
        .collect()
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    Error::Parse { path: path.to_path_buf(), line, message: e.to_string() }
}

fn parse<T: std::str::FromStr>(path: &Path, line: u64, column: &str, text: &str) -> Result<T> {
    text.trim().parse().map_err(|_| Error::Parse {
        path: path.to_path_buf(),
        line,
        message: format!("column '{column}': cannot read '{text}'"),
    })
}

fn read_scores(path: &Path, channels: &[String]) -> Result<Vec<ScoreRow>> {
    let mut r = csv::Reader::from_path(path).map_err(|e| csv_error(path, e))?;
    let header = r.headers().map_err(|e| csv_error(path, e))?.clone();
    let expected: Vec<&str> = FIXED.iter().copied().chain(channels.iter().map(String::as_str)).collect();
    if header.iter().collect::<Vec<_>>() != expected {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            line: 1,
            message: format!("header should be '{}'", expected.join(",")),
        });
    }
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let field = |k: usize| rec.get(k).unwrap_or("");
        let optional = |k: usize| -> Option<&str> { Some(field(k)).filter(|s| !s.trim().is_empty()) };
        let flag: u8 = parse(path, line, "flag", field(5))?;
        rows.push(ScoreRow {
            series: field(0).to_owned(),
            row: parse(path, line, "row", field(1))?,
            time_ms: optional(2).map(|t| parse(path, line, "time_ms", t)).transpose()?,
            label: optional(3).map(|t| parse(path, line, "label", t)).transpose()?,
            score: parse(path, line, "score", field(4))?,
            flag: flag != 0,
            values: (0..channels.len())
                .map(|c| parse(path, line, &channels[c], field(FIXED.len() + c)))
                .collect::<Result<_>>()?,
        });
    }
    Ok(rows)
}

fn read_history(path: &Path) -> Result<Vec<Epoch>> {
    let mut r = csv::Reader::from_path(path).map_err(|e| csv_error(path, e))?;
    let header = r.headers().map_err(|e| csv_error(path, e))?.clone();
    let column = |name: &str| -> Result<usize> {
        header.iter().position(|h| h == name).ok_or_else(|| Error::Parse {
            path: path.to_path_buf(),
            line: 1,
            message: format!("no '{name}' column"),
        })
    };
    let (e, t, v) = (column("epoch")?, column("train_loss")?, column("val_loss")?);
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let val = rec.get(v).unwrap_or("").trim();
        out.push(Epoch {
            epoch: parse(path, line, "epoch", rec.get(e).unwrap_or(""))?,
            train_loss: parse(path, line, "train_loss", rec.get(t).unwrap_or(""))?,
            val_loss: if val.is_empty() { None } else { Some(parse(path, line, "val_loss", val)?) },
        });
    }
    Ok(out)
}

/// Folders under `dir` (itself included) that hold a run record, sorted.
pub fn find_runs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if Record::is_run(dir) {
        out.push(dir.to_path_buf());
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut subs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
        subs.sort();
        for s in subs {
            if Record::is_run(&s) {
                out.push(s);
            }
        }
    }
    out
}
