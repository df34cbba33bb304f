//! telemanom's own figures beside a run, and the table.
//!
//! telemanom's repository keeps the results of its run
//! (`results/2018-05-19_15.00.10.csv`, commit 2e6c5b6c): true / false
//! positives and false negatives per channel. When every channel of a run is
//! one that run lists, its counts on those channels are summed and printed as
//! a peer row, named by that source; otherwise its published figures on all 27
//! MSL channels (precision 92.6 %, recall 69.4 %, README) are quoted as context.

use std::fmt::Write as _;

use serde::Serialize;

use crate::msl::protocol::{EventCounts, MslReport};

/// telemanom's stored run, per MSL channel of `../shared/data/MSL` (its SOURCE.md): (channel, TP, FP, FN).
const STORED: &[(&str, usize, usize, usize)] = &[
    ("M-6", 1, 0, 0),
    ("S-2", 1, 0, 0),
    ("T-5", 1, 0, 0),
    ("M-3", 1, 0, 0),
    ("P-15", 1, 0, 0),
    ("C-2", 1, 0, 1),
    ("T-13", 0, 0, 2),
    ("D-14", 1, 0, 1),
    ("T-8", 2, 0, 0),
];

/// telemanom's stored run summed over a run's channels.
#[derive(Debug, Clone, Serialize)]
pub struct StoredRun {
    /// Where the counts come from.
    pub source: String,
    /// Summed counts.
    pub events: EventCounts,
    /// Precision, recall, F1, F0.5.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// F0.5.
    pub f05: f64,
}

/// telemanom's stored counts on `channels`, when it lists every one of them.
pub fn stored_run(channels: &[String]) -> Option<StoredRun> {
    let mut events = EventCounts::default();
    for c in channels {
        let &(_, tp, fp, fn_) = STORED.iter().find(|s| s.0 == c)?;
        events.add(EventCounts { tp, fp, fn_ });
    }
    let [precision, recall, f1, f05] = events.scores();
    Some(StoredRun {
        source: "telemanom's stored run, results/2018-05-19_15.00.10.csv (commit 2e6c5b6c)".into(),
        events,
        precision,
        recall,
        f1,
        f05,
    })
}

fn line(out: &mut String, name: &str, e: EventCounts, s: [f64; 4], rest: &str) {
    let _ = writeln!(
        out,
        "{name:<22} {:>3} {:>3} {:>3}  {:>5.3} {:>5.3} {:>5.3} {:>5.3}  {rest}",
        e.tp, e.fp, e.fn_, s[0], s[1], s[2], s[3]
    );
}

/// The report as text.
pub fn render(r: &MslReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "NASA telemetry, {} channels, {} labelled sequences ({})",
        r.channel_names.len(),
        r.sequences,
        r.data_dir.display()
    );
    let _ = writeln!(out, "{}\n", r.protocol);
    let _ = writeln!(out, "in-sample (each detector fitted per channel; nothing chosen across channels)");
    let _ = writeln!(
        out,
        "{:<22} {:>3} {:>3} {:>3}  {:>5} {:>5} {:>5} {:>5}  point-F1 ROC-AUC VUS-PR   secs",
        "detector", "TP", "FP", "FN", "P", "R", "F1", "F0.5"
    );
    for row in &r.detectors {
        let f = &row.figures;
        let rest = format!("{:>8.3} {:>7.3} {:>6.3} {:>6.1}", f.point_f1, f.roc_auc, f.vus_pr, row.seconds);
        line(&mut out, &row.name, f.events, [f.precision, f.recall, f.f1, f.f05], &rest);
    }
    match &r.telemanom_stored {
        Some(s) => {
            line(&mut out, "telemanom (stored)", s.events, [s.precision, s.recall, s.f1, s.f05], "(its own run)");
            let _ = writeln!(out, "  peer row: {}", s.source);
        }
        None => {
            let _ = writeln!(out, "telemanom on all 27 MSL channels (its README): precision 0.926, recall 0.694");
        }
    }
    if let Some(cv) = &r.cv {
        let f = &cv.figures;
        let _ = writeln!(out, "\ncross-validated ({} folds of channels): {}", cv.k, cv.protocol);
        line(
            &mut out,
            "choose-by-F1",
            f.events,
            [f.precision, f.recall, f.f1, f.f05],
            &format!("chosen: {}", cv.chosen.join(", ")),
        );
    }
    let _ = writeln!(
        out,
        "\nbest (in-sample event F1): {} F1 {:.3} precision {:.3} recall {:.3}",
        r.best.name, r.best.f1, r.best.precision, r.best.recall
    );
    out
}
