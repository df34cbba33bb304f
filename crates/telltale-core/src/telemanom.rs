//! NASA telemanom's non-parametric dynamic threshold (Hundman et al., KDD
//! 2018): no labels and no distribution assumed.
//!
//! 1. Scores are smoothed by an exponentially weighted mean (span =
//!    `smoothing` × `window`).
//! 2. The first `window` smoothed scores are judged together, then each
//!    batch of `batch` new ones with the `window` before it (mean μ,
//!    deviation σ): the threshold is `ε = μ + z·σ` for the `z` in
//!    `z_min..=z_max` (step 0.5) that maximises
//!    `(Δμ/μ + Δσ/σ) / (|E_a| + |E_seq|²)`: how much the mean and deviation
//!    drop when the scores above ε are removed, against how many scores
//!    (`E_a`, each flagged one widened by `buffer − 1` either side) and runs
//!    of them (`E_seq`) are flagged; a `z` that gives more than 5 runs, or
//!    half the window, is never chosen (telemanom's sanity checks), and with
//!    no `z` left the threshold is `μ + z_max·σ`. The same search runs on the
//!    inverted scores `2μ − e` (errors that fall unusually low).
//! 3. Flags are the scores at or above ε widened by `buffer` either side,
//!    those of the new batch kept (all of the first window but its first
//!    `ignore`). With the values the scores are errors of, telemanom's scale
//!    checks apply too ([`Telemanom::flags_with_values`]).
//! 4. Pruning: the runs' peaks, sorted down, with the largest score flagged
//!    neither now nor before appended; runs after the last drop of at least
//!    `prune` (fraction) from one peak to the next are unflagged.
//!
//! A batch is judged once all its scores have arrived (telemanom's own
//! look-ahead of at most `batch − 1` steps); nothing later is read.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::metrics::segments;
use crate::stats::{mean_std, percentile};

/// Most runs a threshold may flag in one window (telemanom's sanity check).
const MAX_RUNS: usize = 5;

/// telemanom's settings (its defaults: batches of 70, a window of 30 of them,
/// smoothing 5 %, z from 2.5 to 12, buffer 100, pruning 13 %; it ignores
/// twice its look-back at the start, set `ignore` for that).
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
    /// Scores at the start never flagged: the smoothing's warm-up (telemanom: twice its look-back).
    pub ignore: usize,
}

impl Default for Telemanom {
    fn default() -> Self {
        Telemanom {
            batch: 70,
            window: 2100,
            smoothing: 0.05,
            z_min: 2.5,
            z_max: 12.0,
            buffer: 100,
            prune: 0.13,
            ignore: 0,
        }
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
        if !(mu > 0.0 && sd > 0.0) {
            return best.1;
        }
        let mut z = self.z_min;
        while z <= self.z_max + 1e-9 {
            let eps = mu + z * sd;
            let below: Vec<f64> = e.iter().copied().filter(|&x| x < eps).collect();
            let above: Vec<bool> = e.iter().map(|&x| x >= eps).collect();
            // telemanom counts the flagged scores widened by `buffer − 1` either side.
            let wide = widen(&above, self.buffer.saturating_sub(1));
            let n_wide = wide.iter().filter(|&&w| w == 1).count();
            if n_wide > 0 {
                let (m2, s2) = mean_std(&below);
                let runs = segments(&wide).iter().filter(|r| r.len() > 1).count();
                let score = ((mu - m2) / mu + (sd - s2) / sd) / (n_wide + runs * runs) as f64;
                // telemanom's sanity checks: at most 5 runs, fewer than half the window flagged.
                if score >= best.0 && runs <= MAX_RUNS && 2 * n_wide < e.len() {
                    best = (score, eps);
                }
            }
            z += 0.5;
        }
        best.1
    }

    /// Flags for scores in time order (no value-scale check: see [`Telemanom::flags_with_values`]).
    pub fn flags(&self, scores: &[f64]) -> Vec<bool> {
        self.flags_with_values(scores, None)
    }

    /// Flags for scores in time order. With `values` (the telemetry the scores
    /// are errors of, in the same units, one per score) telemanom's scale
    /// checks apply: a window whose errors are small beside its values'
    /// spread (σ of errors ≤ 5 % of σ of values and largest error ≤ 5 % of
    /// the values' 5–95 % range, or largest error ≤ 0.05) flags nothing, and a
    /// flagged error must exceed 5 % of that range.
    pub fn flags_with_values(&self, scores: &[f64], values: Option<&[f64]>) -> Vec<bool> {
        let e = self.smooth(scores);
        let mut flags = vec![false; e.len()];
        // The first window is judged whole, each later one for its last batch.
        let mut end = self.window.min(e.len());
        let mut first = 0;
        while end <= e.len() && end > 0 {
            let start = end.saturating_sub(self.window);
            let ctx = &e[start..end];
            let floor = match values {
                Some(v) => scale_floor(ctx, &v[start..end.min(v.len())]),
                None => Some(f64::NEG_INFINITY),
            };
            if let Some(floor) = floor {
                let (mu, _) = mean_std(ctx);
                let inverse: Vec<f64> = ctx.iter().map(|&x| 2.0 * mu - x).collect();
                for errors in [ctx, &inverse[..]] {
                    let eps = self.epsilon(errors);
                    let above: Vec<bool> = errors.iter().map(|&x| x >= eps && x > floor).collect();
                    // The flagged errors widened by `buffer` either side, those of this batch kept.
                    let mut wide: Vec<bool> = widen(&above, self.buffer).iter().map(|&w| w == 1).collect();
                    wide[..first - start].iter_mut().for_each(|w| *w = false);
                    let warm = self.ignore.saturating_sub(start).min(wide.len());
                    wide[..warm].iter_mut().for_each(|w| *w = false);
                    let before: Vec<bool> = flags[start..end].to_vec();
                    self.prune_runs(errors, &mut wide, &before);
                    for (f, w) in flags[first..end].iter_mut().zip(&wide[first - start..]) {
                        *f |= *w;
                    }
                }
            }
            if end == e.len() {
                break;
            }
            first = end;
            end = (end + self.batch).min(e.len());
        }
        flags
    }

