//! `telltale demo`: the main job on the bundled accelerometer data.
//!
//! It walks the data path: the seed 000 protocol's windows, its leaky random
//! split beside a leakage-free split that holds out whole fan speeds, a
//! scaler fitted on training rows only, the stored test scores of a Keras
//! model trained offline with the seed's pipeline judged by telltale's metrics, telltale's own CNN-LSTM trained under
//! both splits, and the first of them served live over MQTT to simulated
//! fans (`demo_stream`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use telltale_core::split::leakage;
use telltale_core::{DataSpec, Dataset, GroupPick, LabelSource, Scaler, ScalerKind, SplitSpec, WindowSpec, Windows};

use telltale_models::config::ExperimentConfig;
use telltale_models::pipeline;
use telltale_models::train::Quiet;

use crate::cli::{DataArgs, DemoArgs, InspectArgs, MetricsArgs, WindowArgs};
use crate::evaluate::render_evaluation;
use crate::output::{emit, thousands};
use crate::{inspect, judge};

/// The label rule of seed 000.
const LABEL: &str = "wconfid != 1";
/// Fan speeds held out for validation and test in the leakage-free split.
const VAL_SPEEDS: [&str; 2] = ["45", "75"];
const TEST_SPEEDS: [&str; 3] = ["30", "60", "90"];

