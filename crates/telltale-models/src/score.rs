//! Scoring windows with a trained network. A score is higher for more
//! anomalous windows, and comes with one value per channel so every anomaly
//! can name the sensors behind it.
//!
//! - Classifiers: the probability of the anomalous class (no per-channel part).
//! - Forecasters (seed 002): for every channel of every predicted step,
//!   `|actual − prediction| / (std of the lookback's values + ε)` in the
//!   data's own units; the window's score is the largest, so "score ≥ k" is
//!   the seed's "outside prediction ± k·(std + ε)". [`forecast_errors`] gives
//!   the plain `|actual − prediction|` instead (telemanom's error).
//! - Autoencoders: the reconstruction MSE of each channel over the window;
//!   the score is their mean.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use telltale_core::{Scaler, Threshold};
use telltale_runtime::model::Batch;
use telltale_runtime::{Model as RuntimeModel, Pool, ScoreSpec, Scores as RuntimeScores};

use crate::error::Result;
use crate::export::{HeaderParts, runtime_model};
use crate::presets::{Net, NetDims, Task};
use crate::samples::WindowData;
/// Scores of a set of windows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// One score per window, higher = more anomalous.
    pub score: Vec<f64>,
    /// Per-channel contributions `[windows, channels]`, row-major (empty for classifiers).
    pub per_channel: Vec<f64>,
    /// Channels per window in `per_channel`.
    pub channels: usize,
    /// Forecast RMSE per channel over these windows, in the data's units (forecasters).
    pub rmse: Option<Vec<f64>>,
}

impl Scores {
    /// Channel indices of window `i`, largest contribution first.
    pub fn top_channels(&self, i: usize) -> Vec<usize> {
        if self.per_channel.is_empty() || self.channels == 0 {
            return Vec::new();
        }
        let row = &self.per_channel[i * self.channels..(i + 1) * self.channels];
        let mut order: Vec<usize> = (0..self.channels).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
        order
    }

    /// The `k` channels contributing most to window `i`, with their share of
    /// the window's summed per-channel error (shares of all channels add to 1).
    pub fn top_shares(&self, i: usize, k: usize) -> Vec<(usize, f64)> {
        let order = self.top_channels(i);
        if order.is_empty() {
            return Vec::new();
        }
        let row = &self.per_channel[i * self.channels..(i + 1) * self.channels];
        let total: f64 = row.iter().map(|v| v.abs()).sum();
        order.into_iter().take(k).map(|c| (c, if total > 0.0 { row[c].abs() / total } else { 0.0 })).collect()
    }
}

/// Windows per call to the runtime in each thread.
const TILE: usize = 32;

/// Scores windows `idx` of `data` with `net`, run by telltale-runtime on
/// every core (the same code `serve` and exported models use). `eps` is the
/// ε of the forecasters' rule; `scaler` maps scaled values back to the
/// data's units for it. `_device` is where the network was trained; scoring
/// always runs on the CPU runtime.
pub fn score_windows(
    net: &Net,
    task: Task,
    data: &WindowData,
    idx: &[usize],
    scaler: &Scaler,
    eps: f64,
    _device: &Device,
) -> Result<Scores> {
    run_scores(net, task, data, idx, scaler, eps, None)
}

/// A forecaster's windows `idx` scored by their largest absolute forecast
/// error in the data's units (telemanom's error, for its dynamic threshold),
/// not seed 002's error over the look-back's deviation.
pub fn forecast_errors(net: &Net, data: &WindowData, idx: &[usize], scaler: &Scaler) -> Result<Scores> {
    run_scores(net, Task::Forecast, data, idx, scaler, 0.0, Some(ScoreSpec::ForecastError))
}

/// Scores by the task's rule, or by `rule` when given.
fn run_scores(
    net: &Net,
    task: Task,
    data: &WindowData,
    idx: &[usize],
    scaler: &Scaler,
    eps: f64,
    rule: Option<ScoreSpec>,
) -> Result<Scores> {
    let c = data.channels;
    let features: Vec<String> = (0..c).map(|i| format!("x{i}")).collect();
    let threshold = Threshold::Static { value: 0.0 };
    let parts = HeaderParts {
        name: "scoring",
        preset: "",
        task,
        features: &features,
        dims: NetDims { channels: c, steps: data.steps(), horizon: data.horizon() },
        step: 1,
        scaler,
        threshold: &threshold,
        eps,
        info: serde_json::Value::Null,
    };
    let mut model = runtime_model(net, &parts)?;
    if let Some(rule) = rule {
        model.header.score = rule;
    }
    runtime_scores(&model, task, data, idx)
}

/// Windows `idx` scored by a runtime model's network and score rule (the data scaled as the model's scaler).
pub fn runtime_scores(model: &RuntimeModel, task: Task, data: &WindowData, idx: &[usize]) -> Result<Scores> {
    let c = data.channels;
    let mut pool = Pool::new(&model.network, 0, TILE);
    let mut acc = RuntimeScores::default();
    let per = model.network.output_len();
    let mut outputs = Vec::new();
    for chunk in idx.chunks(4096) {
        let inputs = data.inputs(chunk);
        let targets = if task == Task::Forecast { data.targets(chunk) } else { Vec::new() };
        outputs.resize(chunk.len() * per, 0.0);
        pool.run(&model.network, &inputs, chunk.len(), &mut outputs)
            .map_err(|e| crate::Error::Data(format!("scoring: {e}")))?;
        let batch = Batch {
            windows: chunk.len(),
            steps: data.steps(),
            channels: c,
            inputs: &inputs,
            outputs: &outputs,
            targets: &targets,
        };
        acc.push(model.header.score, &model.header.scaler, batch);
    }
    let n_err = acc.predicted.max(1) as f64;
    Ok(Scores {
        channels: if task == Task::Classify { 0 } else { c },
        rmse: (task == Task::Forecast).then(|| {
            let sq = if acc.sq_error.is_empty() { vec![0.0; c] } else { acc.sq_error.clone() };
            sq.iter().map(|s| (s / n_err).sqrt()).collect()
        }),
        score: acc.score,
        per_channel: acc.per_channel,
    })
}
