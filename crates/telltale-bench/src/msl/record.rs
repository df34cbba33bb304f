//! One detector's run record on MSL (`--report DIR`): every scored test row of
//! every channel with its label, score, flag and telemetry value, for
//! `telltale report` and for study outside the tool.

use telltale_report::{Record, RunInfo, ScoreRow};

use crate::msl::corpus::Channel;
use crate::msl::protocol::{ChannelResult, MslFigures, PROTOCOL, row_labels};

/// The record of `name`'s `results` (one per channel, in order) and its figures.
pub fn record(name: &str, channels: &[Channel], results: &[ChannelResult], f: &MslFigures) -> Record {
    let mut rows = Vec::new();
    for (c, r) in channels.iter().zip(results) {
        let labels = row_labels(c);
        let values = c.test.column(0);
        for (row, (&score, &flag)) in r.scores.iter().zip(&r.flags).enumerate() {
            // Rows before the first full window have no score.
            if !score.is_finite() {
                continue;
            }
            rows.push(ScoreRow {
                series: c.name.clone(),
                row,
                time_ms: None,
                label: Some(labels[row]),
                score,
                flag,
                values: vec![values[row]],
            });
        }
    }
    let e = f.events;
    let info = RunInfo {
        title: format!("{name} on MSL ({} channels)", channels.len()),
        kind: "bench msl".into(),
        protocol: PROTOCOL.into(),
        threshold: None,
        figures: vec![
            ("events TP / FP / FN".into(), format!("{} / {} / {}", e.tp, e.fp, e.fn_)),
            ("event precision".into(), format!("{:.3}", f.precision)),
            ("event recall".into(), format!("{:.3}", f.recall)),
            ("event F1".into(), format!("{:.3}", f.f1)),
            ("point-wise F1".into(), format!("{:.3}", f.point_f1)),
            ("ROC-AUC (mean of channels)".into(), format!("{:.3}", f.roc_auc)),
            ("VUS-PR (mean of channels)".into(), format!("{:.3}", f.vus_pr)),
        ],
        channels: vec!["value".into()],
    };
    Record { info, rows, history: Vec::new() }
}
