//! NAB's windowed Gaussian baseline: the absolute z-score of a reading
//! against the mean and standard deviation of the trailing window.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::online::{Online, Settings, Trailing};

/// Windowed Gaussian settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GaussianConfig {
    /// Readings in the trailing window (at least 2: a deviation needs two).
    pub window: usize,
}

impl Default for GaussianConfig {
    fn default() -> Self {
        GaussianConfig { window: 6400 }
    }
}

/// The streaming detector.
#[derive(Debug, Clone)]
pub struct Gaussian {
    past: Trailing,
}

impl Gaussian {
    /// A fresh detector (`cfg` checked by [`crate::online::OnlineSpec::validate`]).
    pub fn new(cfg: GaussianConfig) -> Gaussian {
        Gaussian { past: Trailing::new(cfg.window) }
    }
}

impl Settings for GaussianConfig {
    fn name(&self) -> String {
        format!("windowed-gaussian(w={})", self.window)
    }

    fn validate(&self) -> Result<()> {
        if self.window < 2 {
            return Err(Error::config("gaussian.window", "must be at least 2 (a deviation needs two readings)"));
        }
        Ok(())
    }

    fn build(&self, _warmup: usize, _step_s: f64) -> Box<dyn Online> {
        Box::new(Gaussian::new(self.clone()))
    }
}

impl Online for Gaussian {
    fn update(&mut self, x: f64) -> f64 {
        let std = self.past.std();
        let score = if self.past.len() < 2 || std == 0.0 { 0.0 } else { (x - self.past.mean()).abs() / std };
        self.past.push(x);
        score
    }
}
