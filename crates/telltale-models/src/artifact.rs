//! The model directory: everything needed to score new data.
//!
//! ```text
//! model-dir/
//!   telltale-model.json   manifest: format and version, the experiment
//!                         configuration, features, scaler, window, sizes,
//!                         threshold, training report and test figures
//!   weights.bpk           network weights (burnpack), or
//!   baseline.json         a fitted classic baseline, or
//!   network.ttm           an imported network (`telltale import`) as a
//!                         telltale-runtime file, with the file it came from
//!   history.csv           per-epoch losses (networks)
//! ```

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use telltale_core::{CsvOptions, DataSpec, Dataset, Scaler, Table, Windows};

use crate::baselines::Baseline;
use crate::config::{ExperimentConfig, ModelConfig};
use crate::error::{Error, Result};
use crate::export::HeaderParts;
use crate::pipeline::{Decision, Detector, Outcome, RuntimeDetector, TrainReport};
use crate::presets::{NetDims, Task};
use crate::samples::WindowData;
use crate::score::Scores;

/// The manifest's `format` value.
pub const FORMAT: &str = "telltale-model";
/// The manifest layout this build writes and reads.
pub const VERSION: u32 = 1;
/// The manifest's file name.
pub const MANIFEST: &str = "telltale-model.json";
const WEIGHTS: &str = "weights.bpk";
const BASELINE: &str = "baseline.json";
/// An imported network's runtime file.
pub const NETWORK: &str = "network.ttm";

/// What a model directory says about its model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Layout version ([`VERSION`] when written by this build).
    pub version: u32,
    /// telltale version that wrote it.
    pub telltale: String,
    /// The experiment, data path resolved.
    pub experiment: ExperimentConfig,
    /// Feature names, in input order.
    pub features: Vec<String>,
    /// Network input sizes.
    pub dims: NetDims,
    /// The scaler fitted on the training rows.
    pub scaler: Scaler,
    /// How scores become flags.
    pub decision: Decision,
    /// Training report and figures.
    pub report: TrainReport,
}

/// A model ready to score: manifest and detector.
#[derive(Debug)]
pub struct Model {
    /// The manifest.
    pub manifest: Manifest,
    /// The network or baseline.
    pub detector: Detector,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_owned(), source }
}

fn artifact(path: &Path, message: impl Into<String>) -> Error {
    Error::Artifact { path: path.to_owned(), message: message.into() }
}

impl Model {
    /// The model of a training [`Outcome`].
    pub fn from_outcome(cfg: &ExperimentConfig, outcome: Outcome) -> Model {
        let prepared = &outcome.prepared;
        // Absolute, so the model finds its data from any working folder.
        let mut experiment = cfg.clone();
        if let Ok(abs) = std::fs::canonicalize(&experiment.data.path) {
            experiment.data.path = abs;
        }
        Model {
            manifest: Manifest {
                format: FORMAT.to_owned(),
                version: VERSION,
                telltale: env!("CARGO_PKG_VERSION").to_owned(),
                experiment,
                features: prepared.data.features().to_vec(),
                dims: prepared.dims(),
                scaler: prepared.scaler.clone(),
                decision: outcome.decision,
                report: outcome.report,
            },
            detector: outcome.detector,
        }
    }

    /// The task.
    pub fn task(&self) -> Task {
        self.manifest.report.task
    }

