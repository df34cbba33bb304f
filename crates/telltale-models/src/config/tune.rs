//! The `[tune]` section: the grid that `telltale tune` cross-validates (the `tune` module runs it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How folds are cut.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FoldKind {
    /// Stratified random folds (as scikit-learn's `StratifiedKFold`).
    #[default]
    Stratified,
    /// Contiguous blocks in time, training windows within a window of the
    /// held-out block left out.
    Blocked,
}

/// What ranks the grid points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TuneMetric {
    /// Best validation loss of training (lower is better; networks only).
    #[default]
    ValLoss,
    /// ROC-AUC of the held-out fold.
    RocAuc,
    /// F1 of the held-out fold at the experiment's threshold.
    F1,
    /// Accuracy of the held-out fold at the experiment's threshold.
    Accuracy,
}

impl TuneMetric {
    /// True when higher is better.
    pub fn higher_is_better(self) -> bool {
        self != TuneMetric::ValLoss
    }
}

/// The `[tune]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuneConfig {
    /// Folds.
    #[serde(default = "five")]
    pub folds: usize,
    /// How folds are cut.
    #[serde(default)]
    pub kind: FoldKind,
    /// What ranks the grid points.
    #[serde(default)]
    pub metric: TuneMetric,
    /// Dotted configuration paths and the values to try.
    pub grid: BTreeMap<String, Vec<serde_json::Value>>,
}

fn five() -> usize {
    5
}
