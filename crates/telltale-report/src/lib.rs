//! Run reports: an HTML page and PNG + SVG figures for a training,
//! evaluation or benchmark run.
//!
//! A run leaves a [`Record`] in its folder (`run.json`, `scores.csv`,
//! optionally `history.csv`); [`render`] turns it into `report/index.html`
//! with the figures beside it:
//!
//! - per series: the readings with labelled anomalies shaded and detections
//!   marked, the score below with its threshold;
//! - training and validation loss per epoch (networks);
//! - ROC and precision-recall curves with the detector's operating point, and
//!   the confusion matrix (when the data carries labels of both classes);
//! - the score histogram per class with the threshold.
//!
//! A folder of runs (one per detector, as benchmarks write) gets a report per
//! run and an `index.html` comparing their headline figures.

mod curves;
mod draw;
pub mod error;
mod html;
pub mod record;
mod series;

use std::path::{Path, PathBuf};

use plotters::prelude::SeriesLabelPosition;
use telltale_core::metrics::{Confusion, average_precision, pr_curve, roc_auc, roc_curve};

pub use error::{Error, Result};
pub use record::{Epoch, Record, RunInfo, ScoreRow, find_runs, window_rows};

use crate::curves::{ConfusionChart, CurveChart, HistogramChart, LossChart};
use crate::draw::save;
use crate::html::Shown;
use crate::series::SeriesChart;

/// Series drawn per run at most (the rest are counted on the page).
pub const MAX_SERIES: usize = 40;
/// The folder, inside a run, that its report goes to.
pub const REPORT_DIR: &str = "report";

/// What [`render`] wrote for one run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run's folder.
    pub run: PathBuf,
    /// Its page.
    pub page: PathBuf,
    /// Every PNG written (an SVG of the same name sits beside each).
    pub figures: Vec<PathBuf>,
    /// Series drawn, of how many.
    pub series: (usize, usize),
}

/// What [`render`] wrote.
#[derive(Debug, Clone)]
pub struct Report {
    /// One per run found.
    pub runs: Vec<RunReport>,
    /// The index comparing runs, when `dir` held several.
    pub index: Option<PathBuf>,
}

/// Renders the report of the run in `dir`, or of every run in its sub-folders.
pub fn render(dir: &Path) -> Result<Report> {
    let found = find_runs(dir);
    if found.is_empty() {
        return Err(Error::NoRun(dir.to_path_buf()));
    }
    let mut runs = Vec::new();
    let mut infos = Vec::new();
    for run in &found {
        let record = Record::read(run)?;
        let report = render_run(run, &record)?;
        let link = report.page.strip_prefix(dir).unwrap_or(&report.page).to_string_lossy().replace('\\', "/");
        infos.push((link, record.info));
        runs.push(report);
    }
    let index = if found.len() > 1 || found[0] != dir {
        let path = dir.join("index.html");
        let title = format!("{} runs in {}", found.len(), dir.display());
        std::fs::write(&path, html::index_page(&title, &infos)).map_err(error::io(&path))?;
        Some(path)
    } else {
        None
    };
    Ok(Report { runs, index })
}

/// File-name-safe form of a series name.
fn stem(k: usize, name: &str) -> String {
    let clean: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    format!("series-{k:02}-{}", clean.chars().take(60).collect::<String>())
}

