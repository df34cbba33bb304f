//! An autoregressive forecaster fitted by recursive least squares (RLS) with
//! a forgetting factor: each reading is predicted from the `lags` before it
//! (standardised with the warm-up's mean and deviation), the absolute error is
//! the raw score (warm-up readings score too, in-sample), then the weights take one RLS step on the reading. With
//! `learn` off the weights freeze when the warm-up ends: the same model
//! without online learning, to measure what learning as data arrives gains.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::online::{Online, Settings, at_least_one};

/// Forecaster settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForecastConfig {
    /// Past readings the forecast reads.
    pub lags: usize,
    /// RLS forgetting factor in [0.9, 1] (1: remember everything).
    pub forgetting: f64,
    /// Keep learning after the warm-up.
    pub learn: bool,
    /// Seasons in seconds (e.g. 86400 for a day): the readings one season
    /// back (and their neighbours) are inputs too. Seasons shorter than
    /// `lags` steps or longer than a quarter of the warm-up are dropped.
    pub seasons_s: Vec<f64>,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        ForecastConfig { lags: 8, forgetting: 0.999, learn: true, seasons_s: Vec::new() }
    }
}

/// The streaming forecaster.
#[derive(Debug, Clone)]
pub struct Forecast {
    cfg: ForecastConfig,
    warmup: usize,
    /// Warm-up readings so far, their running mean and sum of squared deviations (Welford).
    seen: (usize, f64, f64),
    scale: Option<(f64, f64)>,
    lags: std::collections::VecDeque<f64>,
    /// Season lengths in readings.
    periods: Vec<usize>,
    /// Readings kept: enough for the longest season.
    keep: usize,
    w: Vec<f64>,
    p: Vec<f64>,
    n: usize,
}

impl Forecast {
    /// A fresh forecaster whose scaling comes from the first `warmup`
    /// readings, `step_s` seconds apart.
    pub fn new(cfg: ForecastConfig, warmup: usize, step_s: f64) -> Forecast {
        let periods: Vec<usize> = cfg
            .seasons_s
            .iter()
            .filter(|_| step_s > 0.0)
            .map(|s| (s / step_s).round() as usize)
            .filter(|&p| p > cfg.lags && p < warmup / 4)
            .collect();
        let keep = periods.iter().map(|p| p + 2).max().unwrap_or(0).max(cfg.lags);
        let d = cfg.lags + 3 * periods.len() + 1;
        let mut p = vec![0.0; d * d];
        for i in 0..d {
            p[i * d + i] = 1e3;
        }
        Forecast {
            warmup: warmup.max(cfg.lags + 2),
            seen: (0, 0.0, 0.0),
            scale: None,
            lags: std::collections::VecDeque::with_capacity(keep + 1),
            periods,
            keep,
            w: vec![0.0; d],
            p,
            n: 0,
            cfg,
        }
    }

    /// Inputs: the lags (newest first), the readings one season back (and
    /// either side), and a bias of 1.
    fn inputs(&self) -> Vec<f64> {
        let n = self.lags.len();
        let back = |k: usize| self.lags[n - k];
        let mut x: Vec<f64> = (1..=self.cfg.lags).map(back).collect();
        for &p in &self.periods {
            x.extend([back(p - 1), back(p), back(p + 1)]);
        }
        x.push(1.0);
        x
    }

    /// One RLS step towards predicting `y` from `x`.
    fn learn(&mut self, x: &[f64], y: f64) {
        let d = x.len();
        let lambda = self.cfg.forgetting;
        let px: Vec<f64> = (0..d).map(|i| (0..d).map(|j| self.p[i * d + j] * x[j]).sum()).collect();
        let denom = lambda + x.iter().zip(&px).map(|(a, b)| a * b).sum::<f64>();
        let err = y - self.w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
        for (w, k) in self.w.iter_mut().zip(&px) {
            *w += k / denom * err;
        }
        for (row, pi) in self.p.chunks_exact_mut(d).zip(&px) {
            for (p, pj) in row.iter_mut().zip(&px) {
                *p = (*p - pi * pj / denom) / lambda;
            }
        }
    }
}

impl Settings for ForecastConfig {
    fn name(&self) -> String {
        format!("ar-forecast(p={}, {})", self.lags, if self.learn { "online" } else { "frozen" })
    }

    fn validate(&self) -> Result<()> {
        at_least_one("forecast.lags", self.lags)?;
        if !(0.9..=1.0).contains(&self.forgetting) {
            return Err(Error::config("forecast.forgetting", "must be in [0.9, 1]"));
        }
        Ok(())
    }

    fn build(&self, warmup: usize, step_s: f64) -> Box<dyn Online> {
        Box::new(Forecast::new(self.clone(), warmup, step_s))
    }
}

impl Online for Forecast {
    fn update(&mut self, raw: f64) -> f64 {
        self.n += 1;
        let (mean, std) = match self.scale {
            Some(s) => s,
            None => {
                let (n, mean, m2) = &mut self.seen;
                *n += 1;
                let delta = raw - *mean;
                *mean += delta / *n as f64;
                *m2 += delta * (raw - *mean);
                let s = (*mean, (*m2 / *n as f64).sqrt().max(1e-9));
                if *n >= self.warmup {
                    self.scale = Some(s);
                }
                s
            }
        };
        let x = (raw - mean) / std;
        let mut score = 0.0;
        if self.lags.len() == self.keep {
            let inputs = self.inputs();
            let forecast: f64 = self.w.iter().zip(&inputs).map(|(a, b)| a * b).sum();
            score = (x - forecast).abs();
            if self.cfg.learn || self.n <= self.warmup {
                self.learn(&inputs, x);
            }
        }
        self.lags.push_back(x);
        if self.lags.len() > self.keep {
            self.lags.pop_front();
        }
        score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_an_ar_process_and_flags_a_break() {
        // x_t = 1.6 x_{t-1} − 0.8 x_{t-2} + small noise: RLS finds it.
        let mut f =
            Forecast::new(ForecastConfig { lags: 2, forgetting: 1.0, learn: true, seasons_s: vec![] }, 200, 1.0);
        let (mut a, mut b) = (1.0, 0.0);
        let mut errors = Vec::new();
        for i in 0..600 {
            let noise = 0.01 * (((i * 7919) % 17) as f64 / 17.0 - 0.5);
            let x = 1.6 * a - 0.8 * b + noise;
            b = a;
            a = x;
            errors.push(f.update(x));
        }
        let late: f64 = errors[500..].iter().sum::<f64>() / 100.0;
        assert!(late < 0.05, "{late}");
        let jump = f.update(a + 5.0);
        assert!(jump > 20.0 * late, "{jump} vs {late}");
    }
}
