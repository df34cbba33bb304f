//! The corpus readers, the NAB protocol and SKAB's pooling on small corpora
//! written here, laid out as NAB's and SKAB's.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use telltale_bench::nab::corpus::{read_corpus, read_results, read_windows, write_result};
use telltale_bench::nab::protocol::{NabOptions, run, score_results};
use telltale_bench::skab::corpus::{SkabFile, TRAIN_ROWS, read_folder};
use telltale_bench::skab::protocol::{FileResult, pool};

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("telltale-bench-lib-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        std::fs::write(&path, text).expect("write");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `2014-01-01` plus `i` five-minute steps.
fn stamp(i: usize) -> String {
    let m = i * 5;
    format!("2014-01-{:02} {:02}:{:02}:00", 1 + m / 1440, (m % 1440) / 60, m % 60)
}

/// Two series of 400 rows, one window each; the second jumps inside its window.
fn nab_corpus(s: &Scratch) -> PathBuf {
    let windows = [(200, 249), (100, 149)];
    let mut json = String::from("{\n");
    for (k, (a, b)) in windows.iter().enumerate() {
        let mut csv = String::from("timestamp,value\n");
        for i in 0..400 {
            let v = if k == 1 && (110..120).contains(&i) { 50.0 } else { 10.0 + (i % 7) as f64 * 0.1 };
            writeln!(csv, "{},{v}", stamp(i)).expect("fmt");
        }
        s.write(&format!("nab/data/cat/s{k}.csv"), &csv);
        let sep = if k == 0 { "," } else { "" };
        writeln!(json, "  \"cat/s{k}.csv\": [[\"{}.000000\", \"{}.000000\"]]{sep}", stamp(*a), stamp(*b)).expect("fmt");
    }
    json.push_str("}\n");
    s.write("nab/labels/combined_windows.json", &json);
    s.0.join("nab")
}

#[test]
fn nab_corpus_reads_series_windows_and_steps() {
    let s = Scratch::new("nabread");
    let dir = nab_corpus(&s);
    let corpus = read_corpus(&dir).expect("corpus");
    assert!(corpus.absent.is_empty());
    let corpus = corpus.series;
    assert_eq!(corpus.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), ["cat/s0.csv", "cat/s1.csv"]);
    assert_eq!(corpus[0].values.len(), 400);
    assert_eq!(corpus[0].step_s(), 300.0);
    assert_eq!(corpus[1].windows.len(), 1);
    assert_eq!(corpus[1].windows[0].1 - corpus[1].windows[0].0, 49 * 300_000);
    // A listed series whose file is absent (a held-back split) is counted, the others read.
    std::fs::remove_file(dir.join("data/cat/s1.csv")).expect("rm");
    let partial = read_corpus(&dir).expect("partial corpus");
    assert_eq!(partial.series.len(), 1);
    assert_eq!(partial.absent, ["cat/s1.csv"]);
    // None present: an error naming the windows file and the first absent series.
    std::fs::remove_file(dir.join("data/cat/s0.csv")).expect("rm");
    let err = read_corpus(&dir).expect_err("nothing present").to_string();
    assert!(err.contains("combined_windows.json") && err.contains("'cat/s0.csv', does not exist"), "{err}");
}

