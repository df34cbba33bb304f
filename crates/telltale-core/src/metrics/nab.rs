//! The Numenta Anomaly Benchmark score, as NAB's own scorer computes it
//! (`nab/sweeper.py`, `nab/optimizer.py`, `nab/runner.py`, profiles from
//! `config/profiles.json`).
//!
//! - The first `min(floor(0.15 · rows), 750)` rows of a series are the
//!   probationary period: never scored.
//! - A detection is a row whose anomaly score is `>=` the threshold.
//! - Inside a window only the earliest detection counts, worth
//!   `A_tp · σ(y) / σ(-1)` with `σ(y) = 2 / (1 + e^{5y}) − 1` and
//!   `y = −(right − i + 1) / width`; a window with no detection costs `A_fn`.
//! - Every detection outside the windows is worth `A_fp · σ(y')`, with `y'`
//!   the distance after the previous window's right edge over its width − 1
//!   (so a detection just after a window still earns a little, as in NAB), or
//!   `−A_fp` when no window precedes it (`σ` is −1 from `y' ≥ 3` on).
//! - One threshold per profile is chosen over the whole corpus: the one that
//!   maximises the summed raw score (ties go to the highest threshold).
//! - The reported score is `100 · (S − S_null) / (S_perfect − S_null)` with
//!   `S_null = −A_fn · windows` and `S_perfect = A_tp · windows`.
//!
//! A window's ends are snapped to the first and last rows inside it (NAB
//! requires them to be row timestamps); only windows with at least one row
//! after the probationary period are counted, as in NAB.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One of NAB's cost profiles.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The profile's key, as the JSON output names it.
    pub name: &'static str,
    /// Reward of a detection at a window's left edge.
    pub tp: f64,
    /// Cost of a detection far from any window.
    pub fp: f64,
    /// Cost of a window without detection.
    pub fn_: f64,
}

/// NAB's standard profile.
pub const STANDARD: Profile = Profile { name: "standard", tp: 1.0, fp: 0.11, fn_: 1.0 };
/// NAB's profile that rewards few false positives.
pub const REWARD_LOW_FP: Profile = Profile { name: "reward_low_fp", tp: 1.0, fp: 0.22, fn_: 1.0 };
/// NAB's profile that rewards few false negatives.
pub const REWARD_LOW_FN: Profile = Profile { name: "reward_low_fn", tp: 1.0, fp: 0.11, fn_: 2.0 };
/// The three profiles in NAB's order.
pub const PROFILES: [Profile; 3] = [STANDARD, REWARD_LOW_FP, REWARD_LOW_FN];

/// NAB's scaled sigmoid: `2 / (1 + e^{5y}) − 1`, and −1 from `y ≥ 3` on.
pub fn scaled_sigmoid(y: f64) -> f64 {
    if y >= 3.0 { -1.0 } else { 2.0 / (1.0 + (5.0 * y).exp()) - 1.0 }
}

/// Rows of a series that NAB leaves unscored: `min(floor(0.15 · rows), 750)`.
pub fn probationary_length(rows: usize) -> usize {
    ((rows as f64 * 0.15).floor() as usize).min(750)
}

/// Where a scorable row lies, with its unweighted sweep score.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    /// Inside window `w` (index within the series): `σ(y) / σ(-1)`.
    Window(usize, f64),
    /// Outside every window: `σ(y')` (negative far from windows).
    Outside(f64),
}

/// One series prepared for scoring: its anomaly scores and where each
/// scorable row lies relative to the labelled windows.
#[derive(Debug, Clone)]
pub struct Series {
    /// The series' corpus key, e.g. `realKnownCause/nyc_taxi.csv`.
    pub name: String,
    /// Anomaly score per row after the probationary period.
    scores: Vec<f64>,
    /// Place of each of those rows.
    places: Vec<Place>,
    /// Windows with at least one scorable row.
    windows: usize,
    /// First scorable row.
    probation: usize,
}

