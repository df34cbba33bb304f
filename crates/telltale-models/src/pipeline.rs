//! From an experiment configuration to a trained, evaluated model:
//! load → window → split → scale (fitted on training rows) → train or fit →
//! threshold (from validation scores) → test figures.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use telltale_core::split::leakage;
use telltale_core::{Dataset, Leakage, Scaler, Split, Threshold, ThresholdSpec, Windows};

use crate::baselines::Baseline;
use crate::config::{ExperimentConfig, ModelConfig, ValidExperimentConfig};
use crate::error::{Error, Result};
use crate::eval::{Evaluation, evaluate};
use crate::presets::{Net, NetDims, Task};
use crate::samples::WindowData;
use crate::score::{Scores, score_windows};
use crate::train::{EpochRecord, Observer, median_epoch_seconds, train};

/// The data of an experiment, scaled, windowed and split.
pub struct Prepared {
    /// The series, scaled with `scaler`.
    pub data: Dataset,
    /// Its windows.
    pub windows: Windows,
    /// Window indices of train, validation and test.
    pub split: Split,
    /// Scaler fitted on the rows of the training windows.
    pub scaler: Scaler,
    /// Rows shared between training and the other parts.
    pub leakage: Leakage,
    /// The model's task.
    pub task: Task,
}

impl Prepared {
    /// The windows as batches read them.
    pub fn window_data(&self) -> WindowData<'_> {
        WindowData::of(&self.data, &self.windows)
    }

    /// The sizes a network is built for.
    pub fn dims(&self) -> NetDims {
        self.window_data().dims()
    }
}

/// Loads, windows, splits and scales the data of `cfg`.
pub fn prepare(cfg: &ValidExperimentConfig) -> Result<Prepared> {
    let task = cfg.task();
    let mut data = Dataset::load(&cfg.data.path, &cfg.data.spec)?;
    let windows = cfg.window_plan().windows(&data)?;
    if windows.is_empty() {
        return Err(Error::Data(format!(
            "{}: no windows of {} steps fit in {} rows",
            cfg.data.path.display(),
            cfg.window_plan().steps(),
            data.n_rows()
        )));
    }
    let split = cfg.split.split(&data, &windows)?;
    if split.train.is_empty() {
        return Err(Error::Data("the split leaves no training windows".into()));
    }
    let rows = windows.covered_rows(&split.train, data.n_rows());
    let scaler = Scaler::fit(cfg.scaler, data.values(), data.n_features(), &rows)?;
    scaler.transform(data.values_mut());
    let leakage = leakage(&windows, &split, data.n_rows());
    Ok(Prepared { data, windows, split, scaler, leakage, task })
}

/// A trained network or a fitted baseline.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Detector {
    /// A network of the zoo, in inference mode.
    Neural(Net),
    /// A classic baseline.
    Baseline(Baseline),
    /// A network trained elsewhere, imported onto the runtime (`telltale import`).
    Runtime(Box<RuntimeDetector>),
}

/// An imported network: its runtime model file and the model it loads as.
#[derive(Debug)]
pub struct RuntimeDetector {
    /// The model file's bytes (f32 weights).
    pub bytes: Vec<u8>,
    /// The loaded model.
    pub model: telltale_runtime::Model,
    /// Weights in the file.
    pub params: usize,
}

impl RuntimeDetector {
    /// Loads a runtime model file (`path` names it in errors).
    pub fn from_bytes(bytes: Vec<u8>, path: &std::path::Path) -> Result<RuntimeDetector> {
        let bad = |e: telltale_runtime::Error| Error::Artifact { path: path.to_owned(), message: e.to_string() };
        let model = telltale_runtime::Model::from_bytes(&bytes).map_err(bad)?;
        let (_, tensors) = telltale_runtime::format::from_bytes(&bytes).map_err(bad)?;
        let params = tensors.sizes().iter().filter(|(n, _)| !n.ends_with(".scale")).map(|(_, k)| k).sum();
        Ok(RuntimeDetector { bytes, model, params })
    }
}

impl Detector {
    /// Trainable parameters (0 for baselines).
    pub fn params(&self) -> usize {
        match self {
            Detector::Neural(net) => net.num_params(),
            Detector::Baseline(_) => 0,
            Detector::Runtime(r) => r.params,
        }
    }