    /// Writes the model directory `dir` (created if needed).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let manifest = dir.join(MANIFEST);
        let json = serde_json::to_string_pretty(&self.manifest).map_err(|e| artifact(&manifest, e.to_string()))?;
        std::fs::write(&manifest, json).map_err(io(&manifest))?;
        match &self.detector {
            Detector::Neural(net) => {
                let path = dir.join(WEIGHTS);
                net.clone().save_file(&path).map_err(|e| artifact(&path, e.to_string()))?;
            }
            Detector::Baseline(b) => {
                let path = dir.join(BASELINE);
                let json = serde_json::to_string(b).map_err(|e| artifact(&path, e.to_string()))?;
                std::fs::write(&path, json).map_err(io(&path))?;
            }
            Detector::Runtime(r) => {
                let path = dir.join(NETWORK);
                std::fs::write(&path, &r.bytes).map_err(io(&path))?;
            }
        }
        let history = dir.join("history.csv");
        let mut csv = String::from("epoch,train_loss,val_loss,val_accuracy,seconds\n");
        for r in &self.manifest.report.history {
            let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
            csv.push_str(&format!(
                "{},{},{},{},{}\n",
                r.epoch,
                r.train_loss,
                opt(r.val_loss),
                opt(r.val_accuracy),
                r.seconds
            ));
        }
        std::fs::write(&history, csv).map_err(io(&history))
    }

    /// Reads a model directory; networks are loaded onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Model> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                artifact(dir, format!("not a telltale model directory (no {MANIFEST})"))
            } else {
                Error::Io { path: path.clone(), source: e }
            }
        })?;
        let head: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| artifact(&path, format!("not valid JSON: {e}")))?;
        if head.get("format").and_then(|v| v.as_str()) != Some(FORMAT) {
            return Err(artifact(&path, "not a telltale model manifest"));
        }
        let version = head.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version > u64::from(VERSION) {
            return Err(artifact(
                &path,
                format!("written by a newer telltale (format version {version}, this build reads up to {VERSION})"),
            ));
        }
        let manifest: Manifest = serde_json::from_value(head).map_err(|e| artifact(&path, e.to_string()))?;
        manifest.decision.threshold.validate().map_err(|e| artifact(&path, format!("decision.threshold: {e}")))?;
        let detector = match &manifest.experiment.model {
            ModelConfig::Neural(cfg) => {
                let weights = dir.join(WEIGHTS);
                let net = cfg
                    .init(&manifest.dims, device)
                    .try_load_file(&weights)
                    .map_err(|e| artifact(&weights, e.to_string()))?;
                Detector::Neural(net.valid())
            }
            ModelConfig::Imported(_) => {
                let file = dir.join(NETWORK);
                let bytes = std::fs::read(&file).map_err(io(&file))?;
                Detector::Runtime(Box::new(RuntimeDetector::from_bytes(bytes, &file)?))
            }
            ModelConfig::Baseline(_) => {
                let file = dir.join(BASELINE);
                let text = std::fs::read_to_string(&file).map_err(io(&file))?;
                Detector::Baseline(serde_json::from_str::<Baseline>(&text).map_err(|e| artifact(&file, e.to_string()))?)
            }
        };
        Ok(Model { manifest, detector })
    }

    /// The data spec this model reads; labels only when `with_labels` and
    /// the file has the label's columns.
    fn spec_for(&self, table: &Table, with_labels: bool) -> DataSpec {
        let mut spec = self.manifest.experiment.data.spec.clone();
        spec.features = self.manifest.features.clone();
        let label_ok = match &spec.label {
            Some(telltale_core::LabelSource::Rule(rule)) => telltale_core::LabelRule::parse(rule)
                .map(|r| r.columns().iter().all(|c| table.index_of(c).is_ok()))
                .unwrap_or(false),
            Some(_) => true,
            None => false,
        };
        if !with_labels || !label_ok {
            spec.label = None;
        }
        spec
    }

    /// Reads `path` as this model reads data: the same features, cleaning
    /// and scaler; labels when the file has them.
    pub fn read_data(&self, path: &Path) -> Result<(Dataset, Windows)> {
        let spec = &self.manifest.experiment.data.spec;
        let table = Table::read(path, &CsvOptions { separator: spec.separator.map(|c| c as u8) })?;
        let mut data = Dataset::from_table(&table, &self.spec_for(&table, true))?;
        self.manifest.scaler.transform(data.values_mut());
        let windows = self.manifest.experiment.window.windows(self.task(), &data)?;
        Ok((data, windows))
    }

    /// The model as a telltale-runtime file (see `telltale_runtime::format`): layers, weights, scaler,
    /// window, score rule, threshold, and the test figures under `info`; `int8` stores the weight
    /// matrices as `i8` with one scale per column.
    pub fn export_bytes(&self, int8: bool) -> Result<Vec<u8>> {
        if let Detector::Runtime(r) = &self.detector {
            return crate::export::reexport(&r.bytes, &self.manifest.decision.threshold, int8);
        }
        let Detector::Neural(net) = &self.detector else {
            return Err(Error::Data(format!(
                "{} is a classic baseline; the runtime runs the neural presets (score baselines with `telltale detect`)",
                self.manifest.report.preset
            )));
        };
        let m = &self.manifest;
        // The test figures, scalars only: the file stays small.
        let test = serde_json::to_value(&m.report.test).unwrap_or_default();
        let test: serde_json::Map<String, serde_json::Value> = test
            .as_object()
            .map(|o| {
                o.iter().filter(|(_, v)| v.is_number() || v.is_string()).map(|(k, v)| (k.clone(), v.clone())).collect()
            })
            .unwrap_or_default();
        let info = serde_json::json!({ "test": test, "params": m.report.params });
        let parts = HeaderParts {
            name: &m.report.name,
            preset: &m.report.preset,
            task: self.task(),
            features: &m.features,
            dims: m.dims,
            step: m.experiment.window.step.unwrap_or(1),
            scaler: &m.scaler,
            threshold: &m.decision.threshold,
            eps: m.decision.eps,
            info,
        };
        crate::export::to_bytes_with(net, &parts, int8)
    }

    /// Scores windows `idx` of scaled `data`.
    pub fn score(&self, data: &Dataset, windows: &Windows, idx: &[usize], device: &Device) -> Result<Scores> {
        let wd = WindowData::of(data, windows);
        self.detector.score(self.task(), &wd, idx, &self.manifest.scaler, self.manifest.decision.eps, device)
    }

    /// Where the training data was.
    pub fn data_path(&self) -> PathBuf {
        self.manifest.experiment.data.path.clone()
    }
}
