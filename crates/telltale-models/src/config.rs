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

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use telltale_core::{
    DataSpec, Dataset, ForecastSpec, ScalerKind, SplitSpec, ThresholdSpec, WindowLabel, WindowSpec, Windows,
};

use crate::baselines::BaselineConfig;
use crate::error::{Error, Result};
use crate::presets::{NetConfig, PRESETS, Task};
use crate::train::TrainConfig;

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

/// Window sizes: `size`/`step` for classifiers and autoencoders,
/// `lookback`/`horizon` (and `step`) for forecasters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowConfig {
    /// Rows per window.
    pub size: Option<usize>,
    /// Rows between window starts (default 1 for forecasters).
    pub step: Option<usize>,
    /// Window label rule.
    pub label: WindowLabel,
    /// Also take the window that ends on the last row.
    pub include_last: bool,
    /// Input rows of a forecasting window.
    pub lookback: Option<usize>,
    /// Rows a forecaster predicts (default 1).
    pub horizon: Option<usize>,
}

impl WindowConfig {
    /// Checks the fields the task needs; errors name them.
    pub fn validate(&self, task: Task) -> Result<()> {
        match task {
            Task::Forecast => {
                let lookback =
                    self.lookback.ok_or_else(|| Error::config("window.lookback", "forecasters need a lookback"))?;
                crate::error::positive("window.lookback", lookback)?;
                crate::error::positive("window.horizon", self.horizon.unwrap_or(1))?;
                crate::error::positive("window.step", self.step.unwrap_or(1))?;
                if self.size.is_some() {
                    return Err(Error::config("window.size", "forecasters take window.lookback, not window.size"));
                }
            }
            Task::Classify | Task::Novelty => {
                let size = self.size.ok_or_else(|| Error::config("window.size", "missing"))?;
                crate::error::positive("window.size", size)?;
                let step = self.step.ok_or_else(|| Error::config("window.step", "missing"))?;
                crate::error::positive("window.step", step)?;
                if self.lookback.is_some() || self.horizon.is_some() {
                    return Err(Error::config("window.lookback", "only forecasters take lookback and horizon"));
                }
            }
        }
        Ok(())
    }

    /// Input rows of a window.
    pub fn steps(&self, task: Task) -> usize {
        match task {
            Task::Forecast => self.lookback.unwrap_or(0),
            _ => self.size.unwrap_or(0),
        }
    }

    /// The windows of `data` for `task`.
    pub fn windows(&self, task: Task, data: &Dataset) -> Result<Windows> {
        self.validate(task)?;
        Ok(match task {
            Task::Forecast => Windows::forecast(
                data,
                &ForecastSpec {
                    lookback: self.lookback.unwrap_or(1),
                    horizon: self.horizon.unwrap_or(1),
                    step: self.step.unwrap_or(1),
                },
            )?,
            _ => Windows::classify(
                data,
                &WindowSpec {
                    size: self.size.unwrap_or(1),
                    step: self.step.unwrap_or(1),
                    label: self.label,
                    include_last: self.include_last,
                },
            )?,
        })
    }
}

/// A neural preset or a classic baseline.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ModelConfig {
    /// A network of the zoo.
    Neural(NetConfig),
    /// A classic baseline.
    Baseline(BaselineConfig),
}

impl ModelConfig {
    /// The preset's name.
    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Neural(n) => n.name(),
            ModelConfig::Baseline(b) => b.name(),
        }
    }

    /// The task.
    pub fn task(&self) -> Task {
        match self {
            ModelConfig::Neural(n) => n.task(),
            ModelConfig::Baseline(b) => b.task(),
        }
    }
}

impl<'de> Deserialize<'de> for ModelConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let table = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let preset = table.get("preset").and_then(|v| v.as_str());
        let baselines = crate::baselines::BASELINES;
        let parsed = match preset {
            Some(name) if PRESETS.contains(&name) => NetConfig::from_table(&table, "model").map(ModelConfig::Neural),
            Some(name) if baselines.contains(&name) => {
                BaselineConfig::from_table(&table, "model").map(ModelConfig::Baseline)
            }
            other => {
                let known = PRESETS.iter().chain(baselines).copied().collect::<Vec<_>>().join(", ");
                let what = match other {
                    Some(name) => format!("unknown preset '{name}' (one of: {known})"),
                    None => format!("missing (one of: {known})"),
                };
                Err(crate::Error::config("model.preset", what))
            }
        };
        parsed.map_err(serde::de::Error::custom)
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
    pub tune: Option<crate::tune::TuneConfig>,
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
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and parses a TOML file.
    pub fn load(path: &Path) -> Result<ExperimentConfig> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
        ExperimentConfig::from_toml(&text, path)
    }

    /// Checks everything that can be checked without the data.
    pub fn validate(&self) -> Result<()> {
        let task = self.model.task();
        self.window.validate(task)?;
        self.train.validate()?;
        if let Some(t) = &self.threshold {
            t.validate().map_err(|e| Error::config("threshold", e.to_string()))?;
        }
        if let ModelConfig::Baseline(b) = &self.model {
            b.validate()?;
        }
        if task == Task::Classify && self.data.spec.label.is_none() {
            return Err(Error::config("data.label", format!("{} is a classifier and needs labels", self.model.name())));
        }
        Ok(())
    }

    /// The model's name.
    pub fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.model.name().to_owned())
    }
}

#[cfg(test)]
mod tests {
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
}
