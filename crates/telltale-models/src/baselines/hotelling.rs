//! Hotelling's T² of window means, with slow channels read by their rate of
//! change: SKAB's "T-squared" baseline made robust to drift.
//!
//! Each window becomes one vector, a feature per channel: the channel's mean
//! over the window, or, for a *slow* channel, its mean step
//! `(last − first) / (steps − 1)`. A channel is slow when most of its
//! variance over the training windows survives averaging over a window
//! (`var(window means) / var(readings) ≥ slow`): it wanders (a motor
//! warming up) rather than fluctuating around a level, so a level learnt on
//! the first minutes says nothing about the next ones, while its rate of
//! change still does. The score is the squared Mahalanobis distance of the
//! vector from the training mean under the training covariance, its
//! off-diagonal part shrunk by `shrinkage` (1: the channels' variances alone;
//! overlapping windows over a few minutes hold few independent samples, too
//! few for every covariance), plus a ridge of 10⁻⁶ of the mean variance.

use linfa_linalg::eigh::Eigh;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::samples::WindowData;

/// A fitted T² monitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hotelling {
    /// Per channel: read by its mean step instead of its mean.
    pub slow: Vec<bool>,
    mean: Vec<f64>,
    /// Inverse covariance, row-major `[channels, channels]`.
    inverse: Vec<f64>,
}

/// Window features `[idx.len(), channels]`: mean, or mean step for slow channels.
fn features(data: &WindowData, idx: &[usize], slow: &[bool]) -> Array2<f64> {
    let (t, c) = (data.steps(), data.channels);
    let x = data.inputs(idx);
    let mut out = Array2::<f64>::zeros((idx.len(), c));
    for (w, window) in x.chunks_exact(t * c).enumerate() {
        for k in 0..c {
            out[[w, k]] = if slow[k] && t > 1 {
                (f64::from(window[(t - 1) * c + k]) - f64::from(window[k])) / (t - 1) as f64
            } else {
                (0..t).map(|s| f64::from(window[s * c + k])).sum::<f64>() / t as f64
            };
        }
    }
    out
}

/// Population variance of `v`.
fn variance(v: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = v.collect();
    telltale_core::threshold::mean_std(&v).1.powi(2)
}

impl Hotelling {
    /// Fits on windows `idx`; channels whose window means keep at least `slow`
    /// of their variance are read by their mean step (`slow` > 1: none).
    /// The off-diagonal covariances are multiplied by `1 − shrinkage`.
    pub fn fit(data: &WindowData, idx: &[usize], slow: f64, shrinkage: f64) -> Result<Hotelling> {
        let (t, c) = (data.steps(), data.channels);
        if idx.len() < 2 {
            return Err(Error::Data(format!("T² needs at least 2 normal windows, got {}", idx.len())));
        }
        let means = features(data, idx, &vec![false; c]);
        let x = data.inputs(idx);
        let flags: Vec<bool> = (0..c)
            .map(|k| {
                let raw = variance(x.chunks_exact(c).map(|row| f64::from(row[k])));
                let kept = variance(means.column(k).iter().copied());
                t > 1 && raw > 0.0 && kept / raw >= slow
            })
            .collect();
        let f = features(data, idx, &flags);
        let n = f.nrows() as f64;
        let mean: Vec<f64> = (0..c).map(|k| f.column(k).sum() / n).collect();
        let mut cov = Array2::<f64>::zeros((c, c));
        for row in f.outer_iter() {
            for i in 0..c {
                for j in 0..c {
                    cov[[i, j]] += (row[i] - mean[i]) * (row[j] - mean[j]) / (n - 1.0);
                }
            }
        }
        for i in 0..c {
            for j in 0..c {
                if i != j {
                    cov[[i, j]] *= 1.0 - shrinkage;
                }
            }
        }
        let ridge = 1e-6 * (cov.diag().sum() / c as f64).max(1e-12);
        for i in 0..c {
            cov[[i, i]] += ridge;
        }
        let (vals, vecs) =
            cov.eigh().map_err(|e| Error::Data(format!("T² covariance eigendecomposition failed: {e}")))?;
        let mut inverse = vec![0.0; c * c];
        for (m, &lambda) in vals.iter().enumerate() {
            let lambda = lambda.max(ridge);
            for i in 0..c {
                for j in 0..c {
                    inverse[i * c + j] += vecs[[i, m]] * vecs[[j, m]] / lambda;
                }
            }
        }
        Ok(Hotelling { slow: flags, mean, inverse })
    }

    /// T² of windows `idx`, and each channel's part of it (`|dᵢ · (Σ⁻¹d)ᵢ|`), row-major.
    pub fn score(&self, data: &WindowData, idx: &[usize]) -> (Vec<f64>, Vec<f64>) {
        let c = data.channels;
        let f = features(data, idx, &self.slow);
        let mut scores = Vec::with_capacity(idx.len());
        let mut per_channel = Vec::with_capacity(idx.len() * c);
        for row in f.outer_iter() {
            let d: Vec<f64> = (0..c).map(|k| row[k] - self.mean[k]).collect();
            let parts: Vec<f64> =
                (0..c).map(|i| d[i] * (0..c).map(|j| self.inverse[i * c + j] * d[j]).sum::<f64>()).collect();
            scores.push(parts.iter().sum::<f64>().max(0.0));
            per_channel.extend(parts.iter().map(|p| p.abs()));
        }
        (scores, per_channel)
    }
}