pub(crate) fn data_dir(arg: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = arg {
        return Ok(dir.to_owned());
    }
    let candidates = [PathBuf::from("data"), Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data")];
    candidates
        .into_iter()
        .find(|d| d.join("accelerometer.csv").is_file())
        .context("cannot find the bundled data/accelerometer.csv; run from the repository root or pass --data-dir")
}

fn split_line(name: &str, windows: &Windows, split: &telltale_core::Split, n_rows: usize) -> String {
    let lk = leakage(windows, split, n_rows);
    format!(
        "  {name:<44} train {:>5}  val {:>4}  test {:>4}   rows shared train/test: {}\n",
        thousands(split.train.len()),
        thousands(split.val.len()),
        thousands(split.test.len()),
        thousands(lk.train_test_rows)
    )
}

/// Runs the demo.
pub(crate) fn run(args: &DemoArgs) -> Result<()> {
    let dir = data_dir(args.data_dir.as_deref())?;
    let csv = dir.join("accelerometer.csv");

    emit("== 1. The data (seed 000: label wconfid != 1, windows of 60 rows every 30)\n")?;
    let report = inspect::inspect(&InspectArgs {
        file: csv.clone(),
        data: DataArgs {
            label: Some(LABEL.into()),
            label_windows: None,
            label_key: None,
            features: vec!["x".into(), "y".into(), "z".into()],
            exclude: Vec::new(),
            timestamp: None,
            group: Vec::new(),
            missing: Default::default(),
            separator: None,
        },
        window: WindowArgs { window: Some(60), step: Some(30), window_label: Default::default(), include_last: false },
        json: false,
    })?;
    emit(&inspect::render(&report))?;

    emit(
        "\n== 2. Splits: the seed's random split of overlapping windows leaks; holding out whole fan speeds does not\n",
    )?;
    let flat = Dataset::load(
        &csv,
        &DataSpec {
            features: vec!["x".into(), "y".into(), "z".into()],
            label: Some(LabelSource::Rule(LABEL.into())),
            ..Default::default()
        },
    )?;
    let spec = WindowSpec::new(60, 30);
    let windows = Windows::classify(&flat, &spec)?;
    let random = SplitSpec::seed000().split(&flat, &windows)?;
    emit(&split_line("stratified 70/15/15, seed 42 (seed 000)", &windows, &random, flat.n_rows()))?;
    let grouped = Dataset::load(
        &csv,
        &DataSpec {
            features: vec!["x".into(), "y".into(), "z".into()],
            label: Some(LabelSource::Rule(LABEL.into())),
            groups: vec!["wconfid".into(), "pctid".into()],
            ..Default::default()
        },
    )?;
    let gwindows = Windows::classify(&grouped, &spec)?;
    let held = SplitSpec::GroupHoldout {
        column: "pctid".into(),
        val: GroupPick::Levels(VAL_SPEEDS.map(String::from).to_vec()),
        test: GroupPick::Levels(TEST_SPEEDS.map(String::from).to_vec()),
        seed: 0,
    }
    .split(&grouped, &gwindows)?;
    let name = format!("fan speeds {} % held out for test", TEST_SPEEDS.join("/"));
    emit(&split_line(&name, &gwindows, &held, grouped.n_rows()))?;
    emit(&format!(
        "  (grouped windows never cross one of the {} (wconfid, pctid) blocks: {} windows)\n",
        grouped.segments().len(),
        thousands(gwindows.len())
    ))?;

    emit("\n== 3. Standard scaler fitted on the training rows of the held-out-speeds split only\n")?;
    let train_rows = gwindows.covered_rows(&held.train, grouped.n_rows());
    let scaler = Scaler::fit(ScalerKind::Standard, grouped.values(), grouped.n_features(), &train_rows)?;
    if let Scaler::Standard { mean, scale } = &scaler {
        for (i, f) in grouped.features().iter().enumerate() {
            emit(&format!("  {f}: mean {:+.4} g, std {:.4} g\n", mean[i], scale[i]))?;
        }
    }

    emit(
        "\n== 4. A Keras CNN-LSTM judged by telltale: stored test-split scores of one offline run of the seed's pipeline\n   (tools/reference/keras_scores.py, TensorFlow 2.21: scaler fitted on all rows, random split of overlapping\n   windows: optimistic; not the seed's published model, which was never released; Keras reruns vary 0.967-0.986)\n",
    )?;
    let scores = dir.join("examples/keras-cnn-lstm-test-scores.csv");
    let j = judge::judge(&MetricsArgs {
        input: scores,
        label_col: "label".into(),
        score_col: "score".into(),
        threshold: 0.5,
        separator: None,
        // The test windows are a random sample, not a time series: no events.
        no_events: true,
        json: false,
    })?;
    emit(&judge::render(&j))?;

    emit("\n== 5. telltale's CNN-LSTM (23,691 parameters, as Keras), trained under both splits\n")?;
    let device = burn::tensor::Device::flex();
    let mut served = None;
    for (title, split) in [
        ("seed 000's random split", "kind = \"stratified\"\ntrain = 0.7\nval = 0.15\ntest = 0.15\nseed = 42"),
        (
            "fan speeds 30/60/90 % held out",
            "kind = \"group-holdout\"\ncolumn = \"pctid\"\nval = [\"45\", \"75\"]\ntest = [\"30\", \"60\", \"90\"]",
        ),
    ] {
        let groups =
            if split.contains("group-holdout") { "groups = [\"wconfid\", \"pctid\"]" } else { "factors = [\"pctid\"]" };
        let text = format!(
            "seed = 42\n[data]\npath = \"{}\"\nfeatures = [\"x\", \"y\", \"z\"]\nlabel = \"{LABEL}\"\n{groups}\n\
             [window]\nsize = 60\nstep = 30\n[split]\n{split}\n[model]\npreset = \"cnn-lstm\"\n\
             [train]\nbatch_size = 64\nepochs = 20\npatience = 3\n[evaluate]\nby_group = \"pctid\"\n",
            csv.display()
        );
        let cfg = ExperimentConfig::from_toml(&text, Path::new("demo.toml"))?.check()?;
        let outcome = pipeline::run_checked(&cfg, &device, &mut Quiet)?;
        let r = &outcome.report;
        emit(&format!(
            "-- {title}: {} epochs (best {}), median epoch {:.3} s; train/test windows share {} rows\n",
            r.epochs,
            r.best_epoch,
            r.median_epoch_seconds,
            thousands(r.leakage.train_test_rows)
        ))?;
        if let Some(t) = &r.test {
            emit(&render_evaluation("test", t))?;
        }
        if served.is_none() {
            // The model trained on every fan speed goes live below.
            let bytes = telltale_models::artifact::Model::from_outcome(&cfg, outcome).export_bytes(false)?;
            served = Some(telltale_runtime::Model::from_bytes(&bytes)?);
        }
    }

    emit("\n== 6. Live: the first model served over MQTT (embedded broker) while three fans stream the data\n")?;
    let model = served.context("no model was trained")?;
    crate::demo_stream::run(&csv, model, args.keep_serving)
}
