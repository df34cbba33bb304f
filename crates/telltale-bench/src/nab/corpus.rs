//! NAB's corpus reader. Its layouts: a corpus (`data/<category>/<file>.csv` with
//! `timestamp,value`, and `labels/combined_windows.json`), and a detector's
//! result files (`<detector>/<category>/<detector>_<file>.csv` with at least
//! `timestamp,anomaly_score`), written and read back.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use telltale_core::metrics::nab::Series;
use telltale_core::{Error, Intervals, Result, timestamp};

use crate::frame::{Frame, csv_files};

/// One corpus series with its labelled windows.
#[derive(Debug, Clone, PartialEq)]
pub struct NabSeries {
    /// Corpus key: `<category>/<file>.csv`.
    pub key: String,
    /// Epoch milliseconds per row.
    pub timestamps: Vec<i64>,
    /// The value column.
    pub values: Vec<f64>,
    /// Inclusive `[start, end]` windows, epoch milliseconds.
    pub windows: Vec<(i64, i64)>,
}

impl NabSeries {
    /// The most common step between readings, in seconds (0 for one row).
    pub fn step_s(&self) -> f64 {
        let mut steps: Vec<i64> = self.timestamps.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 0).collect();
        if steps.is_empty() {
            return 0.0;
        }
        steps.sort_unstable();
        let (mut best, mut best_n, mut i) = (steps[0], 0, 0);
        while i < steps.len() {
            let j = i + steps[i..].iter().take_while(|&&s| s == steps[i]).count();
            if j - i > best_n {
                (best, best_n) = (steps[i], j - i);
            }
            i = j;
        }
        best as f64 / 1000.0
    }
}

/// Reads the windows file into a map from corpus key to windows.
pub fn read_windows(path: &Path) -> Result<BTreeMap<String, Vec<(i64, i64)>>> {
    Ok(Intervals::read_all(path)?.into_iter().map(|iv| (iv.key, iv.spans)).collect())
}

/// A corpus as read: the series present, and the listed ones whose data file
/// the folder lacks (a held-back split's windows file lists series kept
/// elsewhere).
#[derive(Debug, Clone, PartialEq)]
pub struct NabCorpus {
    /// The series present, in key order.
    pub series: Vec<NabSeries>,
    /// Keys the windows file lists whose data file is absent.
    pub absent: Vec<String>,
}

/// Reads a corpus laid out as NAB's: every `data/**/*.csv` that the windows
/// file `labels/combined_windows.json` lists. A listed file that is absent is
/// counted in [`NabCorpus::absent`] (an error only when none is present);
/// data files it does not list are left out, as NAB does with a reduced
/// windows file. Series come in key order.
pub fn read_corpus(dir: &Path) -> Result<NabCorpus> {
    let windows_path = dir.join("labels").join("combined_windows.json");
    let windows = read_windows(&windows_path)?;
    let data = dir.join("data");
    let mut corpus = NabCorpus { series: Vec::with_capacity(windows.len()), absent: Vec::new() };
    for (key, spans) in windows {
        let path = data.join(&key);
        if !path.is_file() {
            corpus.absent.push(key);
            continue;
        }
        let frame = Frame::read(&path, b',', "timestamp", |c| c == "value")?;
        let values = frame.column("value").map(<[f64]>::to_vec).ok_or_else(|| Error::MissingColumn {
            path: path.clone(),
            column: "value".into(),
            available: "timestamp".into(),
        })?;
        corpus.series.push(NabSeries { key, timestamps: frame.timestamps, values, windows: spans });
    }
    if corpus.series.is_empty() {
        let first = corpus.absent.first().map(String::as_str).unwrap_or("");
        return Err(Error::Intervals {
            path: windows_path,
            message: format!(
                "none of its {} listed series is under {} (the first, '{first}', does not exist)",
                corpus.absent.len(),
                data.display()
            ),
        });
    }
    Ok(corpus)
}

