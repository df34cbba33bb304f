//! Thresholds that turn scores into flags. An item is anomalous when its
//! score is `>=` the threshold.
//!
//! - [`ThresholdSpec::Fixed`]: a given value.
//! - [`ThresholdSpec::Percentile`]: the q-th percentile of validation scores
//!   (numpy's default linear interpolation); needs no labels.
//! - [`ThresholdSpec::Pot`]: peaks over threshold on validation scores
//!   (extreme value theory, see [`crate::evt`]); needs no labels.
//! - [`ThresholdSpec::Spot`]: streaming POT (SPOT, Siffer et al. 2017),
//!   calibrated on validation scores, then updated by every normal score of
//!   the stream; with `depth` > 0 it is DSPOT (on the deviation from the mean
//!   of the last `depth` normal scores, for drifting streams). No labels.
//! - [`ThresholdSpec::Telemanom`]: NASA telemanom's non-parametric dynamic
//!   threshold on exponentially smoothed scores, with its pruning. No labels.
//! - [`ThresholdSpec::SlidingKSigma`]: seed 002's rule, a value is anomalous
//!   when it leaves `centre ± k·(std + ε)`, with mean and population std of
//!   the last `window` values and the centre their mean (or a forecast).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use crate::stats::{mean_std, percentile};
#[cfg(test)]
use crate::telemanom::Telemanom;

/// How to choose a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ThresholdSpec {
    /// This value.
    Fixed {
        /// The threshold.
        value: f64,
    },
    /// A percentile of the validation scores.
    Percentile {
        /// Percentile in `[0, 100]`.
        q: f64,
    },
    /// Sliding mean ± k·(std + ε) over the last `window` values.
    SlidingKSigma(SlidingKSigma),
    /// Peaks over threshold (extreme value theory) on the validation scores: the score a normal window exceeds
    /// with probability `risk`, from a generalised Pareto tail fitted above their `level` quantile.
    Pot {
        /// Quantile of the initial threshold, in `(0, 1)` (e.g. 0.98).
        level: f64,
        /// Probability that a normal score exceeds the threshold (e.g. 1e-3).
        risk: f64,
    },
    /// Streaming POT: SPOT (`depth` 0) or DSPOT (`depth` > 0), calibrated on the validation scores.
    Spot {
        /// Quantile of the initial threshold, in `(0, 1)`.
        level: f64,
        /// Probability that a normal score exceeds the threshold.
        risk: f64,
        /// DSPOT's depth: scores are judged against the mean of this many recent normal ones (0: SPOT).
        #[serde(default)]
        depth: usize,
    },
    /// telemanom's dynamic threshold on the scores themselves.
    Telemanom(crate::telemanom::Telemanom),
}

/// A threshold ready to flag scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Threshold {
    /// One value for every score.
    Static {
        /// The threshold.
        value: f64,
    },
    /// A band that moves with the recent scores.
    Sliding(SlidingKSigma),
    /// SPOT / DSPOT, with the calibration scores it starts every stream from.
    Spot {
        /// The POT settings.
        level: f64,
        /// Probability that a normal score exceeds the threshold.
        risk: f64,
        /// DSPOT's depth (0: SPOT).
        depth: usize,
        /// Validation scores the stream's threshold is calibrated on.
        calibration: Vec<f64>,
    },
    /// telemanom's dynamic threshold.
    Telemanom(crate::telemanom::Telemanom),
}

