//! Pattern novelty: how far the latest stretch of a series lies from every
//! stretch seen before it.
//!
//! Readings are averaged in blocks (the warm-up holds `blocks` of them) and
//! scaled by the warm-up's range, fixed from then on, so a level never seen
//! before is far from everything. For each pattern length `m`, the last `m`
//! block means are compared with every earlier run of `m` block means still in
//! memory; the distance to the nearest (mean absolute difference) is judged
//! against the 99th percentile of the recent distances, `z = d / q99`, and
//! squashed to `z / (1 + z)`. The lengths' squashed scores are averaged; each
//! holds until its next block. A pattern seen once is remembered, so a
//! recurring shape (a daily cycle, a weekly one at a coarse enough block) stops
//! being news, while a new shape or level is news at once.
//!
//! Readings of the warm-up are kept until it ends (its range scales them);
//! nothing after it is seen before it is scored.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::online::{Online, Settings, at_least_one};

/// Pattern novelty settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoveltyConfig {
    /// Blocks in the warm-up: each block averages `warm-up / blocks` readings (at least 1).
    pub blocks: usize,
    /// Pattern lengths, in blocks; their scores are averaged.
    pub lengths: Vec<usize>,
    /// How many recent distances judge the current one.
    pub calibration: usize,
    /// Blocks remembered (the oldest are forgotten beyond it).
    pub memory: usize,
}

impl Default for NoveltyConfig {
    fn default() -> Self {
        NoveltyConfig { blocks: 100, lengths: vec![2, 3, 4, 6, 8], calibration: 500, memory: 10_000 }
    }
}

/// The most recent patterns left out of the search: they overlap the current one.
const GAP: usize = 2;
/// Distances needed before a pattern is judged.
const MIN_DISTANCES: usize = 20;

/// One pattern length's recent distances and its held score.
#[derive(Debug, Clone)]
struct Length {
    m: usize,
    distances: VecDeque<f64>,
    held: f64,
}

/// The streaming detector.
#[derive(Debug, Clone)]
pub struct Novelty {
    cfg: NoveltyConfig,
    warmup: usize,
    /// Readings seen.
    seen: usize,
    /// Warm-up readings, kept until the range is known.
    pending: Vec<f64>,
    /// `(low, width)` of the warm-up's range, once known.
    scale: Option<(f64, f64)>,
    block_len: usize,
    block_sum: f64,
    block_count: usize,
    block_finite: usize,
    /// Scaled block means, oldest first.
    blocks: VecDeque<f64>,
    lengths: Vec<Length>,
}

impl Novelty {
    /// A fresh detector whose first `warmup` readings are its warm-up.
    pub fn new(cfg: NoveltyConfig, warmup: usize) -> Novelty {
        let block_len = ((warmup as f64 / cfg.blocks.max(1) as f64).round() as usize).max(1);
        let lengths = cfg
            .lengths
            .iter()
            .map(|&m| Length { m: m.max(1), distances: VecDeque::with_capacity(cfg.calibration + 1), held: 0.0 })
            .collect();
        Novelty {
            warmup,
            seen: 0,
            pending: Vec::with_capacity(warmup),
            scale: None,
            block_len,
            block_sum: 0.0,
            block_count: 0,
            block_finite: 0,
            blocks: VecDeque::new(),
            lengths,
            cfg,
        }
    }

    /// Adds one reading to the current block; a full block is judged and remembered.
    fn add(&mut self, x: f64, (low, width): (f64, f64)) {
        // A reading that is not a number takes its place in the block but not in its mean.
        if x.is_finite() {
            self.block_sum += x;
            self.block_finite += 1;
        }
        self.block_count += 1;
        if self.block_count < self.block_len {
            return;
        }
        let mean = (self.block_sum / self.block_finite as f64 - low) / width;
        self.block_sum = 0.0;
        self.block_count = 0;
        self.block_finite = 0;
        if !mean.is_finite() {
            return;
        }
        self.blocks.push_back(mean);
        if self.blocks.len() > self.cfg.memory.max(GAP + 2) {
            self.blocks.pop_front();
        }
        let judged = self.seen > self.warmup;
        for length in &mut self.lengths {
            length.judge(&self.blocks, self.cfg.calibration, judged);
        }
    }
}

impl Length {
    /// Scores the newest pattern of `blocks` against the earlier ones, then keeps its distance.
    fn judge(&mut self, blocks: &VecDeque<f64>, calibration: usize, judged: bool) {
        let m = self.m;
        let n = blocks.len();
        // Earlier patterns end at blocks m-1 ..= n-2-GAP.
        if n < m + GAP + 1 {
            return;
        }
        let current = n - m;
        let nearest = (0..=n - 1 - GAP - m)
            .map(|start| (0..m).map(|k| (blocks[start + k] - blocks[current + k]).abs()).sum::<f64>() / m as f64)
            .fold(f64::INFINITY, f64::min);
        if judged && self.distances.len() >= MIN_DISTANCES {
            let q99 = telltale_core::threshold::percentile(self.distances.make_contiguous(), 99.0).unwrap_or(0.0);
            let z = nearest / (q99 + 1e-9);
            self.held = z / (1.0 + z);
        } else {
            self.held = 0.0;
        }
        self.distances.push_back(nearest);
        if self.distances.len() > calibration.max(1) {
            self.distances.pop_front();
        }
    }
}