/// The outcome of one series (or a corpus) at one threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Raw NAB score.
    pub score: f64,
    /// Windows with at least one detection.
    pub detected: usize,
    /// Windows without detection.
    pub missed: usize,
    /// Detections outside every window.
    pub false_positives: usize,
}

impl Outcome {
    /// Adds `other`'s score and counts to these (outcomes of several series summed).
    pub fn add(&mut self, other: &Outcome) {
        self.score += other.score;
        self.detected += other.detected;
        self.missed += other.missed;
        self.false_positives += other.false_positives;
    }
}

impl Series {
    /// Prepares a series: `timestamps` in epoch milliseconds (in row order),
    /// one anomaly score per row, windows as inclusive `[start, end]` times.
    pub fn new(name: impl Into<String>, timestamps: &[i64], scores: &[f64], windows: &[(i64, i64)]) -> Result<Series> {
        Series::with_probation(name, timestamps, scores, windows, probationary_length(scores.len()))
    }

    /// As [`Series::new`] with another probationary period (SKAB scores its
    /// changepoints from the first row of the test part: 0).
    pub fn with_probation(
        name: impl Into<String>,
        timestamps: &[i64],
        scores: &[f64],
        windows: &[(i64, i64)],
        probation: usize,
    ) -> Result<Series> {
        let name = name.into();
        if timestamps.len() != scores.len() {
            return Err(Error::Undefined(format!(
                "{name}: {} timestamps but {} anomaly scores",
                timestamps.len(),
                scores.len()
            )));
        }
        if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
            return Err(Error::Undefined(format!("{name}: row {}: the anomaly score is not a number", i + 1)));
        }
        // Windows as row ranges, dropping those with no row. As NAB, a window
        // runs from the first row at its start to the first row at its end
        // (row order, not time order: real files sometimes step back in time);
        // ends that are not row timestamps snap to the rows inside.
        let mut ranges: Vec<(usize, usize)> = windows
            .iter()
            .filter_map(|&(a, b)| {
                let first =
                    timestamps.iter().position(|&t| t == a).or_else(|| timestamps.iter().position(|&t| t >= a))?;
                let last = timestamps[first..]
                    .iter()
                    .position(|&t| t == b)
                    .or_else(|| timestamps[first..].iter().rposition(|&t| t <= b))?;
                Some((first, first + last))
            })
            .collect();
        ranges.sort_unstable();
        // Overlapping windows (never in NAB's labels; possible for changepoints
        // close together) are merged.
        ranges.dedup_by(|b, a| {
            let overlap = b.0 <= a.1;
            if overlap {
                a.1 = a.1.max(b.1);
            }
            overlap
        });
        let probation = probation.min(scores.len());
        // Scorable rows are a suffix, so the counted windows are those that end
        // after the probationary period; they are numbered from 0.
        let skipped = ranges.iter().take_while(|r| r.1 < probation).count();
        let windows = ranges.len() - skipped;
        let max_tp = scaled_sigmoid(-1.0);
        let mut places = Vec::with_capacity(scores.len() - probation);
        let mut next = 0;
        let mut previous: Option<(usize, usize)> = None;
        for i in 0..scores.len() {
            while next < ranges.len() && ranges[next].1 < i {
                previous = Some(ranges[next]);
                next += 1;
            }
            if i < probation {
                continue;
            }
            let place = match ranges.get(next) {
                Some(&(first, last)) if first <= i => {
                    let width = (last - first + 1) as f64;
                    let y = -((last - i + 1) as f64) / width;
                    Place::Window(next - skipped, scaled_sigmoid(y) / max_tp)
                }
                _ => match previous {
                    Some((first, last)) => {
                        let width = (last - first + 1) as f64;
                        let y = (i - last) as f64 / (width - 1.0).max(1.0);
                        Place::Outside(scaled_sigmoid(y))
                    }
                    None => Place::Outside(-1.0),
                },
            };
            places.push(place);
        }
        Ok(Series { name, scores: scores[probation..].to_vec(), places, windows, probation })
    }

    /// Windows that count (at least one row after the probationary period).
    pub fn windows(&self) -> usize {
        self.windows
    }

    /// Rows in the probationary period.
    pub fn probation(&self) -> usize {
        self.probation
    }

    /// The series' outcome when every row scoring `>= threshold` is a detection.
    pub fn outcome(&self, profile: &Profile, threshold: f64) -> Outcome {
        let mut best: Vec<Option<f64>> = vec![None; self.windows];
        let mut out = Outcome::default();
        for (&s, place) in self.scores.iter().zip(&self.places) {
            if s < threshold {
                continue;
            }
            match *place {
                Place::Window(w, u) => best[w] = Some(best[w].map_or(u, |b: f64| b.max(u))),
                Place::Outside(u) => {
                    out.score += profile.fp * u;
                    out.false_positives += 1;
                }
            }
        }
        for b in best {
            match b {
                Some(u) => {
                    out.score += profile.tp * u;
                    out.detected += 1;
                }
                None => {
                    out.score -= profile.fn_;
                    out.missed += 1;
                }
            }
        }
        out
    }
}

