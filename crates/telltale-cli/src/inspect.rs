//! `telltale inspect`: what is in a sensor log, and what windows it makes.

use anyhow::Result;
use serde::Serialize;
use telltale_core::table::ColumnData;
use telltale_core::timestamp::{self, format_millis};
use telltale_core::{CleaningReport, CsvOptions, DataSpec, Dataset, LabelSource, Table, TimestampColumn, Windows};

use crate::cli::InspectArgs;
use crate::output::{percent, report, thousands};

/// One column's summary.
#[derive(Debug, Serialize)]
pub(crate) struct ColumnSummary {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    missing: usize,
    min: Option<f64>,
    max: Option<f64>,
    mean: Option<f64>,
}

/// Timing of the rows.
#[derive(Debug, Serialize)]
pub(crate) struct Sampling {
    column: String,
    first: String,
    last: String,
    interval_median_s: Option<f64>,
    interval_min_s: Option<f64>,
    interval_max_s: Option<f64>,
    duplicates: usize,
    out_of_order: usize,
}

/// The whole report; also the JSON output.
#[derive(Debug, Serialize)]
pub(crate) struct Inspection {
    file: String,
    separator: String,
    rows: usize,
    columns: Vec<ColumnSummary>,
    features: Vec<String>,
    sampling: Option<Sampling>,
    label: Option<String>,
    label_rate: Option<f64>,
    labelled_anomalous_rows: Option<usize>,
    groups: Vec<String>,
    segments: usize,
    window_size: Option<usize>,
    window_step: Option<usize>,
    windows: Option<usize>,
    window_labels: Option<serde_json::Map<String, serde_json::Value>>,
    cleaning: CleaningReport,
}

fn summarise(table: &Table, ts_column: Option<&str>) -> Vec<ColumnSummary> {
    table
        .columns()
        .iter()
        .map(|c| {
            let is_ts = Some(c.name()) == ts_column;
            match c.data() {
                ColumnData::Numeric(v) => {
                    let present: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
                    let n = present.len();
                    ColumnSummary {
                        name: c.name().to_owned(),
                        kind: match (n, is_ts) {
                            (0, _) => "empty",
                            (_, true) => "timestamp",
                            _ => "numeric",
                        },
                        missing: c.missing(),
                        min: present.iter().copied().reduce(f64::min),
                        max: present.iter().copied().reduce(f64::max),
                        mean: (n > 0).then(|| present.iter().sum::<f64>() / n as f64),
                    }
                }
                ColumnData::Text(t) => {
                    let present = t.iter().filter(|s| !s.is_empty());
                    let mut seen = false;
                    let mut all_ts = true;
                    for s in present {
                        seen = true;
                        if timestamp::parse_text(s).is_none() {
                            all_ts = false;
                            break;
                        }
                    }
                    ColumnSummary {
                        name: c.name().to_owned(),
                        kind: match (seen, all_ts) {
                            (false, _) => "empty",
                            (true, true) => "timestamp",
                            _ => "text",
                        },
                        missing: c.missing(),
                        min: None,
                        max: None,
                        mean: None,
                    }
                }
            }
        })
        .collect()
}

fn sampling(column: String, ts: &[i64]) -> Sampling {
    let mut diffs: Vec<i64> = ts.windows(2).map(|w| w[1] - w[0]).collect();
    let duplicates = diffs.iter().filter(|&&d| d == 0).count();
    let out_of_order = diffs.iter().filter(|&&d| d < 0).count();
    diffs.retain(|&d| d > 0);
    diffs.sort_unstable();
    let secs = |d: &i64| *d as f64 / 1000.0;
    Sampling {
        column,
        first: ts.first().map(|&t| format_millis(t)).unwrap_or_default(),
        last: ts.last().map(|&t| format_millis(t)).unwrap_or_default(),
        interval_median_s: diffs.get(diffs.len() / 2).map(secs),
        interval_min_s: diffs.first().map(secs),
        interval_max_s: diffs.last().map(secs),
        duplicates,
        out_of_order,
    }
}

