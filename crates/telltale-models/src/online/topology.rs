//! Seed 002's PersistAD, topological: a time-delay embedding of the latest
//! window, the persistent homology of that point cloud, and a significance
//! test of its persistence diagram against the diagrams of normal windows.
//!
//! The last `window` embedded points are `(x[t], x[t+τ], …, x[t+(dim−1)τ])`.
//! Their 0-dimensional persistent homology (connected components of the
//! Vietoris–Rips filtration) has every component born at 0 and dying at the
//! length of the minimum-spanning-tree edge that merges it, so the diagram is
//! the tree's edge lengths (Prim's algorithm). Two summaries of it are tested:
//! the longest-lived component (a point or a cluster far from the rest: a
//! spike, a jump) and the total persistence (how spread the dynamics are: a
//! change of amplitude or frequency). Each is compared with the same summary
//! of the reference windows; the p-value of the more extreme one,
//! Bonferroni-corrected, `p = 2·min((1 + #ref ≥ v) / (1 + n))`, is significant
//! below `alpha`, and the score is `−ln p` when it is, 0 when not. Distances
//! do not move with the level, so no scaling is needed.
//!
//! The reference: every window of the warm-up, then every window found not
//! significant (the sliding memory of `memory` windows follows slow drift).
//! Nothing after a reading is read before it is scored.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::online::{Online, Settings, at_least_one};

/// Topological PersistAD settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopologyConfig {
    /// Embedding dimension (at least 1).
    pub dim: usize,
    /// Delay between the embedding's coordinates, in readings (at least 1).
    pub delay: usize,
    /// Embedded points per window (at least 3).
    pub window: usize,
    /// Significance level of the test, in `(0, 1)`.
    pub alpha: f64,
    /// Reference windows remembered (at least 30).
    pub memory: usize,
}

impl Default for TopologyConfig {
    fn default() -> Self {
        TopologyConfig { dim: 3, delay: 1, window: 24, alpha: 0.01, memory: 2000 }
    }
}

/// Reference windows needed before any test.
const MIN_REFERENCE: usize = 30;

/// The persistence diagram's two summaries: (longest death, total persistence).
pub fn h0_summary(points: &[Vec<f64>]) -> (f64, f64) {
    let n = points.len();
    if n < 2 {
        return (0.0, 0.0);
    }
    let dist = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt();
    // Prim: `best[j]` is j's distance to the tree grown from point 0.
    let mut in_tree = vec![false; n];
    let mut best: Vec<f64> = points.iter().map(|p| dist(&points[0], p)).collect();
    in_tree[0] = true;
    let (mut longest, mut total) = (0.0_f64, 0.0);
    for _ in 1..n {
        let Some(next) = (0..n).filter(|&j| !in_tree[j]).min_by(|&a, &b| best[a].total_cmp(&best[b])) else { break };
        let death = best[next];
        longest = longest.max(death);
        total += death;
        in_tree[next] = true;
        for j in 0..n {
            if !in_tree[j] {
                best[j] = best[j].min(dist(&points[next], &points[j]));
            }
        }
    }
    (longest, total)
}

/// The streaming detector.
#[derive(Debug, Clone)]
pub struct Topology {
    cfg: TopologyConfig,
    warmup: usize,
    seen: usize,
    past: VecDeque<f64>,
    reference: [VecDeque<f64>; 2],
}

impl Topology {
    /// A fresh detector whose first `warmup` readings only build the reference.
    pub fn new(cfg: TopologyConfig, warmup: usize) -> Topology {
        let span = cfg.window + (cfg.dim - 1) * cfg.delay;
        Topology {
            warmup,
            seen: 0,
            past: VecDeque::with_capacity(span + 1),
            reference: [VecDeque::with_capacity(cfg.memory), VecDeque::with_capacity(cfg.memory)],
            cfg,
        }
    }

    fn embedded(&self) -> Vec<Vec<f64>> {
        (0..self.cfg.window).map(|i| (0..self.cfg.dim).map(|k| self.past[i + k * self.cfg.delay]).collect()).collect()
    }
}

/// `(1 + #reference ≥ v) / (1 + n)`.
fn p_value(reference: &VecDeque<f64>, v: f64) -> f64 {
    let above = reference.iter().filter(|&&r| r >= v).count();
    (1 + above) as f64 / (1 + reference.len()) as f64
}