    /// Scores windows `idx`.
    pub fn score(
        &self,
        task: Task,
        data: &WindowData,
        idx: &[usize],
        scaler: &Scaler,
        eps: f64,
        device: &Device,
    ) -> Result<Scores> {
        match self {
            Detector::Neural(net) => score_windows(net, task, data, idx, scaler, eps, device),
            Detector::Baseline(b) => Ok(b.score(data, idx)),
            Detector::Runtime(r) => crate::score::runtime_scores(&r.model, task, data, idx),
        }
    }
}

/// How scores become flags, with the forecasters' ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The fitted threshold.
    pub threshold: Threshold,
    /// ε of the forecasters' deviation (ignored by other tasks).
    pub eps: f64,
}

/// The threshold `cfg` asks for (or the task's default), fitted on clean validation scores.
pub fn fit_decision(cfg: &ValidExperimentConfig, val_scores: &[f64]) -> Result<Decision> {
    let task = cfg.task();
    let spec = match (&cfg.threshold, &cfg.model) {
        (Some(t), _) => *t,
        (None, ModelConfig::Baseline(b)) => b.default_threshold().unwrap_or(ThresholdSpec::Percentile { q: 99.0 }),
        (None, ModelConfig::Neural(_) | ModelConfig::Imported(_)) => match task {
            Task::Classify => ThresholdSpec::Fixed { value: 0.5 },
            Task::Forecast => ThresholdSpec::SlidingKSigma(telltale_core::SlidingKSigma {
                window: cfg.window_plan().steps(),
                k: 3.0,
                eps: 0.01,
            }),
            Task::Novelty => ThresholdSpec::Percentile { q: 99.0 },
        },
    };
    if spec.needs_scores() && val_scores.is_empty() {
        return Err(Error::config(
            "threshold",
            "a percentile, POT or SPOT threshold needs validation windows; give the split a val part",
        ));
    }
    let threshold = match (task, spec) {
        // Forecasters score the deviation itself: the band is "score ≥ k".
        (Task::Forecast, ThresholdSpec::SlidingKSigma(s)) => Threshold::Static { value: s.k },
        _ => spec.fit(val_scores)?,
    };
    Ok(Decision { threshold, eps: forecast_eps(cfg) })
}

/// ε of the forecasters' rule: the configured k-sigma threshold's, else seed 002's 0.01.
pub fn forecast_eps(cfg: &ExperimentConfig) -> f64 {
    match cfg.threshold {
        Some(ThresholdSpec::SlidingKSigma(s)) => s.eps,
        _ => 0.01,
    }
}

/// What training produced, beside the model itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    /// The model's name.
    pub name: String,
    /// The preset.
    pub preset: String,
    /// The task.
    pub task: Task,
    /// Trainable parameters (0 for baselines).
    pub params: usize,
    /// Epochs run (0 for baselines).
    pub epochs: usize,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// True when early stopping ended training.
    pub stopped_early: bool,
    /// Median seconds of an epoch's training pass.
    pub median_epoch_seconds: f64,
    /// Seconds to train or fit, in total.
    pub fit_seconds: f64,
    /// Per-epoch history.
    pub history: Vec<EpochRecord>,
    /// Windows in train, validation, test.
    pub windows: [usize; 3],
    /// Rows the training windows share with the others.
    pub leakage: Leakage,
    /// Figures on the validation windows.
    pub validation: Option<Evaluation>,
    /// Figures on the test windows.
    pub test: Option<Evaluation>,
}

/// Everything [`run`] returns.
pub struct Outcome {
    /// The trained detector.
    pub detector: Detector,
    /// The fitted threshold.
    pub decision: Decision,
    /// The prepared data (scaled), for callers that go on scoring it.
    pub prepared: Prepared,
    /// The report.
    pub report: TrainReport,
}

