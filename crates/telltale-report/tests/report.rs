//! A run record written, read back and rendered.

use std::path::PathBuf;

use telltale_report::{Epoch, Record, RunInfo, ScoreRow, render};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("telltale-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Two series of 600 readings; a fault from row 300 to 380 in each, which
/// raises both the second channel and the score; the detector flags score ≥ 2.
fn record(threshold: Option<f64>) -> Record {
    let mut rows = Vec::new();
    for (s, name) in ["pump-a.csv", "pump b/2.csv"].iter().enumerate() {
        for row in 0..600 {
            let fault = (300..380).contains(&row);
            let t = row as f64 / 20.0;
            let noise = ((row * 7919 + s * 31) % 97) as f64 / 97.0 - 0.5;
            let score = if fault { 2.5 + noise } else { 1.0 + noise };
            rows.push(ScoreRow {
                series: (*name).to_owned(),
                row,
                time_ms: Some(1_600_000_000_000 + row as i64 * 1000),
                label: Some(u8::from(fault)),
                score,
                flag: score >= 2.0,
                values: vec![t.sin(), if fault { 3.0 + noise } else { noise }],
            });
        }
    }
    Record {
        info: RunInfo {
            title: "conv-ae on pumps".into(),
            kind: "evaluate".into(),
            protocol: "every window of two files".into(),
            threshold,
            figures: vec![("F1".into(), "1.000".into())],
            channels: vec!["Accelerometer1RMS".into(), "Current, A".into()],
        },
        rows,
        history: (1..=6)
            .map(|e| Epoch { epoch: e, train_loss: 1.0 / e as f64, val_loss: Some(1.2 / e as f64 + 0.02 * e as f64) })
            .collect(),
    }
}

#[test]
fn a_record_reads_back_as_written() {
    let dir = scratch("roundtrip");
    let mut r = record(Some(2.0));
    r.rows[3].label = None;
    r.rows[4].time_ms = None;
    r.rows[5].score = f64::INFINITY;
    r.write(&dir).expect("write");
    let back = Record::read(&dir).expect("read");
    assert_eq!(back, r);
    assert_eq!(back.series(), vec!["pump-a.csv", "pump b/2.csv"]);
}

#[test]
fn a_bad_cell_names_file_line_and_column() {
    let dir = scratch("bad");
    record(Some(2.0)).write(&dir).expect("write");
    let path = dir.join("scores.csv");
    let text = std::fs::read_to_string(&path).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[4] = lines[4].replacen(",0,", ",zero,", 1);
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    let err = Record::read(&dir).expect_err("a bad cell").to_string();
    assert!(err.contains("scores.csv, line 5"), "{err}");
    assert!(err.contains("zero"), "{err}");
}

#[test]
fn a_run_renders_every_figure_as_png_and_svg() {
    let dir = scratch("render");
    record(Some(2.0)).write(&dir).expect("write");
    let report = render(&dir).expect("render");
    assert_eq!(report.runs.len(), 1);
    assert!(report.index.is_none());
    let run = &report.runs[0];
    assert_eq!(run.series, (2, 2));
    let names: Vec<String> =
        run.figures.iter().map(|p| p.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
    for want in ["loss.png", "roc.png", "pr.png", "confusion.png", "histogram.png", "series-00-pump-a_csv.png"] {
        assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
    }
    for png in &run.figures {
        let bytes = std::fs::read(png).expect("png");
        assert_eq!(&bytes[1..4], b"PNG", "{}", png.display());
        assert!(bytes.len() > 5_000, "{} is nearly empty ({} bytes)", png.display(), bytes.len());
        let svg = std::fs::read_to_string(png.with_extension("svg")).expect("svg");
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{}", png.display());
    }
    // The series figure names its channels and marks the threshold, in text a browser shows.
    let svg = std::fs::read_to_string(
        run.figures.iter().find(|p| p.ends_with("series-00-pump-a_csv.png")).expect("series").with_extension("svg"),
    )
    .expect("svg");
    for text in ["Accelerometer1RMS", "Current, A", "labelled anomaly", "threshold 2.000", "1 labelled anomaly"] {
        assert!(svg.contains(text), "series SVG lacks '{text}'");
    }
    let page = std::fs::read_to_string(&run.page).expect("page");
    assert!(page.contains("conv-ae on pumps") && page.contains("every window of two files"));
    assert!(page.contains("<img src=\"series-01-pump_b_2_csv.png\""), "{page}");
}

#[test]
fn without_labels_or_a_fixed_threshold_the_report_says_so() {
    let dir = scratch("unlabelled");
    let mut r = record(None);
    for row in &mut r.rows {
        row.label = None;
    }
    r.history.clear();
    r.write(&dir).expect("write");
    let report = render(&dir).expect("render");
    let names: Vec<String> = report.runs[0]
        .figures
        .iter()
        .map(|p| p.file_name().unwrap_or_default().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n == "roc.png" || n == "loss.png" || n == "confusion.png"), "{names:?}");
    let page = std::fs::read_to_string(&report.runs[0].page).expect("page");
    assert!(page.contains("no labels"), "{page}");
    assert!(page.contains("threshold moves over time"), "{page}");
}

#[test]
fn a_folder_of_runs_gets_an_index_comparing_them() {
    let dir = scratch("index");
    let mut a = record(Some(2.0));
    a.info.title = "detector a".into();
    a.write(&dir.join("a")).expect("write a");
    let mut b = record(Some(2.0));
    b.info.title = "detector b".into();
    b.info.figures = vec![("F1".into(), "0.500".into())];
    b.write(&dir.join("b")).expect("write b");
    std::fs::create_dir_all(dir.join("not-a-run")).expect("dir");
    let report = render(&dir).expect("render");
    assert_eq!(report.runs.len(), 2);
    let index = std::fs::read_to_string(report.index.expect("an index")).expect("index");
    assert!(index.contains("a/report/index.html") && index.contains("b/report/index.html"), "{index}");
    assert!(index.contains("<td>0.500</td>") && index.contains("<td>1.000</td>"), "{index}");
}

#[test]
fn an_empty_folder_is_no_run() {
    let dir = scratch("empty");
    let err = render(&dir).expect_err("no run").to_string();
    assert!(err.contains("no run record"), "{err}");
}

#[test]
fn rows_in_any_order_and_with_gaps_are_drawn() {
    let dir = scratch("shuffled");
    let mut r = record(Some(2.0));
    r.rows.retain(|row| row.row % 3 != 0 && !(100..200).contains(&row.row));
    r.rows.reverse();
    r.write(&dir).expect("write");
    let report = render(&dir).expect("render");
    assert_eq!(report.runs[0].series, (2, 2));
}

#[test]
fn heavy_tailed_scores_get_a_log_axis() {
    let dir = scratch("heavy");
    let mut r = record(Some(1.0));
    for row in &mut r.rows {
        row.score = if row.label == Some(1) { 50.0 + row.row as f64 } else { 0.1 + (row.row % 10) as f64 / 20.0 };
        row.flag = row.score >= 1.0;
    }
    r.write(&dir).expect("write");
    let report = render(&dir).expect("render");
    let hist = report.runs[0].figures.iter().find(|p| p.ends_with("histogram.png")).expect("histogram");
    let svg = std::fs::read_to_string(hist.with_extension("svg")).expect("svg");
    assert!(svg.contains("log scale"), "no log axis");
    assert!(svg.contains("threshold 1.000"));
    // The plain scores of the other tests stay on a linear axis.
    let dir = scratch("plain");
    record(Some(2.0)).write(&dir).expect("write");
    let report = render(&dir).expect("render");
    let hist = report.runs[0].figures.iter().find(|p| p.ends_with("histogram.png")).expect("histogram");
    assert!(!std::fs::read_to_string(hist.with_extension("svg")).expect("svg").contains("log scale"));
}

#[test]
fn with_many_channels_the_ones_that_moved_where_flagged_are_drawn() {
    let dir = scratch("channels");
    let mut r = record(Some(2.0));
    r.info.channels = (0..6).map(|c| format!("sensor-{c}")).collect();
    for row in &mut r.rows {
        let noise = |c: usize| ((row.row * 31 + c * 17) % 13) as f64 / 13.0 - 0.5;
        row.values = (0..6).map(|c| if c == 5 && row.flag { 4.0 + noise(c) } else { noise(c) }).collect();
    }
    r.write(&dir).expect("write");
    let report = render(&dir).expect("render");
    let series = report.runs[0].figures.iter().find(|p| p.ends_with("series-00-pump-a_csv.png")).expect("series");
    let svg = std::fs::read_to_string(series.with_extension("svg")).expect("svg");
    assert!(svg.contains("4 of 6 channels"), "caption");
    assert!(svg.contains("sensor-5"), "the channel that moved is drawn");
}

#[test]
fn degenerate_records_still_render() {
    // One item; then items whose scores and readings are all missing (NaN).
    for rows in [1usize, 5] {
        let dir = scratch(&format!("degenerate-{rows}"));
        let mut r = record(Some(2.0));
        r.rows.truncate(rows);
        if rows > 1 {
            for row in &mut r.rows {
                row.score = f64::NAN;
                row.values = vec![f64::NAN, f64::NAN];
            }
        }
        r.history.clear();
        r.write(&dir).expect("write");
        let report = render(&dir).expect("render");
        assert_eq!(report.runs[0].series, (1, 1));
    }
}