    /// telemanom's pruning of flagged runs whose peaks barely stand out from
    /// the next (the last, from the largest error neither flagged now nor
    /// before, `earlier`).
    fn prune_runs(&self, e: &[f64], above: &mut [bool], earlier: &[bool]) {
        let runs: Vec<_> = segments(above).into_iter().filter(|r| r.len() > 1).collect();
        if runs.is_empty() {
            above.iter_mut().for_each(|a| *a = false);
            return;
        }
        let peak = |r: &std::ops::Range<usize>| e[r.clone()].iter().copied().fold(f64::MIN, f64::max);
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by(|&a, &b| peak(&runs[b]).total_cmp(&peak(&runs[a])));
        let normal_max = e
            .iter()
            .zip(above.iter().zip(earlier))
            .filter(|(_, (a, b))| !**a && !**b)
            .map(|(x, _)| *x)
            .fold(f64::MIN, f64::max)
            .max(0.0);
        let mut peaks: Vec<f64> = order.iter().map(|&k| peak(&runs[k])).collect();
        peaks.push(normal_max);
        // Keep the runs up to the last drop of at least `prune`.
        let mut keep = 0;
        for i in 0..order.len() {
            if peaks[i] > 0.0 && (peaks[i] - peaks[i + 1]) / peaks[i] >= self.prune {
                keep = i + 1;
            }
        }
        let mut kept = vec![false; above.len()];
        for &k in &order[..keep] {
            kept[runs[k].clone()].iter_mut().for_each(|x| *x = true);
        }
        for (a, k) in above.iter_mut().zip(kept) {
            *a &= k;
        }
    }
}

/// The smallest error that may be flagged in a window of errors `e` of
/// `values` (5 % of the values' 5–95 % range), or `None` when the errors are
/// too small beside the values for any to be (telemanom's scale checks).
fn scale_floor(e: &[f64], values: &[f64]) -> Option<f64> {
    let (_, sd_e) = mean_std(e);
    let (_, sd_v) = mean_std(values);
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let range = match (percentile(&finite, 95.0), percentile(&finite, 5.0)) {
        (Ok(hi), Ok(lo)) => hi - lo,
        _ => 0.0,
    };
    let max_e = e.iter().copied().fold(f64::MIN, f64::max);
    let big_enough = (sd_e > 0.05 * sd_v || max_e > 0.05 * range) && max_e > 0.05;
    big_enough.then_some(0.05 * range)
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
        let t = Telemanom { batch: 50, window: 1000, ignore: 100, ..Default::default() };
        let quiet = noise(3000, 7);
        assert!(t.flags(&quiet).iter().all(|f| !f), "plain noise flagged");
        let mut burst = quiet.clone();
        for v in &mut burst[2000..2040] {
            *v += 8.0;
        }
        let flags = t.flags(&burst);
        assert!(flags[2010..2040].iter().any(|&f| f), "the burst is missed");
        let outside = flags.iter().enumerate().filter(|(i, f)| **f && !(1900..2240).contains(i)).count();
        assert_eq!(outside, 0);
    }

    #[test]
    fn pruning_drops_runs_that_barely_stand_out() {
        let t = Telemanom { prune: 0.13, ..Default::default() };
        let none = [false; 8];
        let e = [1.0, 10.0, 10.0, 1.0, 9.5, 9.5, 1.0, 1.0];
        let mut above = vec![false, true, true, false, true, true, false, false];
        t.prune_runs(&e, &mut above, &none);
        // Peaks 10, 9.5, then the normal max 1: 10 → 9.5 is a 5 % drop, 9.5 → 1 is 89 %: both kept.
        assert_eq!(above, vec![false, true, true, false, true, true, false, false]);
        let e = [1.0, 10.0, 10.0, 1.0, 9.5, 9.5, 9.0, 1.0];
        let mut above = vec![false, true, true, false, true, true, false, false];
        t.prune_runs(&e, &mut above, &none);
        // Normal max 9.0: 9.5 → 9.0 is 5 %: the 9.5 run goes, 10 → 9.5 is 5 % too: nothing is kept.
        assert_eq!(above, vec![false; 8]);
    }

    #[test]
    fn errors_small_beside_the_values_flag_nothing() {
        let t = Telemanom { batch: 50, window: 1000, ignore: 100, ..Default::default() };
        // Errors of 0.01 with one burst to 0.03, on values swinging over [-1, 1]:
        // the burst stands out among the errors but is tiny beside the values.
        let mut e: Vec<f64> = noise(3000, 3).iter().map(|x| x * 0.01).collect();
        e[2000..2040].iter_mut().for_each(|x| *x += 0.03);
        let values: Vec<f64> = (0..3000).map(|i| (i as f64 / 50.0).sin()).collect();
        assert!(t.flags(&e)[2000..2040].iter().any(|&f| f), "without the values the burst is flagged");
        assert!(t.flags_with_values(&e, Some(&values)).iter().all(|f| !f), "beside the values it is not");
        // The same burst on flat values (range 0.1) is large enough.
        let flat: Vec<f64> = values.iter().map(|v| v * 0.05).collect();
        let big: Vec<f64> = e.iter().map(|x| x * 5.0).collect();
        assert!(t.flags_with_values(&big, Some(&flat))[2000..2040].iter().any(|&f| f));
    }
}
