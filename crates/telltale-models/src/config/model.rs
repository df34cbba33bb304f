//! The `[model]` section: a preset of the zoo or a classic baseline, chosen by `preset`.

use serde::{Deserialize, Serialize};

use crate::baselines::{BASELINES, BaselineConfig};
use crate::error::Error;
use crate::presets::{NetConfig, PRESETS, Task};

/// A neural preset or a classic baseline.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ModelConfig {
    /// A network of the zoo.
    Neural(NetConfig),
    /// A classic baseline.
    Baseline(BaselineConfig),
    /// A network trained elsewhere and imported (`telltale import`); never trained from a config.
    Imported(ImportedConfig),
}

/// Where an imported network came from and what it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedConfig {
    /// Always [`IMPORTED`].
    pub preset: String,
    /// What its output means.
    pub task: Task,
    /// The file it was imported from.
    pub source: String,
    /// Who wrote that file (its `producer_name`, e.g. `pytorch`, `tf2onnx`).
    pub producer: String,
    /// How its graph was mapped onto the runtime's layers (e.g. `conv(k3, relu, pool 2) → lstm → dense`).
    pub layers: String,
}

/// The preset name of imported models.
pub const IMPORTED: &str = "imported";

impl ModelConfig {
    /// The preset's name.
    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Neural(n) => n.name(),
            ModelConfig::Baseline(b) => b.name(),
            ModelConfig::Imported(_) => IMPORTED,
        }
    }

    /// The task.
    pub fn task(&self) -> Task {
        match self {
            ModelConfig::Neural(n) => n.task(),
            ModelConfig::Baseline(b) => b.task(),
            ModelConfig::Imported(i) => i.task,
        }
    }
}

impl<'de> Deserialize<'de> for ModelConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let table = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let preset = table.get("preset").and_then(|v| v.as_str());
        let baselines = BASELINES;
        let parsed = match preset {
            Some(name) if PRESETS.contains(&name) => NetConfig::from_table(&table, "model").map(ModelConfig::Neural),
            Some(name) if baselines.contains(&name) => {
                BaselineConfig::from_table(&table, "model").map(ModelConfig::Baseline)
            }
            Some(IMPORTED) => serde_json::from_value(serde_json::Value::Object(table))
                .map(ModelConfig::Imported)
                .map_err(|e| Error::config("model", e.to_string())),
            other => {
                let known = PRESETS.iter().chain(baselines).copied().collect::<Vec<_>>().join(", ");
                let what = match other {
                    Some(name) => format!("unknown preset '{name}' (one of: {known})"),
                    None => format!("missing (one of: {known})"),
                };
                Err(Error::config("model.preset", what))
            }
        };
        parsed.map_err(serde::de::Error::custom)
    }
}