#[cfg(test)]
mod tests {
    use telltale_core::{Dataset, WindowSpec, Windows};

    use super::*;

    fn data(rows: usize, f: impl Fn(usize) -> [f32; 2]) -> (Dataset, Windows) {
        let values: Vec<f32> = (0..rows).flat_map(&f).collect();
        let d = Dataset::from_parts(vec!["a".into(), "b".into()], values, None, None).expect("data");
        let w = Windows::classify(&d, &WindowSpec::new(10, 1)).expect("windows");
        (d, w)
    }

    fn noise(i: usize, salt: usize) -> f32 {
        (((i * 7919 + salt * 104_729) % 1000) as f32 / 1000.0) - 0.5
    }

    #[test]
    fn a_drifting_channel_is_read_by_its_rate_and_a_shift_still_scores() {
        // a: noise around 0; b: a steady ramp (a warming motor) plus noise.
        let (d, w) = data(600, |i| {
            let shift = if (450..500).contains(&i) { 3.0 } else { 0.0 };
            [noise(i, 1) + shift, 0.01 * i as f32 + 0.1 * noise(i, 2)]
        });
        let wd = WindowData { values: d.values(), channels: 2, windows: &w, row_labels: None };
        let fit: Vec<usize> = (0..w.len()).filter(|&i| w.rows(i).end <= 300).collect();
        let m = Hotelling::fit(&wd, &fit, 0.5, 0.0).expect("fit");
        assert_eq!(m.slow, vec![false, true]);
        let all: Vec<usize> = (0..w.len()).collect();
        let (s, parts) = m.score(&wd, &all);
        let train_max = fit.iter().map(|&i| s[i]).fold(0.0, f64::max);
        // The ramp keeps its rate after row 300: late normal windows stay in the training range…
        let late_normal = (0..w.len()).filter(|&i| w.rows(i).start >= 520).map(|i| s[i]).fold(0.0, f64::max);
        assert!(late_normal < 2.0 * train_max, "{late_normal} vs {train_max}");
        // …while the level shift of a, fully inside a window, scores far above it, and a is blamed.
        let inside = (0..w.len()).find(|&i| w.rows(i).start == 470).expect("window");
        assert!(s[inside] > 10.0 * train_max, "{} vs {train_max}", s[inside]);
        assert!(parts[inside * 2] > parts[inside * 2 + 1]);
        // Without the slow rule, the ramp's level runs away from its training range.
        let levels = Hotelling::fit(&wd, &fit, 2.0, 0.0).expect("fit");
        assert_eq!(levels.slow, vec![false, false]);
        let (s2, _) = levels.score(&wd, &all);
        let levels_train_max = fit.iter().map(|&i| s2[i]).fold(0.0, f64::max);
        let late = (0..w.len()).filter(|&i| w.rows(i).start >= 520).map(|i| s2[i]).fold(0.0, f64::max);
        assert!(late > 3.0 * levels_train_max, "{late} vs {levels_train_max}");
    }

    #[test]
    fn the_score_is_the_squared_mahalanobis_distance() {
        // Two correlated noisy channels.
        let (d, w) = data(400, |i| [noise(i, 1), 2.0 * noise(i, 2) + noise(i, 1)]);
        let wd = WindowData { values: d.values(), channels: 2, windows: &w, row_labels: None };
        let all: Vec<usize> = (0..w.len()).collect();
        let n = all.len() as f64;
        for shrinkage in [0.0, 1.0] {
            let m = Hotelling::fit(&wd, &all, 2.0, shrinkage).expect("fit");
            let (s, _) = m.score(&wd, &all);
            assert!(s.iter().all(|v| v.is_finite() && *v >= 0.0));
            // The mean T² over the fitting windows is (n−1)/n × channels, with the full
            // covariance or with the variances alone (then Σ (dₖ/σₖ)² averages to the same).
            let mean_t2 = s.iter().sum::<f64>() / n;
            assert!((mean_t2 - 2.0 * (n - 1.0) / n).abs() < 1e-3, "shrinkage {shrinkage}: {mean_t2}");
        }
        // With the covariance, a window against the channels' correlation scores more than without.
        let full = Hotelling::fit(&wd, &all, 2.0, 0.0).expect("fit");
        let diag = Hotelling::fit(&wd, &all, 2.0, 1.0).expect("fit");
        let mut against = d.clone();
        for r in 200..210 {
            against.values_mut()[r * 2] = 0.4;
            against.values_mut()[r * 2 + 1] = -0.4;
        }
        let wa = WindowData { values: against.values(), channels: 2, windows: &w, row_labels: None };
        let i = (0..w.len()).find(|&i| w.rows(i).start == 200).expect("window");
        assert!(full.score(&wa, &[i]).0[0] > diag.score(&wa, &[i]).0[0]);
    }
}
