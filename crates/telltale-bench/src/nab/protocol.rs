//! NAB's protocol: each detector of the roster streams every series of the
//! corpus in time order (no look-ahead, the probationary period as warm-up),
//! its scores are judged by NAB's scorer (a metric of the data core, one
//! threshold per profile optimised over the corpus), and its result files and
//! run record are written where asked. `nab-score` runs the same scorer on any
//! detector's result files.

use std::path::{Path, PathBuf};

use serde::Serialize;
use telltale_core::Intervals;
use telltale_core::metrics::nab::{PROFILES, ProfileScore, Series, probationary_length, score_corpus};
use telltale_models::config::data_root;
use telltale_models::online::StreamScorer;
use telltale_report::{Record, RunInfo, ScoreRow};

use crate::error::{Context, Error, Result};
use crate::nab::corpus::{NabCorpus, NabSeries, read_corpus, read_results, read_windows, write_result};
use crate::nab::cv::{CvReport, CvScores, cross_validate};
use crate::roster::select;

/// The built-in roster, `examples/nab-detectors.toml`.
const ROSTER: &str = include_str!("../../../../examples/nab-detectors.toml");

/// The protocol in words, as reports print it.
const PROTOCOL: &str = "NAB v1.1 rules: each series streamed in time order (no look-ahead), the first min(15%, 750) \
                        rows as probationary warm-up and unscored; one threshold per profile optimised over the \
                        corpus; normalised so that null = 0 and perfect = 100";

/// What `telltale bench nab` runs.
#[derive(Debug, Clone, Default)]
pub struct NabOptions {
    /// The corpus folder (default: `$TELLTALE_DATA/NAB`).
    pub corpus: Option<PathBuf>,
    /// A roster file laid out like `examples/nab-detectors.toml` (default: that roster, built in).
    pub roster: Option<PathBuf>,
    /// Only these detectors (default: all).
    pub detectors: Vec<String>,
    /// Also write every detector's NAB result files here.
    pub out: Option<PathBuf>,
    /// Write a run record per detector here (`<detector>/run.json`, `scores.csv`).
    pub report: Option<PathBuf>,
    /// Also cross-validate over this many folds of series.
    pub cv: Option<usize>,
    /// Other detectors' NAB result files (one detector's folder or a folder of them), scored on the same series.
    pub compare: Option<PathBuf>,
    /// The roster is a grid searched over: the headline is the search's cross-validated score.
    pub search: bool,
}

/// One detector's three profile scores.
#[derive(Debug, Serialize)]
pub struct DetectorScores {
    /// The detector.
    pub name: String,
    /// Normalised scores, NAB's names.
    pub standard: f64,
    /// The low-false-positive profile's normalised score.
    pub reward_low_fp: f64,
    /// The low-false-negative profile's normalised score.
    pub reward_low_fn: f64,
    /// Every profile in detail (threshold, windows detected/missed, false positives, per series).
    pub profiles: Vec<ProfileScore>,
}

