//! The anomaly likelihood (Ahmad et al. 2017, Numenta's NAB detector): the
//! mean of the last few raw scores, compared with the distribution (mean,
//! deviation) of the raw scores' short-term means over a long trailing
//! history. A score that is rare for *this* series scores high, whatever its
//! scale; a noisy series needs a larger error than a quiet one.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::online::Trailing;

/// Likelihood settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LikelihoodConfig {
    /// Raw scores averaged into the short-term mean (at least 1).
    pub short: usize,
    /// Short-term means kept to estimate their distribution (at least 2).
    pub long: usize,
    /// Readings before the first likelihood (0 until then; at least 2, a deviation needs two).
    pub min_history: usize,
}

impl LikelihoodConfig {
    /// Checks the settings; errors name the field (`likelihood.…`).
    pub fn validate(&self) -> Result<()> {
        for (field, value, least) in [
            ("likelihood.short", self.short, 1),
            ("likelihood.long", self.long, 2),
            ("likelihood.min_history", self.min_history, 2),
        ] {
            if value < least {
                return Err(Error::config(field, format!("must be at least {least}")));
            }
        }
        Ok(())
    }
}

impl Default for LikelihoodConfig {
    fn default() -> Self {
        LikelihoodConfig { short: 10, long: 8640, min_history: 100 }
    }
}

/// The running likelihood.
#[derive(Debug, Clone)]
pub struct Likelihood {
    cfg: LikelihoodConfig,
    recent: Trailing,
    history: Trailing,
}

impl Likelihood {
    /// A fresh estimator (`cfg` checked by [`LikelihoodConfig::validate`]).
    pub fn new(cfg: LikelihoodConfig) -> Likelihood {
        let recent = Trailing::new(cfg.short);
        let history = Trailing::new(cfg.long);
        Likelihood { cfg, recent, history }
    }

    /// The anomaly score in `[0, 1)` of the raw score `raw`: with `s` the
    /// `−log10` of the upper-tail probability of the short-term mean under the
    /// long-term normal fit, `s / (s + 10)` (0.5 = a one-in-10^10 event).
    pub fn update(&mut self, raw: f64) -> f64 {
        self.recent.push(raw);
        let mean = self.recent.mean();
        let out = if self.history.len() >= self.cfg.min_history {
            // A floor on the deviation keeps a flat history from making every
            // small change infinitely unlikely.
            let std = self.history.std().max(1e-3 * self.history.mean().abs()).max(1e-9);
            let z = (mean - self.history.mean()) / std;
            let surprise = (-log10_upper_tail(z)).max(0.0);
            surprise / (surprise + 10.0)
        } else {
            0.0
        };
        self.history.push(mean);
        out
    }
}

/// `log10(P(Z > z))` for a standard normal `Z`, accurate in the far tail
/// (Chebyshev fit of erfc with relative error below 1.2e-7, in log form).
pub fn log10_upper_tail(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    if x < 0.0 {
        // P(Z > z) = 1 − P(Z > −z).
        return (1.0 - 10f64.powf(log10_upper_tail(-z))).max(f64::MIN_POSITIVE).log10();
    }
    let t = 1.0 / (1.0 + 0.5 * x);
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    // P(Z > z) = erfc(x) / 2.
    (t.ln() + poly - std::f64::consts::LN_2) / std::f64::consts::LN_10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_matches_known_values() {
        // P(Z > 0) = 0.5, P(Z > 1.96) = 0.0249979, P(Z > 10) = 7.6199e-24.
        assert!((10f64.powf(log10_upper_tail(0.0)) - 0.5).abs() < 1e-7);
        assert!((10f64.powf(log10_upper_tail(1.96)) / 0.024_997_9 - 1.0).abs() < 1e-5);
        assert!((log10_upper_tail(10.0) - 7.619_853e-24_f64.log10()).abs() < 1e-5);
        assert!((10f64.powf(log10_upper_tail(-1.0)) - 0.841_344_7).abs() < 1e-6);
    }

    #[test]
    fn settings_too_small_are_refused_by_name() {
        let ok = LikelihoodConfig::default();
        assert!(ok.validate().is_ok());
        let msg = |c: LikelihoodConfig| c.validate().expect_err("refused").to_string();
        assert_eq!(msg(LikelihoodConfig { short: 0, ..ok.clone() }), "likelihood.short: must be at least 1");
        assert_eq!(msg(LikelihoodConfig { long: 1, ..ok.clone() }), "likelihood.long: must be at least 2");
        assert_eq!(msg(LikelihoodConfig { min_history: 1, ..ok }), "likelihood.min_history: must be at least 2");
    }

    #[test]
    fn rare_means_score_high() {
        let mut l = Likelihood::new(LikelihoodConfig { short: 5, long: 1000, min_history: 50 });
        let mut last = 0.0;
        for i in 0..500 {
            last = l.update(1.0 + 0.1 * ((i * 7919) % 13) as f64 / 13.0);
        }
        assert!(last < 0.1, "{last}");
        let spike = (0..5).map(|_| l.update(5.0)).fold(0.0, f64::max);
        assert!(spike > 0.5, "{spike}");
    }
}
