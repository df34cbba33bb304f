//! The `telltale` binary end to end: the figures later issues rely on, the
//! bad-input errors and the exit codes.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use telltale_testing::{Scratch, assert_all_close};

fn telltale(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telltale")).args(args).output().expect("telltale runs")
}

fn data(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data").join(name);
    path.to_str().expect("utf-8 path").to_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "failed: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

/// `telltale metrics --json` on `csv` with columns `label` and `score`, plus `extra` flags.
fn metrics_json(csv: &str, extra: &[&str]) -> Value {
    let mut args = vec!["metrics", "--input", csv, "--label-col", "label", "--score-col", "score", "--json"];
    args.extend_from_slice(extra);
    json(&telltale(&args))
}

/// Runs and expects failure with `code` and a message containing `needle`.
fn fails(args: &[&str], code: i32, needle: &str) {
    let o = telltale(args);
    assert_eq!(o.status.code(), Some(code), "{args:?}: stderr {}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(needle), "{args:?}: expected {needle:?} in {err:?}");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
}

#[test]
fn inspect_accelerometer_seed_protocol() {
    let o = telltale(&[
        "inspect",
        &data("accelerometer.csv"),
        "--label",
        "wconfid != 1",
        "--window",
        "60",
        "--step",
        "30",
        "--json",
    ]);
    let j = json(&o);
    assert_eq!(j["rows"], 153_000);
    assert_eq!(j["windows"], 5_098);
    assert_eq!(j["window_labels"]["0"], 1_700);
    assert_eq!(j["window_labels"]["1"], 3_398);
    assert!((j["label_rate"].as_f64().expect("rate") - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(j["columns"].as_array().expect("columns").len(), 5);
    assert_eq!(j["columns"][2]["name"], "x");
    assert_eq!(j["columns"][2]["type"], "numeric");
    assert_eq!(j["columns"][2]["missing"], 0);

    let human = stdout(&telltale(&[
        "inspect",
        &data("accelerometer.csv"),
        "--label",
        "wconfid != 1",
        "--window",
        "60",
        "--step",
        "30",
    ]));
    assert!(human.contains("153,000 rows"), "{human}");
    assert!(human.contains("windows: 5,098 (size 60, step 30): 1,700 normal, 3,398 anomalous"), "{human}");
}

#[test]
fn inspect_windows_within_groups() {
    let o = telltale(&[
        "inspect",
        &data("accelerometer.csv"),
        "--label",
        "wconfid != 1",
        "--group",
        "wconfid,pctid",
        "--window",
        "60",
        "--step",
        "30",
        "--include-last",
        "--json",
    ]);
    let j = json(&o);
    assert_eq!(j["segments"], 51);
    // 99 windows in each block of 3,000 rows when the last one is included.
    assert_eq!(j["windows"], 51 * 99);
    assert_eq!(j["features"], serde_json::json!(["x", "y", "z"]));
}

#[test]
fn inspect_timestamps_and_interval_labels() {
    let s = Scratch::new("cli-nab");
    let csv = s.write(
        "series.csv",
        b"timestamp,value\n2014-07-01 00:00:00,1\n2014-07-01 00:30:00,2\n2014-07-01 01:00:00,3\n2014-07-01 01:00:00,4\n2014-07-01 02:00:00,5\n",
    );
    let windows = s.write(
        "windows.json",
        br#"{"real/series.csv": [["2014-07-01 00:30:00.000000", "2014-07-01 01:00:00.000000"]]}"#,
    );
    let j = json(&telltale(&["inspect", &csv, "--label-windows", &windows, "--json"]));
    assert_eq!(j["labelled_anomalous_rows"], 3);
    assert_eq!(j["sampling"]["interval_median_s"], 1800.0);
    assert_eq!(j["sampling"]["duplicates"], 1);
    assert_eq!(j["sampling"]["first"], "2014-07-01 00:00:00");
    assert_eq!(j["columns"][0]["type"], "timestamp");
}

#[test]
fn inspect_reports_cleaning() {
    let s = Scratch::new("cli-clean");
    let csv = s.write("gaps.csv", b"a;b\n1;2\nNA;3\n4;\n5;6\n");
    let j = json(&telltale(&["inspect", &csv, "--missing", "ffill", "--json"]));
    assert_eq!(j["separator"], ";");
    assert_eq!(j["cleaning"]["cells_filled"], 2);
    assert_eq!(j["cleaning"]["rows_kept"], 4);
    assert_eq!(j["columns"][0]["missing"], 1);
    let j = json(&telltale(&["inspect", &csv, "--missing", "drop", "--json"]));
    assert_eq!(j["cleaning"]["rows_dropped"], 2);
}

/// A file 1,000 columns wide: the text report lists 40 and says how many more (a 10^6-column header made a 95 MB
/// report); --json lists every one.
#[test]
fn inspect_a_wide_file_lists_forty_columns_and_counts_the_rest() {
    let s = Scratch::new("cli-wide");
    let header: Vec<String> = (0..1000).map(|i| format!("c{i}")).collect();
    let row = vec!["1"; 1000].join(",");
    let csv = s.write("wide.csv", format!("{}\n{row}\n{row}\n", header.join(",")).as_bytes());
    let out = telltale(&["inspect", &csv]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("… and 960 more columns (--json lists every one)"), "{text}");
    assert!(text.contains("features: c0, c1,") && text.contains("(1,000 in all)"), "{text}");
    assert!(text.lines().count() < 60 && !text.contains("c999"), "{text}");
    let j = json(&telltale(&["inspect", &csv, "--json"]));
    assert_eq!(j["columns"].as_array().map(Vec::len), Some(1000));
}

/// `telltale metrics` on the Keras reference scores gives scikit-learn's
/// figures for the same scores (written by tools/reference/keras_scores.py).
#[test]
fn metrics_agree_with_sklearn_on_keras_scores() {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(data("examples/keras-cnn-lstm-test-scores.json")).expect("figures"),
    )
    .expect("json");
    let j = metrics_json(&data("examples/keras-cnn-lstm-test-scores.csv"), &[]);
    let keys = ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"];
    // In `keys`' order, against scikit-learn's.
    assert_all_close(&keys.map(|k| j[k].as_f64().expect(k)), &keys.map(|k| expected[k].as_f64().expect(k)), 1e-12);
    let total: u64 = ["tp", "fp", "tn", "fn"].iter().map(|k| j[k].as_u64().expect(k)).sum();
    assert_eq!(total, 765);
    assert_eq!(j["threshold"], 0.5);
}

#[test]
fn metrics_threshold_events_and_one_class() {
    let s = Scratch::new("cli-metrics");
    let csv = s.write("scores.csv", b"label,score\n0,0.1\n1,0.9\n1,0.4\n0,0.2\n0,0.7\n1,0.8\n");
    let j = metrics_json(&csv, &["--threshold", "0.4"]);
    assert_eq!(
        (j["tp"].as_u64(), j["fp"].as_u64(), j["tn"].as_u64(), j["fn"].as_u64()),
        (Some(3), Some(1), Some(2), Some(0))
    );
    assert_eq!(j["events"]["events"], 2);
    assert_eq!(j["events"]["detected"], 2);
    assert_eq!(j["events"]["false_runs"], 0);
    let one = s.write("one.csv", b"label,score\n1,0.3\n1,0.8\n");
    let j = metrics_json(&one, &[]);
    assert!(j["roc_auc"].is_null());
    assert!(j["notes"][0].as_str().expect("note").contains("only one class"));
    let j = metrics_json(&csv, &["--no-events"]);
    assert!(j["events"].is_null());
}

#[test]
fn bad_input_names_file_line_and_column() {
    let s = Scratch::new("cli-bad");
    let nonnum = s.write("nonnum.csv", b"a,b\n1,2\n3,abc\n");
    fails(&["inspect", &nonnum, "--features", "a,b"], 3, "nonnum.csv, line 3, column 'b': 'abc' is not a number");
    fails(&["inspect", &s.write("empty.csv", b"")], 3, "empty.csv: the file is empty");
    fails(
        &["inspect", &s.write("ragged.csv", b"a,b\n1,2\n3\n")],
        3,
        "ragged.csv, line 3: 1 fields, but the header has 2",
    );
    let gap = s.write("gap.csv", b"a,b\n1,2\n,4\n");
    fails(&["inspect", &gap], 3, "gap.csv, line 3, column 'a': missing value (the missing-value policy is 'error'");
    fails(&["inspect", &s.write("bytes.csv", b"a,b\n1,\xff\xfe\n")], 3, "bytes.csv, line 2: malformed CSV");
    fails(
        &["inspect", &s.write("ts.csv", b"timestamp,v\n2020-01-01 00:00:00,1\nsoon,2\n")],
        3,
        "ts.csv, line 3, column 'timestamp': cannot read 'soon' as a timestamp",
    );
    fails(&["inspect", &nonnum, "--features", "c"], 3, "nonnum.csv: no column named 'c' (columns: a, b)");
    fails(&["inspect", &s.path("absent.csv")], 3, "absent.csv: No such file or directory");
    fails(&["inspect", &s.write("headonly.csv", b"a,b\n")], 3, "headonly.csv: no data rows");
    let labels = s.write("labels.csv", b"label,score\n0,0.1\n2,0.5\n");
    fails(
        &["metrics", "--input", &labels, "--label-col", "label", "--score-col", "score"],
        3,
        "labels.csv, line 3, column 'label': '2' is not a label",
    );
    let scores = s.write("scores.csv", b"label,score\n0,0.1\n1,\n");
    fails(
        &["metrics", "--input", &scores, "--label-col", "label", "--score-col", "score"],
        3,
        "scores.csv, line 3, column 'score': missing value",
    );
}

#[test]
fn bad_arguments_exit_2() {
    let s = Scratch::new("cli-args");
    let csv = s.write("ok.csv", b"a,b\n1,2\n3,4\n");
    fails(&["inspect", &csv, "--label", "a =="], 2, "label rule 'a ==': the rule ends too early (at character 5)");
    fails(&["inspect", &csv, "--window", "0", "--step", "1"], 2, "invalid window size: must be at least 1");
    fails(&["inspect", &csv, "--window", "3"], 2, "--step");
    fails(&["inspect", &csv, "--missing", "maybe"], 2, "expected error, drop or ffill");
    fails(&["frobnicate"], 2, "unrecognized subcommand");
}

#[test]
fn closed_stdout_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args(["inspect", &data("accelerometer.csv"), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn verbose_logs_go_to_stderr() {
    let o = telltale(&["-vv", "inspect", &data("examples/keras-cnn-lstm-test-scores.csv"), "--json"]);
    assert!(o.status.success());
    assert!(stderr(&o).contains("DEBUG"), "{}", stderr(&o));
    serde_json::from_slice::<Value>(&o.stdout).expect("stdout stays pure JSON");
}

#[test]
fn demo_runs_on_bundled_data() {
    let o = telltale(&["demo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("windows: 5,098 (size 60, step 30): 1,700 normal, 3,398 anomalous"), "{out}");
    assert!(out.contains("train 3,568  val  765  test  765"), "{out}");
    let held = out.lines().find(|l| l.contains("held out for test")).expect("held-out line");
    assert!(held.ends_with("rows shared train/test: 0"), "{held}");
    let random = out.lines().find(|l| l.contains("seed 000")).expect("random line");
    assert!(!random.ends_with("rows shared train/test: 0"), "the random split leaks: {random}");
    assert!(out.contains("ROC-AUC 0.9943"), "{out}");
    let trained = out.split("== 5.").nth(1).expect("the training step");
    assert!(
        trained.contains("seed 000's random split") && trained.contains("fan speeds 30/60/90 % held out"),
        "{trained}"
    );
    assert_eq!(trained.matches("test: ").count(), 2, "test figures for both splits: {trained}");
    assert!(trained.contains("train/test windows share 0 rows"), "the held-out split does not leak: {trained}");
    let live = out.split("== 6.").nth(1).expect("the live step");
    assert!(live.contains("18,000 readings published, 18,000 scored in 597 windows (0 refused)"), "{live}");
    let fan_a = live.lines().find(|l| l.starts_with("  fan-a: 199 windows")).expect("fan-a's tally");
    let anomalous: u32 =
        fan_a.split(", ").nth(1).and_then(|p| p.split(' ').next()).and_then(|n| n.parse().ok()).expect("n");
    assert!(anomalous >= 80, "fan-a runs imbalanced for half its 199 windows: {fan_a}");
    assert!(live.contains("stored in telltale-demo.db: 18,000 readings"), "{live}");
}

#[test]
fn passwd_prints_a_line_the_service_reads_and_serve_refuses_an_open_broker_off_loopback() {
    use std::io::Write;
    let s = Scratch::new("cli-passwd");
    let mut child = Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args(["passwd", "pump-7"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("telltale runs");
    child.stdin.take().expect("stdin").write_all(b"s3cret\n").expect("password");
    let o = child.wait_with_output().expect("passwd");
    assert!(o.status.success(), "{}", stderr(&o));
    let line = stdout(&o);
    assert!(line.starts_with("pump-7:$pbkdf2-sha256$100000$") && !line.contains("s3cret"), "{line}");
    let file = s.write("broker.passwd", &line);

    // Off loopback without passwords: refused, naming the key; with them the configuration passes.
    let o = telltale(&["config", "print", "--listen", "0.0.0.0:1883"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("listen: 0.0.0.0:1883 is off loopback: set broker_passwords"), "{}", stderr(&o));
    let o = telltale(&["config", "print", "--listen", "0.0.0.0:1883", "--broker-passwords", &file]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("broker_passwords = "), "{}", stdout(&o));
    let bad = s.write("bad.passwd", "pump-7:plain-text-password\n");
    let o = telltale(&["config", "print", "--broker-passwords", &bad]);
    assert!(stderr(&o).contains("bad.passwd:1: the hash must start with $pbkdf2-sha256$"), "{}", stderr(&o));
}