impl ThresholdSpec {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        match *self {
            ThresholdSpec::Fixed { value } if !value.is_finite() => {
                Err(Error::invalid("threshold value", format!("{value} is not finite")))
            }
            ThresholdSpec::Percentile { q } if !(0.0..=100.0).contains(&q) => {
                Err(Error::invalid("threshold q", format!("{q} is not a percentile in [0, 100]")))
            }
            ThresholdSpec::SlidingKSigma(s) => s.validate(),
            ThresholdSpec::Pot { level, risk } | ThresholdSpec::Spot { level, risk, .. }
                if !(level > 0.0 && level < 1.0 && risk > 0.0 && risk < 1.0 - level) =>
            {
                Err(Error::invalid(
                    "threshold level/risk",
                    format!("need 0 < level < 1 and 0 < risk < 1 − level; got {level}, {risk}"),
                ))
            }
            ThresholdSpec::Telemanom(t) => t.validate(),
            _ => Ok(()),
        }
    }

    /// True when fitting reads validation scores.
    pub fn needs_scores(&self) -> bool {
        matches!(self, ThresholdSpec::Percentile { .. } | ThresholdSpec::Pot { .. } | ThresholdSpec::Spot { .. })
    }

    /// Fits the threshold; percentile, POT and SPOT read the scores.
    pub fn fit(&self, validation_scores: &[f64]) -> Result<Threshold> {
        self.validate()?;
        Ok(match *self {
            ThresholdSpec::Fixed { value } => Threshold::Static { value },
            ThresholdSpec::Percentile { q } => Threshold::Static { value: percentile(validation_scores, q)? },
            ThresholdSpec::SlidingKSigma(s) => Threshold::Sliding(s),
            ThresholdSpec::Pot { level, risk } => {
                Threshold::Static { value: crate::evt::Pot { level, risk }.fit(validation_scores)?.z }
            }
            ThresholdSpec::Spot { level, risk, depth } => {
                let calibration: Vec<f64> = validation_scores.iter().copied().filter(|v| v.is_finite()).collect();
                // Calibrate once now, so that a bad calibration fails here and not on the first stream.
                drop(spot_stream(level, risk, depth, &calibration)?);
                Threshold::Spot { level, risk, depth, calibration }
            }
            ThresholdSpec::Telemanom(t) => Threshold::Telemanom(t),
        })
    }
}

/// A SPOT or DSPOT detector calibrated on `calibration`.
fn spot_stream(level: f64, risk: f64, depth: usize, calibration: &[f64]) -> Result<Box<dyn FnMut(f64) -> bool>> {
    let pot = crate::evt::Pot { level, risk };
    Ok(if depth == 0 {
        let mut s = crate::evt::Spot::new(pot, calibration)?;
        Box::new(move |x| s.step(x) == crate::evt::Verdict::Alarm)
    } else {
        let mut s = crate::evt::Dspot::new(pot, depth, calibration)?;
        Box::new(move |x| s.step(x) == crate::evt::Verdict::Alarm)
    })
}

impl Threshold {
    /// Flags for a series of scores (in time order for the sliding band; its
    /// first `window` scores are never flagged).
    /// Checks a threshold read from a file: a SPOT/DSPOT threshold must calibrate from its stored
    /// scores (one that does not would flag nothing).
    pub fn validate(&self) -> Result<()> {
        match self {
            Threshold::Spot { level, risk, depth, calibration } => {
                spot_stream(*level, *risk, *depth, calibration).map(|_| ())
            }
            _ => Ok(()),
        }
    }

    /// Flags per score (`validate` first for a threshold read from a file).
    pub fn flags(&self, scores: &[f64]) -> Vec<bool> {
        match self {
            Threshold::Static { value } => scores.iter().map(|s| s >= value).collect(),
            Threshold::Sliding(s) => s.flags(scores, None),
            Threshold::Spot { level, risk, depth, calibration } => {
                match spot_stream(*level, *risk, *depth, calibration) {
                    Ok(mut alarm) => scores.iter().map(|&s| alarm(s)).collect(),
                    // Fitted thresholds were calibrated once already, and model files are validated on loading.
                    Err(_) => vec![false; scores.len()],
                }
            }
            Threshold::Telemanom(t) => t.flags(scores),
        }
    }
}

/// Seed 002's band: `centre ± k·(std + eps)` from the last `window` values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlidingKSigma {
    /// How many preceding values give the mean and std.
    pub window: usize,
    /// Width of the band in standard deviations.
    pub k: f64,
    /// Added to the std so a flat history still has a band.
    pub eps: f64,
}

impl Default for SlidingKSigma {
    /// Seed 002: the last 3 values, k = 3, ε = 0.01.
    fn default() -> Self {
        SlidingKSigma { window: 3, k: 3.0, eps: 0.01 }
    }
}

/// The open interval a value must stay inside to be normal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

impl Band {
    /// True when `v` lies strictly inside.
    pub fn contains(&self, v: f64) -> bool {
        self.lo < v && v < self.hi
    }
}

