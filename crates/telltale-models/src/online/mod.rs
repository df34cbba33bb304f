//! Streaming detectors for single series (NAB-style): each reading is scored
//! from the past alone, as it arrives, then folded into the detector's state.
//!
//! - [`persist::Persist`]: ADTK's PersistAD: deviation from the median (or
//!   mean) of the preceding window, in units of the deviations' inter-quartile
//!   range.
//! - [`gaussian::Gaussian`]: NAB's windowed Gaussian baseline: the z-score
//!   against the mean and deviation of a trailing window.
//! - [`forecast::Forecast`]: an autoregressive forecaster fitted by recursive
//!   least squares; with `learn` on it keeps learning as readings arrive
//!   (online learning), off it is frozen once the warm-up ends.
//! - [`novelty::Novelty`]: how far the latest stretch of the series (block
//!   means, several lengths) lies from every earlier stretch it remembers.
//! - [`topology::Topology`]: seed 002's topological PersistAD: the persistent
//!   homology of the time-delay-embedded window, its persistence diagram
//!   tested against those of normal windows.
//!
//! Raw scores become NAB anomaly scores in `[0, 1]` through the anomaly
//! likelihood ([`likelihood::Likelihood`]: the short-term mean of raw scores
//! against their long-term distribution, as Numenta's detector does) and a
//! quiet period after each new high ([`Quiet`]), so that one anomaly is one
//! detection.

pub mod forecast;
pub mod gaussian;
pub mod likelihood;
pub mod novelty;
pub mod persist;
pub mod topology;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A detector that scores each reading from the past, then learns from it.
pub trait Online {
    /// The raw anomaly score of `x` (larger is more anomalous), after which
    /// `x` joins the detector's history.
    fn update(&mut self, x: f64) -> f64;
}

/// The settings of one kind of streaming detector: each detector's module
/// implements it for its configuration, beside the detector itself.
pub trait Settings {
    /// A short name for tables.
    fn name(&self) -> String;
    /// Checks the settings; errors name the field (`<kind>.<key>`).
    fn validate(&self) -> Result<()>;
    /// A fresh detector; `warmup` readings come before the first scored one,
    /// readings come `step_s` seconds apart.
    fn build(&self, warmup: usize, step_s: f64) -> Box<dyn Online>;
}

