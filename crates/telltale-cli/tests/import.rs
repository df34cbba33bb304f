//! `telltale import`: networks trained in PyTorch and Keras (ONNX files made by `tools/onnx/*_fixtures.py`,
//! stored with the runtime's tests) as model directories that `detect`, `evaluate`, `export` and
//! `bench latency` take. ONNX Runtime checks the scores where the test command's Python has it
//! (`target/ci-tools`, or `TELLTALE_PYTHON`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use telltale_testing::Scratch;

fn telltale(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telltale")).args(args).output().expect("telltale runs")
}

fn ok_json(o: &Output) -> Value {
    assert!(o.status.success(), "failed: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../telltale-runtime/tests/fixtures/onnx").join(name);
    p.display().to_string()
}

/// 1,200 rows of the bundled accelerometer data.
fn data(s: &Scratch) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/accelerometer.csv");
    let text = std::fs::read_to_string(src).expect("bundled data");
    let rows: Vec<&str> = text.lines().take(1201).collect();
    s.write("acc.csv", rows.join("\n") + "\n")
}

fn scores(path: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(path).expect("scores");
    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    let col = header.iter().position(|h| *h == "score").expect("a score column");
    text.lines().skip(1).map(|l| l.split(',').nth(col).and_then(|v| v.parse().ok()).expect("a score")).collect()
}

fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var_os("TELLTALE_PYTHON").map_or_else(|| root.join("target/ci-tools/bin/python"), PathBuf::from)
}

#[test]
fn an_imported_pytorch_cnn_lstm_scores_as_onnx_runtime_does_and_goes_where_trained_models_go() {
    let s = Scratch::new("import-torch");
    let acc = data(&s);
    let scaler = s.write("scaler.json", r#"{"mean": [0.99, 0.005, -0.12], "scale": [0.77, 0.74, 0.52]}"#);
    let dir = s.path("torch");
    let onnx = fixture("torch-cnn-lstm.onnx");
    let j = ok_json(&telltale(&[
        "import",
        &onnx,
        "--features",
        "x,y,z",
        "--step",
        "30",
        "--scaler",
        &scaler,
        "--label",
        "wconfid != 1",
        "--out",
        &dir,
        "--json",
    ]));
    assert_eq!(j["engine"], "telltale-runtime");
    assert_eq!(j["layers"], "conv(k3, relu, pool 2) → lstm → dense");
    assert_eq!(j["producer"], "pytorch");
    assert_eq!((j["steps"].as_u64(), j["task"].as_str()), (Some(60), Some("classify")));
    // Conv 3×3→64 + 64, LSTM (64 + 50)·200 + 200 (PyTorch's two bias vectors summed), Linear 50 + 1.
    assert_eq!(j["params"], (9 * 64 + 64) + (114 * 200 + 200) + 51);
    assert!(Path::new(&dir).join("source.onnx").exists());

    // detect scores the file; its windows every 30 rows.
    let out = s.path("scores.csv");
    let d = telltale(&["detect", "--model", &dir, "--data", &acc, "--out", &out]);
    assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
    let ours = scores(&out);
    assert_eq!(ours.len(), (1200 - 60) / 30);

    // evaluate judges it against the label rule given at import.
    let e = ok_json(&telltale(&["evaluate", "--model", &dir, "--data", &acc, "--json"]));
    let acc_fig = e["accuracy"].as_f64().or_else(|| e["all"]["accuracy"].as_f64());
    assert!(acc_fig.is_some_and(|a| (0.0..=1.0).contains(&a)), "{e}");

    // Exported again (ONNX with the scaler inside, and int8) and imported back: the same scores.
    let again = s.path("again.onnx");
    ok_json(&telltale(&["export", "--model", &dir, "--onnx", "--out", &again, "--json"]));
    let back = s.path("back");
    ok_json(&telltale(&["import", &again, "--features", "x,y,z", "--step", "30", "--out", &back, "--json"]));
    let out2 = s.path("scores2.csv");
    assert!(telltale(&["detect", "--model", &back, "--data", &acc, "--out", &out2]).status.success());
    let worst = ours.iter().zip(scores(&out2)).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst <= 1e-5, "{worst:e}");
    let q = ok_json(&telltale(&["export", "--model", &dir, "--int8", "--out", &s.path("q.ttm"), "--json"]));
    assert!(q["bytes"].as_u64().expect("bytes") < 40_000, "{q}");

    // ONNX Runtime on the original file, the first windows scaled by hand: the probabilities detect gave.
    let script = "import csv, sys, numpy as np, onnxruntime as ort\n\
        rows = list(csv.DictReader(open(sys.argv[2])))\n\
        m, k = np.array([0.99, 0.005, -0.12]), np.array([0.77, 0.74, 0.52])\n\
        v = (np.array([[float(r[c]) for c in 'xyz'] for r in rows]) - m) / k\n\
        s = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])\n\
        for i in range(0, 300, 30):\n\
        \x20   (y,) = s.run(None, {'x': v[i:i + 60][None].astype(np.float32)})\n\
        \x20   print(1 / (1 + np.exp(-float(y.ravel()[0]))))";
    let py = python();
    let run = Command::new(&py).args(["-c", script, &onnx, &acc]).output();
    let run =
        run.unwrap_or_else(|e| panic!("{}: {e}: run scripts/test.sh, which installs onnxruntime there", py.display()));
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let theirs: Vec<f64> = String::from_utf8_lossy(&run.stdout).lines().map(|l| l.trim().parse().expect("p")).collect();
    assert_eq!(theirs.len(), 10);
    let worst = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst <= 1e-5, "detect against ONNX Runtime: {worst:e}");

    // export --tflite: LiteRT, given the first windows' raw readings, gives detect's probabilities.
    let tfl = s.path("model.tflite");
    let t = ok_json(&telltale(&["export", "--model", &dir, "--tflite", "--out", &tfl, "--json"]));
    assert_eq!(t["format"], "tflite");
    let text = std::fs::read_to_string(&acc).expect("data");
    let rows: Vec<Vec<f32>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').skip(2).take(3).map(|v| v.parse().expect("reading")).collect())
        .collect();
    let x: Vec<u8> = (0..4).flat_map(|w| rows[w * 30..w * 30 + 60].concat()).flat_map(f32::to_le_bytes).collect();
    let (inp, outp) = (s.write("tfl.in", x), s.path("tfl.out"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let run =
        Command::new(&py).arg(root.join("tools/tflite/run.py")).args([&tfl, &inp, "4", "60", "3", &outp]).output();
    let run = run.expect("python");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let logits = std::fs::read(&outp).expect("outputs");
    let probs: Vec<f64> = logits
        .chunks_exact(4)
        .map(|c| 1.0 / (1.0 + (-f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))).exp()))
        .collect();
    let worst = ours.iter().zip(&probs).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(probs.len() == 4 && worst <= 1e-5, "detect against LiteRT: {worst:e}");
}

