//! `telltale bench train`: seconds per epoch, beside peers run in the same
//! invocation (the machine is shared and noisy: compare ratios, not times).

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::Serialize;
use telltale_models::config::{ExperimentConfig, data_root};
use telltale_models::pipeline::run as run_experiment;
use telltale_models::train::Quiet;

use crate::error::{Error, Result};
use crate::perf::reference::reference_figures;

/// Seed 000's protocol, exactly as the example users train with.
const SEED000: &str = include_str!("../../../../examples/accelerometer.toml");

/// The accelerometer data: `$TELLTALE_DATA/accelerometer/accelerometer.csv`, else the bundled copy.
fn accelerometer() -> Result<PathBuf> {
    let shared = data_root().join("accelerometer/accelerometer.csv");
    let bundled = [
        PathBuf::from("data/accelerometer.csv"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/accelerometer.csv"),
    ];
    std::iter::once(shared)
        .chain(bundled)
        .find(|p| p.is_file())
        .ok_or_else(|| Error::Failed("cannot find accelerometer.csv under TELLTALE_DATA or the bundled data/".into()))
}

/// The experiment timed: `config`, or seed 000's on the accelerometer data.
pub fn experiment(config: Option<&Path>) -> Result<ExperimentConfig> {
    Ok(match config {
        Some(path) => ExperimentConfig::load(path)?,
        None => {
            let mut cfg = ExperimentConfig::from_toml(SEED000, Path::new("examples/accelerometer.toml"))?;
            cfg.data.path = accelerometer()?;
            cfg
        }
    })
}

/// What `telltale bench train` runs beside the experiment.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Epochs to time (early stopping off).
    pub epochs: usize,
    /// Peers' commands, each printing `median_epoch_s SECONDS`.
    pub references: Vec<String>,
}

/// A peer's timing.
#[derive(Debug, Serialize)]
pub struct Reference {
    /// The command.
    pub command: String,
    /// The median epoch it printed, seconds.
    pub median_epoch_seconds: f64,
    /// telltale's median epoch over the peer's (below 1: telltale is faster).
    pub ratio: f64,
}

/// The timings of one `bench train` run.
#[derive(Debug)]
pub struct TrainTimings {
    /// The preset trained.
    pub preset: String,
    /// Its trainable parameters.
    pub params: usize,
    /// Epochs run.
    pub epochs: usize,
    /// Training windows.
    pub train_windows: usize,
    /// The batch size.
    pub batch_size: usize,
    /// The median epoch, seconds.
    pub median_epoch_seconds: f64,
    /// Every epoch, seconds.
    pub epoch_seconds: Vec<f64>,
    /// Training windows over the median epoch.
    pub windows_per_second: f64,
    /// The peers, in the order given.
    pub references: Vec<Reference>,
}

/// Trains `cfg` for `options.epochs` epochs on `device` (no early stopping), then runs the peers.
pub fn run(mut cfg: ExperimentConfig, options: &TrainOptions, device: &Device) -> Result<TrainTimings> {
    cfg.train.epochs = options.epochs;
    cfg.train.patience = 0;
    let outcome = run_experiment(&cfg, device, &mut Quiet)?;
    let r = &outcome.report;
    let seconds: Vec<f64> = r.history.iter().map(|e| e.seconds).collect();
    let windows_per_second = r.windows[0] as f64 / r.median_epoch_seconds.max(f64::MIN_POSITIVE);
    let mut references = Vec::new();
    for command in &options.references {
        let theirs = reference_figures(command)?
            .get("median_epoch_s")
            .copied()
            .ok_or_else(|| Error::Failed(format!("{command} printed no `median_epoch_s`")))?;
        references.push(Reference {
            command: command.clone(),
            median_epoch_seconds: theirs,
            ratio: r.median_epoch_seconds / theirs,
        });
    }
    Ok(TrainTimings {
        preset: r.preset.clone(),
        params: r.params,
        epochs: r.epochs,
        train_windows: r.windows[0],
        batch_size: cfg.train.batch_size,
        median_epoch_seconds: r.median_epoch_seconds,
        epoch_seconds: seconds,
        windows_per_second,
        references,
    })
}

impl TrainTimings {
    /// The `--json` output.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "preset": self.preset, "params": self.params, "epochs": self.epochs, "train_windows": self.train_windows,
            "median_epoch_seconds": self.median_epoch_seconds, "epoch_seconds": self.epoch_seconds,
            "windows_per_second": self.windows_per_second, "references": self.references,
        })
    }

    /// The text output.
    pub fn render(&self) -> String {
        let (lo, hi) = self.epoch_seconds.iter().fold((f64::INFINITY, 0f64), |(lo, hi), &s| (lo.min(s), hi.max(s)));
        let mut s = format!(
            "{} ({} parameters), {} training windows, batch {}: median epoch {:.3} s (min {:.3}, max {:.3} over {} epochs), {:.0} windows/s\n",
            self.preset,
            self.params,
            self.train_windows,
            self.batch_size,
            self.median_epoch_seconds,
            lo,
            hi,
            self.epochs,
            self.windows_per_second
        );
        for reference in &self.references {
            s += &format!(
                "  vs {}: median epoch {:.3} s, ratio {:.2}\n",
                reference.command, reference.median_epoch_seconds, reference.ratio
            );
        }
        s
    }
}
