//! Label-free thresholds from extreme value theory (Siffer et al., "Anomaly
//! Detection in Streams with Extreme Value Theory", KDD 2017).
//!
//! - [`fit_gpd`]: a generalised Pareto distribution fitted to excesses by
//!   maximum likelihood, with Grimshaw's reduction to one variable.
//! - [`Pot`]: peaks over threshold. Values above an initial threshold `t`
//!   (the `level` quantile of calibration data) are modelled by a GPD; the
//!   threshold `z` is the value exceeded with probability `risk`.
//! - [`Spot`]: POT on a stream. A value above `z` is an alarm and is not
//!   learned; one between `t` and `z` is a new peak and `z` is refitted.
//! - [`Dspot`]: SPOT on the deviation from the mean of the last `depth`
//!   normal values, for streams that drift.

use std::collections::VecDeque;

use crate::error::{Error, Result};

/// Fewest excesses a fit accepts.
pub const MIN_PEAKS: usize = 5;

/// A generalised Pareto distribution: `P(Y > y) = (1 + γ·y/σ)^(−1/γ)` (`exp(−y/σ)` when `γ = 0`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gpd {
    /// Shape γ: > 0 heavy tail, 0 exponential, < 0 bounded.
    pub gamma: f64,
    /// Scale σ > 0.
    pub sigma: f64,
}

impl Gpd {
    /// Log-likelihood of `peaks` (all > 0); −∞ outside the distribution's support.
    pub fn log_likelihood(&self, peaks: &[f64]) -> f64 {
        let n = peaks.len() as f64;
        if self.sigma <= 0.0 {
            return f64::NEG_INFINITY;
        }
        if self.gamma == 0.0 {
            return -n * self.sigma.ln() - peaks.iter().sum::<f64>() / self.sigma;
        }
        let tau = self.gamma / self.sigma;
        let mut sum = 0.0;
        for &y in peaks {
            let s = 1.0 + tau * y;
            if s <= 0.0 {
                return f64::NEG_INFINITY;
            }
            sum += s.ln();
        }
        -n * self.sigma.ln() - (1.0 + 1.0 / self.gamma) * sum
    }
}

/// Grimshaw's function of `x = γ/σ`: its roots give the likelihood's stationary points.
fn grimshaw(peaks: &[f64], x: f64) -> (f64, f64) {
    let n = peaks.len() as f64;
    let (mut logs, mut inv) = (0.0, 0.0);
    for &y in peaks {
        let s = 1.0 + x * y;
        logs += s.ln();
        inv += 1.0 / s;
    }
    let u = 1.0 + logs / n;
    let v = inv / n;
    // w(x) = u·v − 1, and γ = u − 1 at a root.
    (u * v - 1.0, u - 1.0)
}

/// Roots of `w` in `(lo, hi)`: sign changes over a grid (geometric when `geometric`, for intervals spanning
/// orders of magnitude above 0), refined by bisection.
fn roots(peaks: &[f64], lo: f64, hi: f64, points: usize, geometric: bool) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() || lo >= hi || (geometric && lo <= 0.0) {
        return Vec::new();
    }
    let at = |i: usize| {
        let f = i as f64 / points as f64;
        if geometric { lo * (hi / lo).powf(f) } else { lo + (hi - lo) * f }
    };
    let mut found = Vec::new();
    let mut prev = (lo, grimshaw(peaks, lo).0);
    for i in 1..=points {
        let x = at(i);
        let w = grimshaw(peaks, x).0;
        if w == 0.0 {
            found.push(x);
        } else if prev.1.is_finite() && w.is_finite() && prev.1.signum() != w.signum() && prev.1 != 0.0 {
            let (mut a, mut b, mut wa) = (prev.0, x, prev.1);
            for _ in 0..100 {
                let m = 0.5 * (a + b);
                let wm = grimshaw(peaks, m).0;
                if wm.signum() == wa.signum() {
                    a = m;
                    wa = wm;
                } else {
                    b = m;
                }
            }
            found.push(0.5 * (a + b));
        }
        prev = (x, w);
    }
    found
}

