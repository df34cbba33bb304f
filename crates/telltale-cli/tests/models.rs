//! `telltale train`, `evaluate`, `detect` and `tune` end to end on a slice of
//! the bundled data.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use telltale_testing::{Scratch, free_port, http, http_get};

fn telltale(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_telltale")).args(args).output().expect("telltale runs")
}

fn ok_json(o: &Output) -> Value {
    assert!(o.status.success(), "failed: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Fan speeds 70 % and 90 % of the bundled accelerometer data in `s`, and a config training on it (plus `extra`).
fn experiment(s: &Scratch, extra: &str) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/accelerometer.csv");
    let text = std::fs::read_to_string(src).expect("bundled data");
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().expect("header"));
    for line in lines.filter(|l| matches!(l.split(',').nth(1), Some("70" | "90"))) {
        out.push_str(line);
        out.push('\n');
    }
    s.write("acc.csv", out);
    let config = format!(
        "seed = 1\n[data]\npath = \"acc.csv\"\nfeatures = [\"x\", \"y\", \"z\"]\nlabel = \"wconfid != 1\"\nfactors = [\"pctid\"]\n\
         [window]\nsize = 60\nstep = 30\n[split]\nkind = \"stratified\"\ntrain = 0.6\nval = 0.2\ntest = 0.2\nseed = 3\n\
         [model]\npreset = \"cnn-lstm\"\nlstm_units = [16]\n[train]\nepochs = 3\npatience = 0\n[evaluate]\nby_group = \"pctid\"\n{extra}"
    );
    s.write("exp.toml", config)
}

#[test]
fn train_evaluate_detect_round_trip() {
    let s = Scratch::new("models-cli-round");
    let config = experiment(&s, "");
    let model = s.path("model");
    let j = ok_json(&telltale(&["train", "--config", &config, "--out", &model, "--json"]));
    // Conv 3×3→64 (+ bias), LSTM 64→16 (input, recurrent kernels and one bias), dense 16→1.
    assert_eq!(j["params"], (9 * 64 + 64) + (64 * 64 + 16 * 64 + 64) + (16 + 1));
    assert_eq!(j["epochs"], 3);
    assert!(j["median_epoch_seconds"].as_f64().expect("seconds") > 0.0);
    assert_eq!(j["model_dir"], model.as_str());
    for key in ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"] {
        let v = j["test"][key].as_f64().unwrap_or_else(|| panic!("test.{key}"));
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert_eq!(j["test"]["by_group"][0], "pctid");

    // The model directory reproduces its test figures exactly.
    let e = ok_json(&telltale(&["evaluate", "--model", &model, "--split", "test", "--json"]));
    for key in ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "tp", "fp", "tn", "fn"] {
        assert_eq!(e[key], j["test"][key], "{key}");
    }

    // The model directory is a run record of its test windows; `report` draws it.
    let scores = std::fs::read_to_string(format!("{model}/scores.csv")).expect("scores.csv");
    assert_eq!(scores.lines().count() as u64 - 1, j["windows"]["test"].as_u64().expect("test windows"));
    let flagged = scores.lines().skip(1).filter(|l| l.split(',').nth(5) == Some("1")).count() as u64;
    assert_eq!(flagged, e["tp"].as_u64().expect("tp") + e["fp"].as_u64().expect("fp"));
    let r = ok_json(&telltale(&["report", &model, "--json"]));
    let figures: Vec<String> = r["runs"][0]["figures"]
        .as_array()
        .expect("figures")
        .iter()
        .map(|f| f.as_str().expect("path").rsplit('/').next().expect("name").to_owned())
        .collect();
    for want in ["loss.png", "roc.png", "pr.png", "confusion.png", "histogram.png", "series-00-acc_csv.png"] {
        assert!(figures.iter().any(|f| f == want), "{want} not in {figures:?}");
    }
    let page = std::fs::read_to_string(r["runs"][0]["page"].as_str().expect("page")).expect("page");
    assert!(page.contains(&format!("<td>{:.4}</td>", j["test"]["f1"].as_f64().expect("f1"))), "{page}");
    // evaluate --report writes the same kind of record for any part.
    let all = s.path("all");
    let e_all = ok_json(&telltale(&["evaluate", "--model", &model, "--report", &all, "--json"]));
    let scores = std::fs::read_to_string(format!("{all}/scores.csv")).expect("scores.csv");
    assert_eq!(scores.lines().count() as u64 - 1, e_all["windows"].as_u64().expect("windows"));
    ok_json(&telltale(&["report", &all, "--json"]));

    // detect writes one row per window, with score, threshold and flag.
    let out = s.path("detections.csv");
    let d = ok_json(&telltale(&["detect", "--model", &model, "--data", &s.path("acc.csv"), "--out", &out, "--json"]));
    let csv = std::fs::read_to_string(&out).expect("detections");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("window,first_line,last_line,start,end,score,threshold,flag,label,top_sensors"));
    assert_eq!(lines.count() as u64, d["windows"].as_u64().expect("windows"));
    // 3 configurations × 2 speeds × 3,000 rows; windows while start + 60 < 18,000.
    assert_eq!(d["windows"], (18_000 - 61) / 30 + 1);
    let flagged = d["flagged"].as_u64().expect("flagged");
    assert_eq!(flagged as usize, d["anomalies"].as_array().expect("list").len());
    assert!(flagged > 0);
}

