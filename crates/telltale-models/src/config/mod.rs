//! The experiment configuration: one TOML file says which data, which
//! windows, which split, which model, how to train and how to threshold.
//!
//! ```toml
//! seed = 42
//! [data]
//! path = "../data/accelerometer.csv"   # relative to this file; ${TELLTALE_DATA} expands
//! features = ["x", "y", "z"]
//! label = "wconfid != 1"
//! [window]
//! size = 60
//! step = 30
//! [split]
//! kind = "stratified"
//! train = 0.7
//! val = 0.15
//! test = 0.15
//! seed = 42
//! [model]
//! preset = "cnn-lstm"
//! [train]
//! batch_size = 64
//! epochs = 20
//! patience = 3
//! ```
//!
//! Every section but `data`, `window`, `split` and `model` has defaults. An
//! unknown key, a wrong type or an out-of-range value is an error naming the
//! field (e.g. `train.batch_size`), raised before any data is read.

mod model;
#[cfg(test)]
mod tests;
mod tune;

use std::ops::Deref;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use telltale_core::{DataSpec, ScalerKind, SplitSpec, ThresholdSpec, WindowKind, WindowPlan};

use crate::error::{Error, Result};
use crate::presets::Task;
use crate::train::TrainConfig;

pub use model::{IMPORTED, ImportedConfig, ModelConfig};
/// The `[window]` section: core's window settings, checked by the same code as `inspect`'s window flags.
pub use telltale_core::WindowSettings as WindowConfig;
pub use tune::{FoldKind, TuneConfig, TuneMetric};

impl From<Task> for WindowKind {
    /// Forecasters cut forecasting windows; classifiers and novelty models, classification windows.
    fn from(task: Task) -> WindowKind {
        match task {
            Task::Forecast => WindowKind::Forecast,
            Task::Classify | Task::Novelty => WindowKind::Classify,
        }
    }
}

/// Where the data comes from and how to read it.
///
/// Read from one table: `path` and the fields of [`DataSpec`]; an unknown
/// key is an error naming it (serde's `flatten` would let it pass silently).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataConfig {
    /// The CSV file.
    pub path: PathBuf,
    /// Columns, label, groups, missing values (see [`DataSpec`]).
    #[serde(flatten)]
    pub spec: DataSpec,
}

impl<'de> Deserialize<'de> for DataConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut table = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let path = table.remove("path").ok_or_else(|| D::Error::custom("data.path: missing"))?;
        let path: PathBuf = serde_json::from_value(path).map_err(|e| D::Error::custom(format!("data.path: {e}")))?;
        let spec: DataSpec = serde_json::from_value(serde_json::Value::Object(table))
            .map_err(|e| D::Error::custom(format!("data: {e}")))?;
        Ok(DataConfig { path, spec })
    }
}

/// What to report beside the overall figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluateConfig {
    /// Report accuracy per level of this group column (e.g. `pctid`).
    pub by_group: Option<String>,
}

/// A whole experiment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// A name for the model (default: the config file's stem).
    #[serde(default)]
    pub name: Option<String>,
    /// Seed of weights, shuffles, dropout and augmentation.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The data.
    pub data: DataConfig,
    /// The windows.
    pub window: WindowConfig,
    /// The split.
    pub split: SplitSpec,
    /// Scaler fitted on the training rows.
    #[serde(default)]
    pub scaler: ScalerKind,
    /// The model.
    pub model: ModelConfig,
    /// Training hyperparameters (neural presets).
    #[serde(default)]
    pub train: TrainConfig,
    /// How scores become flags (default by task: fixed 0.5 for classifiers,
    /// k-sigma k = 3, ε = 0.01 for forecasters, the 99th percentile of clean
    /// validation scores otherwise).
    #[serde(default)]
    pub threshold: Option<ThresholdSpec>,
    /// Extra figures.
    #[serde(default)]
    pub evaluate: EvaluateConfig,
    /// A grid for `telltale tune`.
    #[serde(default)]
    pub tune: Option<TuneConfig>,
}

fn default_seed() -> u64 {
    42
}

