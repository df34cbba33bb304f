//! Event-level metrics: an anomaly is a contiguous run of anomalous points.
//!
//! Event precision / recall follow NASA telemanom's convention: a labelled
//! event is detected when at least one flagged point falls inside it; a
//! flagged run that touches no labelled event is one false event.
//! SKAB's false- and missed-alarm rates are point-wise (its upstream
//! `core/metrics.py`): FAR = FP / (FP + TN), MAR = FN / (FN + TP), in percent.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::metrics::classification::{Confusion, check_lengths};

/// The contiguous runs of non-zero values.
pub fn segments<T: Copy + Into<u8>>(flags: &[T]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &f) in flags.iter().enumerate() {
        match (f.into() != 0, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..flags.len());
    }
    out
}

/// Event-level counts and scores, with SKAB's point-wise alarm rates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EventMetrics {
    /// Labelled events.
    pub events: usize,
    /// Labelled events with at least one flagged point.
    pub detected: usize,
    /// Flagged runs.
    pub flagged_runs: usize,
    /// Flagged runs overlapping no labelled event.
    pub false_runs: usize,
    /// detected / (detected + false_runs).
    pub precision: f64,
    /// detected / events.
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
    /// SKAB false-alarm rate, percent of normal points flagged.
    pub far: f64,
    /// SKAB missed-alarm rate, percent of anomalous points not flagged.
    pub mar: f64,
}

impl EventMetrics {
    /// Event metrics of `flags` against `labels` (same length, time order).
    pub fn new(labels: &[u8], flags: &[bool]) -> Result<EventMetrics> {
        check_lengths(labels.len(), flags.len(), "flags")?;
        let truth = segments(labels);
        let flagged: Vec<u8> = flags.iter().map(|&f| u8::from(f)).collect();
        let runs = segments(&flagged);
        let detected = truth.iter().filter(|t| flags[(*t).clone()].iter().any(|&f| f)).count();
        let false_runs = runs.iter().filter(|r| labels[(*r).clone()].iter().all(|&l| l == 0)).count();
        let den = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = den(detected, detected + false_runs);
        let recall = den(detected, truth.len());
        let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
        let c = Confusion::from_flags(labels, flags)?;
        let pct = |a: usize, b: usize| 100.0 * den(a, a + b);
        Ok(EventMetrics {
            events: truth.len(),
            detected,
            flagged_runs: runs.len(),
            false_runs,
            precision,
            recall,
            f1,
            far: pct(c.fp, c.tn),
            mar: pct(c.fn_, c.tp),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_segments() {
        assert_eq!(segments(&[0u8, 1, 1, 0, 1]), vec![1..3, 4..5]);
        assert_eq!(segments(&[1u8, 1]), vec![0..2]);
        assert!(segments::<u8>(&[]).is_empty());
    }

    #[test]
    fn event_scores() {
        let labels = [0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0];
        let flags = [false, false, true, false, false, true, false, false, false, false, true, true];
        let m = EventMetrics::new(&labels, &flags).unwrap();
        assert_eq!((m.events, m.detected, m.flagged_runs, m.false_runs), (2, 1, 3, 2));
        assert!((m.precision - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.recall, 0.5);
        assert!((m.f1 - 0.4).abs() < 1e-12);
        // 7 normal points, 3 flagged; 5 anomalous points, 4 missed.
        assert!((m.far - 300.0 / 7.0).abs() < 1e-9);
        assert_eq!(m.mar, 80.0);
    }
}
