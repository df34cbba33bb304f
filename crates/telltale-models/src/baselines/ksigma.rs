//! The k-sigma baseline: each channel's mean and standard deviation over
//! normal training rows; a window's score is the largest `|x − mean| / std`
//! of any of its values, so "score ≥ k" flags a reading more than k
//! standard deviations from normal.

use serde::{Deserialize, Serialize};

use crate::samples::WindowData;

/// Per-channel mean and standard deviation of normal rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KSigma {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl KSigma {
    /// Fits on the input rows of windows `idx`.
    pub fn fit(data: &WindowData, idx: &[usize]) -> KSigma {
        let c = data.channels;
        let x = data.inputs(idx);
        let n = (x.len() / c.max(1)).max(1) as f64;
        let mut mean = vec![0f64; c];
        for row in x.chunks_exact(c) {
            mean.iter_mut().zip(row).for_each(|(m, &v)| *m += f64::from(v) / n);
        }
        let mut var = vec![0f64; c];
        for row in x.chunks_exact(c) {
            var.iter_mut().zip(row).zip(&mean).for_each(|((s, &v), m)| *s += (f64::from(v) - m).powi(2) / n);
        }
        KSigma { mean, std: var.iter().map(|v| v.sqrt().max(1e-12)).collect() }
    }

    /// Scores and per-channel maxima of windows `idx`.
    pub fn score(&self, data: &WindowData, idx: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let (t, c) = (data.steps(), data.channels);
        let x = data.inputs(idx);
        let mut scores = Vec::with_capacity(idx.len());
        let mut per_channel = Vec::with_capacity(idx.len() * c);
        for window in x.chunks_exact(t * c) {
            let mut ch = vec![0f64; c];
            for row in window.chunks_exact(c) {
                for k in 0..c {
                    ch[k] = ch[k].max((f64::from(row[k]) - self.mean[k]).abs() / self.std[k]);
                }
            }
            scores.push(ch.iter().copied().fold(0.0, f64::max));
            per_channel.extend(ch);
        }
        (scores, per_channel)
    }
}