#[test]
fn nab_result_files_round_trip_and_score_like_the_run() {
    let s = Scratch::new("nabrun");
    let dir = nab_corpus(&s);
    let out = s.0.join("out");
    let options = NabOptions {
        corpus: Some(dir.clone()),
        detectors: vec!["persist".into()],
        out: Some(out.clone()),
        ..Default::default()
    };
    let report = run(&options).expect("run");
    assert_eq!((report.series, report.windows, report.best.as_str()), (2, 2, "persist"));
    assert_eq!(report.detectors.len(), 1);
    let again = score_results(&out, &dir.join("labels/combined_windows.json")).expect("score");
    assert_eq!(again.series, 2);
    assert!(again.unlisted.is_empty());
    let d = &again.detectors[0];
    assert_eq!(d.name, "persist");
    for (a, b) in [(d.standard, report.standard), (d.reward_low_fp, report.reward_low_fp)] {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    // The files hold every row with its label.
    let windows = read_windows(&dir.join("labels/combined_windows.json")).expect("windows");
    let results = read_results(&out.join("persist"), &windows).expect("results");
    assert_eq!(results[0].series.len(), 2);
    let text = std::fs::read_to_string(out.join("persist/cat/persist_s0.csv")).expect("result file");
    assert_eq!(text.lines().next(), Some("timestamp,value,anomaly_score,label"));
    assert_eq!(text.lines().skip(1).filter(|l| l.ends_with(",1")).count(), 50);
    // An unknown detector is named with the known ones.
    let bad = NabOptions { corpus: Some(dir), detectors: vec!["nope".into()], ..Default::default() };
    let err = run(&bad).expect_err("unknown").to_string();
    assert!(err.starts_with("--detectors: unknown detector 'nope' (one of: "), "{err}");
}

#[test]
fn write_result_names_the_file_after_the_detector() {
    let s = Scratch::new("nabwrite");
    let corpus = read_corpus(&nab_corpus(&s)).expect("corpus").series;
    let path = write_result(&s.0.join("r"), "mine", &corpus[1], &vec![0.5; 400]).expect("write");
    assert_eq!(path, s.0.join("r/mine/cat/mine_s1.csv"));
}

/// A SKAB-format file of `rows` rows, anomalous on `a..b`, changepoints at its ends.
fn skab_file(s: &Scratch, rel: &str, rows: usize, a: usize, b: usize) -> PathBuf {
    let mut csv = String::from("datetime;Flow;Pressure;anomaly;changepoint\n");
    for i in 0..rows {
        let on = (a..b).contains(&i);
        let flow = if on { 20.0 } else { 32.0 } + (i % 5) as f64 * 0.01;
        writeln!(
            csv,
            "2020-03-09 {:02}:{:02}:{:02};{flow};0.3;{}.0;{}.0",
            10 + i / 3600,
            (i / 60) % 60,
            i % 60,
            u8::from(on),
            u8::from(i == a || i == b)
        )
        .expect("fmt");
    }
    s.write(rel, &csv)
}

#[test]
fn skab_folder_keeps_labelled_files_long_enough_to_score() {
    let s = Scratch::new("skabread");
    skab_file(&s, "skab/valve1/0.csv", 600, 450, 500);
    skab_file(&s, "skab/valve1/short.csv", TRAIN_ROWS, 100, 200);
    s.write("skab/anomaly-free/free.csv", "datetime;Flow\n2020-03-09 10:00:00;1.0\n");
    let (files, skipped) = read_folder(&s.0.join("skab")).expect("folder");
    assert_eq!(files.len(), 1);
    assert_eq!(skipped.len(), 2);
    let f = &files[0];
    assert_eq!(f.name, "valve1/0.csv");
    assert_eq!(f.features, ["Flow", "Pressure"]);
    assert_eq!((f.rows(), f.values.len()), (600, 1200));
    assert_eq!(f.anomaly.iter().filter(|&&a| a == 1).count(), 50);
    // A label that is not 0 or 1 names its line.
    let bad = s.write("bad/x.csv", "datetime;Flow;anomaly;changepoint\n2020-03-09 10:00:00;1.0;2;0\n");
    let err = SkabFile::read(&bad, &s.0).expect_err("bad label").to_string();
    assert!(err.contains("line 2") && err.contains("'anomaly'"), "{err}");
    assert!(read_folder(&s.0.join("nothing")).is_err());
}

#[test]
fn skab_pooling_counts_every_test_row_and_scores_perfect_flags() {
    let s = Scratch::new("skabpool");
    skab_file(&s, "skab/v/0.csv", 600, 450, 500);
    let (files, _) = read_folder(&s.0.join("skab")).expect("folder");
    let labels = &files[0].anomaly[TRAIN_ROWS..];
    let flags: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
    let scores: Vec<f64> = labels.iter().map(|&l| f64::from(l) * 2.0).collect();
    let figures = pool(files.iter().zip(&[FileResult { flags, scores, threshold: 1.0 }])).expect("pool");
    let c = &figures.confusion;
    assert_eq!((c.tp, c.fp, c.tn, c.fn_), (50, 0, 150, 0));
    assert_eq!((figures.f1, figures.far, figures.mar), (1.0, 0.0, 0.0));
    assert_eq!((figures.roc_auc, figures.oracle_f1), (1.0, 1.0));
    assert_eq!(figures.missed_changepoints, 0);
}

#[test]
fn frame_errors_name_the_missing_cell() {
    let s = Scratch::new("frame");
    let p = s.write("f.csv", "timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00,\n");
    let err = telltale_bench::frame::Frame::read(Path::new(&p), b',', "timestamp", |c| c == "value")
        .expect_err("missing")
        .to_string();
    assert!(err.contains("line 3") && err.contains("'value'"), "{err}");
    let p = s.write("g.csv", "timestamp,value\nyesterday,1\n");
    let err = telltale_bench::frame::Frame::read(&p, b',', "timestamp", |_| true).expect_err("time").to_string();
    assert!(err.contains("'yesterday'"), "{err}");
}

/// An `.npy` v1 file of `<f8` values, `rows` x `cols`, as NumPy lays it out.
fn npy(rows: usize, cols: usize, value: impl Fn(usize, usize) -> f64) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    for r in 0..rows {
        for c in 0..cols {
            out.extend(value(r, c).to_le_bytes());
        }
    }
    out
}