#[test]
fn an_imported_keras_gru_runs_and_bad_imports_say_why() {
    let s = Scratch::new("import-keras");
    let acc = data(&s);
    let dir = s.path("keras");
    let j = ok_json(&telltale(&[
        "import",
        &fixture("keras-gru.onnx"),
        "--features",
        "x,y,z",
        "--window",
        "48",
        "--out",
        &dir,
        "--json",
    ]));
    assert_eq!(j["producer"], "tf2onnx");
    assert_eq!(j["layers"], "conv(k4, relu, pool 4) → gru(sequence) → last-step → dense(relu) → dense");
    let out = s.path("scores.csv");
    assert!(telltale(&["detect", "--model", &dir, "--data", &acc, "--out", &out]).status.success());
    assert!(scores(&out).iter().all(|p| (0.0..=1.0).contains(p)));

    let fail = |args: &[&str], needle: &str| {
        let o = telltale(args);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!o.status.success() && err.contains(needle), "{args:?}: {err}");
    };
    let gru = fixture("keras-gru.onnx");
    fail(&["import", &gru, "--features", "x,y", "--out", &s.path("a")], "2 names for the graph's 3 input values");
    fail(
        &["import", &gru, "--features", "x,y,z", "--window", "50", "--out", &s.path("b")],
        "48 steps, not the window's 50",
    );
    fail(&["import", &gru, "--features", "x,y,z", "--task", "novelty", "--out", &s.path("c")], "task");
    let junk = s.write("junk.onnx", "not a model");
    fail(&["import", &junk, "--features", "x,y,z", "--out", &s.path("d")], "junk.onnx");
    let bad = s.write("bad.json", r#"{"mean": [0, 0, 0], "scale": [1, 0, 1]}"#);
    fail(&["import", &gru, "--features", "x,y,z", "--scaler", &bad, "--out", &s.path("e")], "bad.json");
}

#[test]
fn a_forecaster_exported_to_onnx_and_imported_back_scores_as_the_original() {
    let s = Scratch::new("import-forecast");
    let acc = data(&s);
    let config = s.write(
        "gru.toml",
        "seed = 1\n[data]\npath = \"acc.csv\"\nfeatures = [\"x\", \"y\"]\n[window]\nlookback = 12\nhorizon = 2\n\
         [split]\nkind = \"chronological\"\ntrain = 0.6\nval = 0.2\ntest = 0.2\n[model]\npreset = \"gru-forecast\"\n\
         units = [8]\n[train]\nepochs = 1\n",
    );
    let model = s.path("gru");
    ok_json(&telltale(&["train", "--config", &config, "--out", &model, "--json"]));
    let onnx = s.path("gru.onnx");
    ok_json(&telltale(&["export", "--model", &model, "--onnx", "--out", &onnx, "--json"]));
    let back = s.path("back");
    let j = ok_json(&telltale(&["import", &onnx, "--features", "x,y", "--task", "forecast", "--out", &back, "--json"]));
    // Two steps of two features ahead, however the network lays them out.
    let out = j["output"][0].as_u64().zip(j["output"][1].as_u64()).map(|(t, c)| t * c);
    assert_eq!((j["task"].as_str(), out), (Some("forecast"), Some(4)));
    let (a, b) = (s.path("a.csv"), s.path("b.csv"));
    assert!(telltale(&["detect", "--model", &model, "--data", &acc, "--out", &a]).status.success());
    assert!(telltale(&["detect", "--model", &back, "--data", &acc, "--out", &b]).status.success());
    let (ours, theirs) = (scores(&a), scores(&b));
    assert_eq!(ours.len(), theirs.len());
    // The graph holds the scaler in f32 where telltale holds it in f64: the scores agree to that precision.
    let worst = ours.iter().zip(&theirs).map(|(x, y)| (x - y).abs() / x.abs().max(1.0)).fold(0.0, f64::max);
    assert!(worst <= 1e-4, "{worst:e}");
}
