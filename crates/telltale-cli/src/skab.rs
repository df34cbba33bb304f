//! `telltale bench skab`: SKAB's protocol (fit on each file's first 400 rows,
//! score the rest, pool the counts) for every zoo preset and baseline that
//! fits it, beside the published leaderboard.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;
use telltale_core::benchmarks::skab::{SkabFile, TRAIN_ROWS, read_folder};
use telltale_models::config::data_root;
use telltale_models::skab::{FileResult, SkabDetector, SkabFigures, pool, run_file};
use telltale_report::{Record, RunInfo, ScoreRow};

use crate::bench::select;
use crate::cli::BenchSkabArgs;
use crate::device::device;
use crate::output::{emit, print_json};

/// The detectors and their threshold rules.
const ROSTER: &str = include_str!("../../../examples/skab-bench.toml");

/// SKAB's published outlier leaderboard: F1, FAR %, MAR %.
const LEADERBOARD: &[(&str, [f64; 3])] = &[
    ("Conv-AE", [0.78, 13.55, 28.02]),
    ("MSET", [0.78, 39.73, 14.13]),
    ("T-squared+Q (PCA-based)", [0.76, 26.62, 24.92]),
    ("LSTM-AE", [0.74, 29.96, 25.92]),
    ("T-squared", [0.66, 19.21, 42.6]),
    ("LSTM-VAE", [0.56, 9.13, 55.03]),
    ("Vanilla LSTM", [0.54, 12.54, 59.53]),
    ("Vanilla AE", [0.39, 2.59, 75.15]),
    ("Isolation forest", [0.29, 2.56, 82.89]),
];

fn roster() -> Result<Vec<SkabDetector>> {
    #[derive(serde::Deserialize)]
    struct Roster {
        detector: Vec<SkabDetector>,
    }
    Ok(toml::from_str::<Roster>(ROSTER).context("examples/skab-bench.toml")?.detector)
}

/// One detector's pooled figures.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    #[serde(flatten)]
    figures: SkabFigures,
    seconds: f64,
}

/// The best detector, as the JSON's `best` key.
#[derive(Debug, Serialize)]
struct Best {
    name: String,
    f1: f64,
    far: f64,
    mar: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    data_dir: PathBuf,
    files: usize,
    test_rows: usize,
    protocol: String,
    best: Best,
    detectors: Vec<Row>,
    skipped: Vec<PathBuf>,
}

/// One detector's run record: every test row of every file, its score divided
/// by that file's threshold (so one cut, 1, serves every file).
fn record(det: &SkabDetector, f: &SkabFigures, files: &[SkabFile], results: &[FileResult]) -> Record {
    let channels = files.first().map(|f| f.features.clone()).unwrap_or_default();
    let mut rows = Vec::new();
    for (file, r) in files.iter().zip(results) {
        let width = file.features.len();
        let same = file.features == channels;
        let t = r.scale();
        for (k, (&score, &flag)) in r.scores.iter().zip(&r.flags).enumerate() {
            let row = TRAIN_ROWS + k;
            rows.push(ScoreRow {
                series: file.name.clone(),
                row,
                time_ms: Some(file.timestamps[row]),
                label: Some(file.anomaly[row]),
                score: score / t,
                flag,
                values: if same {
                    file.values[row * width..(row + 1) * width].iter().map(|&v| f64::from(v)).collect()
                } else {
                    vec![f64::NAN; channels.len()]
                },
            });
        }
    }
    let info = RunInfo {
        title: format!("{} on SKAB ({} files)", det.name, files.len()),
        kind: "bench skab".into(),
        protocol: "per file: scaler, model and threshold fitted on the first 400 rows (not drawn), the rest scored; \
                   score shown divided by the file's threshold, so 1 is the cut everywhere"
            .into(),
        threshold: Some(1.0),
        figures: vec![
            ("F1".into(), format!("{:.3}", f.f1)),
            ("FAR %".into(), format!("{:.2}", f.far)),
            ("MAR %".into(), format!("{:.2}", f.mar)),
            ("NAB standard (changepoints)".into(), format!("{:.2}", f.nab[0])),
            ("ROC-AUC".into(), format!("{:.3}", f.roc_auc)),
        ],
        channels,
    };
    Record { info, rows, history: Vec::new() }
}

