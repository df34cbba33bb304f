//! `telltale metrics`: judge any detector's scores with telltale's metrics.

use anyhow::Result;
use serde::Serialize;
use telltale_core::metrics::{ClassificationReport, Confusion, EventMetrics, average_precision, roc_auc};
use telltale_core::{CsvOptions, Table};

use crate::cli::MetricsArgs;
use crate::output::{report, thousands};

/// Every figure, and the protocol that produced it; also the JSON output.
#[derive(Debug, Serialize)]
pub(crate) struct Judgement {
    protocol: String,
    input: String,
    rows: usize,
    anomalous: usize,
    threshold: f64,
    tp: usize,
    fp: usize,
    tn: usize,
    #[serde(rename = "fn")]
    fn_: usize,
    accuracy: f64,
    precision: f64,
    recall: f64,
    f1: f64,
    tpr: f64,
    fpr: f64,
    roc_auc: Option<f64>,
    pr_auc: Option<f64>,
    report: ClassificationReport,
    events: Option<EventMetrics>,
    notes: Vec<String>,
}

/// Computes the figures.
pub(crate) fn judge(args: &MetricsArgs) -> Result<Judgement> {
    let table = Table::read(&args.input, &CsvOptions { separator: args.separator.map(|c| c as u8) })?;
    tracing::info!(file = %args.input.display(), rows = table.n_rows(), "read scores");
    let labels = table.binary_labels(&args.label_col)?;
    let scores = table.complete_numeric(&args.score_col)?;
    if labels.is_empty() {
        anyhow::bail!("{}: no data rows", args.input.display());
    }
    let c = Confusion::from_scores(&labels, scores, args.threshold)?;
    let flags: Vec<bool> = scores.iter().map(|&s| s >= args.threshold).collect();
    let mut notes = Vec::new();
    let mut undefined = |r: telltale_core::Result<f64>| match r {
        Ok(v) => Some(v),
        Err(e) => {
            notes.push(e.to_string());
            None
        }
    };
    let roc = undefined(roc_auc(&labels, scores));
    let ap = undefined(average_precision(&labels, scores));
    Ok(Judgement {
        protocol: format!(
            "point-wise over the {} rows of {} in file order; anomalous when {} >= {}{}",
            labels.len(),
            args.input.display(),
            args.score_col,
            args.threshold,
            if args.no_events { "" } else { "; events are runs of consecutive anomalous rows" }
        ),
        input: args.input.display().to_string(),
        rows: labels.len(),
        anomalous: c.tp + c.fn_,
        threshold: args.threshold,
        tp: c.tp,
        fp: c.fp,
        tn: c.tn,
        fn_: c.fn_,
        accuracy: c.accuracy(),
        precision: c.precision(),
        recall: c.recall(),
        f1: c.f1(),
        tpr: c.tpr(),
        fpr: c.fpr(),
        roc_auc: roc,
        pr_auc: ap,
        report: ClassificationReport::new(&c),
        events: if args.no_events { None } else { Some(EventMetrics::new(&labels, &flags)?) },
        notes,
    })
}

/// Runs the command.
pub(crate) fn run(args: &MetricsArgs) -> Result<()> {
    report(args.json, &judge(args)?, render)
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "undefined".into(), |x| format!("{x:.4}"))
}

/// The human-readable report.
pub(crate) fn render(j: &Judgement) -> String {
    let r = &j.report;
    let mut s = format!("{}\n", j.protocol);
    s += &format!(
        "  rows {} ({} anomalous)   tp {}  fp {}  tn {}  fn {}\n",
        thousands(j.rows),
        thousands(j.anomalous),
        thousands(j.tp),
        thousands(j.fp),
        thousands(j.tn),
        thousands(j.fn_)
    );
    s += &format!(
        "  accuracy {:.4}   precision {:.4}   recall (TPR) {:.4}   F1 {:.4}   FPR {:.4}\n",
        j.accuracy, j.precision, j.recall, j.f1, j.fpr
    );
    s += &format!("  ROC-AUC {}   PR-AUC (average precision) {}\n", opt(j.roc_auc), opt(j.pr_auc));
    s += &format!("  {:<14} {:>9} {:>9} {:>9} {:>9}\n", "", "precision", "recall", "f1", "support");
    for (name, m) in
        [("normal", r.normal), ("anomalous", r.anomalous), ("macro avg", r.macro_avg), ("weighted avg", r.weighted_avg)]
    {
        s += &format!(
            "  {:<14} {:>9.4} {:>9.4} {:>9.4} {:>9}\n",
            name,
            m.precision,
            m.recall,
            m.f1,
            thousands(m.support)
        );
    }
    if let Some(e) = &j.events {
        s += &format!(
            "  events: {} labelled, {} detected, {} flagged runs ({} false)   event P {:.4}  R {:.4}  F1 {:.4}\n",
            e.events, e.detected, e.flagged_runs, e.false_runs, e.precision, e.recall, e.f1
        );
        s += &format!("  SKAB alarm rates (point-wise): FAR {:.2}%   MAR {:.2}%\n", e.far, e.mar);
    }
    for n in &j.notes {
        s += &format!("  note: {n}\n");
    }
    s
}