impl Settings for TopologyConfig {
    fn name(&self) -> String {
        format!("persist-tda(dim={},delay={},w={},alpha={})", self.dim, self.delay, self.window, self.alpha)
    }

    fn validate(&self) -> Result<()> {
        at_least_one("persist-tda.dim", self.dim)?;
        at_least_one("persist-tda.delay", self.delay)?;
        if self.window < 3 {
            return Err(Error::config("persist-tda.window", "must be at least 3 points"));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::config("persist-tda.alpha", format!("{} is not in (0, 1)", self.alpha)));
        }
        if self.memory < MIN_REFERENCE {
            return Err(Error::config("persist-tda.memory", format!("must be at least {MIN_REFERENCE} windows")));
        }
        Ok(())
    }

    fn build(&self, warmup: usize, _step_s: f64) -> Box<dyn Online> {
        Box::new(Topology::new(self.clone(), warmup))
    }
}

impl Online for Topology {
    fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            return 0.0;
        }
        self.seen += 1;
        let span = self.cfg.window + (self.cfg.dim - 1) * self.cfg.delay;
        self.past.push_back(x);
        if self.past.len() > span {
            self.past.pop_front();
        }
        if self.past.len() < span {
            return 0.0;
        }
        let (longest, total) = h0_summary(&self.embedded());
        let ready = self.reference[0].len() >= MIN_REFERENCE && self.seen > self.warmup;
        let score = if ready {
            let p = (2.0 * p_value(&self.reference[0], longest).min(p_value(&self.reference[1], total))).min(1.0);
            if p < self.cfg.alpha { -p.ln() } else { 0.0 }
        } else {
            0.0
        };
        if score == 0.0 {
            for (r, v) in self.reference.iter_mut().zip([longest, total]) {
                r.push_back(v);
                if r.len() > self.cfg.memory {
                    r.pop_front();
                }
            }
        }
        score
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h0_of_points_on_a_line_is_their_gaps() {
        let points: Vec<Vec<f64>> = [0.0, 1.0, 3.0, 10.0].iter().map(|&x| vec![x]).collect();
        let (longest, total) = h0_summary(&points);
        assert_eq!((longest, total), (7.0, 10.0));
        // Translation changes nothing.
        let moved: Vec<Vec<f64>> = points.iter().map(|p| vec![p[0] + 100.0]).collect();
        assert_eq!(h0_summary(&moved), (7.0, 10.0));
    }

    fn wave(n: usize) -> Vec<f64> {
        let mut s = 11_u64;
        (0..n)
            .map(|i| {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                (i as f64 * 0.3).sin() + 0.1 * ((s >> 11) as f64 / (1u64 << 53) as f64)
            })
            .collect()
    }

    #[test]
    fn a_jump_is_significant_plain_waves_rarely_are_and_nothing_is_read_ahead() {
        let cfg = TopologyConfig::default();
        cfg.validate().expect("defaults");
        let mut values = wave(1500);
        for v in &mut values[1200..1210] {
            *v += 6.0;
        }
        let mut det = Topology::new(cfg.clone(), 500);
        let scores: Vec<f64> = values.iter().map(|&x| det.update(x)).collect();
        assert!(scores[..500].iter().all(|&s| s == 0.0), "the warm-up only builds the reference");
        assert!(scores[1200..1215].iter().any(|&s| s > 0.0), "the jump is missed");
        let false_alarms = scores[500..1200].iter().filter(|&&s| s > 0.0).count();
        assert!(false_alarms < 30, "{false_alarms} significant windows in 700 plain ones");
        // The scores of a prefix do not depend on what follows it.
        let mut again = Topology::new(cfg, 500);
        let prefix: Vec<f64> = values[..1205].iter().map(|&x| again.update(x)).collect();
        assert_eq!(prefix, scores[..1205]);
    }

    #[test]
    fn bad_settings_are_named() {
        let bad = TopologyConfig { alpha: 1.5, ..TopologyConfig::default() };
        assert!(bad.validate().expect_err("alpha").to_string().contains("persist-tda.alpha"));
        let bad = TopologyConfig { window: 2, ..TopologyConfig::default() };
        assert!(bad.validate().expect_err("window").to_string().contains("persist-tda.window"));
    }
}
