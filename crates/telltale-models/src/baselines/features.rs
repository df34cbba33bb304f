//! Window features for the classic baselines.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::samples::WindowData;

/// How a window becomes one feature vector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Features {
    /// Every value of the window, step by step (`steps × channels` features).
    #[default]
    Flat,
    /// Mean, standard deviation, minimum, maximum and RMS of each channel (`5 × channels`).
    Stats,
}

/// Statistics per channel in [`Features::Stats`].
pub const STATS: usize = 5;

impl Features {
    /// The channel feature `j` describes.
    pub fn channel(self, j: usize, channels: usize) -> usize {
        match self {
            Features::Flat => j % channels,
            Features::Stats => j / STATS,
        }
    }

    /// Feature matrix `[idx.len(), features]` of windows `idx`.
    pub fn matrix(self, data: &WindowData, idx: &[usize]) -> Array2<f64> {
        let (t, c) = (data.steps(), data.channels);
        let width = match self {
            Features::Flat => t * c,
            Features::Stats => STATS * c,
        };
        let inputs = data.inputs(idx);
        let mut out = Array2::<f64>::zeros((idx.len(), width));
        for (w, window) in inputs.chunks_exact(t * c).enumerate() {
            let mut row = out.row_mut(w);
            match self {
                Features::Flat => row.iter_mut().zip(window).for_each(|(o, &v)| *o = f64::from(v)),
                Features::Stats => {
                    for k in 0..c {
                        let vals: Vec<f64> = (0..t).map(|s| f64::from(window[s * c + k])).collect();
                        let mean = vals.iter().sum::<f64>() / t as f64;
                        let var = vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / t as f64;
                        let rms = (vals.iter().map(|v| v * v).sum::<f64>() / t as f64).sqrt();
                        let (lo, hi) =
                            vals.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
                        for (s, v) in [mean, var.sqrt(), lo, hi, rms].into_iter().enumerate() {
                            row[k * STATS + s] = v;
                        }
                    }
                }
            }
        }
        out
    }
}
