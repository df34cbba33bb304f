//! `telltale bench msl`: telemanom's protocol on any folder in its layout.
//!
//! Per channel: the scaler and the detector are fitted on the train array
//! (nominal telemetry, no labels), the test array is scored in time order,
//! each row by the window ending on it (rows before the first full window are
//! not scored and never flagged). The threshold is the detector's rule: a
//! static one fitted on the train windows' scores, or telemanom's dynamic
//! threshold on the test scores themselves (label-free; its batches look at
//! most `batch − 1` rows ahead). No label is read before the flags exist.
//!
//! Figures: telemanom's event-level counts summed over channels (a labelled
//! sequence is found when any flagged row falls in it; a flagged run touching
//! no labelled sequence is a false positive), precision / recall / F1 / F0.5;
//! beside them point-wise F1 of the flags over every test row, and the
//! threshold-free ROC-AUC and VUS-PR (TSB-AD's) of the scored rows, each the
//! mean over channels.

use std::path::PathBuf;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use telltale_core::metrics::{Confusion, roc_auc, segments, vus_pr};
use telltale_models::config::data_root;

use crate::error::{Context, Error, Result};
use crate::msl::corpus::{Channel, read_folder};
use crate::msl::cv::{MslCv, cross_validate};
use crate::msl::detectors::{MslDetector, roster, run_channel};
use crate::msl::leaderboard::{StoredRun, stored_run};
use crate::msl::record::record;
use crate::roster::select;

/// The protocol in words.
pub const PROTOCOL: &str = "MSL (telemanom's protocol): per channel, scaler and detector fitted on the train array \
                            (no labels), the test array scored in time order, each row by the window ending on it \
                            (earlier rows unscored, never flagged); threshold label-free (fitted on train scores, or \
                            telemanom's dynamic threshold on the test scores); event counts summed over channels; \
                            point-wise F1 over every test row; ROC-AUC and VUS-PR over the scored rows, mean of channels";

/// What one channel gives.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelResult {
    /// Flags of every test row.
    pub flags: Vec<bool>,
    /// Scores of every test row (`-inf` where no window ends).
    pub scores: Vec<f64>,
}

/// Event-level counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCounts {
    /// Labelled sequences with a flagged row.
    pub tp: usize,
    /// Flagged runs touching no labelled sequence.
    pub fp: usize,
    /// Labelled sequences without one.
    #[serde(rename = "fn")]
    pub fn_: usize,
}

impl EventCounts {
    /// The counts of one channel's flags against its labelled sequences (inclusive row ranges).
    pub fn of(sequences: &[(usize, usize)], flags: &[bool]) -> EventCounts {
        let tp = sequences.iter().filter(|&&(a, b)| flags.get(a..=b).is_some_and(|f| f.iter().any(|&x| x))).count();
        let runs = segments(flags);
        let fp = runs.iter().filter(|r| !sequences.iter().any(|&(a, b)| r.start <= b && a < r.end)).count();
        EventCounts { tp, fp, fn_: sequences.len() - tp }
    }

    /// Adds another channel's counts.
    pub fn add(&mut self, o: EventCounts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }

    /// Precision, recall, F1 and F0.5 (0 where undefined).
    pub fn scores(&self) -> [f64; 4] {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let p = ratio(self.tp, self.tp + self.fp);
        let r = ratio(self.tp, self.tp + self.fn_);
        let f = |beta2: f64| if p + r == 0.0 { 0.0 } else { (1.0 + beta2) * p * r / (beta2 * p + r) };
        [p, r, f(1.0), f(0.25)]
    }
}