impl SlidingKSigma {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        if self.window == 0 {
            return Err(Error::invalid("threshold window", "must be at least 1"));
        }
        if !(self.k > 0.0 && self.k.is_finite()) {
            return Err(Error::invalid("threshold k", format!("{} must be positive", self.k)));
        }
        if !(self.eps >= 0.0 && self.eps.is_finite()) {
            return Err(Error::invalid("threshold eps", format!("{} must be at least 0", self.eps)));
        }
        Ok(())
    }

    /// The band around `centre` (the history's mean when `None`) from `history`.
    pub fn band(&self, history: &[f64], centre: Option<f64>) -> Band {
        let (mean, std) = mean_std(history);
        let c = centre.unwrap_or(mean);
        let half = self.k * (std + self.eps);
        Band { lo: c - half, hi: c + half }
    }

    /// |value − centre| / (std + ε) for every value with a full history
    /// (`None` for the first `window`); anomalous when `>= k`.
    pub fn deviations(&self, values: &[f64], centres: Option<&[f64]>) -> Vec<Option<f64>> {
        (0..values.len())
            .map(|t| {
                (t >= self.window).then(|| {
                    let band = self.band(&values[t - self.window..t], centres.map(|c| c[t]));
                    let c = (band.lo + band.hi) / 2.0;
                    let sigma = (band.hi - band.lo) / (2.0 * self.k);
                    (values[t] - c).abs() / sigma
                })
            })
            .collect()
    }

    /// Flags: the value leaves its band (seed 002: not strictly inside).
    pub fn flags(&self, values: &[f64], centres: Option<&[f64]>) -> Vec<bool> {
        (0..values.len())
            .map(|t| {
                t >= self.window && !self.band(&values[t - self.window..t], centres.map(|c| c[t])).contains(values[t])
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pot_is_chosen_by_configuration_and_fitted_on_scores() {
        let spec: ThresholdSpec =
            serde_json::from_str(r#"{"kind": "pot", "level": 0.98, "risk": 0.001}"#).expect("spec");
        assert_eq!(spec, ThresholdSpec::Pot { level: 0.98, risk: 0.001 });
        // Exponential scores (quantiles −ln(1 − p)): the 1e-3 risk threshold is ln(1000) ≈ 6.9.
        let scores: Vec<f64> = (1..=20_000).map(|i| -(1.0 - i as f64 / 20_001.0).ln()).collect();
        let Threshold::Static { value } = spec.fit(&scores).expect("fit") else { panic!("POT is one value") };
        assert!((value - 1000_f64.ln()).abs() < 0.3, "{value}");
        let bad = ThresholdSpec::Pot { level: 0.98, risk: 0.05 };
        assert!(bad.validate().expect_err("risk ≥ 1 − level").to_string().contains("level/risk"));
    }

    #[test]
    fn seed002_rule() {
        let s = SlidingKSigma::default();
        // History 20, 21, 22: mean 21, population std 0.8165; band 21 ± 3·0.8265.
        let band = s.band(&[20.0, 21.0, 22.0], None);
        assert!((band.hi - (21.0 + 3.0 * ((2.0f64 / 3.0).sqrt() + 0.01))).abs() < 1e-12);
        let flags = s.flags(&[20.0, 21.0, 22.0, 23.4, 30.0], None);
        assert_eq!(flags, vec![false, false, false, false, true]);
        // Centred on a forecast instead of the mean.
        let flags = s.flags(&[20.0, 21.0, 22.0, 23.4], Some(&[0.0, 0.0, 0.0, 26.0]));
        assert_eq!(flags, vec![false, false, false, true]);
        let dev = s.deviations(&[20.0, 21.0, 22.0, 30.0], None);
        assert!(dev[2].is_none());
        assert!(dev[3].unwrap() >= 3.0);
    }

    #[test]
    fn specs_fit_and_validate() {
        let t = ThresholdSpec::Percentile { q: 50.0 }.fit(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(t, Threshold::Static { value: 2.0 });
        assert_eq!(t.flags(&[1.9, 2.0]), vec![false, true]);
        assert!(ThresholdSpec::Percentile { q: -1.0 }.fit(&[1.0]).is_err());
        assert!(ThresholdSpec::SlidingKSigma(SlidingKSigma { window: 0, k: 3.0, eps: 0.0 }).validate().is_err());
        let spec: ThresholdSpec =
            serde_json::from_str(r#"{"kind": "sliding-k-sigma", "window": 10, "k": 3, "eps": 0.01}"#).unwrap();
        assert_eq!(spec, ThresholdSpec::SlidingKSigma(SlidingKSigma { window: 10, k: 3.0, eps: 0.01 }));
    }

    proptest! {
        #[test]
        fn flat_series_is_never_flagged(x in -1e3f64..1e3, n in 1usize..60, window in 1usize..10) {
            let s = SlidingKSigma { window, k: 3.0, eps: 0.01 };
            prop_assert!(s.flags(&vec![x; n], None).iter().all(|f| !f));
        }

        #[test]
        fn flags_agree_with_deviations(v in proptest::collection::vec(-100f64..100.0, 1..60), window in 1usize..8) {
            let s = SlidingKSigma { window, k: 2.0, eps: 0.01 };
            let flags = s.flags(&v, None);
            for (f, d) in flags.iter().zip(s.deviations(&v, None)) {
                match d {
                    None => prop_assert!(!f),
                    // Away from the exact boundary the two forms agree.
                    Some(d) if (d - 2.0).abs() > 1e-9 => prop_assert_eq!(*f, d >= 2.0),
                    Some(_) => {}
                }
            }
        }
    }

    #[test]
    fn spot_dspot_and_telemanom_from_config() {
        // A calibration stream of exponential-like scores, then a test stream with two spikes.
        // Exponential quantiles in a scrambled order (an i.i.d.-looking stream).
        let calibration: Vec<f64> = (0..2000).map(|i| -((((i * 7919) % 2000) as f64 + 0.5) / 2000.0).ln()).collect();
        let mut test: Vec<f64> = (0..500).map(|i| 0.2 + 0.6 * ((i * 37) % 100) as f64 / 100.0).collect();
        test[100] = 40.0;
        test[400] = 60.0;
        for text in [
            r#"kind = "spot"
level = 0.98
risk = 1e-4"#,
            r#"kind = "spot"
level = 0.98
risk = 1e-4
depth = 10"#,
        ] {
            let spec: ThresholdSpec = toml::from_str(text).unwrap();
            let t = spec.fit(&calibration).unwrap();
            let flags = t.flags(&test);
            let flagged: Vec<usize> = flags.iter().enumerate().filter(|(_, f)| **f).map(|(i, _)| i).collect();
            assert_eq!(flagged, vec![100, 400], "{text}");
        }
        let spec: ThresholdSpec = toml::from_str("kind = \"telemanom\"\nbatch = 50\nwindow = 400").unwrap();
        assert!(matches!(spec, ThresholdSpec::Telemanom(Telemanom { batch: 50, window: 400, .. })));
        let flags = spec.fit(&[]).unwrap().flags(&test);
        assert!(flags[100] || flags[101] || flags[102], "the first spike");
        assert!(flags[400..410].iter().any(|&f| f), "the second spike");
        // Each flag is widened by telemanom's buffer (100 rows) either side; the gap between stays clear.
        assert!(
            flags[220..280].iter().all(|&f| !f),
            "{:?}",
            flags.iter().enumerate().filter(|(_, f)| **f).map(|(i, _)| i).collect::<Vec<_>>()
        );
        let err = toml::from_str::<ThresholdSpec>("kind = \"telemanom\"\nbatchh = 5").unwrap_err().to_string();
        assert!(err.contains("batchh"), "{err}");
        assert!(ThresholdSpec::Spot { level: 0.98, risk: 0.5, depth: 0 }.fit(&calibration).is_err());
        // A SPOT threshold read from a file is checked before use: one that cannot calibrate is refused.
        let broken = Threshold::Spot { level: 0.98, risk: 1e-4, depth: 0, calibration: vec![1.0; 3] };
        assert!(broken.validate().is_err());
        let fitted = ThresholdSpec::Spot { level: 0.98, risk: 1e-4, depth: 0 }.fit(&calibration).expect("fit");
        assert!(fitted.validate().is_ok());
    }
}