/// Declares [`OnlineSpec`], one variant per detector, and its dispatch to
/// each variant's [`Settings`].
macro_rules! detectors {
    ($($(#[doc = $doc:literal])* $variant:ident($config:ty),)+) => {
        /// A streaming detector and its settings; `kind` is the variant's
        /// name in kebab case.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
        pub enum OnlineSpec {
            $($(#[doc = $doc])* $variant($config),)+
        }

        impl OnlineSpec {
            fn settings(&self) -> &dyn Settings {
                match self {
                    $(OnlineSpec::$variant(c) => c,)+
                }
            }
        }
    };
}

// Adding a detector: its module above (the detector, its configuration and
// that configuration's `Settings`), and one line here.
detectors! {
    /// ADTK's PersistAD.
    Persist(persist::PersistConfig),
    /// NAB's windowed Gaussian.
    Gaussian(gaussian::GaussianConfig),
    /// Autoregressive forecaster, recursive least squares.
    Forecast(forecast::ForecastConfig),
    /// Pattern novelty against a memory of the series' past.
    Novelty(novelty::NoveltyConfig),
    /// Seed 002's topological PersistAD: persistent homology of the delay-embedded window, tested.
    PersistTda(topology::TopologyConfig),
}

impl OnlineSpec {
    /// A short name for tables.
    pub fn name(&self) -> String {
        self.settings().name()
    }

    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<()> {
        self.settings().validate()
    }

    /// A fresh detector; `warmup` readings come before the first scored one,
    /// readings come `step_s` seconds apart.
    pub fn build(&self, warmup: usize, step_s: f64) -> Box<dyn Online> {
        self.settings().build(warmup, step_s)
    }
}

/// `Ok` when `v` is at least 1, else an error naming `field`.
pub(crate) fn at_least_one(field: &str, v: usize) -> Result<()> {
    if v == 0 { Err(Error::config(field, "must be at least 1")) } else { Ok(()) }
}

/// After a score reaches a new high over the last `span` readings, lower
/// scores are quiet until `span` readings have passed: one anomaly, one
/// detection at its start (NAB rewards the earliest and punishes the rest).
#[derive(Debug, Clone)]
pub struct Quiet {
    span: usize,
    recent: std::collections::VecDeque<f64>,
}

impl Quiet {
    /// A filter remembering `span` readings.
    pub fn new(span: usize) -> Quiet {
        Quiet { span, recent: std::collections::VecDeque::with_capacity(span + 1) }
    }

    /// `score` when it beats every score of the last `span` readings, else 0.
    pub fn filter(&mut self, score: f64) -> f64 {
        let high = self.recent.iter().all(|&r| score > r);
        self.recent.push_back(score);
        if self.recent.len() > self.span {
            self.recent.pop_front();
        }
        if high { score } else { 0.0 }
    }
}

/// Settings of the whole streaming scorer: detector, likelihood, quiet period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamScorer {
    /// The detector.
    pub detector: OnlineSpec,
    /// Anomaly likelihood settings (none: raw scores squashed to `[0, 1)`).
    pub likelihood: Option<likelihood::LikelihoodConfig>,
    /// Quiet period after a new high, as a share of the warm-up length (0: off).
    pub quiet: f64,
}

impl StreamScorer {
    /// Checks the detector, the likelihood and the quiet period; errors name the field.
    pub fn validate(&self) -> Result<()> {
        self.detector.validate()?;
        if let Some(l) = &self.likelihood {
            l.validate()?;
        }
        if !(self.quiet >= 0.0 && self.quiet.is_finite()) {
            return Err(Error::config("quiet", format!("{} is not a share of at least 0", self.quiet)));
        }
        Ok(())
    }

    /// Scores a series in time order, readings `step_s` seconds apart; the
    /// first `warmup` readings are the detector's warm-up. Scores are in `[0, 1]`.
    pub fn score(&self, values: &[f64], warmup: usize, step_s: f64) -> Vec<f64> {
        let mut det = self.detector.build(warmup, step_s);
        let mut lik = self.likelihood.as_ref().map(|c| likelihood::Likelihood::new(c.clone()));
        let span = (self.quiet * warmup as f64).round() as usize;
        let mut quiet = (span > 0).then(|| Quiet::new(span));
        values
            .iter()
            .map(|&x| {
                let raw = det.update(x);
                let raw = if raw.is_finite() { raw.max(0.0) } else { 0.0 };
                let s = match lik.as_mut() {
                    Some(l) => l.update(raw),
                    None => raw / (1.0 + raw),
                };
                match quiet.as_mut() {
                    Some(q) => q.filter(s),
                    None => s,
                }
            })
            .collect()
    }
}

/// A trailing window of readings with its running sum and sum of squares.
#[derive(Debug, Clone)]
pub(crate) struct Trailing {
    cap: usize,
    values: std::collections::VecDeque<f64>,
    sum: f64,
    sum_sq: f64,
}

impl Trailing {
    pub(crate) fn new(cap: usize) -> Trailing {
        Trailing { cap, values: std::collections::VecDeque::with_capacity(cap + 1), sum: 0.0, sum_sq: 0.0 }
    }

    pub(crate) fn push(&mut self, x: f64) {
        self.values.push_back(x);
        self.sum += x;
        self.sum_sq += x * x;
        if self.values.len() > self.cap
            && let Some(old) = self.values.pop_front()
        {
            self.sum -= old;
            self.sum_sq -= old * old;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    pub(crate) fn mean(&self) -> f64 {
        if self.values.is_empty() { 0.0 } else { self.sum / self.values.len() as f64 }
    }

    /// Population standard deviation (0 for fewer than two readings).
    pub(crate) fn std(&self) -> f64 {
        let n = self.values.len() as f64;
        if n < 2.0 {
            return 0.0;
        }
        let m = self.sum / n;
        (self.sum_sq / n - m * m).max(0.0).sqrt()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &f64> {
        self.values.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scorer(text: &str) -> StreamScorer {
        toml::from_str(text).expect("scorer")
    }

    #[test]
    fn a_gaussian_window_of_one_is_refused_not_widened() {
        let ok = scorer("quiet = 0.1\ndetector = { kind = \"gaussian\", window = 2 }");
        assert!(ok.validate().is_ok());
        let one = scorer("quiet = 0.1\ndetector = { kind = \"gaussian\", window = 1 }");
        let err = one.validate().expect_err("refused").to_string();
        assert!(err.starts_with("gaussian.window: must be at least 2"), "{err}");
    }

    #[test]
    fn the_scorer_checks_its_likelihood_and_quiet_period() {
        let base = "detector = { kind = \"persist\", window = 5, agg = \"median\" }";
        let ok = scorer(&format!("quiet = 0.1\nlikelihood = {{ short = 1, long = 8640, min_history = 100 }}\n{base}"));
        assert!(ok.validate().is_ok());
        let short = scorer(&format!("quiet = 0.1\nlikelihood = {{ short = 0 }}\n{base}"));
        assert_eq!(short.validate().expect_err("refused").to_string(), "likelihood.short: must be at least 1");
        let quiet = scorer(&format!("quiet = -0.5\n{base}"));
        assert_eq!(quiet.validate().expect_err("refused").to_string(), "quiet: -0.5 is not a share of at least 0");
    }
}