#[test]
fn tune_ranks_the_grid() {
    let s = Scratch::new("models-cli-tune");
    let config = experiment(
        &s,
        "[tune]\nfolds = 2\nmetric = \"roc-auc\"\n[tune.grid]\n\"train.learning_rate\" = [0.001, 0.01]\n",
    );
    let j = ok_json(&telltale(&["tune", "--config", &config, "--json"]));
    let rows = j["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    assert!(rows[0]["mean"].as_f64() >= rows[1]["mean"].as_f64(), "best first");
    assert_eq!(rows[0]["folds"].as_array().expect("folds").len(), 2);
    let protocol = j["protocol"].as_str().expect("protocol");
    assert!(protocol.contains("held-out folds only scored") && protocol.contains("purge"), "{protocol}");
}

fn fails(args: &[&str], code: i32, needle: &str) {
    let o = telltale(args);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
    assert!(stderr(&o).contains(needle), "{args:?}: expected {needle:?} in {}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn bad_configs_fail_before_any_work() {
    let s = Scratch::new("models-cli-bad");
    experiment(&s, "");
    let write = |name: &str, text: String| {
        let p = s.path(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    let good = std::fs::read_to_string(s.path("exp.toml")).expect("config");
    let p = write("batch.toml", good.replace("epochs = 3", "epochs = 3\nbatch_size = 0"));
    fails(&["train", "--config", &p], 2, "train.batch_size: must be at least 1");
    let p = write("field.toml", good.replace("lstm_units = [16]", "lstm_unit = [16]"));
    fails(&["train", "--config", &p], 2, "model.lstm_unit: unknown field");
    let p = write("preset.toml", good.replace("cnn-lstm", "cnn-gru"));
    fails(&["train", "--config", &p], 2, "unknown preset 'cnn-gru'");
    let p = write("data.toml", good.replace("acc.csv", "missing.csv"));
    fails(&["train", "--config", &p], 3, "missing.csv");
    fails(&["train", "--config", &s.path("absent.toml")], 3, "absent.toml");
}

#[test]
fn foreign_and_newer_model_directories_are_refused() {
    let s = Scratch::new("models-cli-artifact");
    let config = experiment(&s, "");
    let model = s.path("model");
    ok_json(&telltale(&["train", "--config", &config, "--out", &model, "--json"]));
    fails(&["evaluate", "--model", &s.path("nowhere")], 3, "not a telltale model directory");
    let manifest = Path::new(&model).join("telltale-model.json");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, text.replacen("\"version\": 1", "\"version\": 99", 1)).expect("write");
    fails(&["evaluate", "--model", &model], 3, "written by a newer telltale (format version 99");
    std::fs::write(&manifest, "{\"format\": \"something-else\"}").expect("write");
    fails(&["evaluate", "--model", &model], 3, "not a telltale model manifest");
}

#[test]
fn serve_scores_a_simulated_fleet_and_stops_cleanly() {
    use std::time::{Duration, Instant};
    let s = Scratch::new("models-cli-serve");
    let model = s.path("model");
    ok_json(&telltale(&["train", "--config", &experiment(&s, ""), "--out", &model, "--json"]));
    let file = s.path("model.safetensors");
    ok_json(&telltale(&["export", "--model", &model, "--out", &file, "--json"]));

    let (mqtt, http) = (free_port(), free_port());
    let db = format!("sqlite://{}", s.path("serve.db"));
    let args =
        ["serve", "--model", &file, "--listen", &format!("127.0.0.1:{mqtt}"), "--http", &format!("127.0.0.1:{http}")];
    let serve = Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args(args)
        .args(["--db", &db, "--quiet"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let start = Instant::now();
    while http_get(http, "/health").is_none() {
        assert!(start.elapsed() < Duration::from_secs(60), "serve did not answer on HTTP within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let broker = format!("mqtt://127.0.0.1:{mqtt}");
    let sim = telltale(&[
        "simulate",
        "--data",
        &s.path("acc.csv"),
        "--features",
        "x,y,z",
        "--devices",
        "3",
        "--rate",
        "0",
        "--rows",
        "0..600",
        "--broker",
        &broker,
        "--json",
    ]);
    let published = ok_json(&sim);
    assert_eq!((published["readings"].as_u64(), published["acked"].as_u64()), (Some(1800), Some(1800)));
    // Every published reading is scored: 3 devices × windows of 60 every 30 over 600 rows.
    let health = loop {
        let h: Value = serde_json::from_str(&http_get(http, "/health").expect("health")).expect("json");
        if h["readings"] == 1800 || start.elapsed() > Duration::from_secs(60) {
            break h;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!((health["readings"].as_u64(), health["windows"].as_u64()), (Some(1800), Some(3 * 19)), "{health}");
    let metrics = http_get(http, "/metrics").expect("metrics");
    assert!(metrics.contains("telltale_readings_total 1800"), "{metrics}");

    // Synthetic sensors s0..s2 are not the model's x, y, z: counted as malformed, nothing else changes.
    let labels = s.path("labels.csv");
    let synthetic = telltale(&[
        "simulate",
        "--synthetic",
        "--devices",
        "2",
        "--synthetic-rows",
        "300",
        "--rate",
        "0",
        "--broker",
        &broker,
        "--labels",
        &labels,
        "--json",
    ]);
    assert_eq!(ok_json(&synthetic)["readings"], 600);
    let labels = std::fs::read_to_string(&labels).expect("labels");
    assert_eq!(labels.lines().next(), Some("device,timestamp_ms,anomaly,kind"));
    assert_eq!(labels.lines().count(), 601);
    for kind in ["point", "contextual", "collective"] {
        assert!(labels.lines().any(|l| l.ends_with(&format!(",1,{kind}"))), "a {kind} anomaly is labelled");
    }
    let refused = loop {
        let m = http_get(http, "/metrics").expect("metrics");
        if m.contains("telltale_dropped_total{reason=\"malformed\"} 600") || start.elapsed() > Duration::from_secs(90) {
            break m;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(refused.contains("telltale_dropped_total{reason=\"malformed\"} 600"), "{refused}");
    assert!(refused.contains("telltale_readings_total 1800"), "{refused}");

    // SIGTERM: a clean stop that reports what it did.
    let status = Command::new("kill").args(["-TERM", &serve.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let out = serve.wait_with_output().expect("serve exits");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", stderr(&out));
    assert!(stdout.contains("done: 2400 messages, 1800 readings from 3 devices, 57 windows scored"), "{stdout}");
    assert!(stdout.contains("600 refused"), "{stdout}");
}

#[test]
fn config_print_shows_file_environment_and_flags_in_order() {
    let s = Scratch::new("models-cli-config");
    let file = s.path("serve.toml");
    std::fs::write(&file, "db = \"sqlite://from-file.db\"\nhttp = \"127.0.0.1:9000\"\n[alerts]\ncooldown_s = 30.0\n")
        .expect("write");
    let o = Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args(["config", "print", "--config", &file, "--http", "127.0.0.1:9100"])
        .env("TELLTALE_DB", "postgres://u@127.0.0.1/t")
        .env("TELLTALE_HTTP", "127.0.0.1:9050")
        .env("TELLTALE_TOKEN", "secret-from-env")
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let printed: toml::Table = toml::from_str(&String::from_utf8_lossy(&o.stdout)).expect("TOML");
    assert_eq!(printed["db"].as_str(), Some("postgres://u@127.0.0.1/t"), "env over file");
    assert_eq!(printed["http"].as_str(), Some("127.0.0.1:9100"), "flag over env");
    assert_eq!(printed["alerts"]["cooldown_s"].as_float(), Some(30.0), "file over default");
    assert_eq!(printed["topic"].as_str(), Some("sensors/{device}/#"), "defaults shown");
    assert_eq!(printed["token"].as_str(), Some("***"), "a token is never printed");

    std::fs::write(&file, "[alerts]\ncooldwn_s = 30.0\n").expect("write");
    fails(&["config", "print", "--config", &file], 2, "cooldwn_s");
}

#[test]
fn bench_stream_measures_the_service_against_the_broker_alone() {
    let s = Scratch::new("models-cli-bench-stream");
    let model = s.path("model");
    ok_json(&telltale(&["train", "--config", &experiment(&s, ""), "--out", &model, "--json"]));
    let j = ok_json(&telltale(&[
        "bench",
        "stream",
        "--model",
        &model,
        "--data",
        &s.path("acc.csv"),
        "--devices",
        "3",
        "--readings",
        "300",
        "--batch",
        "10",
        "--rate",
        "0",
        "--brokers",
        "embedded,mosquitto",
        "--json",
    ]));
    assert_eq!(j["readings"], 900);
    let runs = j["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 4, "broker alone and the service, on each broker: {j}");
    for r in runs {
        assert_eq!(r["lost"], 0, "{r}");
        assert!(r["readings_per_s"].as_f64().expect("rate") > 0.0, "{r}");
        assert!(r["latency_ms"]["samples"].as_u64().expect("samples") > 0, "{r}");
    }
    // The seed CNN-LSTM's window is 60 readings of 3 values: at least 60 × (3 × 4 + 8) bytes a device.
    assert!(runs[1]["state_bytes_per_device"].as_f64().expect("state") >= 1200.0, "{}", runs[1]);
    assert_eq!(j["ratios"].as_array().expect("ratios").len(), 2);
}

/// A `telltale serve` in the background, its stdout piped.
fn serve_in_background(args: &[String]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_telltale"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts")
}

fn wait_for_health(port: u16) {
    let start = std::time::Instant::now();
    while http_get(port, "/health").is_none() {
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "serve did not answer on HTTP within 60 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn the_dashboard_works_in_a_real_browser() {
    use std::time::{Duration, Instant};
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir() && Path::new("/usr/bin/chromium").exists(),
        "the browser test needs Debian's chromium and tests/browser's npm packages: scripts/test.sh installs both"
    );
    let s = Scratch::new("models-cli-dashboard");
    let model = s.path("model");
    ok_json(&telltale(&["train", "--config", &experiment(&s, ""), "--out", &model, "--json"]));
    let (mqtt, port) = (free_port(), free_port());
    let token = "dashboard-test-token";
    let serve_args: Vec<String> = [
        "serve",
        "--model",
        &model,
        "--listen",
        &format!("127.0.0.1:{mqtt}"),
        "--http",
        &format!("127.0.0.1:{port}"),
        "--db",
        &format!("sqlite://{}", s.path("dash.db")),
        "--token",
        token,
        "--quiet",
    ]
    .map(String::from)
    .to_vec();
    let serve = serve_in_background(&serve_args);
    wait_for_health(port);
    // One fan from normal running (70 % speed) across into imbalance (the file's rows 6,000 on).
    let simulate: Vec<String> = [
        "simulate",
        "--data",
        &s.path("acc.csv"),
        "--features",
        "x,y,z",
        "--rate",
        "0",
        "--rows",
        "3000..9000",
        "--broker",
        &format!("mqtt://127.0.0.1:{mqtt}"),
        "--json",
    ]
    .map(String::from)
    .to_vec();
    let args: Vec<&str> = simulate.iter().map(String::as_str).collect();
    assert_eq!(ok_json(&telltale(&args))["readings"], 6000);
    // And a fleet of 300 more devices (the table must stay usable: sorted, filtered).
    let fleet = telltale(&[
        "simulate",
        "--data",
        &s.path("acc.csv"),
        "--features",
        "x,y,z",
        "--devices",
        "300",
        "--rate",
        "0",
        "--rows",
        "0..90",
        "--topic",
        "sensors/fleet-{device}/data",
        "--broker",
        &format!("mqtt://127.0.0.1:{mqtt}"),
        "--json",
    ]);
    assert_eq!(ok_json(&fleet)["readings"], 300 * 90);

    // The API: refused without the token or with a wrong one, served with it.
    assert_eq!(http(port, "GET", "/api/devices", None).map(|r| r.0), Some(401));
    assert_eq!(http(port, "GET", "/api/devices", Some("wrong-token-1")).map(|r| r.0), Some(401));
    assert_eq!(http(port, "GET", "/", None).map(|r| r.0), Some(401));
    let start = Instant::now();
    let fleet = loop {
        let (status, body) = http(port, "GET", "/api/devices", Some(token)).expect("devices");
        assert_eq!(status, 200, "{body}");
        let j: Value = serde_json::from_str(&body).expect("json");
        let one = j["devices"].as_array().and_then(|d| d.iter().find(|d| d["device"] == "dev-1")).cloned();
        if (j["totals"]["readings"] == 6000 + 300 * 90 && one.is_some_and(|d| d["readings"] == 6000))
            || start.elapsed() > Duration::from_secs(60)
        {
            break j;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let devices = fleet["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 301);
    let one = devices.iter().find(|d| d["device"] == "dev-1").expect("dev-1");
    assert_eq!(one["readings"], 6000, "{one}");
    assert!(one["anomalies"].as_u64().expect("anomalies") > 0, "the imbalance is found: {one}");
    let (status, body) = http(port, "PUT", "/api/thresholds", Some(token)).expect("put");
    assert_eq!(status, 415, "a change that is not JSON is refused: {body}");
    let (_, model_info) = http(port, "GET", "/api/model", Some(token)).expect("model");
    let model_info: Value = serde_json::from_str(&model_info).expect("json");
    assert_eq!((model_info["preset"].as_str(), model_info["window"].as_u64()), (Some("cnn-lstm"), Some(60)));
    assert!(model_info["test"]["f1"].is_number(), "{model_info}");

    // The page, in Chromium: the device, its anomaly shaded and in the feed, acknowledge across a reload, the
    // threshold changed and recorded, a server restart under the open page.
    let mut serve_again = serve_args.clone();
    serve_again.insert(0, env!("CARGO_BIN_EXE_telltale").to_owned());
    let mut feed_again = simulate.clone();
    feed_again.insert(0, env!("CARGO_BIN_EXE_telltale").to_owned());
    if let Some(rows) = feed_again.iter_mut().find(|a| a.as_str() == "3000..9000") {
        *rows = "9000..9600".into();
    }
    let restart = serde_json::json!({ "pid": serve.id(), "serve": serve_again, "simulate": feed_again });
    let shots = s.path("shots");
    std::fs::create_dir_all(&shots).expect("shots");
    let node = Command::new("node")
        .arg(browser_dir.join("dashboard.mjs"))
        .env("TELLTALE_URL", format!("http://127.0.0.1:{port}"))
        .env("TELLTALE_TOKEN", token)
        .env("TELLTALE_DEVICE", "dev-1")
        .env("TELLTALE_FLEET", "301")
        .env("TELLTALE_SHOTS", &shots)
        .env("TELLTALE_RESTART", restart.to_string())
        .output()
        .expect("node runs");
    let out = format!("{}{}", String::from_utf8_lossy(&node.stdout), String::from_utf8_lossy(&node.stderr));
    println!("{out}");
    if !node.status.success() {
        // The browser stopped before stopping the server: stop it here.
        let _ = Command::new("kill").args(["-TERM", &serve.id().to_string()]).status();
    }
    let first = serve.wait_with_output().expect("the first server exits");
    assert!(node.status.success(), "the browser test failed:\n{out}");
    assert!(out.contains("dashboard: all checks passed"), "{out}");
    assert!(first.status.success(), "the first server stopped cleanly on SIGTERM");
    assert!(Path::new(&shots).join("dashboard.png").is_file());
    // Without a token, an address for every interface becomes loopback, and the service says so. It opens the
    // same database: the acknowledgement and the threshold changes made on the page are there.
    let port2 = free_port();
    let open_args: Vec<String> = [
        "serve",
        "--model",
        &model,
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
        "--http",
        &format!("0.0.0.0:{port2}"),
        "--db",
        &format!("sqlite://{}", s.path("dash.db")),
        "--duration",
        "3",
    ]
    .map(String::from)
    .to_vec();
    let open = serve_in_background(&open_args);
    wait_for_health(port2);
    let (status, body) = http(port2, "GET", "/api/model", None).expect("model");
    assert_eq!(status, 200);
    assert!(body.contains("no token: served on loopback only"), "{body}");
    let (_, feed) = http(port2, "GET", "/api/feed", None).expect("feed");
    let feed: Value = serde_json::from_str(&feed).expect("json");
    let acked = feed.as_array().expect("feed").iter().filter(|f| f["ack"]["by"] == "dashboard").count();
    assert_eq!(acked, 1, "{feed}");
    let (_, changes) = http(port2, "GET", "/api/thresholds", None).expect("thresholds");
    let changes: Value = serde_json::from_str(&changes).expect("json");
    let recorded: Vec<(Value, Value)> = changes["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| (c["device"].clone(), c["value"].clone()))
        .collect();
    assert_eq!(recorded, [(Value::from("dev-1"), Value::from(1e9)), (Value::from("dev-1"), Value::Null)]);
    assert_eq!(changes["in_force"]["devices"], serde_json::json!({}), "set, then cleared: none in force");
    let out = open.wait_with_output().expect("exits");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("dashboard http://127.0.0.1:{port2}/ (no token: loopback only)")), "{stdout}");
}

#[test]
fn compare_trains_each_configuration_on_its_split_over_seeds() {
    let s = Scratch::new("models-cli-compare");
    let hybrid = experiment(&s, "");
    let text = std::fs::read_to_string(&hybrid).expect("config");
    let cnn =
        s.write("cnn.toml", text.replace("preset = \"cnn-lstm\"\nlstm_units = [16]", "preset = \"cnn\"\nfilters = 8"));
    let lstm = s
        .write("lstm.toml", text.replace("preset = \"cnn-lstm\"\nlstm_units = [16]", "preset = \"lstm\"\nunits = [8]"));
    let args = ["compare", "--config", &hybrid, "--config", &cnn, "--config", &lstm, "--seeds", "1,2", "--calls", "20"];
    let j = ok_json(&telltale(&[&args[..], &["--json"]].concat()));
    assert_eq!(j["seeds"], serde_json::json!([1, 2]));
    let rows = j["rows"].as_array().expect("rows");
    let presets: Vec<&str> = rows.iter().map(|r| r["preset"].as_str().expect("preset")).collect();
    assert_eq!(presets, ["cnn-lstm", "cnn", "lstm"]);
    // Conv 3×3→8 (+ bias); 29 pooled steps × 8 filters into one logit. LSTM 3→8 (one bias), dense 8→1.
    assert_eq!(rows[1]["params"], (9 * 8 + 8) + (29 * 8 + 1));
    assert_eq!(rows[2]["params"], 4 * (3 * 8 + 8 * 8 + 8) + 9);
    for r in rows {
        let runs = r["runs"].as_array().expect("runs");
        assert_eq!(runs.len(), 2);
        for key in ["accuracy", "f1", "roc_auc", "epoch_seconds", "latency_us"] {
            let (mean, lo, hi) = (r[key]["mean"].as_f64(), r[key]["min"].as_f64(), r[key]["max"].as_f64());
            let (mean, lo, hi) = (mean.expect("mean"), lo.expect("min"), hi.expect("max"));
            assert!(lo <= mean && mean <= hi, "{key}: {lo} {mean} {hi}");
            let each: Vec<f64> = runs.iter().map(|x| x[key].as_f64().expect(key)).collect();
            assert_eq!(each.iter().copied().fold(f64::INFINITY, f64::min), lo, "{key}");
        }
        assert!(r["accuracy"]["max"].as_f64().expect("acc") <= 1.0);
        assert!(r["latency_us"]["mean"].as_f64().expect("latency") > 0.0);
    }
    let o = telltale(&args);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("weight seeds 1, 2") && table.contains("1-window µs"), "{table}");
    assert!(!telltale(&["compare", "--config", &s.path("missing.toml")]).status.success());
}

/// `export --onnx`: ONNX Runtime, given the first window's raw readings, gives the score `detect` gives (the
/// scaler is inside the graph). Needs the Python of scripts/test.sh (`target/ci-tools`) or `TELLTALE_PYTHON`.
#[test]
fn an_onnx_export_scores_raw_readings_as_detect_does() {
    let s = Scratch::new("models-cli-onnx");
    let model = s.path("model");
    ok_json(&telltale(&["train", "--config", &experiment(&s, ""), "--out", &model, "--json"]));
    let onnx = s.path("model.onnx");
    let j = ok_json(&telltale(&["export", "--model", &model, "--onnx", "--out", &onnx, "--json"]));
    assert_eq!((j["format"].as_str(), j["steps"].as_u64()), (Some("onnx"), Some(60)));
    let scores = s.path("scores.csv");
    let out = telltale(&["detect", "--model", &model, "--data", &s.path("acc.csv"), "--out", &scores]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&scores).expect("scores");
    let first = text.lines().nth(1).expect("a window");
    let want: f64 = first.split(',').nth(5).and_then(|v| v.parse().ok()).expect("score column");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var("TELLTALE_PYTHON")
        .unwrap_or_else(|_| root.join("target/ci-tools/bin/python").display().to_string());
    let script = "import csv, math, sys, numpy as np, onnxruntime as ort\n\
        rows = list(csv.DictReader(open(sys.argv[2])))[:60]\n\
        x = np.array([[[float(r[c]) for c in 'xyz'] for r in rows]], dtype=np.float32)\n\
        (y,) = ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider']).run(['output'], {'input': x})\n\
        print(1 / (1 + math.exp(-float(y.flatten()[0]))))";
    let run = Command::new(&python).args(["-c", script, &onnx, &s.path("acc.csv")]).output();
    let run = run.unwrap_or_else(|e| panic!("{python}: {e}: run scripts/test.sh, which installs onnxruntime there"));
    assert!(run.status.success(), "{python}: {}", String::from_utf8_lossy(&run.stderr));
    let got: f64 = String::from_utf8_lossy(&run.stdout).trim().parse().expect("a score");
    assert!((got - want).abs() <= 1e-5, "ONNX Runtime {got}, detect {want}");
}