impl DetectorScores {
    /// Scores `corpus` under every profile.
    pub fn new(name: String, corpus: &[Series]) -> DetectorScores {
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

/// What `bench nab` gives (its `--json` output).
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// The corpus folder.
    pub corpus: PathBuf,
    /// Series scored.
    pub series: usize,
    /// Labelled windows over every series.
    pub windows: usize,
    /// The protocol in words.
    pub protocol: String,
    /// The best detector's scores (by the standard profile).
    pub best: String,
    /// The best detector's standard score.
    pub standard: f64,
    /// The best detector's low-FP score.
    pub reward_low_fp: f64,
    /// The best detector's low-FN score.
    pub reward_low_fn: f64,
    /// Every detector, in roster order.
    pub detectors: Vec<DetectorScores>,
    /// The roster was a grid searched over (`--search`): quote `cv.standard`, not `standard`.
    pub search: bool,
    /// Series the windows file lists whose data file the corpus folder lacks (not scored).
    pub absent: Vec<String>,
    /// Other detectors' result files (`--compare`), scored on the same series.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compared: Vec<DetectorScores>,
    /// Cross-validated figures (`--cv K`); every figure outside `cv` is in-sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cv: Option<CvReport>,
    /// The compared detectors' cross-validated figures (their thresholds chosen on the other folds).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cv_compared: Vec<CvScores>,
}

/// The roster of streaming detectors, from their TOML descriptions: `file`,
/// or the built-in `examples/nab-detectors.toml`. Every detector is validated.
pub fn roster(file: Option<&Path>) -> Result<Vec<(String, StreamScorer)>> {
    let (text, origin) = match file {
        Some(f) => {
            (std::fs::read_to_string(f).context_with(|| format!("reading {}", f.display()))?, f.display().to_string())
        }
        None => (ROSTER.to_owned(), "examples/nab-detectors.toml".into()),
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
    let r: Roster = toml::from_str(&text).context_with(|| origin.clone())?;
    for d in &r.detector {
        d.scorer.validate().context_with(|| format!("{origin}: detector '{}'", d.name))?;
    }
    Ok(r.detector.into_iter().map(|d| (d.name, d.scorer)).collect())
}

/// Scores one series with one detector, in time order, the probationary
/// period as warm-up.
fn stream(scorer: &StreamScorer, series: &NabSeries) -> Vec<f64> {
    scorer.score(&series.values, probationary_length(series.values.len()), series.step_s())
}

/// Runs the protocol: every chosen detector of the roster on every series of the corpus.
pub fn run(options: &NabOptions) -> Result<BenchReport> {
    let dir = options.corpus.clone().unwrap_or_else(|| data_root().join("NAB"));
    let NabCorpus { series: corpus, absent } =
        read_corpus(&dir).context_with(|| format!("reading the NAB corpus at {}", dir.display()))?;
    let roster = select(roster(options.roster.as_deref())?, &options.detectors, "--detectors", |(n, _)| n)?;
    let mut detectors = Vec::new();
    let mut scored_by = Vec::new();
    for (name, scorer) in &roster {
        let mut scored = Vec::with_capacity(corpus.len());
        let mut all_scores = Vec::with_capacity(corpus.len());
        for s in &corpus {
            let scores = stream(scorer, s);
            if let Some(out) = &options.out {
                write_result(out, name, s, &scores)?;
            }
            scored.push(Series::new(s.key.clone(), &s.timestamps, &scores, &s.windows)?);
            all_scores.push(scores);
        }
        let d = DetectorScores::new(name.clone(), &scored);
        if let Some(dir) = &options.report {
            record(name, &d, &corpus, &all_scores).write(&dir.join(name))?;
        }
        detectors.push(d);
        scored_by.push((name.clone(), scored));
    }
    let mut peers = Vec::new();
    if let Some(results) = &options.compare {
        let windows = corpus.iter().map(|s| (s.key.clone(), s.windows.clone())).collect();
        for r in read_results(results, &windows)
            .context_with(|| format!("reading the result files to compare under {}", results.display()))?
        {
            peers.push((r.detector, r.series));
        }
    }
    let compared = peers.iter().map(|(name, series)| DetectorScores::new(name.clone(), series)).collect();
    let (cv, cv_compared) = match options.cv {
        Some(k) => {
            let cv = cross_validate(&scored_by, k)?;
            let peers = if peers.is_empty() { Vec::new() } else { cross_validate(&peers, k)?.detectors };
            (Some(cv), peers)
        }
        None => (None, Vec::new()),
    };
    let best = detectors
        .iter()
        .max_by(|a, b| a.standard.total_cmp(&b.standard))
        .ok_or_else(|| Error::Failed("no detector to run".into()))?;
    Ok(BenchReport {
        corpus: dir.clone(),
        series: corpus.len(),
        windows: corpus.iter().map(|s| s.windows.len()).sum(),
        protocol: PROTOCOL.into(),
        best: best.name.clone(),
        standard: best.standard,
        reward_low_fp: best.reward_low_fp,
        reward_low_fn: best.reward_low_fn,
        detectors,
        search: options.search,
        absent,
        compared,
        cv,
        cv_compared,
    })
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

/// What `nab-score` gives (its `--json` output).
#[derive(Debug, Serialize)]
pub struct ScoreReport {
    /// The windows file.
    pub windows_file: PathBuf,
    /// Series the windows file lists (each scored).
    #[serde(skip)]
    pub series: usize,
    /// Every detector found, in name order.
    pub detectors: Vec<DetectorScores>,
    /// Result files whose series the windows file does not list (not scored).
    pub unlisted: Vec<PathBuf>,
}

/// NAB's scorer on the result files under `results` (one detector's folder or
/// a folder of them), for the series the windows file lists.
pub fn score_results(results: &Path, windows_file: &Path) -> Result<ScoreReport> {
    let windows = read_windows(windows_file)?;
    let found = read_results(results, &windows)?;
    let mut report = ScoreReport {
        windows_file: windows_file.to_owned(),
        series: windows.len(),
        detectors: Vec::new(),
        unlisted: Vec::new(),
    };
    for r in found {
        report.detectors.push(DetectorScores::new(r.detector, &r.series));
        report.unlisted.extend(r.unlisted);
    }
    Ok(report)
}