fn render_run(run: &Path, record: &Record) -> Result<RunReport> {
    let out = run.join(REPORT_DIR);
    std::fs::create_dir_all(&out).map_err(error::io(&out))?;
    let info = &record.info;
    let mut overview = Vec::new();
    let mut figures = Vec::new();
    let mut notes = Vec::new();
    let mut show = |stem: String, caption: String, png: PathBuf, list: &mut Vec<Shown>| {
        figures.push(png);
        list.push(Shown { stem, caption });
    };
    if !record.history.is_empty() {
        let png = save(&out, "loss", &LossChart { history: &record.history })?;
        show("loss".into(), "Training and validation loss per epoch".into(), png, &mut overview);
    }
    let scores: Vec<f64> = record.rows.iter().map(|r| r.score).collect();
    let labels: Option<Vec<u8>> = record.rows.iter().map(|r| r.label).collect();
    let flags: Vec<bool> = record.rows.iter().map(|r| r.flag).collect();
    let finite: Vec<(u8, f64)> = labels
        .iter()
        .flat_map(|l| l.iter().zip(&scores))
        .filter(|(_, s)| s.is_finite())
        .map(|(&l, &s)| (l, s))
        .collect();
    let (fl, fs): (Vec<u8>, Vec<f64>) = finite.into_iter().unzip();
    match (&labels, roc_curve(&fl, &fs), pr_curve(&fl, &fs)) {
        (Some(labels), Ok((fpr, tpr, _)), Ok((precision, recall, _))) => {
            let c = Confusion::from_flags(labels, &flags).map_err(|e| Error::Parse {
                path: run.join(record::SCORES),
                line: 0,
                message: e.to_string(),
            })?;
            let auc = roc_auc(&fl, &fs).unwrap_or(f64::NAN);
            let ap = average_precision(&fl, &fs).unwrap_or(f64::NAN);
            let roc = CurveChart {
                title: format!("ROC curve (AUC {auc:.3})"),
                axes: ("false-positive rate", "true-positive rate (recall)"),
                points: fpr.into_iter().zip(tpr).collect(),
                chance: ((0.0, 0.0), (1.0, 1.0)),
                operating: Some((c.fpr(), c.tpr())),
                legend: SeriesLabelPosition::LowerRight,
            };
            let png = save(&out, "roc", &roc)?;
            show("roc".into(), format!("ROC curve, AUC {auc:.3}"), png, &mut overview);
            let rate = (c.tp + c.fn_) as f64 / c.total().max(1) as f64;
            // From the highest threshold down, recall grows: start the line at recall 0.
            let mut points: Vec<(f64, f64)> = vec![(0.0, precision.first().copied().unwrap_or(1.0))];
            points.extend(recall.into_iter().zip(precision));
            let pr = CurveChart {
                title: format!("Precision-recall curve (AP {ap:.3})"),
                axes: ("recall", "precision"),
                points,
                chance: ((0.0, rate), (1.0, rate)),
                operating: (c.tp + c.fp > 0).then(|| (c.recall(), c.precision())),
                legend: SeriesLabelPosition::LowerLeft,
            };
            let png = save(&out, "pr", &pr)?;
            show("pr".into(), format!("Precision-recall curve, average precision {ap:.3}"), png, &mut overview);
            let png = save(&out, "confusion", &ConfusionChart { confusion: c })?;
            let caption = format!(
                "Confusion matrix at the detector's threshold: precision {:.3}, recall {:.3}, F1 {:.3}",
                c.precision(),
                c.recall(),
                c.f1()
            );
            show("confusion".into(), caption, png, &mut overview);
        }
        (None, ..) => notes.push("The data carries no labels: no ROC, PR or confusion matrix.".into()),
        (Some(_), Err(e), _) | (Some(_), _, Err(e)) => notes.push(format!("No ROC/PR curves: {e}.")),
    }
    let hist = HistogramChart { scores: &scores, labels, threshold: info.threshold };
    let png = save(&out, "histogram", &hist)?;
    let caption = match info.threshold {
        Some(_) => "Scores by class, with the threshold",
        None => "Scores by class (the threshold moves over time: see the series)",
    };
    show("histogram".into(), caption.into(), png, &mut overview);
    let names = record.series();
    let mut series = Vec::new();
    for (k, name) in names.iter().take(MAX_SERIES).enumerate() {
        let mut rows: Vec<&ScoreRow> = record.rows.iter().filter(|r| r.series == *name).collect();
        rows.sort_by_key(|r| r.row);
        let chart = SeriesChart { name, rows, channels: &info.channels, threshold: info.threshold };
        let s = stem(k, name);
        let png = save(&out, &s, &chart)?;
        show(s, name.to_string(), png, &mut series);
    }
    if names.len() > MAX_SERIES {
        notes.push(format!("{} of {} series drawn.", MAX_SERIES, names.len()));
    }
    let page = out.join("index.html");
    std::fs::write(&page, html::run_page(info, &overview, &series, &notes)).map_err(error::io(&page))?;
    Ok(RunReport { run: run.to_path_buf(), page, figures, series: (names.len().min(MAX_SERIES), names.len()) })
}