#[test]
fn msl_folders_are_read_and_their_mistakes_named() {
    use telltale_bench::msl::corpus::read_folder;
    let s = Scratch::new("mslread");
    let dir = s.0.join("msl");
    for part in ["train", "test"] {
        std::fs::create_dir_all(dir.join(part)).expect("dir");
    }
    let labels = "chan_id,spacecraft,anomaly_sequences,class,num_values\n\
                  A-1,MSL,\"[[10, 19]]\",[point],50\nB-2,MSL,\"[[5, 6], [30, 40]]\",\"[point, contextual]\",60\n";
    std::fs::write(dir.join("labeled_anomalies.csv"), labels).expect("labels");
    for (name, test_rows) in [("A-1", 50), ("B-2", 60)] {
        std::fs::write(dir.join(format!("train/{name}.npy")), npy(40, 3, |r, c| (r * 3 + c) as f64)).expect("w");
        std::fs::write(dir.join(format!("test/{name}.npy")), npy(test_rows, 3, |r, _| r as f64)).expect("w");
    }
    let channels = read_folder(&dir).expect("folder");
    assert_eq!(channels.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["A-1", "B-2"]);
    assert_eq!((channels[0].train.rows, channels[0].train.cols, channels[0].test.rows), (40, 3, 50));
    assert_eq!(channels[1].sequences, [(5, 6), (30, 40)]);
    assert_eq!(channels[0].train.column(1)[..2], [1.0, 4.0]);
    // A truncated array: its file is named.
    let bytes = npy(60, 3, |_, _| 0.0);
    std::fs::write(dir.join("test/B-2.npy"), &bytes[..bytes.len() - 8]).expect("w");
    let e = read_folder(&dir).expect_err("truncated").to_string();
    assert!(e.contains("B-2.npy") && e.contains("truncated"), "{e}");
    // A channel with no train array.
    std::fs::write(dir.join("test/B-2.npy"), npy(60, 3, |_, _| 0.0)).expect("w");
    std::fs::remove_file(dir.join("train/B-2.npy")).expect("rm");
    let e = read_folder(&dir).expect_err("no train").to_string();
    assert!(e.contains("channel 'B-2' has no train array") && e.contains("labeled_anomalies.csv"), "{e}");
    // The labels name a channel the folder lacks altogether.
    let more = format!("{labels}C-3,MSL,\"[[1, 2]]\",[point],10\n");
    std::fs::write(dir.join("labeled_anomalies.csv"), more).expect("labels");
    std::fs::write(dir.join("train/B-2.npy"), npy(40, 3, |_, _| 0.0)).expect("w");
    let e = read_folder(&dir).expect_err("no C-3").to_string();
    assert!(e.contains("channel 'C-3' has no train array"), "{e}");
    // A sequence outside the test array: file and line.
    std::fs::write(
        dir.join("labeled_anomalies.csv"),
        "chan_id,spacecraft,anomaly_sequences,class,num_values\nA-1,MSL,\"[[10, 90]]\",[point],50\n",
    )
    .expect("w");
    let e = read_folder(&dir).expect_err("outside").to_string();
    assert!(e.contains("labeled_anomalies.csv, line 2") && e.contains("[10, 90]"), "{e}");
}
