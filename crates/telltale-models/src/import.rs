//! `telltale import`: a network trained elsewhere (an ONNX file from PyTorch, or from Keras through tf2onnx)
//! as a model directory that `detect`, `evaluate`, `export`, `serve` and `bench latency` take like any other.
//!
//! The graph is mapped onto telltale-runtime's layers (`telltale_runtime::onnx::from_onnx`); the directory
//! keeps the mapped network as a runtime file and the manifest says where it came from. The data side comes
//! from the caller: feature names (in the graph's input order), the window step, the scaler the model was
//! trained with, and optionally a label rule so `evaluate` can judge it.

use std::path::PathBuf;

use telltale_core::{DataSpec, LabelSource, Scaler, ScalerKind, SplitSpec, Threshold, WindowSettings};
use telltale_runtime::format::{self, Affine, Header, ScoreSpec, ThresholdSpec};
use telltale_runtime::onnx::{Imported, from_onnx};

use crate::artifact::{FORMAT, Manifest, Model, VERSION};
use crate::config::{DataConfig, EvaluateConfig, ExperimentConfig, IMPORTED, ImportedConfig, ModelConfig};
use crate::error::{Error, Result};
use crate::pipeline::{Decision, Detector, RuntimeDetector, TrainReport};
use crate::presets::{NetDims, Task};
use crate::train::TrainConfig;

/// What `import` needs beside the graph.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The file's name, recorded in the manifest.
    pub source: String,
    /// The model's name.
    pub name: String,
    /// Feature columns, in the graph's input order.
    pub features: Vec<String>,
    /// Steps per window, where the graph leaves it open (checked against it where it does not).
    pub window: Option<usize>,
    /// Steps between windows when scoring a file (default: 1).
    pub step: Option<usize>,
    /// What the output means (default: a classifier for one value, an autoencoder for a window).
    pub task: Option<Task>,
    /// The scaler the network was trained behind (default: none, or the graph's own `Sub`/`Div`).
    pub scaler: Option<Scaler>,
    /// A label rule (e.g. `wconfid != 1`), so `evaluate` can judge the model.
    pub label: Option<String>,
    /// The threshold on scores (default: 0.5 for classifiers; required for autoencoders).
    pub threshold: Option<f64>,
    /// The data file the directory points at (for `bench latency`), if any.
    pub data: Option<PathBuf>,
}

fn bad(what: &str, message: impl Into<String>) -> Error {
    Error::config(what, message.into())
}

/// The task the output implies, or the caller's, checked against the output's shape.
fn task_of(imported: &Imported, asked: Option<Task>) -> Result<(Task, usize)> {
    let (t, c) = imported.output;
    let (steps, features) = (imported.steps, imported.features);
    match asked {
        None | Some(Task::Classify) if (t, c) == (1, 1) => Ok((Task::Classify, 0)),
        None | Some(Task::Novelty) if (t, c) == (steps, features) => Ok((Task::Novelty, 0)),
        Some(Task::Forecast) if c == features && t >= 1 => Ok((Task::Forecast, t)),
        Some(Task::Forecast) if t == 1 && c % features == 0 => Ok((Task::Forecast, c / features)),
        asked => Err(bad(
            "task",
            format!(
                "the network gives {t} × {c} values for {steps} × {features} in; {} (one value: classify; the \
                 window: novelty; horizon × features: forecast)",
                asked.map_or("give --task".to_owned(), |a| format!("that is not a {a:?} output").to_lowercase())
            ),
        )),
    }
}

/// `inner` after `outer`: raw → outer → inner, as one affine map.
fn compose(outer: &Affine, inner: &Affine) -> Affine {
    let offset = outer.offset.iter().zip(&outer.scale).zip(&inner.offset).map(|((o1, s1), o2)| o1 + o2 * s1).collect();
    let scale = outer.scale.iter().zip(&inner.scale).map(|(s1, s2)| s1 * s2).collect();
    Affine { offset, scale }
}

