//! `telltale bench nab` (streaming detectors on a NAB-layout corpus) and
//! `telltale nab-score` (NAB's scorer on any detector's result files).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use telltale_core::Intervals;
use telltale_core::benchmarks::nab::{NabSeries, read_corpus, read_results, read_windows, write_result};
use telltale_core::metrics::nab::{PROFILES, ProfileScore, Series, probationary_length, score_corpus};
use telltale_models::config::data_root;
use telltale_models::online::StreamScorer;
use telltale_report::{Record, RunInfo, ScoreRow};

use crate::bench::select;
use crate::cli::{BenchNabArgs, NabScoreArgs};
use crate::output::{emit, print_json};

/// NAB's official scoreboard (README, 58 files): standard, low FP, low FN.
const SCOREBOARD: &[(&str, [f64; 3])] = &[
    ("ARTime", [74.9, 65.1, 80.4]),
    ("Numenta HTM", [70.5, 62.6, 75.2]),
    ("CAD OSE", [69.9, 67.0, 73.2]),
    ("KNN CAD", [58.0, 43.4, 64.8]),
    ("Relative Entropy", [54.6, 47.6, 58.8]),
    ("Random Cut Forest", [51.7, 38.4, 59.7]),
    ("Twitter ADVec", [47.1, 33.6, 53.5]),
    ("Windowed Gaussian", [39.6, 20.9, 47.4]),
    ("Bayesian Changepoint", [17.7, 3.2, 32.2]),
    ("Random", [11.0, 1.2, 19.5]),
];

/// One detector's three profile scores.
#[derive(Debug, Serialize)]
pub(crate) struct DetectorScores {
    /// The detector.
    name: String,
    /// Normalised scores, NAB's names.
    standard: f64,
    reward_low_fp: f64,
    reward_low_fn: f64,
    /// Every profile in detail (threshold, windows detected/missed, false positives, per series).
    profiles: Vec<ProfileScore>,
}

impl DetectorScores {
    fn new(name: String, corpus: &[Series]) -> DetectorScores {
        let profiles: Vec<ProfileScore> = PROFILES.iter().map(|p| score_corpus(corpus, p)).collect();
        DetectorScores {
            name,
            standard: profiles[0].score,
            reward_low_fp: profiles[1].score,
            reward_low_fn: profiles[2].score,
            profiles,
        }
    }
}

/// What `bench nab --json` prints.
#[derive(Debug, Serialize)]
struct BenchReport {
    corpus: PathBuf,
    series: usize,
    windows: usize,
    protocol: String,
    /// The best detector's scores (by the standard profile).
    best: String,
    standard: f64,
    reward_low_fp: f64,
    reward_low_fn: f64,
    detectors: Vec<DetectorScores>,
}

/// The roster of streaming detectors, from their TOML descriptions: `file`,
/// or the built-in `examples/nab-detectors.toml`.
fn roster(file: Option<&Path>) -> Result<Vec<(String, StreamScorer)>> {
    let (text, origin) = match file {
        Some(f) => {
            (std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?, f.display().to_string())
        }
        None => (include_str!("../../../examples/nab-detectors.toml").to_owned(), "examples/nab-detectors.toml".into()),
    };
    #[derive(serde::Deserialize)]
    struct Roster {
        detector: Vec<Named>,
    }
    #[derive(serde::Deserialize)]
    struct Named {
        name: String,
        #[serde(flatten)]
        scorer: StreamScorer,
    }
    let r: Roster = toml::from_str(&text).with_context(|| origin.clone())?;
    for d in &r.detector {
        d.scorer.detector.validate().with_context(|| format!("{origin}: detector '{}'", d.name))?;
    }
    Ok(r.detector.into_iter().map(|d| (d.name, d.scorer)).collect())
}

/// Scores every series with one detector, in time order, the probationary
/// period as warm-up.
fn stream(scorer: &StreamScorer, series: &NabSeries) -> Vec<f64> {
    scorer.score(&series.values, probationary_length(series.values.len()), series.step_s())
}