fn protocol(cfg: &ExperimentConfig, part: &str, n: usize, decision: &Decision) -> String {
    let split = match &cfg.split {
        telltale_core::SplitSpec::Stratified { seed, .. } => format!("stratified random split (seed {seed})"),
        telltale_core::SplitSpec::Chronological { .. } => "chronological split with purge gap".to_owned(),
        telltale_core::SplitSpec::GroupHoldout { column, .. } => format!("whole levels of '{column}' held out"),
    };
    let threshold = match &decision.threshold {
        Threshold::Static { value } => format!("score >= {value:.6}"),
        Threshold::Sliding(s) => {
            format!("score leaves its sliding mean ± {}·(std + {}) over {} windows", s.k, s.eps, s.window)
        }
        Threshold::Spot { level, risk, depth: 0, calibration } => {
            format!(
                "score above SPOT's streaming threshold (level {level}, risk {risk}, {} calibration scores)",
                calibration.len()
            )
        }
        Threshold::Spot { level, risk, depth, .. } => {
            format!("score above DSPOT's streaming threshold (level {level}, risk {risk}, depth {depth})")
        }
        Threshold::Telemanom(t) => {
            format!("smoothed score above telemanom's dynamic threshold (batches of {}, window {})", t.batch, t.window)
        }
    };
    format!("{n} {part} windows of {} ({split}); anomalous when {threshold}", cfg.data.path.display())
}

/// Checks the experiment `cfg` ([`ExperimentConfig::check`]), then trains and
/// evaluates it ([`run_checked`]).
pub fn run(cfg: &ExperimentConfig, device: &Device, observer: &mut dyn Observer) -> Result<Outcome> {
    run_checked(&cfg.clone().check()?, device, observer)
}

/// Trains (or fits) and evaluates the checked experiment `cfg` on `device`.
pub fn run_checked(cfg: &ValidExperimentConfig, device: &Device, observer: &mut dyn Observer) -> Result<Outcome> {
    let prepared = prepare(cfg)?;
    let task = prepared.task;
    let dims = prepared.dims();
    let wd = prepared.window_data();
    let started = Instant::now();
    let (detector, history, best_epoch, stopped_early) = match &cfg.model {
        ModelConfig::Neural(net_cfg) => {
            let t = train(
                net_cfg,
                &dims,
                &wd,
                &prepared.split.train,
                &prepared.split.val,
                &cfg.train,
                cfg.seed,
                device,
                observer,
            )?;
            (Detector::Neural(t.net), t.history, t.best_epoch, t.stopped_early)
        }
        ModelConfig::Baseline(b) => {
            (Detector::Baseline(Baseline::fit(b, &wd, &prepared.split.train, cfg.seed)?), Vec::new(), 0, false)
        }
        ModelConfig::Imported(_) => return Err(Error::config("model.preset", "an imported model is not trained")),
    };
    let fit_seconds = started.elapsed().as_secs_f64();
    // The threshold comes from validation windows a model of this task is fitted on (clean ones for novelty).
    let fit_val = crate::train::fit_windows(task, &wd, &prepared.split.val).unwrap_or_default();
    let val_fit_scores = detector.score(task, &wd, &fit_val, &prepared.scaler, forecast_eps(cfg), device)?;
    let decision = fit_decision(cfg, &val_fit_scores.score)?;
    let group = cfg.evaluate.by_group.as_deref().and_then(|g| prepared.data.group(g));
    let figures = |part: &str, idx: &[usize]| -> Result<Option<Evaluation>> {
        if idx.is_empty() {
            return Ok(None);
        }
        let scores = detector.score(task, &wd, idx, &prepared.scaler, decision.eps, device)?;
        Ok(evaluate(
            protocol(cfg, part, idx.len(), &decision),
            &scores,
            &prepared.windows,
            idx,
            &decision.threshold,
            group,
        ))
    };
    let validation = figures("validation", &prepared.split.val)?;
    let test = figures("test", &prepared.split.test)?;
    let report = TrainReport {
        name: cfg.name(),
        preset: cfg.model.name().to_owned(),
        task,
        params: detector.params(),
        epochs: history.len(),
        best_epoch,
        stopped_early,
        median_epoch_seconds: median_epoch_seconds(&history),
        fit_seconds,
        history,
        windows: [prepared.split.train.len(), prepared.split.val.len(), prepared.split.test.len()],
        leakage: prepared.leakage,
        validation,
        test,
    };
    Ok(Outcome { detector, decision, prepared, report })
}
