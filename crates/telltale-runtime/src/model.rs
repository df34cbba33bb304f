//! A loaded model: header, network, and the rules that turn network outputs
//! into anomaly scores with one contribution per channel.
//!
//! - Probability: the sigmoid of the logit (no per-channel part).
//! - Reconstruction: each channel's mean squared error over the window; the
//!   score is their mean.
//! - Forecast (seed 002): per channel, the largest `|actual − predicted| /
//!   (std of the window's values + ε)` over the predicted steps, in the data's
//!   units; the score is the largest over channels.

use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::format::{self, Affine, Header, ScoreSpec};
use crate::net::Network;

/// A model ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// What the file says about the model.
    pub header: Header,
    /// The network.
    pub network: Network,
}

impl Model {
    /// Reads a model file (see [`format`](mod@crate::format)).
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let (header, tensors) = format::from_bytes(bytes)?;
        let network = Network::from_header(&header, &tensors)?;
        let c = header.features.len();
        if header.scaler.offset.len() != c || header.scaler.scale.len() != c {
            return Err(Error::invalid("scaler", alloc::format!("needs {c} offsets and scales")));
        }
        let out = network.output_len();
        let expected = match header.score {
            ScoreSpec::Probability => 1,
            ScoreSpec::Reconstruction => header.steps * c,
            ScoreSpec::Forecast { .. } | ScoreSpec::ForecastError => header.horizon * c,
        };
        if out != expected {
            return Err(Error::invalid(
                "layers",
                alloc::format!("output has {out} values, the score needs {expected}"),
            ));
        }
        Ok(Model { header, network })
    }

    /// Channels per step.
    pub fn channels(&self) -> usize {
        self.header.features.len()
    }

    /// Scales raw readings (row-major, one row per step) in place, as in training.
    pub fn scale(&self, values: &mut [f32]) {
        scale(&self.header.scaler, values);
    }
}

/// `(x − offset) / scale` per feature, in place (`f64` arithmetic, as the training scaler).
pub fn scale(s: &Affine, values: &mut [f32]) {
    for row in values.chunks_exact_mut(s.offset.len().max(1)) {
        for ((v, o), k) in row.iter_mut().zip(&s.offset).zip(&s.scale) {
            *v = ((f64::from(*v) - o) / k) as f32;
        }
    }
}

/// Undoes [`scale`] in place.
pub fn unscale(s: &Affine, values: &mut [f32]) {
    for row in values.chunks_exact_mut(s.offset.len().max(1)) {
        for ((v, o), k) in row.iter_mut().zip(&s.offset).zip(&s.scale) {
            *v = (f64::from(*v) * k + o) as f32;
        }
    }
}

/// Scores of windows and what they are made of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    /// One score per window, higher = more anomalous.
    pub score: Vec<f64>,
    /// Per-channel contributions `[windows, channels]` (empty for probabilities).
    pub per_channel: Vec<f64>,
    /// Sum of squared forecast errors per channel, in the data's units (forecasts).
    pub sq_error: Vec<f64>,
    /// Predicted steps counted in `sq_error`.
    pub predicted: usize,
}

/// One batch of network outputs to score.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// Windows.
    pub windows: usize,
    /// Steps per window.
    pub steps: usize,
    /// Channels per step.
    pub channels: usize,
    /// The scaled inputs `[windows, steps, channels]`.
    pub inputs: &'a [f32],
    /// The network's outputs.
    pub outputs: &'a [f32],
    /// Forecasts: the scaled actual next steps `[windows, horizon, channels]`.
    pub targets: &'a [f32],
}

impl Scores {
    /// Scores a batch by `spec`; `scaler` maps forecasts back to the data's units.
    pub fn push(&mut self, spec: ScoreSpec, scaler: &Affine, batch: Batch<'_>) {
        let Batch { windows: b, steps: t, channels: c, inputs, outputs, .. } = batch;
        match spec {
            ScoreSpec::Probability => {
                self.score.extend(outputs[..b].iter().map(|&z| 1.0 / (1.0 + libm::exp(-f64::from(z)))));
            }
            ScoreSpec::Reconstruction => {
                for (rw, xw) in outputs.chunks_exact(t * c).zip(inputs.chunks_exact(t * c)).take(b) {
                    let start = self.per_channel.len();
                    self.per_channel.resize(start + c, 0.0);
                    let ch = &mut self.per_channel[start..];
                    for (rr, xr) in rw.chunks_exact(c).zip(xw.chunks_exact(c)) {
                        for ((acc, &a), &x) in ch.iter_mut().zip(rr).zip(xr) {
                            let d = f64::from(a - x);
                            *acc += d * d / t as f64;
                        }
                    }
                    self.score.push(ch.iter().sum::<f64>() / c as f64);
                }
            }
            ScoreSpec::Forecast { eps } => self.push_forecast(Some(eps), scaler, batch),
            ScoreSpec::ForecastError => self.push_forecast(None, scaler, batch),
        }
    }

    /// Forecast errors in the data's units: divided by the window's std + `eps`
    /// (seed 002's rule), or as they are with no `eps` (telemanom's).
    fn push_forecast(&mut self, eps: Option<f64>, scaler: &Affine, batch: Batch<'_>) {
        let Batch { windows: b, steps: t, channels: c, inputs, outputs, targets } = batch;
        let h = if b == 0 { 0 } else { outputs.len() / (b * c) };
        let (mut pred, mut actual, mut past) =
            (outputs[..b * h * c].to_vec(), targets[..b * h * c].to_vec(), inputs[..b * t * c].to_vec());
        unscale(scaler, &mut pred);
        unscale(scaler, &mut actual);
        unscale(scaler, &mut past);
        if self.sq_error.len() != c {
            self.sq_error = alloc::vec![0.0; c];
        }
        for w in 0..b {
            let start = self.per_channel.len();
            self.per_channel.resize(start + c, 0.0);
            for k in 0..c {
                // seed 002's rule divides by the look-back's std + eps; telemanom's takes the error as it is.
                let denom = eps.map_or(1.0, |eps| {
                    let vals = (0..t).map(|s| f64::from(past[(w * t + s) * c + k]));
                    let mean = vals.clone().sum::<f64>() / t as f64;
                    libm::sqrt(vals.map(|v| (v - mean) * (v - mean)).sum::<f64>() / t as f64) + eps
                });
                for s in 0..h {
                    let at = (w * h + s) * c + k;
                    let err = f64::from(actual[at] - pred[at]);
                    self.sq_error[k] += err * err;
                    let ch = &mut self.per_channel[start + k];
                    *ch = ch.max(err.abs() / denom);
                }
            }
            self.predicted += h;
            let row = &self.per_channel[start..];
            self.score.push(row.iter().copied().fold(0.0, f64::max));
        }
    }
}
