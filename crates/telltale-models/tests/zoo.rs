//! Every preset and baseline trains on data that suits it, beats chance on
//! its test windows, and reloads from its model directory with the same
//! scores and figures.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use burn::tensor::{Tensor, TensorData};
use telltale_core::synthetic::{AnomalyKind, SyntheticConfig, synthesize};
use telltale_models::artifact::Model;
use telltale_models::config::ExperimentConfig;
use telltale_models::eval::evaluate;
use telltale_models::pipeline::Detector;
use telltale_models::pipeline::run;
use telltale_models::samples::WindowData;
use telltale_models::train::Quiet;
use telltale_models::{Net, Task};

/// burn draws initial weights from one generator per process: trainings that
/// run at once (the test harness's threads) would interleave their draws and
/// lose their seeds' determinism. One at a time here, as `telltale` runs them.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("telltale-zoo-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch");
    dir
}

/// Fan speeds 60 % and 80 % of the bundled accelerometer data: 6 blocks of 3,000 rows.
fn accelerometer_slice(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/accelerometer.csv");
    let text = std::fs::read_to_string(src).expect("bundled data");
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().expect("header"));
    for line in lines.filter(|l| matches!(l.split(',').nth(1), Some("60" | "80"))) {
        out.push_str(line);
        out.push('\n');
    }
    let path = dir.join("acc.csv");
    std::fs::write(&path, out).expect("write");
    path
}

/// A synthetic series with injected anomalies of `kinds`, as CSV.
fn synthetic(dir: &Path, rows: usize, anomalies: usize, kinds: &[AnomalyKind]) -> PathBuf {
    let cfg = SyntheticConfig {
        rows,
        channels: 3,
        anomalies,
        seed: 7,
        period: 40.0,
        kinds: kinds.to_vec(),
        ..Default::default()
    };
    let s = synthesize(&cfg).expect("synthesize");
    let path = dir.join("synthetic.csv");
    std::fs::write(&path, s.to_csv()).expect("write");
    path
}

