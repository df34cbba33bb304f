//! The experiment configuration's parsing and checks.

use super::*;

const SEED000: &str = r#"
    seed = 42
    [data]
    path = "../data/accelerometer.csv"
    features = ["x", "y", "z"]
    label = "wconfid != 1"
    [window]
    size = 60
    step = 30
    [split]
    kind = "stratified"
    train = 0.7
    val = 0.15
    test = 0.15
    seed = 42
    [model]
    preset = "cnn-lstm"
    [train]
    batch_size = 64
    epochs = 20
    patience = 3
"#;

fn parse(text: &str) -> Result<ExperimentConfig> {
    ExperimentConfig::from_toml(text, Path::new("examples/seed.toml"))
}

#[test]
fn reads_the_seed_protocol() {
    let cfg = parse(SEED000).unwrap();
    assert_eq!(cfg.data.path, Path::new("examples/../data/accelerometer.csv"));
    assert_eq!(cfg.name(), "seed");
    assert_eq!(cfg.model.name(), "cnn-lstm");
    assert_eq!(cfg.train.batch_size, 64);
    assert_eq!(cfg.train.learning_rate, 1e-3, "defaults fill the rest");
    assert_eq!(cfg.split, SplitSpec::seed000());
}

#[test]
fn bad_configs_name_the_field() {
    let msg = |text: String| parse(&text).unwrap_err().to_string();
    let m = msg(SEED000.replace("batch_size = 64", "batch_size = 0"));
    assert_eq!(m, "train.batch_size: must be at least 1");
    let m = msg(SEED000.replace("batch_size = 64", "batch_sise = 64"));
    assert!(m.contains("unknown field `batch_sise`"), "{m}");
    let m = msg(SEED000.replace("preset = \"cnn-lstm\"", "preset = \"cnn-lstm\"\nfilterz = 3"));
    assert!(m.contains("model.filterz: unknown field"), "{m}");
    let m = msg(SEED000.replace("size = 60\n", ""));
    assert_eq!(m, "window.size: missing");
    let m = msg(SEED000.replace("label = \"wconfid != 1\"", ""));
    assert!(m.starts_with("data.label: cnn-lstm is a classifier"), "{m}");
    let m = msg(SEED000.replace("train = 0.7", "train = \"lots\""));
    assert!(m.contains("examples/seed.toml"), "{m}");
    let m = msg(SEED000.replace("features = [\"x\", \"y\", \"z\"]", "featurez = [\"x\"]"));
    assert!(m.contains("featurez"), "{m}");
    let m = msg(SEED000.replace("preset = \"cnn-lstm\"", "preset = \"cnn-gru\""));
    assert!(m.contains("model.preset: unknown preset 'cnn-gru'"), "{m}");
    assert!(m.contains("cnn-lstm") && m.contains("isolation-forest"), "names presets and baselines: {m}");
    let m = msg(SEED000.replace("preset = \"cnn-lstm\"", ""));
    assert!(m.contains("model.preset: missing (one of:"), "{m}");
}

#[test]
fn telltale_data_expands() {
    let p = resolve_path(Path::new("${TELLTALE_DATA}/SKAB/data/valve1/1.csv"), Path::new("examples"));
    assert!(p.to_string_lossy().ends_with("/SKAB/data/valve1/1.csv"));
    assert!(!p.starts_with("examples"));
}

#[test]
fn check_gives_the_checked_type_with_its_windows() {
    let valid = parse(SEED000).unwrap().check().unwrap();
    assert_eq!(valid.task(), Task::Classify);
    assert_eq!(valid.window_plan(), &WindowPlan::Classify(telltale_core::WindowSpec::new(60, 30)));
    assert_eq!(valid.name(), "seed", "reads as the configuration");
    // A configuration changed after loading is checked again, naming the key.
    let mut cfg = valid.into_inner();
    cfg.train.epochs = 0;
    assert_eq!(cfg.check().unwrap_err().to_string(), "train.epochs: must be at least 1");
    let forecast = SEED000
        .replace("label = \"wconfid != 1\"", "")
        .replace("size = 60", "lookback = 0")
        .replace("preset = \"cnn-lstm\"", "preset = \"lstm-forecast\"");
    assert_eq!(parse(&forecast).unwrap_err().to_string(), "window.lookback: must be at least 1");
}
