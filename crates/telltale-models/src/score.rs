//! Scoring windows with a trained network. A score is higher for more
//! anomalous windows, and comes with one value per channel so every anomaly
//! can name the sensors behind it.
//!
//! - Classifiers: the probability of the anomalous class (no per-channel part).
//! - Forecasters (seed 002): for every channel of every predicted step,
//!   `|actual − prediction| / (std of the lookback's values + ε)` in the
//!   data's own units; the window's score is the largest, so "score ≥ k" is
//!   the seed's "outside prediction ± k·(std + ε)".
//! - Autoencoders: the reconstruction MSE of each channel over the window;
//!   the score is their mean.

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use telltale_core::Scaler;

use crate::presets::{Net, NetOutput, Task};
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
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default()
}

/// Scores windows `idx` of `data` with `net` (in inference mode) on `device`.
/// `eps` is the ε of the forecasters' rule; `scaler` maps scaled values back
/// to the data's units for it.
pub fn score_windows(
    net: &Net,
    task: Task,
    data: &WindowData,
    idx: &[usize],
    scaler: &Scaler,
    eps: f64,
    device: &Device,
) -> Scores {
    let c = data.channels;
    let mut out = Scores { channels: if task == Task::Classify { 0 } else { c }, ..Default::default() };
    let (mut sq, mut n_err) = (vec![0f64; c], 0usize);
    for chunk in idx.chunks(512) {
        let (b, t) = (chunk.len(), data.steps());
        let inputs = data.inputs(chunk);
        let x = Tensor::<3>::from_data(TensorData::new(inputs.clone(), [b, t, c]), device);
        match net.forward(x) {
            NetOutput::Logit(z, _) => {
                out.score.extend(to_vec(z).iter().map(|&z| 1.0 / (1.0 + (-f64::from(z)).exp())));
            }
            NetOutput::Reconstruction(r) => {
                let r = to_vec(r);
                for (rw, xw) in r.chunks_exact(t * c).zip(inputs.chunks_exact(t * c)) {
                    let mut ch = vec![0f64; c];
                    for (rr, xr) in rw.chunks_exact(c).zip(xw.chunks_exact(c)) {
                        for ((acc, &a), &b) in ch.iter_mut().zip(rr).zip(xr) {
                            let d = f64::from(a - b);
                            *acc += d * d / t as f64;
                        }
                    }
                    out.score.push(ch.iter().sum::<f64>() / c as f64);
                    out.per_channel.extend(ch);
                }
            }
            NetOutput::Forecast(p) => {
                let h = data.horizon();
                let mut pred = to_vec(p);
                let mut actual = data.targets(chunk);
                let mut past = inputs;
                scaler.inverse_transform(&mut pred);
                scaler.inverse_transform(&mut actual);
                scaler.inverse_transform(&mut past);
                for w in 0..b {
                    let mut ch = vec![0f64; c];
                    for k in 0..c {
                        let vals = (0..t).map(|s| f64::from(past[(w * t + s) * c + k]));
                        let mean = vals.clone().sum::<f64>() / t as f64;
                        let std = (vals.map(|v| (v - mean) * (v - mean)).sum::<f64>() / t as f64).sqrt();
                        for s in 0..h {
                            let at = (w * h + s) * c + k;
                            let err = f64::from(actual[at] - pred[at]);
                            sq[k] += err * err;
                            ch[k] = ch[k].max(err.abs() / (std + eps));
                        }
                    }
                    n_err += h;
                    out.score.push(ch.iter().copied().fold(0.0, f64::max));
                    out.per_channel.extend(ch);
                }
            }
        }
    }
    if task == Task::Forecast {
        out.rmse = Some(sq.iter().map(|s| (s / n_err.max(1) as f64).sqrt()).collect());
    }
    out
}