/// Fits a GPD to `peaks` (excesses, all > 0) by maximum likelihood; the exponential (γ = 0) is always a candidate.
pub fn fit_gpd(peaks: &[f64]) -> Result<Gpd> {
    if peaks.len() < MIN_PEAKS {
        return Err(Error::invalid("peaks", format!("need at least {MIN_PEAKS} excesses, got {}", peaks.len())));
    }
    if peaks.iter().any(|y| !y.is_finite() || *y <= 0.0) {
        return Err(Error::invalid("peaks", "excesses must be finite and above 0"));
    }
    let n = peaks.len() as f64;
    let min = peaks.iter().copied().fold(f64::INFINITY, f64::min);
    let max = peaks.iter().copied().fold(0.0, f64::max);
    let mean = peaks.iter().sum::<f64>() / n;
    let mut best = Gpd { gamma: 0.0, sigma: mean };
    let mut best_ll = best.log_likelihood(peaks);
    // Where the roots can be (Grimshaw 1993): x in (−1/max, 0) or (0, 2(mean − min)/min²).
    let mut eps = 1e-8;
    let a = -1.0 / max;
    if a.abs() < 2.0 * eps {
        eps = a.abs() / 10.0;
    }
    let c = 2.0 * (mean - min) / (min * min);
    // The right interval spans many orders of magnitude when the smallest excess is tiny: a geometric grid
    // from far below the data's scale (1e-6 / max) resolves a root at any γ/σ.
    let left = roots(peaks, a + eps, -eps, 400, false);
    let right = roots(peaks, 1e-6 / max, c, 800, true);
    let candidates = left.into_iter().chain(right);
    for x in candidates {
        if x == 0.0 {
            continue;
        }
        let gamma = grimshaw(peaks, x).1;
        let fit = Gpd { gamma, sigma: gamma / x };
        let ll = fit.log_likelihood(peaks);
        if ll > best_ll {
            best = fit;
            best_ll = ll;
        }
    }
    Ok(best)
}

/// Peaks over threshold: an initial threshold at the `level` quantile, a GPD on the excesses, and the
/// threshold exceeded with probability `risk`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pot {
    /// Quantile of the calibration values taken as the initial threshold `t` (e.g. 0.98).
    pub level: f64,
    /// Probability that a normal value exceeds the final threshold (e.g. 1e-4).
    pub risk: f64,
}

/// A fitted [`Pot`].
#[derive(Debug, Clone, PartialEq)]
pub struct PotFit {
    /// The initial threshold.
    pub t: f64,
    /// The threshold: values `> z` are anomalous.
    pub z: f64,
    /// The tail's distribution.
    pub gpd: Gpd,
    /// Values seen (learned).
    pub n: usize,
    /// Excesses over `t`.
    pub peaks: Vec<f64>,
}

/// The value exceeded with probability `risk`, given `peaks` of `n` values over `t`.
fn extreme_quantile(gpd: Gpd, t: f64, risk: f64, n: usize, peaks: usize) -> f64 {
    let r = risk * n as f64 / peaks as f64;
    if gpd.gamma.abs() < 1e-12 {
        t - gpd.sigma * r.ln()
    } else {
        t + gpd.sigma / gpd.gamma * (r.powf(-gpd.gamma) - 1.0)
    }
}

impl Pot {
    /// Fits on `values` (calibration data, mostly normal).
    pub fn fit(&self, values: &[f64]) -> Result<PotFit> {
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(Error::invalid("level", format!("{} is not between 0 and 1", self.level)));
        }
        if !(self.risk > 0.0 && self.risk < 1.0 - self.level) {
            return Err(Error::invalid("risk", format!("{} must be above 0 and below 1 − level", self.risk)));
        }
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let t = crate::stats::percentile(&finite, self.level * 100.0)?;
        let peaks: Vec<f64> = finite.iter().filter(|v| **v > t).map(|v| v - t).collect();
        let gpd = fit_gpd(&peaks)?;
        let z = extreme_quantile(gpd, t, self.risk, finite.len(), peaks.len());
        Ok(PotFit { t, z, gpd, n: finite.len(), peaks })
    }
}

