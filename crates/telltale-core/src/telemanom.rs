//! NASA telemanom's non-parametric dynamic threshold (Hundman et al., KDD
//! 2018): no labels and no distribution assumed.
//!
//! 1. Scores are smoothed by an exponentially weighted mean (span =
//!    `smoothing` × `window`).
//! 2. Per batch of `batch` new scores, over the last `window` smoothed
//!    scores (mean μ, deviation σ), the threshold is `ε = μ + z·σ` for the
//!    `z` in `z_min..=z_max` (step 0.5) that maximises
//!    `(Δμ/μ + Δσ/σ) / (|E_a| + |E_seq|²)`: how much the mean and deviation
//!    drop when the scores above ε are removed, against how many scores
//!    (`E_a`) and runs of them (`E_seq`, each widened by `buffer` either
//!    side) are flagged; a `z` that flags more than 5 runs, or puts half the
//!    window above ε, is never chosen (telemanom's sanity checks), and with
//!    no `z` left the threshold is `μ + z_max·σ`.
//! 3. Pruning: the runs' peaks, sorted down, with the highest unflagged score
//!    appended; runs after the last drop of at least `prune` (fraction) from
//!    one peak to the next are unflagged.
//!
//! A batch is judged once all its scores have arrived (telemanom's own
//! look-ahead of at most `batch − 1` steps); nothing later is read.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::metrics::segments;
use crate::stats::mean_std;

/// Most runs a threshold may flag in one window (telemanom's sanity check).
const MAX_RUNS: usize = 5;

/// telemanom's settings (its defaults: batches of 70, a window of 30 of them,
/// smoothing 5 %, z from 2.5 to 12, buffer 100, pruning 13 %).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Telemanom {
    /// Scores judged together.
    pub batch: usize,
    /// Scores the statistics are computed over.
    pub window: usize,
    /// EWMA span as a fraction of `window`.
    pub smoothing: f64,
    /// Smallest `z` tried.
    pub z_min: f64,
    /// Largest `z` tried.
    pub z_max: f64,
    /// Steps added either side of a flagged score when counting runs.
    pub buffer: usize,
    /// Minimum relative drop between successive run peaks that keeps the runs above it.
    pub prune: f64,
}

impl Default for Telemanom {
    fn default() -> Self {
        Telemanom { batch: 70, window: 2100, smoothing: 0.05, z_min: 2.5, z_max: 12.0, buffer: 100, prune: 0.13 }
    }
}