/// Trains `toml` (with `{data}` replaced), checks the figures with `check`,
/// then reloads the model and checks it reproduces them exactly.
fn train_and_reload(name: &str, toml: &str, data: &Path, check: impl Fn(&telltale_models::eval::Evaluation)) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = scratch(name);
    let text = toml.replace("{data}", &data.display().to_string());
    let cfg =
        ExperimentConfig::from_toml(&text, &dir.join(format!("{name}.toml"))).unwrap_or_else(|e| panic!("{name}: {e}"));
    let device = Device::flex();
    let outcome = run(&cfg, &device, &mut Quiet).unwrap_or_else(|e| panic!("{name}: {e}"));
    let test = outcome.report.test.clone().unwrap_or_else(|| panic!("{name}: no test figures"));
    check(&test);
    let model = Model::from_outcome(&cfg, outcome);
    let out = dir.join("model");
    model.save(&out).unwrap_or_else(|e| panic!("{name}: save: {e}"));
    let loaded = Model::load(&out, &device).unwrap_or_else(|e| panic!("{name}: load: {e}"));
    let (data, windows) = loaded.read_data(data).unwrap_or_else(|e| panic!("{name}: read: {e}"));
    let split = loaded.manifest.experiment.split.split(&data, &windows).expect("split");
    let scores = loaded.score(&data, &windows, &split.test, &device).expect("score");
    let again =
        evaluate(test.protocol.clone(), &scores, &windows, &split.test, &loaded.manifest.decision.threshold, None)
            .expect("labelled");
    assert_eq!(
        (again.accuracy, again.roc_auc, again.f1),
        (test.accuracy, test.roc_auc, test.f1),
        "{name}: reload changed the figures"
    );
    assert_eq!(loaded.manifest.report.params, model.manifest.report.params);
    if let Detector::Neural(net) = &loaded.detector {
        runtime_matches_burn(name, &loaded, net, &data, &windows, &split.test);
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The exported file, run by telltale-runtime, gives burn's outputs on the trained model's test windows.
fn runtime_matches_burn(
    name: &str,
    model: &Model,
    net: &Net,
    data: &telltale_core::Dataset,
    windows: &telltale_core::Windows,
    idx: &[usize],
) {
    let rt = telltale_runtime::Model::from_bytes(&model.export_bytes(false).expect("export")).expect("load");
    let wd = WindowData { values: data.values(), channels: data.n_features(), windows, row_labels: data.labels() };
    let x = wd.inputs(idx);
    let (n, (t, c)) = (idx.len(), rt.network.input_shape());
    let mut session = rt.network.session(n);
    let ours = rt.network.forward(&mut session, &x, n).expect("runtime").to_vec();
    let input = Tensor::<3>::from_data(TensorData::new(x, [n, t, c]), &Device::flex());
    let theirs = net.forward(input).into_values();
    let worst = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    // f32 sums of a thousand terms or more: the tolerance follows the outputs' magnitude.
    let scale = theirs.iter().fold(1.0_f32, |m, v| m.max(v.abs()));
    assert!(
        worst <= 1e-5 * scale,
        "{name}: runtime differs from burn by {worst:e} (outputs up to {scale}) on the test windows"
    );
}

const CLASSIFIER: &str = r#"
    seed = 3
    [data]
    path = "{data}"
    features = ["x", "y", "z"]
    label = "wconfid != 1"
    [window]
    size = 60
    step = 30
    [split]
    kind = "stratified"
    train = 0.6
    val = 0.2
    test = 0.2
    seed = 1
    [train]
    epochs = {epochs}
    patience = 0
"#;

fn classifier(preset: &str, extra: &str, epochs: usize) {
    let dir = scratch(preset);
    let data = accelerometer_slice(&dir);
    let toml =
        format!("{}\n[model]\npreset = \"{preset}\"\n{extra}", CLASSIFIER.replace("{epochs}", &epochs.to_string()));
    train_and_reload(preset, &toml, &data, |t| {
        let auc = t.roc_auc.expect("two classes");
        assert!(auc > 0.8, "{preset}: ROC-AUC {auc} on separable fan speeds");
    });
}

#[test]
fn cnn_lstm_trains_and_reloads() {
    classifier("cnn-lstm", "", 6);
}

#[test]
fn conv_lstm3_trains_and_reloads() {
    classifier("conv-lstm3", "lstm_units = [16, 16, 16]", 6);
}

#[test]
fn plain_cnn_trains_and_reloads() {
    classifier("cnn", "", 40);
}

#[test]
fn plain_lstm_trains_and_reloads() {
    classifier("lstm", "units = [24]", 6);
}

#[test]
fn attention_lstm_trains_and_reloads() {
    classifier("attention-lstm", "units = 24", 6);
}

#[test]
fn anomalynet_trains_and_reloads() {
    classifier("anomalynet", "lstm_units = 24", 12);
}

#[test]
fn random_forest_fits_and_reloads() {
    classifier("random-forest", "trees = 30\nfeatures = \"stats\"", 1);
}

const FORECAST: &str = r#"
    seed = 5
    [data]
    path = "{data}"
    label = "anomaly == 1"
    [window]
    lookback = 12
    [split]
    kind = "chronological"
    train = 0.6
    val = 0.2
    test = 0.2
    [train]
    epochs = 15
    patience = 0
    learning_rate = 0.003
"#;

fn forecaster(preset: &str, extra: &str) {
    let dir = scratch(preset);
    let data = synthetic(&dir, 2400, 12, &[AnomalyKind::Point, AnomalyKind::Contextual, AnomalyKind::Collective]);
    let toml = format!("{FORECAST}\n[model]\npreset = \"{preset}\"\n{extra}");
    train_and_reload(preset, &toml, &data, |t| {
        let rmse = t.rmse.as_ref().expect("forecasters report RMSE");
        // The synthetic channels swing by 1–5 units; a useful one-step forecast errs far less.
        assert!(rmse.iter().all(|&r| r < 1.5), "{preset}: RMSE {rmse:?}");
        let auc = t.roc_auc.expect("two classes");
        assert!(auc > 0.6, "{preset}: ROC-AUC {auc}");
    });
}

#[test]
fn lstm_forecast_trains_and_reloads() {
    forecaster("lstm-forecast", "units = [32]");
}

#[test]
fn gru_forecast_trains_and_reloads() {
    forecaster("gru-forecast", "units = [32]");
}

#[test]
fn tcn_forecast_trains_and_reloads() {
    forecaster("tcn-forecast", "filters = 16\ndilations = [1, 2, 4]");
}

const NOVELTY: &str = r#"
    seed = 9
    [data]
    path = "{data}"
    label = "anomaly == 1"
    [window]
    size = 16
    step = 4
    label = "any"
    [split]
    kind = "chronological"
    train = 0.5
    val = 0.2
    test = 0.3
    [train]
    epochs = 40
    patience = 0
    learning_rate = 0.003
"#;

/// Novelty detectors meet point anomalies (spikes) and collective ones (a
/// stuck sensor): contextual anomalies stay in range and need a forecaster.
fn novelty(preset: &str, extra: &str, min_auc: f64) {
    let dir = scratch(preset);
    let data = synthetic(&dir, 3000, 16, &[AnomalyKind::Point, AnomalyKind::Collective]);
    let toml = format!("{NOVELTY}\n[model]\npreset = \"{preset}\"\n{extra}");
    train_and_reload(preset, &toml, &data, |t| {
        let auc = t.roc_auc.expect("two classes");
        assert!(auc > min_auc, "{preset}: ROC-AUC {auc}");
    });
}

#[test]
fn dense_ae_trains_and_reloads() {
    novelty("dense-ae", "hidden = [32]\nlatent = 8", 0.7);
}

#[test]
fn lstm_ae_trains_and_reloads() {
    novelty("lstm-ae", "units = 32", 0.7);
}

#[test]
fn conv_ae_trains_and_reloads() {
    novelty("conv-ae", "filters = [16, 8]\nkernel = 5\ndropout = 0.0", 0.7);
}

#[test]
fn isolation_forest_fits_and_reloads() {
    novelty("isolation-forest", "features = \"stats\"", 0.7);
}

#[test]
fn one_class_svm_fits_and_reloads() {
    novelty("one-class-svm", "nu = 0.1", 0.7);
}

#[test]
fn pca_fits_and_reloads() {
    novelty("pca", "", 0.7);
}

#[test]
fn hotelling_fits_and_reloads() {
    // T² of window means is for level changes on noisy channels, one of which drifts
    // (a warming motor): 40-row shifts of channel b every 300 rows.
    let dir = scratch("hotelling");
    let mut csv = String::from("a,b,c,drift,anomaly\n");
    let mut x: u64 = 11;
    let mut noise = move || {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    for i in 0..3000 {
        let on = i % 300 >= 150 && i % 300 < 190;
        let b = if on { 1.5 } else { 0.0 } + noise();
        csv += &format!("{},{b},{},{},{}\n", noise(), noise(), 0.002 * i as f64 + 0.05 * noise(), u8::from(on));
    }
    let data = dir.join("levels.csv");
    std::fs::write(&data, csv).expect("write");
    let toml = format!("{NOVELTY}\n[model]\npreset = \"hotelling\"\nslow = 0.5\nshrinkage = 0.5");
    train_and_reload("hotelling", &toml, &data, |t| {
        let auc = t.roc_auc.expect("two classes");
        assert!(auc > 0.9, "hotelling: ROC-AUC {auc}");
    });
}

#[test]
fn k_sigma_fits_and_reloads() {
    novelty("k-sigma", "", 0.6);
}

#[test]
fn every_task_has_a_test() {
    // The presets above cover each task; this guards the list when presets are added.
    let names: Vec<&str> =
        telltale_models::presets::PRESETS.iter().chain(telltale_models::baselines::BASELINES).copied().collect();
    assert_eq!(names.len(), 18);
    let _ = Task::Novelty;
}

#[test]
fn training_repeats_from_its_seed() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = scratch("repeat");
    let data = accelerometer_slice(&dir);
    let text = format!("{}\n[model]\npreset = \"cnn-lstm\"\n", CLASSIFIER.replace("{epochs}", "3"))
        .replace("{data}", &data.display().to_string());
    let cfg = ExperimentConfig::from_toml(&text, &dir.join("repeat.toml")).expect("config");
    let a = run(&cfg, &Device::flex(), &mut Quiet).expect("first run").report;
    let b = run(&cfg, &Device::flex(), &mut Quiet).expect("second run").report;
    let losses = |r: &telltale_models::pipeline::TrainReport| {
        r.history.iter().map(|e| (e.train_loss, e.val_loss)).collect::<Vec<_>>()
    };
    assert_eq!(losses(&a), losses(&b), "same seed, same losses");
    assert_eq!(a.test, b.test, "same seed, same test figures");
    let _ = std::fs::remove_dir_all(dir);
}
