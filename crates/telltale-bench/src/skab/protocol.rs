//! SKAB's protocol for any preset or baseline of the zoo: per file, fit on
//! the first 400 rows, score the rest; pool the counts over files. The roster
//! (`examples/skab-bench.toml`) says which detectors run, with which threshold rules.
//!
//! Per file: the scaler is fitted on the first 400 rows; windows ending
//! inside them train the model (the last fifth of them validate, for early
//! stopping); the threshold comes from the scores of those same training
//! windows (label-free: no label is read before scoring); each test row is
//! flagged by the window that ends on it, so a row is judged from the past
//! alone. Changepoints are the rows where the flags change (|diff|, as the
//! upstream notebooks derive them), scored with NAB's rules in 60-second
//! windows to the right of each labelled changepoint.

use std::path::PathBuf;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use telltale_core::Dataset;
use telltale_core::metrics::Confusion;
use telltale_core::metrics::nab::{PROFILES, Series, score_at};
use telltale_models::config::data_root;
use telltale_report::{Record, RunInfo, ScoreRow};

use crate::error::{Context, Error, Result};
use crate::roster::select;
use crate::skab::corpus::{SkabFile, TRAIN_ROWS, read_folder};
use crate::skab::cv::{SkabCv, cross_validate};
use crate::zoo::{ZooDetector, fit_score};

/// The detectors and their threshold rules, `examples/skab-bench.toml`.
const ROSTER: &str = include_str!("../../../../examples/skab-bench.toml");

/// The protocol in words, as reports print it.
const PROTOCOL: &str = "SKAB: per file, scaler, model and threshold fitted on the first 400 rows (no labels read), \
                        the rest scored, each row by the window ending on it; confusion counts pooled over files; \
                        changepoints = |diff(flags)|, NAB-scored in 60 s windows right of each labelled changepoint";

/// One detector of the SKAB run (a detector of the zoo; SKAB reads every column).
pub type SkabDetector = ZooDetector;

/// What one file gives.
#[derive(Debug, Clone, PartialEq)]
pub struct FileResult {
    /// Flags of the test rows (rows 400..).
    pub flags: Vec<bool>,
    /// Scores of the test rows.
    pub scores: Vec<f64>,
    /// The threshold used.
    pub threshold: f64,
}

impl FileResult {
    /// The threshold's magnitude (1 for a zero threshold): scores divided by it share one cut, 1, across files.
    pub fn scale(&self) -> f64 {
        if self.threshold.abs() > 0.0 { self.threshold.abs() } else { 1.0 }
    }
}

/// Runs one detector on one file.
pub fn run_file(det: &SkabDetector, file: &SkabFile, device: &Device) -> Result<FileResult> {
    let data = Dataset::from_parts(file.features.clone(), file.values.clone(), Some(file.timestamps.clone()), None)?;
    let scored = fit_score(det, &data, TRAIN_ROWS, &data, &file.name, device)?;
    let threshold = det.static_threshold(&scored.fit).map_err(|e| match e {
        Error::Config { field, .. } => {
            Error::Config { field, message: "SKAB's protocol takes a static threshold (fixed, percentile, pot)".into() }
        }
        other => other,
    })?;
    let scores = scored.rows[TRAIN_ROWS..].to_vec();
    let flags = det.flags(&scores, threshold);
    Ok(FileResult { flags, scores, threshold })
}

/// Pooled figures of one detector over the files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SkabFigures {
    /// F1 of the anomalous class, pooled counts.
    pub f1: f64,
    /// False-alarm rate, percent.
    pub far: f64,
    /// Missed-alarm rate, percent.
    pub mar: f64,
    /// NAB standard, low-FP and low-FN scores of the derived changepoints.
    pub nab: [f64; 3],
    /// Labelled changepoints missed (standard profile).
    pub missed_changepoints: usize,
    /// Derived changepoints outside every window.
    pub false_changepoints: usize,
    /// ROC-AUC of the pooled test rows, each file's scores divided by its
    /// threshold (how well the scores rank, whatever the threshold rule).
    pub roc_auc: f64,
    /// The best F1 any single pooled cut of those relative scores reaches:
    /// an oracle (it reads the labels), for reference only.
    pub oracle_f1: f64,
    /// Pooled confusion counts.
    pub confusion: Confusion,
}