/// A corpus scored under one profile, at its optimised threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileScore {
    /// The profile's key.
    pub profile: String,
    /// The corpus-wide threshold that maximises the raw score.
    pub threshold: f64,
    /// Normalised score: 100 = perfect detector, 0 = null detector.
    pub score: f64,
    /// Summed outcome over the corpus (raw score, windows, false positives).
    pub total: Outcome,
    /// Outcome per series, in corpus order.
    pub series: Vec<(String, Outcome)>,
}

/// The threshold that maximises the corpus' summed raw score under `profile`
/// (NAB's optimiser), with that score. Ties go to the highest threshold.
pub fn optimise_threshold<'a>(corpus: impl IntoIterator<Item = &'a Series>, profile: &Profile) -> (f64, f64) {
    // Every scorable row of the corpus, windows numbered across the corpus.
    let mut rows: Vec<(f64, Place)> = Vec::new();
    let mut windows = 0;
    for s in corpus {
        rows.extend(s.scores.iter().zip(&s.places).map(|(&v, &p)| match p {
            Place::Window(w, u) => (v, Place::Window(windows + w, u)),
            outside => (v, outside),
        }));
        windows += s.windows;
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let top = rows.first().map_or(0.0, |r| r.0);
    let mut best_u: Vec<Option<f64>> = vec![None; windows];
    let mut score = -profile.fn_ * windows as f64;
    // NAB starts its sweep at 1.1, above any score in [0, 1].
    let mut best = (if top < 1.1 { 1.1 } else { top.next_up() }, score);
    let mut i = 0;
    while i < rows.len() {
        let threshold = rows[i].0;
        while i < rows.len() && rows[i].0 == threshold {
            match rows[i].1 {
                Place::Outside(u) => score += profile.fp * u,
                Place::Window(w, u) => {
                    let slot = &mut best_u[w];
                    match *slot {
                        None => {
                            score += profile.fn_ + profile.tp * u;
                            *slot = Some(u);
                        }
                        Some(old) if u > old => {
                            score += profile.tp * (u - old);
                            *slot = Some(u);
                        }
                        Some(_) => {}
                    }
                }
            }
            i += 1;
        }
        if score > best.1 {
            best = (threshold, score);
        }
    }
    best
}

/// NAB's normalised score of a raw corpus score.
pub fn normalise(raw: f64, windows: usize, profile: &Profile) -> f64 {
    let null = -profile.fn_ * windows as f64;
    let perfect = profile.tp * windows as f64;
    if perfect == null { 0.0 } else { 100.0 * (raw - null) / (perfect - null) }
}

/// Scores a corpus under one profile: NAB's threshold optimisation, then every
/// series at that threshold, then the normalisation.
pub fn score_corpus(corpus: &[Series], profile: &Profile) -> ProfileScore {
    let (threshold, _) = optimise_threshold(corpus, profile);
    score_at(corpus, profile, threshold)
}

/// Scores a corpus under one profile at a given threshold.
pub fn score_at<'a>(corpus: impl IntoIterator<Item = &'a Series>, profile: &Profile, threshold: f64) -> ProfileScore {
    let mut total = Outcome::default();
    let mut series = Vec::new();
    let mut windows = 0;
    for s in corpus {
        let o = s.outcome(profile, threshold);
        total.add(&o);
        series.push((s.name.clone(), o));
        windows += s.windows;
    }
    ProfileScore {
        profile: profile.name.to_owned(),
        threshold,
        score: normalise(total.score, windows, profile),
        total,
        series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-12;

    /// Timestamps one minute apart.
    fn minutes(n: usize) -> Vec<i64> {
        (0..n as i64).map(|i| i * 60_000).collect()
    }

    fn at(i: i64) -> i64 {
        i * 60_000
    }

    #[test]
    fn sigmoid_and_probation_follow_nab() {
        assert!((scaled_sigmoid(-1.0) - 0.986_614_298_151_430_3).abs() < EPS);
        assert!((scaled_sigmoid(0.0)).abs() < EPS);
        assert!((scaled_sigmoid(-0.5) - 0.848_283_639_957_512_9).abs() < EPS);
        assert_eq!(scaled_sigmoid(3.0), -1.0);
        assert_eq!(probationary_length(1000), 150);
        assert_eq!(probationary_length(22_695), 750);
        assert_eq!(probationary_length(6), 0);
    }

    #[test]
    fn hand_computed_series() {
        // 1000 rows, probation 150; one window over rows 400..=499 (width 100).
        let ts = minutes(1000);
        let mut scores = vec![0.0; 1000];
        scores[100] = 0.9; // in probation: ignored
        scores[200] = 0.8; // before any window: -A_fp
        scores[450] = 0.7; // in the window, 50 rows before its right edge
        scores[460] = 0.95; // later in the window: does not count
        scores[520] = 0.6; // after the window: A_fp * σ(21 / 99)
        let s = Series::new("a.csv", &ts, &scores, &[(at(400), at(499))]).unwrap();
        assert_eq!((s.windows(), s.probation()), (1, 150));
        let tp = scaled_sigmoid(-(499.0 - 450.0 + 1.0) / 100.0) / scaled_sigmoid(-1.0);
        let late = scaled_sigmoid(21.0 / 99.0);
        let o = s.outcome(&STANDARD, 0.5);
        assert!((o.score - (-0.11 + tp + 0.11 * late)).abs() < EPS, "{o:?}");
        assert_eq!((o.detected, o.missed, o.false_positives), (1, 0, 2));
        // Only the 0.95 row: detected at row 460.
        let o = s.outcome(&REWARD_LOW_FN, 0.9);
        let tp460 = scaled_sigmoid(-(499.0 - 460.0 + 1.0) / 100.0) / scaled_sigmoid(-1.0);
        assert!((o.score - tp460).abs() < EPS);
        // Nothing: the window is missed.
        assert!((s.outcome(&REWARD_LOW_FN, 0.99).score + 2.0).abs() < EPS);
        // A detection on the left edge is worth exactly A_tp: the perfect detector.
        let mut perfect = vec![0.0; 1000];
        perfect[400] = 1.0;
        let p = Series::new("a.csv", &ts, &perfect, &[(at(400), at(499))]).unwrap();
        let r = score_corpus(&[p], &STANDARD);
        assert!((r.total.score - 1.0).abs() < EPS);
        assert!((r.score - 100.0).abs() < EPS);
        assert_eq!(r.threshold, 1.0);
    }

    #[test]
    fn threshold_optimisation_over_the_corpus() {
        let ts = minutes(1000);
        let windows = [(at(400), at(499))];
        // File a: early detection at 0.6 with FPs at 0.9 (four of them).
        let mut a = vec![0.0; 1000];
        for i in [200, 210, 220, 230] {
            a[i] = 0.9;
        }
        a[410] = 0.6;
        // File b: detection at 0.6 only.
        let mut b = vec![0.0; 1000];
        b[480] = 0.6;
        let corpus = [Series::new("a", &ts, &a, &windows).unwrap(), Series::new("b", &ts, &b, &windows).unwrap()];
        let u = |i: f64| scaled_sigmoid(-(499.0 - i + 1.0) / 100.0) / scaled_sigmoid(-1.0);
        // Candidates: none (-2), >= 0.9 (-2 - 0.44), >= 0.6 (u410 + u480 - 0.44), >= 0 (everything).
        let (t, s) = optimise_threshold(&corpus, &STANDARD);
        assert_eq!(t, 0.6);
        assert!((s - (u(410.0) + u(480.0) - 0.44)).abs() < EPS);
        // With a heavy FP cost and the 0.9 rows, flagging nothing still loses to 0.6.
        let r = score_corpus(&corpus, &REWARD_LOW_FP);
        assert_eq!(r.threshold, 0.6);
        assert!((r.total.score - (u(410.0) + u(480.0) - 0.88)).abs() < EPS);
        let expected = 100.0 * (r.total.score + 2.0) / 4.0;
        assert!((r.score - expected).abs() < EPS);
        // Everything flagged is worse: threshold 0 is not chosen.
        let all = score_at(&corpus, &STANDARD, 0.0);
        assert!(all.total.score < s);
        assert_eq!(all.total.false_positives, 2 * (850 - 100));
    }

    #[test]
    fn null_detector_and_ties() {
        let ts = minutes(100);
        let s = Series::new("a", &ts, &[0.5; 100], &[(at(50), at(59))]).unwrap();
        // Flagging all rows: the left edge (+1), 35 FPs before the window
        // (-0.11 each) and 40 after it: worse than flagging nothing (-1).
        let after: f64 = (60..100).map(|i| 0.11 * scaled_sigmoid((i - 59) as f64 / 9.0)).sum();
        let all = s.outcome(&STANDARD, 0.5);
        assert!((all.score - (1.0 - 35.0 * 0.11 + after)).abs() < EPS);
        assert!(all.score < -1.0);
        let r = score_corpus(std::slice::from_ref(&s), &STANDARD);
        assert_eq!(r.threshold, 1.1);
        assert!((r.score).abs() < EPS);
        // A constant-zero detector is the null detector: normalised 0.
        let z = Series::new("a", &ts, &[0.0; 100], &[(at(50), at(59))]).unwrap();
        let r = score_at(&[z], &STANDARD, 0.5);
        assert!((r.score).abs() < EPS);
        assert_eq!(r.total.missed, 1);
    }

    #[test]
    fn windows_in_probation_do_not_count_and_bad_input_is_named() {
        let ts = minutes(1000);
        let s = Series::new("a", &ts, &[0.0; 1000], &[(at(10), at(20)), (at(600), at(610))]).unwrap();
        assert_eq!(s.windows(), 1);
        // A window straddling the end of probation counts from its first scorable row.
        let s = Series::new("a", &ts, &[0.0; 1000], &[(at(140), at(160))]).unwrap();
        assert_eq!(s.windows(), 1);
        let err = Series::new("x.csv", &[1, 2, 3], &[0.0, 0.0], &[]).unwrap_err().to_string();
        assert!(err.contains("x.csv: 3 timestamps but 2"), "{err}");
        let err = Series::new("x.csv", &[1, 2], &[0.0, f64::NAN], &[]).unwrap_err().to_string();
        assert!(err.contains("row 2"), "{err}");
    }
}
