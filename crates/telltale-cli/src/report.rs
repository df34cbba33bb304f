//! `telltale report`, and the run records that training, evaluation and the
//! benchmarks leave for it.

use anyhow::{Context, Result};
use serde_json::json;
use telltale_models::artifact::Model;
use telltale_models::eval::flags;
use telltale_report::{Record, RunInfo, render, window_rows};

use crate::cli::ReportArgs;
use crate::output::{emit, print_json};
use crate::scored::ScoredPart;

/// Runs the command.
pub(crate) fn run(args: &ReportArgs) -> Result<()> {
    let report = render(&args.dir).with_context(|| format!("drawing the report of {}", args.dir.display()))?;
    if args.json {
        let runs: Vec<_> = report
            .runs
            .iter()
            .map(|r| {
                json!({"run": r.run, "page": r.page, "figures": r.figures,
                       "series_drawn": r.series.0, "series": r.series.1})
            })
            .collect();
        return print_json(&json!({"runs": runs, "index": report.index}));
    }
    let mut out = String::new();
    for r in &report.runs {
        out += &format!(
            "{}: {} ({} figures as PNG and SVG; {} of {} series drawn)\n",
            r.run.display(),
            r.page.display(),
            r.figures.len(),
            r.series.0,
            r.series.1
        );
    }
    if let Some(index) = &report.index {
        out += &format!("index of {} runs: {}\n", report.runs.len(), index.display());
    }
    emit(&out)
}

/// Formats a figure that may be undefined.
pub(crate) fn maybe(v: Option<f64>) -> String {
    v.map_or_else(|| "undefined".into(), |x| format!("{x:.4}"))
}

/// The record of a model's scored windows (`kind`: what produced it).
pub(crate) fn model_record(model: &Model, part: &ScoredPart, kind: &str) -> Record {
    let r = &model.manifest.report;
    let e = &part.evaluation;
    let file = part.path.file_name().map_or_else(|| part.path.display().to_string(), |f| f.to_string_lossy().into());
    let flagged = flags(&part.scores.score, &model.manifest.decision.threshold);
    let info = RunInfo {
        title: format!("{} ({}) on {file}", r.name, r.preset),
        kind: kind.into(),
        protocol: e.protocol.clone(),
        threshold: e.threshold,
        figures: vec![
            ("windows".into(), format!("{} ({} anomalous)", e.windows, e.anomalous)),
            ("flagged".into(), e.flagged.to_string()),
            ("accuracy".into(), format!("{:.4}", e.accuracy)),
            ("precision".into(), format!("{:.4}", e.precision)),
            ("recall".into(), format!("{:.4}", e.recall)),
            ("F1".into(), format!("{:.4}", e.f1)),
            ("ROC-AUC".into(), maybe(e.roc_auc)),
            ("PR-AUC".into(), maybe(e.pr_auc)),
        ],
        channels: part.data.features().to_vec(),
    };
    let rows = window_rows(&file, &part.data, &part.windows, &part.idx, &part.scores.score, &flagged);
    Record { info, rows, history: Vec::new() }
}