/// Pools the outcomes of files (each file with its result) into SKAB's figures.
pub fn pool<'a>(files: impl IntoIterator<Item = (&'a SkabFile, &'a FileResult)>) -> Result<SkabFigures> {
    let mut labels = Vec::new();
    let mut flags = Vec::new();
    let mut relative = Vec::new();
    let mut series = Vec::new();
    for (f, r) in files {
        labels.extend_from_slice(&f.anomaly[TRAIN_ROWS..]);
        flags.extend_from_slice(&r.flags);
        let t = r.scale();
        relative.extend(r.scores.iter().map(|s| if s.is_finite() { s / t } else { f64::MIN }));
        let ts = &f.timestamps[TRAIN_ROWS..];
        let cp: Vec<f64> =
            (0..r.flags.len()).map(|i| f64::from(u8::from(i > 0 && r.flags[i] != r.flags[i - 1]))).collect();
        let windows: Vec<(i64, i64)> = f.changepoint[TRAIN_ROWS..]
            .iter()
            .zip(ts)
            .filter(|(c, _)| **c == 1)
            .map(|(_, &t)| (t, t + 60_000))
            .collect();
        series.push(Series::with_probation(f.name.clone(), ts, &cp, &windows, 0)?);
    }
    let c = Confusion::from_flags(&labels, &flags)?;
    // The derived changepoints are 0/1 scores: every 1 is a detection.
    let [standard, low_fp, low_fn] = PROFILES.map(|p| score_at(&series, &p, 0.5));
    let roc_auc = telltale_core::metrics::roc_auc(&labels, &relative).unwrap_or(f64::NAN);
    let oracle_f1 = oracle_f1(&labels, &relative);
    let pct = |a: usize, b: usize| if a + b == 0 { 0.0 } else { 100.0 * a as f64 / (a + b) as f64 };
    Ok(SkabFigures {
        f1: c.f1(),
        far: pct(c.fp, c.tn),
        mar: pct(c.fn_, c.tp),
        nab: [standard.score, low_fp.score, low_fn.score],
        missed_changepoints: standard.total.missed,
        false_changepoints: standard.total.false_positives,
        roc_auc,
        oracle_f1,
        confusion: c,
    })
}

/// The best F1 over every cut of `scores` (flag `>=` the cut).
fn oracle_f1(labels: &[u8], scores: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let positives = labels.iter().filter(|&&l| l == 1).count() as f64;
    let (mut tp, mut fp, mut best) = (0.0, 0.0, 0.0_f64);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] == 1 {
            tp += 1.0
        } else {
            fp += 1.0
        }
        let tie = order.get(k + 1).is_some_and(|&j| scores[j] == scores[i]);
        if !tie {
            best = best.max(2.0 * tp / (tp + fp + positives));
        }
    }
    best
}

/// The built-in roster: every zoo preset and baseline that fits SKAB, with its threshold rule.
pub fn roster() -> Result<Vec<SkabDetector>> {
    parse_roster(ROSTER, "examples/skab-bench.toml")
}

/// A roster laid out like `examples/skab-bench.toml`; `origin` names it in errors.
pub fn parse_roster(text: &str, origin: &str) -> Result<Vec<SkabDetector>> {
    #[derive(serde::Deserialize)]
    struct Roster {
        detector: Vec<SkabDetector>,
    }
    Ok(toml::from_str::<Roster>(text).context_with(|| origin.to_owned())?.detector)
}

/// What `telltale bench skab` runs.
#[derive(Debug, Clone, Default)]
pub struct SkabOptions {
    /// Folder of SKAB-format files, searched recursively (default: `$TELLTALE_DATA/SKAB/data`).
    pub data_dir: Option<PathBuf>,
    /// Only these detectors (default: the whole roster).
    pub models: Vec<String>,
    /// Write a run record per detector here (`<detector>/run.json`, `scores.csv`).
    pub report: Option<PathBuf>,
    /// Also cross-validate the choice of detector over this many folds of files.
    pub cv: Option<usize>,
    /// A grid of settings (laid out like the roster) run instead of it; with `cv` its
    /// cross-validated figure (the cell chosen on the other folds) is the headline.
    pub search: Option<PathBuf>,
}

/// One detector's pooled figures.
#[derive(Debug, Serialize)]
pub struct Row {
    /// The detector.
    pub name: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: SkabFigures,
    /// Wall-clock seconds of its run over every file.
    pub seconds: f64,
}

/// The best detector, as the JSON's `best` key.
#[derive(Debug, Serialize)]
pub struct Best {
    /// The detector.
    pub name: String,
    /// Its F1.
    pub f1: f64,
    /// Its false-alarm rate, percent.
    pub far: f64,
    /// Its missed-alarm rate, percent.
    pub mar: f64,
}

/// What `bench skab` gives (its `--json` output).
#[derive(Debug, Serialize)]
pub struct SkabReport {
    /// The folder read.
    pub data_dir: PathBuf,
    /// Labelled files run.
    pub files: usize,
    /// Rows scored over every file.
    pub test_rows: usize,
    /// The protocol in words.
    pub protocol: String,
    /// The detector with the best F1.
    pub best: Best,
    /// Every detector, in roster order.
    pub detectors: Vec<Row>,
    /// Files left out (no labels, or too short).
    pub skipped: Vec<PathBuf>,
    /// Cross-validated figures (`--cv K`); every figure outside `cv` is in-sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cv: Option<SkabCv>,
    /// True when the detectors are a `--search` grid: `cv` is then the search's honest figure.
    pub search: bool,
}