impl Settings for NoveltyConfig {
    fn name(&self) -> String {
        format!("novelty(blocks={}, lengths={:?})", self.blocks, self.lengths)
    }

    fn validate(&self) -> Result<()> {
        at_least_one("novelty.blocks", self.blocks)?;
        at_least_one("novelty.calibration", self.calibration)?;
        at_least_one("novelty.memory", self.memory)?;
        if self.lengths.is_empty() {
            return Err(Error::config("novelty.lengths", "name at least one pattern length"));
        }
        self.lengths.iter().try_for_each(|&m| at_least_one("novelty.lengths", m))
    }

    fn build(&self, warmup: usize, _step_s: f64) -> Box<dyn Online> {
        Box::new(Novelty::new(self.clone(), warmup))
    }
}

impl Online for Novelty {
    /// The mean of the lengths' held scores `s̄` in `[0, 1)`, returned as
    /// `s̄ / (1 - s̄)` so that the scorer's squash `r / (1 + r)` gives `s̄` back.
    fn update(&mut self, x: f64) -> f64 {
        self.seen += 1;
        match self.scale {
            None => {
                self.pending.push(x);
                if self.seen < self.warmup.max(1) {
                    return 0.0;
                }
                let finite = self.pending.iter().copied().filter(|v| v.is_finite());
                let (low, high) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
                let width = if high > low { high - low } else { 1.0 };
                let low = if low.is_finite() { low } else { 0.0 };
                self.scale = Some((low, width));
                for v in std::mem::take(&mut self.pending) {
                    self.add(v, (low, width));
                }
            }
            Some(scale) => self.add(x, scale),
        }
        if self.seen <= self.warmup || self.lengths.is_empty() {
            return 0.0;
        }
        let mean = self.lengths.iter().map(|l| l.held).sum::<f64>() / self.lengths.len() as f64;
        mean / (1.0 - mean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A daily-like cycle of 48 readings with a little deterministic jitter.
    fn cycle(i: usize) -> f64 {
        let phase = (i % 48) as f64 / 48.0 * std::f64::consts::TAU;
        10.0 + 3.0 * phase.sin() + 0.05 * ((i * 7919) % 13) as f64
    }

    fn scores(values: &[f64], warmup: usize, cfg: &NoveltyConfig) -> Vec<f64> {
        let mut d = Novelty::new(cfg.clone(), warmup);
        values.iter().map(|&x| d.update(x)).collect()
    }

    /// The cycle, with the same bump (readings raised by 6 for 40 readings) at `at` and again at `again`.
    fn bumped(n: usize, at: usize, again: usize) -> Vec<f64> {
        (0..n)
            .map(|i| cycle(i) + if (at..at + 40).contains(&i) || (again..again + 40).contains(&i) { 6.0 } else { 0.0 })
            .collect()
    }

    #[test]
    fn a_new_shape_is_news_once() {
        let (n, warmup, at, again) = (3000, 750, 1500, 2400);
        let s = scores(&bumped(n, at, again), warmup, &NoveltyConfig::default());
        assert!(s[..warmup].iter().all(|&v| v == 0.0), "the warm-up is not scored");
        let peak = |r: std::ops::Range<usize>| s[r].iter().copied().fold(0.0, f64::max);
        let first = peak(at..at + 60);
        let second = peak(again..again + 60);
        let elsewhere = peak(warmup..at).max(peak(at + 100..again));
        // r = s̄ / (1 - s̄): r = 1 is a pattern as far from the past as the farthest 1 % of recent ones (the warm-up's).
        assert!(first > 1.0 && first > 20.0 * elsewhere, "first bump {first}, elsewhere {elsewhere}");
        assert!(second < first / 2.0, "the bump seen before is remembered: {second} vs {first}");
    }

    #[test]
    fn scores_never_look_ahead() {
        let values = bumped(2500, 1200, 2000);
        let cfg = NoveltyConfig::default();
        let whole = scores(&values, 600, &cfg);
        for cut in [601, 1230, 2100] {
            assert_eq!(scores(&values[..cut], 600, &cfg), whole[..cut], "prefix of {cut}");
        }
    }

    #[test]
    fn gaps_flat_series_and_no_warmup_score_finitely() {
        let mut values: Vec<f64> = (0..1500).map(cycle).collect();
        values[900] = f64::NAN;
        values[901] = f64::INFINITY;
        let cfg = NoveltyConfig::default();
        assert!(scores(&values, 750, &cfg).iter().all(|v| v.is_finite() && *v >= 0.0));
        assert!(scores(&[5.0; 400], 100, &cfg).iter().all(|&v| v == 0.0), "nothing is new in a flat line");
        assert!(scores(&values[..300], 0, &cfg).iter().all(|v| v.is_finite()));
    }
}