/// Imports an ONNX graph as a model.
pub fn import(onnx: &[u8], opts: &ImportOptions) -> Result<Model> {
    let imported = from_onnx(onnx, opts.window).map_err(|e| Error::Data(format!("{}: {e}", opts.source)))?;
    if opts.features.len() != imported.features {
        return Err(bad(
            "features",
            format!("{} names for the graph's {} input values per step", opts.features.len(), imported.features),
        ));
    }
    let (task, horizon) = task_of(&imported, opts.task)?;
    let c = imported.features;
    let outer =
        opts.scaler.as_ref().map_or(Affine { offset: vec![0.0; c], scale: vec![1.0; c] }, crate::export::affine);
    if outer.offset.len() != c {
        return Err(bad("scaler", format!("{} features in the scaler, {c} in the graph", outer.offset.len())));
    }
    let affine = imported.scaler.as_ref().map_or(outer.clone(), |inner| compose(&outer, inner));
    let identity = affine.offset.iter().all(|&o| o == 0.0) && affine.scale.iter().all(|&s| s == 1.0);
    let scaler = if identity {
        Scaler::Identity { n: c }
    } else {
        Scaler::Standard { mean: affine.offset.clone(), scale: affine.scale.clone() }
    };
    let steps = imported.steps;
    let step = opts.step.unwrap_or(1);
    if step == 0 {
        return Err(bad("step", "must be at least 1"));
    }
    let threshold = match (task, opts.threshold) {
        (_, Some(v)) => Threshold::Static { value: v },
        (Task::Classify, None) => Threshold::Static { value: 0.5 },
        (Task::Forecast, None) => Threshold::Sliding(telltale_core::SlidingKSigma { window: steps, k: 3.0, eps: 0.01 }),
        (Task::Novelty, None) => {
            return Err(bad("threshold", "an autoencoder's threshold depends on its data: give --threshold"));
        }
    };
    let header = Header {
        format: format::FORMAT.to_owned(),
        version: format::VERSION,
        producer: format!("telltale {} (imported from {})", env!("CARGO_PKG_VERSION"), imported.producer),
        name: opts.name.clone(),
        preset: IMPORTED.to_owned(),
        features: opts.features.clone(),
        steps,
        step,
        horizon,
        scaler: affine,
        score: match task {
            Task::Classify => ScoreSpec::Probability,
            Task::Novelty => ScoreSpec::Reconstruction,
            Task::Forecast => ScoreSpec::Forecast { eps: 0.01 },
        },
        // Import makes only static and sliding thresholds, both portable.
        threshold: crate::export::portable_threshold(&threshold).unwrap_or(ThresholdSpec::Static { value: 0.5 }),
        layers: Vec::new(),
        info: serde_json::json!({ "source": opts.source, "notes": imported.notes }),
    };
    let bytes = imported.to_file(header, false).map_err(|e| Error::Data(format!("{}: {e}", opts.source)))?;
    let path = PathBuf::from(&opts.source);
    let detector = RuntimeDetector::from_bytes(bytes, &path)?;
    let window = if task == Task::Forecast {
        WindowSettings { lookback: Some(steps), horizon: Some(horizon), step: Some(step), ..Default::default() }
    } else {
        WindowSettings { size: Some(steps), step: Some(step), ..Default::default() }
    };
    let experiment = ExperimentConfig {
        name: Some(opts.name.clone()),
        seed: 42,
        data: DataConfig {
            path: opts.data.clone().unwrap_or_default(),
            spec: DataSpec {
                features: opts.features.clone(),
                label: opts.label.clone().map(LabelSource::Rule),
                ..Default::default()
            },
        },
        window,
        // Not a training split (the network was trained elsewhere): the parts `evaluate --split` and
        // `bench latency` take, in time order.
        split: SplitSpec::Chronological { train: 0.7, val: 0.15, test: 0.15, purge: None },
        scaler: ScalerKind::Standard,
        model: ModelConfig::Imported(ImportedConfig {
            preset: IMPORTED.to_owned(),
            task,
            source: opts.source.clone(),
            producer: imported.producer.clone(),
            layers: imported.summary(),
        }),
        train: TrainConfig::default(),
        threshold: None,
        evaluate: EvaluateConfig::default(),
        tune: None,
    };
    let report = TrainReport {
        name: opts.name.clone(),
        preset: IMPORTED.to_owned(),
        task,
        params: detector.params,
        epochs: 0,
        best_epoch: 0,
        stopped_early: false,
        median_epoch_seconds: 0.0,
        fit_seconds: 0.0,
        history: Vec::new(),
        windows: [0, 0, 0],
        leakage: Default::default(),
        validation: None,
        test: None,
    };
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        version: VERSION,
        telltale: env!("CARGO_PKG_VERSION").to_owned(),
        experiment,
        features: opts.features.clone(),
        dims: NetDims { channels: c, steps, horizon },
        scaler,
        decision: Decision { threshold, eps: 0.01 },
        report,
    };
    Ok(Model { manifest, detector: Detector::Runtime(Box::new(detector)) })
}