pub(crate) fn run_bench(args: &BenchNabArgs) -> Result<()> {
    let dir = args.corpus.clone().unwrap_or_else(|| data_root().join("NAB"));
    let corpus = read_corpus(&dir).with_context(|| format!("reading the NAB corpus at {}", dir.display()))?;
    let roster = select(roster(args.roster.as_deref())?, &args.detectors, "--detectors", |(n, _)| n)?;
    let mut detectors = Vec::new();
    for (name, scorer) in &roster {
        let mut scored = Vec::with_capacity(corpus.len());
        let mut all_scores = Vec::with_capacity(corpus.len());
        for s in &corpus {
            let scores = stream(scorer, s);
            if let Some(out) = &args.out {
                write_result(out, name, s, &scores)?;
            }
            scored.push(Series::new(s.key.clone(), &s.timestamps, &scores, &s.windows)?);
            all_scores.push(scores);
        }
        let d = DetectorScores::new(name.clone(), &scored);
        if let Some(dir) = &args.report {
            record(name, &d, &corpus, &all_scores).write(&dir.join(name))?;
        }
        detectors.push(d);
    }
    let best = detectors.iter().max_by(|a, b| a.standard.total_cmp(&b.standard)).context("no detector to run")?;
    let windows = corpus.iter().map(|s| s.windows.len()).sum();
    let report = BenchReport {
        corpus: dir.clone(),
        series: corpus.len(),
        windows,
        protocol: "NAB v1.1 rules: each series streamed in time order (no look-ahead), the first min(15%, 750) \
                   rows as probationary warm-up and unscored; one threshold per profile optimised over the \
                   corpus; normalised so that null = 0 and perfect = 100"
            .into(),
        best: best.name.clone(),
        standard: best.standard,
        reward_low_fp: best.reward_low_fp,
        reward_low_fn: best.reward_low_fn,
        detectors,
    };
    if args.json {
        return print_json(&report);
    }
    let mut out = format!(
        "NAB on {} ({} series, {} windows)\n{}\n\n{:<34} {:>9} {:>9} {:>9}   {:>9} {:>7} {:>5}\n",
        dir.display(),
        report.series,
        report.windows,
        report.protocol,
        "detector",
        "standard",
        "low FP",
        "low FN",
        "threshold",
        "windows",
        "FPs"
    );
    for d in &report.detectors {
        let std = &d.profiles[0];
        writeln!(
            out,
            "{:<34} {:>9.1} {:>9.1} {:>9.1}   {:>9.4} {:>3}/{:<3} {:>5}",
            d.name,
            d.standard,
            d.reward_low_fp,
            d.reward_low_fn,
            std.threshold,
            std.total.detected,
            std.total.detected + std.total.missed,
            std.total.false_positives
        )?;
    }
    out.push_str("\nPublished scoreboard (NAB README, whole 58-file corpus; not the same series):\n");
    for (name, s) in SCOREBOARD {
        writeln!(out, "{:<34} {:>9.1} {:>9.1} {:>9.1}", name, s[0], s[1], s[2])?;
    }
    writeln!(out, "\nbest: {} (standard {:.1})", report.best, report.standard)?;
    emit(&out)
}

/// One detector's run record: every row of every series, labelled by NAB's
/// windows, flagged where the score reaches the standard profile's threshold
/// after the probationary period.
fn record(name: &str, d: &DetectorScores, corpus: &[NabSeries], scores: &[Vec<f64>]) -> Record {
    let standard = &d.profiles[0];
    let mut rows = Vec::new();
    for (s, sc) in corpus.iter().zip(scores) {
        let probation = probationary_length(s.values.len());
        let labels = Intervals { key: s.key.clone(), spans: s.windows.clone() }.label(&s.timestamps);
        for (i, ((&t, &v), &label)) in s.timestamps.iter().zip(&s.values).zip(&labels).enumerate() {
            rows.push(ScoreRow {
                series: s.key.clone(),
                row: i,
                time_ms: Some(t),
                label: Some(label),
                score: sc[i],
                flag: i >= probation && sc[i] >= standard.threshold,
                values: vec![v],
            });
        }
    }
    let info = RunInfo {
        title: format!("{name} on NAB ({} series)", corpus.len()),
        kind: "bench nab".into(),
        protocol: format!(
            "streamed in time order, no look-ahead; flagged = score at or above the standard profile's \
             corpus-wide threshold {:.4}, after each series' probationary period",
            standard.threshold
        ),
        threshold: Some(standard.threshold),
        figures: vec![
            ("NAB standard".into(), format!("{:.1}", d.standard)),
            ("NAB low FP".into(), format!("{:.1}", d.reward_low_fp)),
            ("NAB low FN".into(), format!("{:.1}", d.reward_low_fn)),
            (
                "windows detected (standard)".into(),
                format!("{}/{}", standard.total.detected, standard.total.detected + standard.total.missed),
            ),
            ("false positives (standard)".into(), standard.total.false_positives.to_string()),
        ],
        channels: vec!["value".into()],
    };
    Record { info, rows, history: Vec::new() }
}

/// What `nab-score --json` prints.
#[derive(Debug, Serialize)]
struct ScoreReport {
    windows_file: PathBuf,
    detectors: Vec<DetectorScores>,
    /// Result files whose series the windows file does not list (not scored).
    unlisted: Vec<PathBuf>,
}

pub(crate) fn run_score(args: &NabScoreArgs) -> Result<()> {
    let windows = read_windows(&args.windows)?;
    let results = read_results(&args.results, &windows)?;
    let mut report = ScoreReport { windows_file: args.windows.clone(), detectors: Vec::new(), unlisted: Vec::new() };
    for r in results {
        report.detectors.push(DetectorScores::new(r.detector, &r.series));
        report.unlisted.extend(r.unlisted);
    }
    if args.json {
        return print_json(&report);
    }
    let mut out = format!(
        "{} series scored ({} windows file)\n{:<30} {:>9} {:>9} {:>9}\n",
        windows.len(),
        args.windows.display(),
        "detector",
        "standard",
        "low FP",
        "low FN"
    );
    for d in &report.detectors {
        writeln!(out, "{:<30} {:>9.2} {:>9.2} {:>9.2}", d.name, d.standard, d.reward_low_fp, d.reward_low_fn)?;
        for p in &d.profiles {
            writeln!(
                out,
                "  {:<14} threshold {:.6}  raw {:.4}  windows {}/{}  false positives {}",
                p.profile,
                p.threshold,
                p.total.score,
                p.total.detected,
                p.total.detected + p.total.missed,
                p.total.false_positives
            )?;
        }
    }
    if !report.unlisted.is_empty() {
        writeln!(out, "{} result files not in the windows file were left out", report.unlisted.len())?;
    }
    emit(&out)
}