/// Builds the report.
pub(crate) fn inspect(args: &InspectArgs) -> Result<Inspection> {
    let spec: DataSpec = args.data.spec();
    let table = Table::read(&args.file, &CsvOptions { separator: args.data.separator.map(|c| c as u8) })?;
    tracing::info!(file = %args.file.display(), rows = table.n_rows(), columns = table.columns().len(), "read table");
    let data = Dataset::from_table(&table, &spec)?;
    tracing::info!(features = ?data.features(), kept = data.report().rows_kept, "cleaned");
    let ts_name = match &spec.timestamp {
        TimestampColumn::Named(n) => Some(n.clone()),
        TimestampColumn::Auto if data.timestamps().is_some() => table
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .find(|n| timestamp::TIMESTAMP_NAMES.contains(&n.to_ascii_lowercase().as_str())),
        _ => None,
    };
    let windows = match args.window.settings() {
        Some(settings) => {
            let ws = settings.check_classify()?;
            Some((ws, Windows::classify(&data, &ws)?))
        }
        None => None,
    };
    let window_labels = windows.as_ref().and_then(|(_, w)| w.label_counts()).map(|(normal, anomalous)| {
        let mut m = serde_json::Map::new();
        m.insert("0".into(), normal.into());
        m.insert("1".into(), anomalous.into());
        m
    });
    let label = spec.label.as_ref().map(|l| match l {
        LabelSource::Rule(r) => r.clone(),
        LabelSource::Intervals { intervals, key } => match key {
            Some(k) => format!("intervals in {} (key {k})", intervals.display()),
            None => format!("intervals in {}", intervals.display()),
        },
    });
    Ok(Inspection {
        file: args.file.display().to_string(),
        separator: match table.separator() {
            b'\t' => "\\t".into(),
            s => (s as char).to_string(),
        },
        rows: table.n_rows(),
        columns: summarise(&table, ts_name.as_deref()),
        features: data.features().to_vec(),
        sampling: ts_name.zip(data.timestamps()).map(|(n, ts)| sampling(n, ts)),
        label,
        label_rate: data.label_rate(),
        labelled_anomalous_rows: data.labels().map(|l| l.iter().filter(|&&x| x != 0).count()),
        groups: spec.groups.clone(),
        segments: data.segments().len(),
        window_size: windows.as_ref().map(|(s, _)| s.size),
        window_step: windows.as_ref().map(|(s, _)| s.step),
        windows: windows.as_ref().map(|(_, w)| w.len()),
        window_labels,
        cleaning: data.report().clone(),
    })
}

/// Runs the command.
pub(crate) fn run(args: &InspectArgs) -> Result<()> {
    report(args.json, &inspect(args)?, render)
}

/// Columns (and features) the text report lists one by one; a wider file's report says how many more there are.
const SHOWN_COLUMNS: usize = 40;

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.4}"))
}

/// The human-readable report.
pub(crate) fn render(r: &Inspection) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!("{}: {} rows, {} columns (separator '{}')", r.file, thousands(r.rows), r.columns.len(), r.separator));
    line(format!("  {:<24} {:<10} {:>8} {:>12} {:>12} {:>12}", "column", "type", "missing", "min", "max", "mean"));
    for c in r.columns.iter().take(SHOWN_COLUMNS) {
        line(format!(
            "  {:<24} {:<10} {:>8} {:>12} {:>12} {:>12}",
            c.name,
            c.kind,
            thousands(c.missing),
            num(c.min),
            num(c.max),
            num(c.mean)
        ));
    }
    if r.columns.len() > SHOWN_COLUMNS {
        line(format!("  … and {} more columns (--json lists every one)", thousands(r.columns.len() - SHOWN_COLUMNS)));
    }
    let features = r.features.iter().take(SHOWN_COLUMNS).map(String::as_str).collect::<Vec<_>>().join(", ");
    match r.features.len() {
        n if n > SHOWN_COLUMNS => line(format!("features: {features}, … ({} in all)", thousands(n))),
        _ => line(format!("features: {features}")),
    }
    match &r.sampling {
        Some(s) => {
            line(format!("time: {} .. {} (column '{}')", s.first, s.last, s.column));
            line(format!(
                "  sampling interval: median {} s, min {} s, max {} s; {} duplicate and {} out-of-order timestamps",
                num(s.interval_median_s),
                num(s.interval_min_s),
                num(s.interval_max_s),
                thousands(s.duplicates),
                thousands(s.out_of_order)
            ));
        }
        None => line("time: no timestamp column (rows are taken in file order)".into()),
    }
    let c = &r.cleaning;
    if c.rows_dropped > 0 || c.cells_filled > 0 {
        line(format!(
            "cleaning: kept {} of {} rows, dropped {}, filled {} cells",
            thousands(c.rows_kept),
            thousands(c.rows_read),
            thousands(c.rows_dropped),
            thousands(c.cells_filled)
        ));
    }
    if let (Some(label), Some(rate), Some(n)) = (&r.label, r.label_rate, r.labelled_anomalous_rows) {
        line(format!(
            "label: {label}: {} of {} rows anomalous ({})",
            thousands(n),
            thousands(r.cleaning.rows_kept),
            percent(rate)
        ));
    }
    if !r.groups.is_empty() {
        line(format!("groups: {} -> {} contiguous segments", r.groups.join(", "), thousands(r.segments)));
    }
    if let (Some(n), Some(size), Some(step)) = (r.windows, r.window_size, r.window_step) {
        let mut s = format!("windows: {} (size {size}, step {step}", thousands(n));
        if !r.groups.is_empty() {
            s.push_str(", within groups");
        }
        s.push(')');
        if let Some(m) = &r.window_labels {
            let get = |k: &str| m.get(k).and_then(|v| v.as_u64()).unwrap_or(0) as usize;
            s.push_str(&format!(": {} normal, {} anomalous", thousands(get("0")), thousands(get("1"))));
        }
        line(s);
    }
    out
}