pub(crate) fn run(args: &BenchSkabArgs) -> Result<()> {
    let dir = args.data_dir.clone().unwrap_or_else(|| data_root().join("SKAB/data"));
    let (files, skipped) = read_folder(&dir).with_context(|| format!("reading SKAB files under {}", dir.display()))?;
    let roster = select(roster()?, &args.models, "--models", |d| &d.name)?;
    let dev = device(args.device)?;
    let mut rows = Vec::new();
    for det in &roster {
        let started = std::time::Instant::now();
        let mut results = Vec::with_capacity(files.len());
        for f in &files {
            results.push(run_file(det, f, &dev).with_context(|| format!("{} on {}", det.name, f.path.display()))?);
        }
        let figures = pool(&files, &results)?;
        if let Some(out) = &args.report {
            record(det, &figures, &files, &results).write(&out.join(&det.name))?;
        }
        tracing::info!(detector = %det.name, f1 = figures.f1, far = figures.far, "done");
        rows.push(Row { name: det.name.clone(), figures, seconds: started.elapsed().as_secs_f64() });
    }
    let best = rows.iter().max_by(|a, b| a.figures.f1.total_cmp(&b.figures.f1)).context("no detector to run")?;
    let report = Report {
        data_dir: dir.clone(),
        files: files.len(),
        test_rows: files.iter().map(|f| f.rows() - TRAIN_ROWS).sum(),
        protocol: "SKAB: per file, scaler, model and threshold fitted on the first 400 rows (no labels read), \
                   the rest scored, each row by the window ending on it; confusion counts pooled over files; \
                   changepoints = |diff(flags)|, NAB-scored in 60 s windows right of each labelled changepoint"
            .into(),
        best: Best { name: best.name.clone(), f1: best.figures.f1, far: best.figures.far, mar: best.figures.mar },
        detectors: rows,
        skipped,
    };
    if args.json {
        return print_json(&report);
    }
    let mut out = format!(
        "SKAB on {} ({} files, {} test rows)\n{}\n\n{:<18} {:>5} {:>7} {:>7}   {:>8} {:>7} {:>7}  {:>6} {:>5}  {:>5} {:>6} {:>7}\n",
        dir.display(),
        report.files,
        report.test_rows,
        report.protocol,
        "detector",
        "F1",
        "FAR %",
        "MAR %",
        "NAB std",
        "low FP",
        "low FN",
        "missed",
        "FPs",
        "AUC",
        "oracle",
        "seconds"
    );
    for r in &report.detectors {
        let f = &r.figures;
        writeln!(
            out,
            "{:<18} {:>5.2} {:>7.2} {:>7.2}   {:>8.2} {:>7.2} {:>7.2}  {:>6} {:>5}  {:>5.3} {:>6.2} {:>7.1}",
            r.name,
            f.f1,
            f.far,
            f.mar,
            f.nab[0],
            f.nab[1],
            f.nab[2],
            f.missed_changepoints,
            f.false_changepoints,
            f.roc_auc,
            f.oracle_f1,
            r.seconds
        )?;
    }
    out.push_str("\nPublished leaderboard (SKAB README, all 34 files; outlier detection):\n");
    for (name, v) in LEADERBOARD {
        writeln!(out, "{:<24} {:>5.2} {:>7.2} {:>7.2}", name, v[0], v[1], v[2])?;
    }
    writeln!(
        out,
        "\nbest: {} (F1 {:.3}, FAR {:.2} %, MAR {:.2} %)",
        report.best.name, report.best.f1, report.best.far, report.best.mar
    )?;
    emit(&out)
}