/// One detector's result files, prepared for scoring.
#[derive(Debug, Clone)]
pub struct DetectorResults {
    /// The detector's name (its folder).
    pub detector: String,
    /// One series per scored file, in key order.
    pub series: Vec<Series>,
    /// Result files whose key the windows file does not list.
    pub unlisted: Vec<PathBuf>,
}

/// Reads NAB result files under `dir`: either one detector's folder
/// (`<category>/<detector>_<file>.csv`) or a folder of detector folders.
/// Every key of `windows` must have a result file; `*_scores.csv` summaries
/// are skipped.
pub fn read_results(dir: &Path, windows: &BTreeMap<String, Vec<(i64, i64)>>) -> Result<Vec<DetectorResults>> {
    let files: Vec<PathBuf> =
        csv_files(dir)?.into_iter().filter(|p| !p.to_string_lossy().ends_with("_scores.csv")).collect();
    let depth = |p: &Path| p.strip_prefix(dir).map_or(0, |r| r.components().count());
    let mut by_detector: BTreeMap<(String, PathBuf), Vec<PathBuf>> = BTreeMap::new();
    for f in files {
        let (name, root) = match depth(&f) {
            2 => (dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), dir.to_owned()),
            3 => {
                let root = f.parent().and_then(Path::parent).unwrap_or(dir).to_owned();
                (root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), root)
            }
            _ => continue,
        };
        by_detector.entry((name, root)).or_default().push(f);
    }
    if by_detector.is_empty() {
        return Err(Error::Undefined(format!(
            "{}: no result files (expected <category>/<detector>_<file>.csv, or one such folder per detector)",
            dir.display()
        )));
    }
    let mut out = Vec::new();
    for ((detector, root), files) in by_detector {
        let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut unlisted = Vec::new();
        for f in files {
            let category = f.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned());
            let file = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let base = file.strip_prefix(&format!("{detector}_")).unwrap_or(&file);
            let key = format!("{}/{base}", category.unwrap_or_default());
            if windows.contains_key(&key) {
                found.insert(key, f);
            } else {
                unlisted.push(f);
            }
        }
        let mut series = Vec::with_capacity(windows.len());
        for (key, spans) in windows {
            let path = found.get(key).ok_or_else(|| {
                Error::Undefined(format!("{}: no result file for '{key}' of detector '{detector}'", root.display()))
            })?;
            let frame = Frame::read(path, b',', "timestamp", |c| c == "anomaly_score")?;
            let scores = frame.column("anomaly_score").ok_or_else(|| Error::MissingColumn {
                path: path.clone(),
                column: "anomaly_score".into(),
                available: "timestamp".into(),
            })?;
            series.push(
                Series::new(key.clone(), &frame.timestamps, scores, spans)
                    .map_err(|e| Error::Undefined(format!("{}: {e}", path.display())))?,
            );
        }
        out.push(DetectorResults { detector, series, unlisted });
    }
    Ok(out)
}

/// Writes one series' scores as NAB's result file
/// `<dir>/<detector>/<category>/<detector>_<file>.csv`
/// (`timestamp,value,anomaly_score,label`), and returns its path.
pub fn write_result(dir: &Path, detector: &str, series: &NabSeries, scores: &[f64]) -> Result<PathBuf> {
    let (category, file) = series.key.rsplit_once('/').unwrap_or(("", series.key.as_str()));
    let folder = dir.join(detector).join(category);
    std::fs::create_dir_all(&folder).map_err(|source| Error::Io { path: folder.clone(), source })?;
    let path = folder.join(format!("{detector}_{file}"));
    let io = |source| Error::Io { path: path.clone(), source };
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io)?);
    writeln!(out, "timestamp,value,anomaly_score,label").map_err(io)?;
    let labels = Intervals { key: series.key.clone(), spans: series.windows.clone() }.label(&series.timestamps);
    for (((t, v), s), l) in series.timestamps.iter().zip(&series.values).zip(scores).zip(labels) {
        writeln!(out, "{},{v},{s},{l}", timestamp::format_millis(*t)).map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(path)
}