/// The files read and the detectors chosen, before any is run.
#[derive(Debug)]
pub struct SkabRun {
    dir: PathBuf,
    files: Vec<SkabFile>,
    skipped: Vec<PathBuf>,
    roster: Vec<SkabDetector>,
    report: Option<PathBuf>,
    cv: Option<usize>,
    search: bool,
}

impl SkabRun {
    /// Reads the folder and the roster, and picks the detectors asked for.
    pub fn prepare(options: &SkabOptions) -> Result<SkabRun> {
        let dir = options.data_dir.clone().unwrap_or_else(|| data_root().join("SKAB/data"));
        let (files, skipped) =
            read_folder(&dir).context_with(|| format!("reading SKAB files under {}", dir.display()))?;
        let all = match &options.search {
            Some(p) => {
                if options.cv.is_none() {
                    return Err(Error::Config {
                        field: "--search".into(),
                        message: "a search is judged by its cross-validated score: add --cv K".into(),
                    });
                }
                let text = std::fs::read_to_string(p).context_with(|| format!("reading {}", p.display()))?;
                parse_roster(&text, &p.display().to_string())?
            }
            None => roster()?,
        };
        let roster = select(all, &options.models, "--models", |d| &d.name)?;
        let search = options.search.is_some();
        Ok(SkabRun { dir, files, skipped, roster, report: options.report.clone(), cv: options.cv, search })
    }

    /// Runs every chosen detector on every file (networks on `device`) and pools the figures.
    pub fn run(self, device: &Device) -> Result<SkabReport> {
        let files = &self.files;
        let mut rows = Vec::new();
        let mut results_by = Vec::new();
        for det in &self.roster {
            let started = std::time::Instant::now();
            let mut results = Vec::with_capacity(files.len());
            for f in files {
                results
                    .push(run_file(det, f, device).context_with(|| format!("{} on {}", det.name, f.path.display()))?);
            }
            let figures = pool(files.iter().zip(&results))?;
            if let Some(out) = &self.report {
                record(det, &figures, files, &results).write(&out.join(&det.name))?;
            }
            tracing::info!(detector = %det.name, f1 = figures.f1, far = figures.far, "done");
            rows.push(Row { name: det.name.clone(), figures, seconds: started.elapsed().as_secs_f64() });
            results_by.push((det.name.clone(), results));
        }
        let cv = self.cv.map(|k| cross_validate(files, &results_by, k)).transpose()?;
        let best = rows
            .iter()
            .max_by(|a, b| a.figures.f1.total_cmp(&b.figures.f1))
            .ok_or_else(|| Error::Failed("no detector to run".into()))?;
        Ok(SkabReport {
            data_dir: self.dir.clone(),
            files: files.len(),
            test_rows: files.iter().map(|f| f.rows() - TRAIN_ROWS).sum(),
            protocol: PROTOCOL.into(),
            best: Best { name: best.name.clone(), f1: best.figures.f1, far: best.figures.far, mar: best.figures.mar },
            detectors: rows,
            skipped: self.skipped,
            cv,
            search: self.search,
        })
    }
}

/// One detector's run record: every test row of every file, its score divided
/// by that file's threshold (so one cut, 1, serves every file).
fn record(det: &SkabDetector, f: &SkabFigures, files: &[SkabFile], results: &[FileResult]) -> Record {
    let channels = files.first().map(|f| f.features.clone()).unwrap_or_default();
    let mut rows = Vec::new();
    for (file, r) in files.iter().zip(results) {
        let width = file.features.len();
        let same = file.features == channels;
        let t = r.scale();
        for (k, (&score, &flag)) in r.scores.iter().zip(&r.flags).enumerate() {
            let row = TRAIN_ROWS + k;
            rows.push(ScoreRow {
                series: file.name.clone(),
                row,
                time_ms: Some(file.timestamps[row]),
                label: Some(file.anomaly[row]),
                score: score / t,
                flag,
                values: if same {
                    file.values[row * width..(row + 1) * width].iter().map(|&v| f64::from(v)).collect()
                } else {
                    vec![f64::NAN; channels.len()]
                },
            });
        }
    }
    let info = RunInfo {
        title: format!("{} on SKAB ({} files)", det.name, files.len()),
        kind: "bench skab".into(),
        protocol: "per file: scaler, model and threshold fitted on the first 400 rows (not drawn), the rest scored; \
                   score shown divided by the file's threshold, so 1 is the cut everywhere"
            .into(),
        threshold: Some(1.0),
        figures: vec![
            ("F1".into(), format!("{:.3}", f.f1)),
            ("FAR %".into(), format!("{:.2}", f.far)),
            ("MAR %".into(), format!("{:.2}", f.mar)),
            ("NAB standard (changepoints)".into(), format!("{:.2}", f.nab[0])),
            ("ROC-AUC".into(), format!("{:.3}", f.roc_auc)),
        ],
        channels,
    };
    Record { info, rows, history: Vec::new() }
}