impl Telemanom {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, msg: &str| Err(Error::invalid(format!("threshold {field}"), msg.to_owned()));
        if self.batch == 0 || self.window < self.batch {
            return bad("batch/window", "need 1 ≤ batch ≤ window");
        }
        if !(self.smoothing > 0.0 && self.smoothing <= 1.0) {
            return bad("smoothing", "must be in (0, 1]");
        }
        if !(self.z_min > 0.0 && self.z_min <= self.z_max) {
            return bad("z_min/z_max", "need 0 < z_min ≤ z_max");
        }
        if !(0.0..1.0).contains(&self.prune) {
            return bad("prune", "must be in [0, 1)");
        }
        Ok(())
    }

    /// Exponentially smoothed scores (pandas' `ewm(span).mean()`, adjusted).
    pub fn smooth(&self, scores: &[f64]) -> Vec<f64> {
        let span = (self.smoothing * self.window as f64).max(1.0);
        let alpha = 2.0 / (span + 1.0);
        let (mut num, mut den) = (0.0, 0.0);
        scores
            .iter()
            .map(|&s| {
                let s = if s.is_finite() { s } else { 0.0 };
                num = s + (1.0 - alpha) * num;
                den = 1.0 + (1.0 - alpha) * den;
                num / den
            })
            .collect()
    }

    /// The threshold ε chosen for smoothed scores `e` (μ + z·σ).
    pub fn epsilon(&self, e: &[f64]) -> f64 {
        let (mu, sd) = mean_std(e);
        let mut best = (f64::NEG_INFINITY, mu + self.z_max * sd);
        let mut z = self.z_min;
        while z <= self.z_max + 1e-9 {
            let eps = mu + z * sd;
            let below: Vec<f64> = e.iter().copied().filter(|&x| x < eps).collect();
            let above: Vec<bool> = e.iter().map(|&x| x >= eps).collect();
            let n_above = above.iter().filter(|&&a| a).count();
            if n_above > 0 && mu > 0.0 && sd > 0.0 {
                let (m2, s2) = mean_std(&below);
                let runs = segments(&widen(&above, self.buffer)).len();
                let score = ((mu - m2) / mu + (sd - s2) / sd) / (n_above + runs * runs) as f64;
                // telemanom's sanity checks: at most 5 runs, fewer than half the scores above ε.
                if score > best.0 && runs <= MAX_RUNS && 2 * n_above < e.len() {
                    best = (score, eps);
                }
            }
            z += 0.5;
        }
        best.1
    }

    /// Flags for scores in time order.
    pub fn flags(&self, scores: &[f64]) -> Vec<bool> {
        let e = self.smooth(scores);
        let mut flags = vec![false; e.len()];
        let mut end = self.batch.min(e.len());
        while end <= e.len() && end > 0 {
            let start = end.saturating_sub(self.window);
            let ctx = &e[start..end];
            let eps = self.epsilon(ctx);
            let mut above: Vec<bool> = ctx.iter().map(|&x| x >= eps).collect();
            self.prune_runs(ctx, &mut above);
            let first = end.saturating_sub(self.batch).max(start);
            flags[first..end].copy_from_slice(&above[first - start..end - start]);
            if end == e.len() {
                break;
            }
            end = (end + self.batch).min(e.len());
        }
        flags
    }

    /// telemanom's pruning of flagged runs whose peaks barely stand out.
    fn prune_runs(&self, e: &[f64], above: &mut [bool]) {
        let runs = segments(above);
        if runs.is_empty() {
            return;
        }
        let peak = |r: &std::ops::Range<usize>| e[r.clone()].iter().copied().fold(f64::MIN, f64::max);
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by(|&a, &b| peak(&runs[b]).total_cmp(&peak(&runs[a])));
        let normal_max =
            e.iter().zip(above.iter()).filter(|(_, a)| !**a).map(|(x, _)| *x).fold(f64::MIN, f64::max).max(0.0);
        let mut peaks: Vec<f64> = order.iter().map(|&k| peak(&runs[k])).collect();
        peaks.push(normal_max);
        // Keep the runs up to the last drop of at least `prune`.
        let mut keep = 0;
        for i in 0..order.len() {
            if peaks[i] > 0.0 && (peaks[i] - peaks[i + 1]) / peaks[i] >= self.prune {
                keep = i + 1;
            }
        }
        for &k in &order[keep..] {
            for a in &mut above[runs[k].clone()] {
                *a = false;
            }
        }
    }
}

/// Each flag widened by `buffer` steps either side.
fn widen(flags: &[bool], buffer: usize) -> Vec<u8> {
    let mut out = vec![0u8; flags.len()];
    for (i, &f) in flags.iter().enumerate() {
        if f {
            let lo = i.saturating_sub(buffer);
            let hi = (i + buffer + 1).min(flags.len());
            out[lo..hi].iter_mut().for_each(|o| *o = 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                0.5 + ((x >> 11) as f64 / (1u64 << 53) as f64)
            })
            .collect()
    }

    #[test]
    fn flags_a_burst_and_nothing_in_plain_noise() {
        let t = Telemanom { batch: 50, window: 1000, ..Default::default() };
        let quiet = noise(3000, 7);
        assert!(t.flags(&quiet).iter().all(|f| !f), "plain noise flagged");
        let mut burst = quiet.clone();
        for v in &mut burst[2000..2040] {
            *v += 8.0;
        }
        let flags = t.flags(&burst);
        assert!(flags[2010..2040].iter().any(|&f| f), "the burst is missed");
        let outside = flags.iter().enumerate().filter(|(i, f)| **f && !(2000..2200).contains(i)).count();
        assert_eq!(outside, 0);
    }

    #[test]
    fn pruning_drops_runs_that_barely_stand_out() {
        let t = Telemanom { prune: 0.13, ..Default::default() };
        let e = [1.0, 10.0, 1.0, 9.5, 1.0, 1.0];
        let mut above = vec![false, true, false, true, false, false];
        t.prune_runs(&e, &mut above);
        // Peaks 10, 9.5, then the normal max 1: 10 → 9.5 is a 5 % drop, 9.5 → 1 is 89 %: both kept.
        assert_eq!(above, vec![false, true, false, true, false, false]);
        let e = [1.0, 10.0, 1.0, 9.5, 9.0, 1.0];
        let mut above = vec![false, true, false, true, false, false];
        t.prune_runs(&e, &mut above);
        // Normal max 9.0: 9.5 → 9.0 is 5 %: the 9.5 run goes, 10 → 9.5 is 5 % too: nothing is kept.
        assert_eq!(above, vec![false; 6]);
    }
}