/// One detector's figures over the channels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MslFigures {
    /// Event counts summed over channels.
    pub events: EventCounts,
    /// Event precision.
    pub precision: f64,
    /// Event recall.
    pub recall: f64,
    /// Event F1.
    pub f1: f64,
    /// Event F0.5.
    pub f05: f64,
    /// Point-wise F1 of the flags, every test row of every channel pooled.
    pub point_f1: f64,
    /// ROC-AUC of the scored rows, mean over channels.
    pub roc_auc: f64,
    /// VUS-PR (TSB-AD: buffers up to 100 rows, 250 thresholds) of the scored rows, mean over channels.
    pub vus_pr: f64,
}

/// Labels of a channel's test rows.
pub fn row_labels(c: &Channel) -> Vec<u8> {
    let mut labels = vec![0u8; c.test.rows];
    for &(a, b) in &c.sequences {
        labels[a..=b].iter_mut().for_each(|l| *l = 1);
    }
    labels
}

/// The figures of `results` over their channels.
pub fn figures<'a>(pairs: impl IntoIterator<Item = (&'a Channel, &'a ChannelResult)>) -> Result<MslFigures> {
    let mut events = EventCounts::default();
    let (mut labels, mut flags) = (Vec::new(), Vec::new());
    let (mut auc, mut vus, mut n) = (0.0, 0.0, 0usize);
    for (c, r) in pairs {
        events.add(EventCounts::of(&c.sequences, &r.flags));
        let l = row_labels(c);
        labels.extend_from_slice(&l);
        flags.extend_from_slice(&r.flags);
        let scored: Vec<usize> = (0..l.len()).filter(|&i| r.scores[i].is_finite()).collect();
        let (sl, ss): (Vec<u8>, Vec<f64>) = scored.iter().map(|&i| (l[i], r.scores[i])).unzip();
        // A channel whose scored rows hold one class has no ranking figure: it counts as chance.
        auc += roc_auc(&sl, &ss).unwrap_or(0.5);
        vus += vus_pr(&sl, &ss).unwrap_or(0.0);
        n += 1;
    }
    let [precision, recall, f1, f05] = events.scores();
    let point_f1 = Confusion::from_flags(&labels, &flags)?.f1();
    let mean = |s: f64| if n == 0 { f64::NAN } else { s / n as f64 };
    Ok(MslFigures { events, precision, recall, f1, f05, point_f1, roc_auc: mean(auc), vus_pr: mean(vus) })
}

/// What `telltale bench msl` runs.
#[derive(Debug, Clone, Default)]
pub struct MslOptions {
    /// Folder in telemanom's layout (default: `$TELLTALE_DATA/MSL`).
    pub data_dir: Option<PathBuf>,
    /// A roster file instead of the built-in one.
    pub roster: Option<PathBuf>,
    /// Only these detectors (default: the whole roster).
    pub detectors: Vec<String>,
    /// Cross-validate the choice of detector over this many folds of channels.
    pub cv: Option<usize>,
    /// Write a run record per detector here (`<detector>/run.json`, `scores.csv`).
    pub report: Option<PathBuf>,
}

/// One detector's row.
#[derive(Debug, Serialize)]
pub struct Row {
    /// The detector.
    pub name: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: MslFigures,
    /// Its event counts per channel, in channel order.
    pub channels: Vec<EventCounts>,
    /// Wall-clock seconds over every channel.
    pub seconds: f64,
}

/// The best detector by event F1 (in-sample).
#[derive(Debug, Serialize)]
pub struct Best {
    /// The detector.
    pub name: String,
    /// Event F1.
    pub f1: f64,
    /// Event precision.
    pub precision: f64,
    /// Event recall.
    pub recall: f64,
    /// Event F0.5.
    pub f05: f64,
}

/// What `bench msl` gives (its `--json`).
#[derive(Debug, Serialize)]
pub struct MslReport {
    /// The folder read.
    pub data_dir: PathBuf,
    /// Channels, in the labels' order.
    pub channel_names: Vec<String>,
    /// Labelled sequences over every channel.
    pub sequences: usize,
    /// The protocol in words.
    pub protocol: String,
    /// The detector with the best event F1, in-sample.
    pub best: Best,
    /// Every detector, in roster order (in-sample: each is fitted per channel, nothing chosen across channels).
    pub detectors: Vec<Row>,
    /// telemanom's stored run on these channels, when every channel is one of those it lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemanom_stored: Option<StoredRun>,
    /// Cross-validated figures (`--cv K`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cv: Option<MslCv>,
}

