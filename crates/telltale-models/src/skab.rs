//! SKAB's protocol for any preset or baseline of the zoo: per file, fit on
//! the first 400 rows, score the rest; pool the counts over files.
//!
//! Per file: the scaler is fitted on the first 400 rows; windows ending
//! inside them train the model (the last fifth of them validate, for early
//! stopping); the threshold comes from the scores of those same training
//! windows (label-free: no label is read before scoring); each test row is
//! flagged by the window that ends on it, so a row is judged from the past
//! alone. Changepoints are the rows where the flags change (|diff|, as the
//! upstream notebooks derive them), scored with NAB's rules in 60-second
//! windows to the right of each labelled changepoint.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use telltale_core::benchmarks::skab::{SkabFile, TRAIN_ROWS};
use telltale_core::metrics::Confusion;
use telltale_core::metrics::nab::{PROFILES, Series, score_at};
use telltale_core::{Dataset, Scaler, ScalerKind, ThresholdSpec};

use crate::baselines::Baseline;
use crate::config::{ModelConfig, WindowConfig};
use crate::error::{Error, Result};
use crate::pipeline::Detector;
use crate::samples::WindowData;
use crate::train::{Quiet, TrainConfig, train};

/// One detector of the SKAB run: the model sections of an experiment file.
#[derive(Debug, Clone, Deserialize)]
pub struct SkabDetector {
    /// Name in the tables.
    pub name: String,
    /// Seed of weights and shuffles.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Scaler fitted on each file's first 400 rows.
    #[serde(default)]
    pub scaler: ScalerKind,
    /// Windows.
    pub window: WindowConfig,
    /// The model.
    pub model: ModelConfig,
    /// Training (networks).
    #[serde(default)]
    pub train: TrainConfig,
    /// Threshold fitted on the training windows' scores (default: 99th percentile).
    #[serde(default)]
    pub threshold: Option<ThresholdSpec>,
    /// Multiplier on the fitted threshold (SKAB's notebooks use 3/2 of a
    /// training quantile for their autoencoders).
    #[serde(default = "one")]
    pub margin: f64,
    /// A row is flagged when the windows ending on it and on the `hold − 1`
    /// rows before it all reach the threshold (1: the window alone).
    #[serde(default = "one_row")]
    pub hold: usize,
}

fn one_row() -> usize {
    1
}

fn default_seed() -> u64 {
    42
}

fn one() -> f64 {
    1.0
}

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
    let task = det.model.task();
    let channels = file.features.len();
    let mut data =
        Dataset::from_parts(file.features.clone(), file.values.clone(), Some(file.timestamps.clone()), None)?;
    let fit_rows: Vec<bool> = (0..file.rows()).map(|r| r < TRAIN_ROWS).collect();
    let scaler = Scaler::fit(det.scaler, data.values(), channels, &fit_rows)?;
    scaler.transform(data.values_mut());
    let windows = det.window.windows(task, &data)?;
    let wd = WindowData { values: data.values(), channels, windows: &windows, row_labels: None };
    let all: Vec<usize> = (0..windows.len()).collect();
    let fit: Vec<usize> = all.iter().copied().filter(|&i| windows.rows(i).end <= TRAIN_ROWS).collect();
    if fit.len() < 10 {
        return Err(Error::Data(format!("{}: fewer than 10 windows in the first {TRAIN_ROWS} rows", file.name)));
    }
    let detector = match &det.model {
        ModelConfig::Neural(net) => {
            let cut = fit.len() - fit.len() / 5;
            let dims = crate::presets::NetDims { channels, steps: wd.steps(), horizon: wd.horizon() };
            let t = train(net, &dims, &wd, &fit[..cut], &fit[cut..], &det.train, det.seed, device, &mut Quiet)?;
            Detector::Neural(t.net)
        }
        ModelConfig::Baseline(b) => Detector::Baseline(Baseline::fit(b, &wd, &fit, det.seed)?),
    };
    let scores = detector.score(task, &wd, &all, &scaler, 0.01, device)?.score;
    let fit_scores: Vec<f64> = fit.iter().map(|&i| scores[i]).collect();
    let spec = det.threshold.unwrap_or(ThresholdSpec::Percentile { q: 99.0 });
    let threshold = match spec.fit(&fit_scores)? {
        telltale_core::Threshold::Static { value } => value * det.margin,
        _ => {
            return Err(Error::config(
                "threshold",
                "SKAB's protocol takes a static threshold (fixed, percentile, pot)",
            ));
        }
    };
    // The window that ends on each row scores it.
    let test_rows = file.rows() - TRAIN_ROWS;
    let mut row_scores = vec![f64::NEG_INFINITY; test_rows];
    for &i in &all {
        let last = windows.rows(i).end - 1;
        if last >= TRAIN_ROWS {
            row_scores[last - TRAIN_ROWS] = scores[i];
        }
    }
    let hold = det.hold.max(1);
    let mut run = 0;
    let flags = row_scores
        .iter()
        .map(|&s| {
            run = if s >= threshold { run + 1 } else { 0 };
            run >= hold
        })
        .collect();
    Ok(FileResult { flags, scores: row_scores, threshold })
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

/// Pools the outcomes of files (same order as `files`) into SKAB's figures.
pub fn pool(files: &[SkabFile], results: &[FileResult]) -> Result<SkabFigures> {
    let mut labels = Vec::new();
    let mut flags = Vec::new();
    let mut relative = Vec::new();
    let mut series = Vec::new();
    for (f, r) in files.iter().zip(results) {
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