/// What a streaming detector made of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Above the threshold: an anomaly (not learned).
    Alarm,
    /// Between the initial threshold and the threshold: learned as a new peak.
    Peak,
    /// Below the initial threshold.
    Normal,
}

/// POT on a stream (SPOT).
#[derive(Debug, Clone, PartialEq)]
pub struct Spot {
    fit: PotFit,
    risk: f64,
}

impl Spot {
    /// Calibrates on `values`.
    pub fn new(pot: Pot, values: &[f64]) -> Result<Spot> {
        Ok(Spot { fit: pot.fit(values)?, risk: pot.risk })
    }

    /// The current threshold.
    pub fn threshold(&self) -> f64 {
        self.fit.z
    }

    /// The current fit.
    pub fn fit(&self) -> &PotFit {
        &self.fit
    }

    /// Judges `x`, learning from it unless it is an alarm (or not finite, which is an alarm too).
    pub fn step(&mut self, x: f64) -> Verdict {
        if !x.is_finite() || x > self.fit.z {
            return Verdict::Alarm;
        }
        self.fit.n += 1;
        if x <= self.fit.t {
            // More values under the same peaks lower the tail's weight: z moves with n.
            self.fit.z = extreme_quantile(self.fit.gpd, self.fit.t, self.risk, self.fit.n, self.fit.peaks.len());
            return Verdict::Normal;
        }
        self.fit.peaks.push(x - self.fit.t);
        if let Ok(gpd) = fit_gpd(&self.fit.peaks) {
            self.fit.gpd = gpd;
        }
        self.fit.z = extreme_quantile(self.fit.gpd, self.fit.t, self.risk, self.fit.n, self.fit.peaks.len());
        Verdict::Peak
    }
}

/// SPOT on the deviation from the mean of the last `depth` normal values (DSPOT), for drifting streams.
#[derive(Debug, Clone, PartialEq)]
pub struct Dspot {
    spot: Spot,
    recent: VecDeque<f64>,
    sum: f64,
    depth: usize,
}

impl Dspot {
    /// Calibrates on `values` (more than `depth` of them).
    pub fn new(pot: Pot, depth: usize, values: &[f64]) -> Result<Dspot> {
        if depth == 0 || values.len() <= depth {
            return Err(Error::invalid(
                "depth",
                format!("{depth} needs 1 ≤ depth < {} calibration values", values.len()),
            ));
        }
        let mut deviations = Vec::with_capacity(values.len() - depth);
        let mut recent: VecDeque<f64> = values[..depth].iter().copied().collect();
        let mut sum: f64 = recent.iter().sum();
        for &v in &values[depth..] {
            deviations.push(v - sum / depth as f64);
            sum += v - recent.pop_front().unwrap_or(0.0);
            recent.push_back(v);
        }
        Ok(Dspot { spot: Spot::new(pot, &deviations)?, recent, sum, depth })
    }

    /// The current threshold on the raw value (the local mean plus the deviation threshold).
    pub fn threshold(&self) -> f64 {
        self.sum / self.depth as f64 + self.spot.threshold()
    }

    /// Judges `x`; only values that are not alarms move the local mean.
    pub fn step(&mut self, x: f64) -> Verdict {
        let verdict = self.spot.step(x - self.sum / self.depth as f64);
        if verdict != Verdict::Alarm {
            self.sum += x - self.recent.pop_front().unwrap_or(0.0);
            self.recent.push_back(x);
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uniform numbers in (0, 1) from a fixed seed (splitmix64).
    fn uniforms(n: usize, mut seed: u64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = seed;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            })
            .collect()
    }

    /// GPD samples by inversion.
    fn gpd_samples(gamma: f64, sigma: f64, n: usize, seed: u64) -> Vec<f64> {
        uniforms(n, seed)
            .into_iter()
            .map(|u| if gamma == 0.0 { -sigma * u.ln() } else { sigma / gamma * (u.powf(-gamma) - 1.0) })
            .collect()
    }