/// The public datasets' folder: `$TELLTALE_DATA`, default `../shared/data`
/// (from the current folder).
pub fn data_root() -> PathBuf {
    std::env::var_os("TELLTALE_DATA").map_or_else(|| PathBuf::from("../shared/data"), PathBuf::from)
}

/// Expands `${TELLTALE_DATA}` ([`data_root`]) and resolves other relative
/// paths against `base`.
pub fn resolve_path(path: &Path, base: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    if let Some(rest) = text.strip_prefix("${TELLTALE_DATA}") {
        return PathBuf::from(format!("{}{rest}", data_root().display()));
    }
    if path.is_relative() { base.join(path) } else { path.to_owned() }
}

impl ExperimentConfig {
    /// Parses TOML text; `path` names the file in errors and anchors relative paths.
    /// The result has passed every check ([`ExperimentConfig::check`] gives the checked type).
    pub fn from_toml(text: &str, path: &Path) -> Result<ExperimentConfig> {
        let mut cfg: ExperimentConfig = toml::from_str(text)
            .map_err(|e| Error::ConfigFile { path: path.to_owned(), message: e.to_string().trim_end().to_owned() })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        cfg.data.path = resolve_path(&cfg.data.path, &base);
        if let Some(telltale_core::LabelSource::Intervals { intervals, .. }) = cfg.data.spec.label.as_mut() {
            let resolved = resolve_path(intervals, &base);
            *intervals = resolved;
        }
        if cfg.name.is_none() {
            cfg.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        cfg.checked_window()?;
        Ok(cfg)
    }

    /// Reads and parses a TOML file.
    pub fn load(path: &Path) -> Result<ExperimentConfig> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
        ExperimentConfig::from_toml(&text, path)
    }

    /// Checks everything that can be checked without the data, and gives the
    /// checked configuration the pipeline and the tuner take. An error names
    /// the offending key (e.g. `train.batch_size`, `window.size`).
    pub fn check(self) -> Result<ValidExperimentConfig> {
        let window = self.checked_window()?;
        Ok(ValidExperimentConfig { task: self.model.task(), window, cfg: self })
    }

    /// The checks of [`ExperimentConfig::check`]; gives the checked windows.
    fn checked_window(&self) -> Result<WindowPlan> {
        let task = self.model.task();
        let window = self.window.check(task)?;
        self.train.validate()?;
        if let Some(t) = &self.threshold {
            t.validate().map_err(|e| Error::config("threshold", e.to_string()))?;
        }
        match &self.model {
            ModelConfig::Baseline(b) => b.validate()?,
            ModelConfig::Imported(_) => {
                return Err(Error::config(
                    "model.preset",
                    "'imported' models come from `telltale import` (a network trained elsewhere); they are not trained from a config",
                ));
            }
            ModelConfig::Neural(_) => {}
        }
        if task == Task::Classify && self.data.spec.label.is_none() {
            return Err(Error::config("data.label", format!("{} is a classifier and needs labels", self.model.name())));
        }
        Ok(window)
    }

    /// The model's name.
    pub fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.model.name().to_owned())
    }
}

/// An experiment configuration that passed [`ExperimentConfig::check`] (the
/// pattern of linfa's `ParamGuard`): the pipeline, the tuner and the model
/// files take this type, so none of them can be handed an unchecked one. It
/// reads as the configuration (`Deref`) and cannot be changed; change an
/// [`ExperimentConfig`] and check it again.
#[derive(Debug, Clone)]
pub struct ValidExperimentConfig {
    cfg: ExperimentConfig,
    task: Task,
    window: WindowPlan,
}

impl ValidExperimentConfig {
    /// The model's task.
    pub fn task(&self) -> Task {
        self.task
    }

    /// The checked windows of the `[window]` section.
    pub fn window_plan(&self) -> &WindowPlan {
        &self.window
    }

    /// The configuration itself, to change and check again.
    pub fn into_inner(self) -> ExperimentConfig {
        self.cfg
    }
}

impl Deref for ValidExperimentConfig {
    type Target = ExperimentConfig;

    fn deref(&self) -> &ExperimentConfig {
        &self.cfg
    }
}
