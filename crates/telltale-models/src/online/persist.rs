//! ADTK's PersistAD, streaming: the deviation of each reading from an
//! aggregate (median or mean) of the `window` readings before it, judged by
//! the inter-quartile range of the deviations seen during the warm-up
//! (ADTK fits its InterQuartileRangeAD on the training series): the score is
//! how far the deviation lies outside `[Q1, Q3]`, in IQRs, so ADTK's rule
//! "outside `[Q1 − c·IQR, Q3 + c·IQR]`" is "score > c" (`c = 3` by default).

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::online::{Online, Settings, Trailing, at_least_one};

/// How the preceding window is summarised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Agg {
    /// The median (ADTK's default).
    #[default]
    Median,
    /// The mean.
    Mean,
}

impl Agg {
    /// Its name.
    pub fn name(&self) -> &'static str {
        match self {
            Agg::Median => "median",
            Agg::Mean => "mean",
        }
    }
}

/// PersistAD settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersistConfig {
    /// Readings the aggregate looks back over.
    pub window: usize,
    /// Aggregate.
    pub agg: Agg,
    /// ADTK's `c`: the flag rule is "score > c" (kept for the rule's text;
    /// the score itself does not depend on it).
    pub c: f64,
}

impl Default for PersistConfig {
    fn default() -> Self {
        PersistConfig { window: 1, agg: Agg::Median, c: 3.0 }
    }
}

/// The streaming PersistAD.
#[derive(Debug, Clone)]
pub struct Persist {
    cfg: PersistConfig,
    past: Trailing,
    warmup: usize,
    deviations: Vec<f64>,
    fitted: usize,
    quartiles: Option<(f64, f64)>,
}

impl Persist {
    /// A fresh detector that fits its quartiles on the first `warmup` deviations.
    pub fn new(cfg: PersistConfig, warmup: usize) -> Persist {
        let past = Trailing::new(cfg.window.max(1));
        Persist { cfg, past, warmup: warmup.max(4), deviations: Vec::new(), fitted: 0, quartiles: None }
    }

    fn aggregate(&self) -> f64 {
        match self.cfg.agg {
            Agg::Mean => self.past.mean(),
            Agg::Median => {
                let mut v: Vec<f64> = self.past.iter().copied().collect();
                v.sort_by(f64::total_cmp);
                let n = v.len();
                if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) }
            }
        }
    }
}

impl Settings for PersistConfig {
    fn name(&self) -> String {
        format!("persist(w={}, {})", self.window, self.agg.name())
    }

    fn validate(&self) -> Result<()> {
        at_least_one("persist.window", self.window)
    }

    fn build(&self, warmup: usize, _step_s: f64) -> Box<dyn Online> {
        Box::new(Persist::new(self.clone(), warmup))
    }
}

impl Online for Persist {
    fn update(&mut self, x: f64) -> f64 {
        let score = if self.past.len() < self.cfg.window.max(1) {
            0.0
        } else {
            let d = x - self.aggregate();
            // During the warm-up the quartiles are refitted on the deviations
            // so far (every 16), so that warm-up readings score too.
            if self.fitted < self.warmup {
                self.deviations.push(d);
                if self.deviations.len() >= 4
                    && (self.deviations.len() % 16 == 4 || self.deviations.len() >= self.warmup)
                {
                    let q = |p| telltale_core::threshold::percentile(&self.deviations, p).ok();
                    self.quartiles = q(25.0).zip(q(75.0));
                }
                self.fitted = self.deviations.len();
                if self.fitted >= self.warmup {
                    self.deviations = Vec::new();
                }
            }
            match self.quartiles {
                Some((q1, q3)) => {
                    let iqr = (q3 - q1).max(1e-9 * (q1.abs() + q3.abs()).max(1e-12));
                    ((d - q3) / iqr).max((q1 - d) / iqr).max(0.0)
                }
                None => 0.0,
            }
        };
        self.past.push(x);
        score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_shift_scores_in_iqrs() {
        let mut p = Persist::new(PersistConfig { window: 3, agg: Agg::Median, c: 3.0 }, 100);
        // A sawtooth 0, 1, 2, 3, 0, ...: deviations from the median of the last 3.
        let mut last = 0.0;
        for i in 0..200 {
            last = p.update((i % 4) as f64);
        }
        let (q1, q3) = p.quartiles.unwrap();
        assert!(q3 > q1);
        assert!(last <= 0.0 + 1e-12 || last < 3.0, "{last}");
        // A jump of 50 after ...,1,2,3 (median 2): deviation 48.
        let s = p.update(50.0);
        assert!((s - (48.0 - q3) / (q3 - q1)).abs() < 1e-9, "{s}");
        assert!(s > 3.0);
    }
}