/// Reads the folder and the roster, runs every detector on every channel.
pub fn run(options: &MslOptions, device: &Device) -> Result<MslReport> {
    let dir = options.data_dir.clone().unwrap_or_else(|| data_root().join("MSL"));
    let channels = read_folder(&dir).context_with(|| format!("reading the MSL folder {}", dir.display()))?;
    let text = match &options.roster {
        Some(p) => Some(std::fs::read_to_string(p).context_with(|| format!("reading {}", p.display()))?),
        None => None,
    };
    let roster = roster(text.as_deref())?;
    let roster: Vec<MslDetector> = select(roster, &options.detectors, "--detectors", MslDetector::name)?;
    let mut rows = Vec::new();
    let mut results_by = Vec::new();
    for det in &roster {
        let started = std::time::Instant::now();
        let results = channels
            .iter()
            .map(|c| run_channel(det, c, device).context_with(|| format!("{} on channel {}", det.name(), c.name)))
            .collect::<Result<Vec<_>>>()?;
        let figures = figures(channels.iter().zip(&results))?;
        let per_channel = channels.iter().zip(&results).map(|(c, r)| EventCounts::of(&c.sequences, &r.flags)).collect();
        if let Some(out) = &options.report {
            record(det.name(), &channels, &results, &figures).write(&out.join(det.name()))?;
        }
        tracing::info!(detector = %det.name(), f1 = figures.f1, "done");
        rows.push(Row {
            name: det.name().to_owned(),
            figures,
            channels: per_channel,
            seconds: started.elapsed().as_secs_f64(),
        });
        results_by.push((det.name().to_owned(), results));
    }
    let cv = options.cv.map(|k| cross_validate(&channels, &results_by, k)).transpose()?;
    // The first in roster order among equals.
    let best = rows
        .iter()
        .reduce(|a, b| if b.figures.f1 > a.figures.f1 { b } else { a })
        .ok_or_else(|| Error::Failed("no detector to run".into()))?;
    let names: Vec<String> = channels.iter().map(|c| c.name.clone()).collect();
    Ok(MslReport {
        data_dir: dir,
        sequences: channels.iter().map(|c| c.sequences.len()).sum(),
        protocol: PROTOCOL.into(),
        best: Best {
            name: best.name.clone(),
            f1: best.figures.f1,
            precision: best.figures.precision,
            recall: best.figures.recall,
            f05: best.figures.f05,
        },
        telemanom_stored: stored_run(&names),
        channel_names: names,
        detectors: rows,
        cv,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_counts_follow_telemanom() {
        // Two labelled sequences; one flagged run inside the first, one run touching nothing.
        let mut flags = vec![false; 100];
        flags[12] = true;
        flags[13] = true;
        flags[70] = true;
        let c = EventCounts::of(&[(10, 20), (40, 50)], &flags);
        assert_eq!(c, EventCounts { tp: 1, fp: 1, fn_: 1 });
        let [p, r, f1, f05] = c.scores();
        assert_eq!((p, r, f1), (0.5, 0.5, 0.5));
        assert!((f05 - 0.5).abs() < 1e-12);
        // A run ending on a sequence's first row touches it; one starting after its last row does not.
        let mut flags = vec![false; 30];
        flags[5..=10].iter_mut().for_each(|f| *f = true);
        flags[21] = true;
        assert_eq!(EventCounts::of(&[(10, 20)], &flags), EventCounts { tp: 1, fp: 1, fn_: 0 });
        assert_eq!(EventCounts::default().scores(), [0.0; 4]);
    }
}
