//! `telltale compare`: experiments trained on the same split, side by side,
//! over several weight seeds (seeds 002 and 003's tables: accuracy, F1,
//! ROC-AUC, parameters, seconds per epoch, one-window latency).
//!
//! Each configuration keeps its own data, windows and split (with its split
//! seed); only the weight seed (`seed`) changes from run to run, so the spread
//! is that of training, not of the split. Latency is one window through
//! telltale-runtime, the median of `calls` calls on one thread.

use std::path::PathBuf;

use burn::tensor::Device;
use serde::Serialize;
use telltale_models::artifact::Model;
use telltale_models::config::ExperimentConfig;
use telltale_models::pipeline::run_checked;
use telltale_models::train::Quiet;

use crate::error::{Context, Error, Result};
use crate::perf::latency::{LatencyOptions, run as latency};

/// What `telltale compare` runs.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// Experiment files.
    pub configs: Vec<PathBuf>,
    /// Weight seeds.
    pub seeds: Vec<u64>,
    /// One-window calls timed per run.
    pub calls: usize,
}

/// One run.
#[derive(Debug, Clone, Serialize)]
pub struct CompareRun {
    /// The weight seed.
    pub seed: u64,
    /// Test accuracy.
    pub accuracy: f64,
    /// Test F1 of the anomalous class.
    pub f1: f64,
    /// Test ROC-AUC.
    pub roc_auc: f64,
    /// Median seconds per epoch.
    pub epoch_seconds: f64,
    /// Epochs run.
    pub epochs: usize,
    /// One window through telltale-runtime, µs (median).
    pub latency_us: f64,
}

/// Mean and population deviation over runs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub std: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    fn of(v: impl Iterator<Item = f64> + Clone) -> Spread {
        let n = v.clone().count().max(1) as f64;
        let mean = v.clone().sum::<f64>() / n;
        let std = (v.clone().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
        let min = v.clone().fold(f64::INFINITY, f64::min);
        let max = v.fold(f64::NEG_INFINITY, f64::max);
        Spread { mean, std, min, max }
    }
}

/// One configuration's runs.
#[derive(Debug, Clone, Serialize)]
pub struct CompareRow {
    /// The experiment's name.
    pub name: String,
    /// Its preset.
    pub preset: String,
    /// The file.
    pub config: PathBuf,
    /// Parameters.
    pub params: usize,
    /// Test windows.
    pub test_windows: usize,
    /// Every run.
    pub runs: Vec<CompareRun>,
    /// Accuracy over runs.
    pub accuracy: Spread,
    /// F1 over runs.
    pub f1: Spread,
    /// ROC-AUC over runs.
    pub roc_auc: Spread,
    /// Seconds per epoch over runs.
    pub epoch_seconds: Spread,
    /// One-window latency over runs, µs.
    pub latency_us: Spread,
}

/// What `compare` gives.
#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    /// The weight seeds.
    pub seeds: Vec<u64>,
    /// One row per configuration, in the order given.
    pub rows: Vec<CompareRow>,
}

/// Trains and times every configuration with every seed.
pub fn compare(options: &CompareOptions, device: &Device) -> Result<CompareReport> {
    if options.configs.is_empty() || options.seeds.is_empty() {
        return Err(Error::Config { field: "--config/--seeds".into(), message: "need at least one of each".into() });
    }
    let scratch = std::env::temp_dir().join(format!("telltale-compare-{}", std::process::id()));
    let mut rows = Vec::with_capacity(options.configs.len());
    for path in &options.configs {
        let base = ExperimentConfig::load(path)?;
        let mut runs = Vec::with_capacity(options.seeds.len());
        let (mut params, mut test_windows, mut preset) = (0, 0, String::new());
        for &seed in &options.seeds {
            let mut cfg = base.clone();
            cfg.seed = seed;
            let cfg = cfg.check()?;
            let what = || format!("{} with seed {seed}", path.display());
            let outcome = run_checked(&cfg, device, &mut Quiet).context_with(what)?;
            let r = &outcome.report;
            let test = r.test.clone().ok_or_else(|| Error::Data(format!("{}: no test windows", path.display())))?;
            (params, test_windows, preset) = (r.params, test.windows, r.preset.clone());
            let (epoch_seconds, epochs) = (r.median_epoch_seconds, r.epochs);
            let dir = scratch.join(format!("{}-{seed}", cfg.name()));
            Model::from_outcome(&cfg, outcome).save(&dir)?;
            let timed = latency(&LatencyOptions {
                model: dir.clone(),
                calls: options.calls,
                rounds: 1,
                int8: false,
                tile: 32,
                threads: 1,
                references: Vec::new(),
            })
            .context_with(what)?;
            let _ = std::fs::remove_dir_all(&dir);
            runs.push(CompareRun {
                seed,
                accuracy: test.accuracy,
                f1: test.f1,
                roc_auc: test.roc_auc.unwrap_or(f64::NAN),
                epoch_seconds,
                epochs,
                latency_us: timed.batch1_us,
            });
        }
        let spread = |f: fn(&CompareRun) -> f64| Spread::of(runs.iter().map(f));
        rows.push(CompareRow {
            name: base.name(),
            preset,
            config: path.clone(),
            params,
            test_windows,
            accuracy: spread(|r| r.accuracy),
            f1: spread(|r| r.f1),
            roc_auc: spread(|r| r.roc_auc),
            epoch_seconds: spread(|r| r.epoch_seconds),
            latency_us: spread(|r| r.latency_us),
            runs,
        });
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(CompareReport { seeds: options.seeds.clone(), rows })
}

impl CompareReport {
    /// The table.
    pub fn render(&self) -> String {
        let seeds: Vec<String> = self.seeds.iter().map(u64::to_string).collect();
        let mut out = format!(
            "Trained on each configuration's own split, weight seeds {} (mean ± std over seeds; test windows)\n",
            seeds.join(", ")
        );
        out += &format!(
            "{:<24} {:<14} {:>8}  {:>15} {:>15} {:>15}  {:>12} {:>12}\n",
            "experiment", "preset", "params", "accuracy", "F1", "ROC-AUC", "s/epoch", "1-window µs"
        );
        let pm = |s: &Spread, d: usize| format!("{:.*} ± {:.*}", d, s.mean, d, s.std);
        for r in &self.rows {
            out += &format!(
                "{:<24} {:<14} {:>8}  {:>15} {:>15} {:>15}  {:>12} {:>12}\n",
                r.name,
                r.preset,
                r.params,
                pm(&r.accuracy, 4),
                pm(&r.f1, 4),
                pm(&r.roc_auc, 4),
                pm(&r.epoch_seconds, 3),
                pm(&r.latency_us, 1)
            );
        }
        out
    }
}
