//! Cross-validated NAB figures. NAB itself chooses one threshold per profile
//! on the very series it then scores, and a roster's best detector is chosen
//! the same way: both are in-sample. Here the series are dealt into K folds
//! by name ([`crate::folds`]); for each fold the thresholds, and the choice
//! of detector, are made on the other K−1 folds alone and the fold is scored
//! with them. Every series is scored exactly once, by settings that never saw
//! it; the held-out outcomes are summed and normalised as NAB does.

use serde::Serialize;
use telltale_core::metrics::nab::{Outcome, PROFILES, Series, normalise, optimise_threshold, score_at};

use crate::error::Result;
use crate::folds;

/// One detector's cross-validated scores (thresholds chosen on the other folds).
#[derive(Debug, Clone, Serialize)]
pub struct CvScores {
    /// The detector.
    pub name: String,
    /// Standard profile, cross-validated.
    pub standard: f64,
    /// Low-false-positive profile, cross-validated.
    pub reward_low_fp: f64,
    /// Low-false-negative profile, cross-validated.
    pub reward_low_fn: f64,
}

/// The cross-validated figures of a run (`cv` in the JSON).
#[derive(Debug, Clone, Serialize)]
pub struct CvReport {
    /// Folds.
    pub k: usize,
    /// How the figures were made, in words.
    pub protocol: String,
    /// The whole procedure (choose the detector by its standard score on the
    /// training folds, thresholds per profile there too), standard profile.
    pub standard: f64,
    /// The procedure's low-FP score.
    pub reward_low_fp: f64,
    /// The procedure's low-FN score.
    pub reward_low_fn: f64,
    /// The detector the procedure chose for each fold, in fold order.
    pub chosen: Vec<String>,
    /// Every detector alone, its thresholds chosen on the training folds.
    pub detectors: Vec<CvScores>,
}

const PROTOCOL: &str = "series dealt into K folds by name; for each fold the per-profile thresholds and the \
                        choice of detector (best standard score) are made on the other folds and the fold is \
                        scored with them; held-out outcomes summed over folds, then normalised";

/// What one detector's settings, chosen on the training folds, give on the held-out fold.
struct Fitted {
    /// Standard score on the training folds (to choose a detector by).
    train_standard: f64,
    /// Held-out outcome per profile.
    held_out: [Outcome; 3],
}

fn fit(series: &[Series], fold: &[usize], f: usize) -> Fitted {
    let pick = |held_out: bool| series.iter().zip(fold).filter(move |(_, g)| (**g == f) == held_out).map(|(s, _)| s);
    let mut held_out = [Outcome::default(); 3];
    let mut train_standard = 0.0;
    for (p, profile) in PROFILES.iter().enumerate() {
        let (threshold, _) = optimise_threshold(pick(false), profile);
        if p == 0 {
            train_standard = score_at(pick(false), profile, threshold).score;
        }
        held_out[p] = score_at(pick(true), profile, threshold).total;
    }
    Fitted { train_standard, held_out }
}

fn normalised(totals: &[Outcome; 3], windows: usize) -> [f64; 3] {
    std::array::from_fn(|p| normalise(totals[p].score, windows, &PROFILES[p]))
}

/// Cross-validates every detector (`(name, its scored series)`, all over the
/// same series in the same order) and the choice among them, over `k` folds.
pub fn cross_validate(detectors: &[(String, Vec<Series>)], k: usize) -> Result<CvReport> {
    let names: Vec<String> =
        detectors.first().map(|(_, s)| s.iter().map(|s| s.name.clone()).collect()).unwrap_or_default();
    let fold = folds::assign(&names, k)?;
    let windows: usize = detectors.first().map_or(0, |(_, s)| s.iter().map(Series::windows).sum());
    let mut per_detector = vec![[Outcome::default(); 3]; detectors.len()];
    let mut procedure = [Outcome::default(); 3];
    let mut chosen = Vec::with_capacity(k);
    for f in 0..k {
        let fitted: Vec<Fitted> = detectors.iter().map(|(_, s)| fit(s, &fold, f)).collect();
        for (total, fit) in per_detector.iter_mut().zip(&fitted) {
            total.iter_mut().zip(&fit.held_out).for_each(|(t, o)| t.add(o));
        }
        // Ties go to the first in roster order.
        let best = fitted
            .iter()
            .enumerate()
            .fold(None::<(usize, f64)>, |b, (i, x)| match b {
                Some((_, s)) if s >= x.train_standard => b,
                _ => Some((i, x.train_standard)),
            })
            .map_or(0, |(i, _)| i);
        procedure.iter_mut().zip(&fitted[best].held_out).for_each(|(t, o)| t.add(o));
        chosen.push(detectors.get(best).map(|(n, _)| n.clone()).unwrap_or_default());
    }
    let [standard, reward_low_fp, reward_low_fn] = normalised(&procedure, windows);
    let detectors = detectors
        .iter()
        .zip(&per_detector)
        .map(|((name, _), totals)| {
            let [standard, reward_low_fp, reward_low_fn] = normalised(totals, windows);
            CvScores { name: name.clone(), standard, reward_low_fp, reward_low_fn }
        })
        .collect();
    Ok(CvReport { k, protocol: PROTOCOL.into(), standard, reward_low_fp, reward_low_fn, chosen, detectors })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A series of 1,000 five-minute rows with one window at `at`; the
    /// detector's score is `hit` inside the window and `noise` elsewhere.
    fn series(name: &str, at: usize, hit: f64, noise: f64) -> Series {
        let ts: Vec<i64> = (0..1000).map(|i| i as i64 * 300_000).collect();
        let scores: Vec<f64> = (0..1000).map(|i| if (at..at + 20).contains(&i) { hit } else { noise }).collect();
        Series::new(name, &ts, &scores, &[(ts[at], ts[at + 19])]).expect("series")
    }

    #[test]
    fn a_threshold_that_only_fits_its_own_series_falls_when_cross_validated() {
        // Every series is separable at its own level, but the levels differ: an in-sample threshold per
        // corpus still separates them all, a threshold chosen on other series does not.
        let good: Vec<Series> = (0..6).map(|i| series(&format!("s{i}"), 500, 0.9, 0.1)).collect();
        let odd: Vec<Series> =
            (0..6).map(|i| series(&format!("s{i}"), 500, 0.2 + 0.1 * i as f64, 0.15 + 0.1 * i as f64)).collect();
        let r = cross_validate(&[("good".into(), good.clone()), ("odd".into(), odd.clone())], 3).expect("cv");
        assert_eq!(r.chosen, ["good", "good", "good"]);
        let good_in = score_at(&good, &PROFILES[0], optimise_threshold(&good, &PROFILES[0]).0).score;
        assert!((r.detectors[0].standard - good_in).abs() < 1e-9, "a rule that travels loses nothing");
        let odd_in = score_at(&odd, &PROFILES[0], optimise_threshold(&odd, &PROFILES[0]).0).score;
        assert!(r.detectors[1].standard < odd_in - 10.0, "{} vs {odd_in}", r.detectors[1].standard);
        assert!((r.standard - r.detectors[0].standard).abs() < 1e-9);
    }

    #[test]
    fn every_fold_needs_a_series() {
        let s: Vec<Series> = (0..2).map(|i| series(&format!("s{i}"), 500, 0.9, 0.1)).collect();
        let e = cross_validate(&[("d".into(), s)], 3).expect_err("too few").to_string();
        assert!(e.contains("--cv"), "{e}");
    }
}