    #[test]
    fn the_fit_recovers_known_tails() {
        for (gamma, sigma) in [(0.3, 2.0), (0.0, 1.5), (-0.25, 1.0)] {
            let fit = fit_gpd(&gpd_samples(gamma, sigma, 20_000, 7)).expect("fit");
            assert!((fit.gamma - gamma).abs() < 0.04, "γ {gamma}: got {fit:?}");
            assert!((fit.sigma / sigma - 1.0).abs() < 0.05, "σ {sigma}: got {fit:?}");
        }
        assert!(fit_gpd(&[1.0, 2.0]).is_err(), "too few peaks");
        assert!(fit_gpd(&[1.0, 2.0, 0.0, 3.0, 4.0]).is_err(), "an excess of 0");
    }

    #[test]
    fn pot_finds_the_extreme_quantile_without_labels() {
        // Exponential(1): P(X > z) = e^−z, so the 1e-4 risk threshold is ln(10⁴) = 9.21.
        // From 4,000 peaks γ's standard error is about 0.016, which moves z by about ±0.3 here.
        let values = gpd_samples(0.0, 1.0, 200_000, 11);
        let fit = Pot { level: 0.98, risk: 1e-4 }.fit(&values).expect("fit");
        assert!((fit.t - 50_f64.ln()).abs() < 0.05, "t is the 98th percentile: {}", fit.t);
        assert!((fit.z - 10_000_f64.ln()).abs() < 0.6, "z = {} ({:?})", fit.z, fit.gpd);
        assert!(Pot { level: 0.98, risk: 0.5 }.fit(&values).is_err(), "risk above 1 − level");
    }

    #[test]
    fn spot_flags_spikes_and_learns_the_rest() {
        let mut values = gpd_samples(0.0, 1.0, 12_000, 3);
        for i in (3_000..12_000).step_by(1_000) {
            values[i] = 40.0;
        }
        let mut spot = Spot::new(Pot { level: 0.98, risk: 1e-4 }, &values[..2_000]).expect("calibrate");
        let alarms: Vec<usize> = (2_000..values.len()).filter(|&i| spot.step(values[i]) == Verdict::Alarm).collect();
        let spikes: Vec<usize> = (3_000..12_000).step_by(1_000).collect();
        assert!(spikes.iter().all(|s| alarms.contains(s)), "every spike: {alarms:?}");
        assert!(alarms.len() - spikes.len() <= 5, "few false alarms at risk 1e-4 over 10,000 values: {alarms:?}");
        assert!(spot.fit().peaks.len() > 40, "peaks learned as the stream goes on");
    }

    #[test]
    fn dspot_follows_a_drift_and_still_flags_spikes() {
        let noise = gpd_samples(0.0, 1.0, 12_000, 5);
        let mut values: Vec<f64> = noise.iter().enumerate().map(|(i, e)| 0.01 * i as f64 + e).collect();
        for i in [6_000, 9_000, 11_000] {
            values[i] += 30.0;
        }
        let pot = Pot { level: 0.98, risk: 1e-4 };
        let mut dspot = Dspot::new(pot, 50, &values[..2_000]).expect("calibrate");
        let alarms: Vec<usize> = (2_000..values.len()).filter(|&i| dspot.step(values[i]) == Verdict::Alarm).collect();
        for spike in [6_000, 9_000, 11_000] {
            assert!(alarms.contains(&spike), "spike at {spike}: {alarms:?}");
        }
        assert!(alarms.len() <= 8, "the drift (+100 over the stream) is not an anomaly: {alarms:?}");
        // A plain SPOT calibrated the same way drowns in the drift.
        let mut spot = Spot::new(pot, &values[..2_000]).expect("calibrate");
        let drifted = (2_000..values.len()).filter(|&i| spot.step(values[i]) == Verdict::Alarm).count();
        assert!(drifted > 1_000, "{drifted}");
    }
}
