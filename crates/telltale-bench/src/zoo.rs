//! A detector of the model zoo as the benchmarks run it: an experiment's
//! model sections (scaler, windows, model, training) plus the threshold rule,
//! fitted on nominal rows and scored on others, each row by the window that
//! ends on it (so a row is judged from the past alone).
//!
//! SKAB fits on each file's first 400 rows and scores the rest of the same
//! file; MSL fits on a channel's train array and scores its test array. Both
//! come through [`fit_score`].

use burn::tensor::Device;
use serde::Deserialize;
use telltale_core::{Dataset, Scaler, ScalerKind, ThresholdSpec};
use telltale_models::baselines::Baseline;
use telltale_models::config::{ModelConfig, WindowConfig};
use telltale_models::pipeline::Detector;
use telltale_models::presets::Task;
use telltale_models::samples::WindowData;
use telltale_models::score::forecast_errors;
use telltale_models::train::{Quiet, TrainConfig, train};

use crate::error::{Error, Result};

/// One detector of a benchmark's roster.
#[derive(Debug, Clone, Deserialize)]
pub struct ZooDetector {
    /// Name in the tables.
    pub name: String,
    /// Seed of weights and shuffles.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Scaler fitted on the nominal rows.
    #[serde(default)]
    pub scaler: ScalerKind,
    /// Windows.
    pub window: WindowConfig,
    /// The model.
    pub model: ModelConfig,
    /// Training (networks).
    #[serde(default)]
    pub train: TrainConfig,
    /// Threshold rule (default: the 99th percentile of the training windows' scores).
    #[serde(default)]
    pub threshold: Option<ThresholdSpec>,
    /// Multiplier on a threshold fitted on the training scores (SKAB's notebooks
    /// use 3/2 of a training quantile for their autoencoders).
    #[serde(default = "one")]
    pub margin: f64,
    /// A row is flagged when the windows ending on it and on the `hold − 1`
    /// rows before it all reach the threshold (1: the window alone).
    #[serde(default = "one_row")]
    pub hold: usize,
    /// Which columns the detector reads (MSL: `value`, column 0 alone, or `all`; SKAB reads all).
    #[serde(default)]
    pub columns: Columns,
    /// A forecaster's score (forecasters only).
    #[serde(default)]
    pub forecast_error: ForecastError,
}

/// How a forecaster's error becomes its score.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForecastError {
    /// `|actual − predicted| / (std of the look-back + 0.01)` (seed 002's rule).
    #[default]
    Deviation,
    /// `|actual − predicted|` in the data's units, whatever the scaler (telemanom's error).
    Absolute,
}

/// The columns a detector reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Columns {
    /// Every column.
    #[default]
    All,
    /// The first column alone (MSL's telemetry value; the rest are command flags).
    Value,
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

/// What fitting and scoring give.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Scores of the training windows (what a label-free threshold is fitted on).
    pub fit: Vec<f64>,
    /// One score per row of the scored data: the window ending on that row's,
    /// `-inf` for the first rows, on which no window ends.
    pub rows: Vec<f64>,
}

/// Fits `det` on the windows of `fit_on` that end within its first
/// `fit_rows` rows (scaler on those rows too) and scores every window of
/// `score_on` (which may be `fit_on` itself). `what` names the data in errors.
pub fn fit_score(
    det: &ZooDetector,
    fit_on: &Dataset,
    fit_rows: usize,
    score_on: &Dataset,
    what: &str,
    device: &Device,
) -> Result<Scored> {
    let task = det.model.task();
    let channels = fit_on.features().len();
    let mask: Vec<bool> = (0..fit_on.n_rows()).map(|r| r < fit_rows).collect();
    let scaler = Scaler::fit(det.scaler, fit_on.values(), channels, &mask)?;
    let mut train_data = fit_on.clone();
    scaler.transform(train_data.values_mut());
    let train_windows = det.window.windows(task, &train_data)?;
    let fit: Vec<usize> = (0..train_windows.len()).filter(|&i| train_windows.rows(i).end <= fit_rows).collect();
    if fit.len() < 10 {
        return Err(Error::Data(format!("{what}: fewer than 10 windows in the {fit_rows} rows fitted on")));
    }
    let twd = WindowData { values: train_data.values(), channels, windows: &train_windows, row_labels: None };
    let detector = match &det.model {
        ModelConfig::Neural(net) => {
            let cut = fit.len() - fit.len() / 5;
            let dims = telltale_models::NetDims { channels, steps: twd.steps(), horizon: twd.horizon() };
            let t = train(net, &dims, &twd, &fit[..cut], &fit[cut..], &det.train, det.seed, device, &mut Quiet)?;
            Detector::Neural(t.net)
        }
        ModelConfig::Baseline(b) => Detector::Baseline(Baseline::fit(b, &twd, &fit, det.seed)?),
        ModelConfig::Imported(_) => {
            return Err(Error::Config {
                field: format!("detector '{}' preset", det.name),
                message: "an imported model is not fitted per series; the roster takes zoo presets and baselines"
                    .into(),
            });
        }
    };
    let score = |data: &WindowData, idx: &[usize]| -> Result<Vec<f64>> {
        Ok(match (det.forecast_error, &detector) {
            (ForecastError::Deviation, _) => detector.score(task, data, idx, &scaler, 0.01, device)?.score,
            (ForecastError::Absolute, Detector::Neural(net)) if task == Task::Forecast => {
                forecast_errors(net, data, idx, &scaler)?.score
            }
            (ForecastError::Absolute, _) => {
                return Err(Error::Config {
                    field: format!("detector '{}' forecast_error", det.name),
                    message: "`absolute` is for forecasters".into(),
                });
            }
        })
    };
    let fit_scores = score(&twd, &fit)?;
    let mut test_data = score_on.clone();
    scaler.transform(test_data.values_mut());
    let windows = det.window.windows(task, &test_data)?;
    let wd = WindowData { values: test_data.values(), channels, windows: &windows, row_labels: None };
    let all: Vec<usize> = (0..windows.len()).collect();
    let scores = score(&wd, &all)?;
    let mut rows = vec![f64::NEG_INFINITY; test_data.n_rows()];
    for (&i, &s) in all.iter().zip(&scores) {
        rows[windows.rows(i).end - 1] = s;
    }
    Ok(Scored { fit: fit_scores, rows })
}

impl ZooDetector {
    /// The static threshold its rule fits on the training windows' scores, times `margin`.
    pub fn static_threshold(&self, fit_scores: &[f64]) -> Result<f64> {
        let spec = self.threshold.unwrap_or(ThresholdSpec::Percentile { q: 99.0 });
        match spec.fit(fit_scores)? {
            telltale_core::Threshold::Static { value } => Ok(value * self.margin),
            _ => Err(Error::Config {
                field: "threshold".into(),
                message: "this rule is not fitted on training scores; use fixed, percentile or pot".into(),
            }),
        }
    }

    /// Flags of `scores` at `threshold`, with the `hold` rule.
    pub fn flags(&self, scores: &[f64], threshold: f64) -> Vec<bool> {
        let hold = self.hold.max(1);
        let mut run = 0;
        scores
            .iter()
            .map(|&s| {
                run = if s >= threshold { run + 1 } else { 0 };
                run >= hold
            })
            .collect()
    }
}
