//! Classic baselines on the same windows as the networks: Random Forest
//! (seed 000), Isolation Forest and One-Class SVM (seed 004), PCA T²/Q
//! (SKAB), Hotelling's T² of window means (SKAB, drift-robust) and k-sigma.

pub mod features;
pub mod forest;
pub mod hotelling;
pub mod iforest;
pub mod ksigma;
pub mod ocsvm;
pub mod pca;

use serde::{Deserialize, Serialize};
use telltale_core::ThresholdSpec;

use crate::error::{Error, Result};
use crate::presets::{Task, overlay};
use crate::samples::WindowData;
use crate::score::Scores;

pub use features::Features;

/// Names of every baseline preset.
pub const BASELINES: &[&str] = &["random-forest", "isolation-forest", "one-class-svm", "pca", "hotelling", "k-sigma"];

/// Random Forest settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandomForestConfig {
    /// Trees.
    pub trees: usize,
    /// Maximum tree depth (none: grow until pure).
    pub max_depth: Option<usize>,
    /// Share of the features each tree reads, in (0, 1].
    pub feature_share: f64,
    /// Window features.
    pub features: Features,
}

impl Default for RandomForestConfig {
    fn default() -> Self {
        RandomForestConfig { trees: 100, max_depth: None, feature_share: 0.3, features: Features::Flat }
    }
}

/// Isolation Forest settings (scikit-learn's defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IsolationForestConfig {
    /// Trees.
    pub trees: usize,
    /// Rows each tree isolates.
    pub max_samples: usize,
    /// Window features.
    pub features: Features,
}

impl Default for IsolationForestConfig {
    fn default() -> Self {
        IsolationForestConfig { trees: 100, max_samples: 256, features: Features::Flat }
    }
}

/// One-Class SVM settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OneClassSvmConfig {
    /// ν: upper bound on the share of training windows outside the support, in (0, 1].
    pub nu: f64,
    /// Most training windows (an evenly spaced sample above it; the solver is quadratic).
    pub max_samples: usize,
    /// Window features.
    pub features: Features,
}

impl Default for OneClassSvmConfig {
    fn default() -> Self {
        OneClassSvmConfig { nu: 0.05, max_samples: 2000, features: Features::Stats }
    }
}

/// PCA T²/Q settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PcaConfig {
    /// Share of the variance the kept components explain, in (0, 1].
    pub variance: f64,
    /// Quantile of the training T² and Q that scores 1.
    pub quantile: f64,
    /// Window features.
    pub features: Features,
}

impl Default for PcaConfig {
    fn default() -> Self {
        PcaConfig { variance: 0.9, quantile: 0.99, features: Features::Flat }
    }
}

/// Hotelling T² settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HotellingConfig {
    /// A channel whose window means keep at least this share of its variance
    /// over the training windows is read by its rate of change (above 1: none).
    pub slow: f64,
    /// Share of the off-diagonal covariance dropped, in [0, 1] (1: variances alone).
    pub shrinkage: f64,
}

impl Default for HotellingConfig {
    fn default() -> Self {
        HotellingConfig { slow: 0.5, shrinkage: 0.0 }
    }
}

/// k-sigma settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KSigmaConfig {
    /// Standard deviations from the mean that flag a reading.
    pub k: f64,
}

impl Default for KSigmaConfig {
    fn default() -> Self {
        KSigmaConfig { k: 3.0 }
    }
}

/// A classic baseline and its settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "preset", rename_all = "kebab-case")]
pub enum BaselineConfig {
    /// Random Forest classifier.
    RandomForest(RandomForestConfig),
    /// Isolation Forest.
    IsolationForest(IsolationForestConfig),
    /// One-Class SVM.
    OneClassSvm(OneClassSvmConfig),
    /// PCA with T² and Q.
    Pca(PcaConfig),
    /// Hotelling's T² of window means.
    Hotelling(HotellingConfig),
    /// k standard deviations per channel.
    KSigma(KSigmaConfig),
}

impl BaselineConfig {
    /// Reads a baseline from a table with a `preset` key; fields left out take defaults.
    pub fn from_table(table: &serde_json::Map<String, serde_json::Value>, prefix: &str) -> Result<BaselineConfig> {
        let mut fields = table.clone();
        let name = fields.remove("preset").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        Ok(match name.as_str() {
            "random-forest" => BaselineConfig::RandomForest(overlay(&RandomForestConfig::default(), &fields, prefix)?),
            "isolation-forest" => {
                BaselineConfig::IsolationForest(overlay(&IsolationForestConfig::default(), &fields, prefix)?)
            }
            "one-class-svm" => BaselineConfig::OneClassSvm(overlay(&OneClassSvmConfig::default(), &fields, prefix)?),
            "pca" => BaselineConfig::Pca(overlay(&PcaConfig::default(), &fields, prefix)?),
            "hotelling" => BaselineConfig::Hotelling(overlay(&HotellingConfig::default(), &fields, prefix)?),
            "k-sigma" => BaselineConfig::KSigma(overlay(&KSigmaConfig::default(), &fields, prefix)?),
            other => return Err(Error::config(format!("{prefix}.preset"), format!("unknown preset '{other}'"))),
        })
    }

    /// The preset's name.
    pub fn name(&self) -> &'static str {
        match self {
            BaselineConfig::RandomForest(_) => "random-forest",
            BaselineConfig::IsolationForest(_) => "isolation-forest",
            BaselineConfig::OneClassSvm(_) => "one-class-svm",
            BaselineConfig::Pca(_) => "pca",
            BaselineConfig::Hotelling(_) => "hotelling",
            BaselineConfig::KSigma(_) => "k-sigma",
        }
    }

    /// Random Forest classifies; the others learn normal windows.
    pub fn task(&self) -> Task {
        match self {
            BaselineConfig::RandomForest(_) => Task::Classify,
            _ => Task::Novelty,
        }
    }

    /// The threshold that fits the score when the config names none.
    pub fn default_threshold(&self) -> Option<ThresholdSpec> {
        match self {
            BaselineConfig::RandomForest(_) => Some(ThresholdSpec::Fixed { value: 0.5 }),
            BaselineConfig::Pca(_) => Some(ThresholdSpec::Fixed { value: 1.0 }),
            BaselineConfig::KSigma(c) => Some(ThresholdSpec::Fixed { value: c.k }),
            BaselineConfig::IsolationForest(_) | BaselineConfig::OneClassSvm(_) | BaselineConfig::Hotelling(_) => None,
        }
    }

    /// Checks the settings; errors name the field (`model.…`).
    pub fn validate(&self) -> Result<()> {
        let share = |field: &str, v: f64, closed_low: bool| {
            let ok = if closed_low { (0.0..=1.0).contains(&v) } else { v > 0.0 && v <= 1.0 };
            if ok { Ok(()) } else { Err(Error::config(format!("model.{field}"), format!("{v} is not in (0, 1]"))) }
        };
        match self {
            BaselineConfig::RandomForest(c) => {
                crate::error::positive("model.trees", c.trees)?;
                share("feature_share", c.feature_share, false)
            }
            BaselineConfig::IsolationForest(c) => {
                crate::error::positive("model.trees", c.trees)?;
                crate::error::positive("model.max_samples", c.max_samples)
            }
            BaselineConfig::OneClassSvm(c) => {
                crate::error::positive("model.max_samples", c.max_samples)?;
                share("nu", c.nu, false)
            }
            BaselineConfig::Pca(c) => {
                share("variance", c.variance, false)?;
                share("quantile", c.quantile, false)
            }
            BaselineConfig::KSigma(c) if !(c.k > 0.0 && c.k.is_finite()) => {
                Err(Error::config("model.k", format!("{} must be positive", c.k)))
            }
            BaselineConfig::Hotelling(c) if !(c.slow > 0.0 && c.slow.is_finite()) => {
                Err(Error::config("model.slow", format!("{} must be positive", c.slow)))
            }
            BaselineConfig::Hotelling(c) => share("shrinkage", c.shrinkage, true),
            BaselineConfig::KSigma(_) => Ok(()),
        }
    }
}

/// A fitted baseline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[allow(clippy::large_enum_variant)]
pub enum Baseline {
    /// Random Forest.
    RandomForest {
        /// The trees.
        forest: forest::Forest,
        /// Window features.
        features: Features,
    },
    /// Isolation Forest.
    IsolationForest {
        /// The trees.
        forest: iforest::IsolationForest,
        /// Window features.
        features: Features,
    },
    /// One-Class SVM.
    OneClassSvm {
        /// The support vectors.
        svm: ocsvm::OneClassSvm,
        /// Window features.
        features: Features,
    },
    /// PCA T²/Q.
    Pca {
        /// The monitor.
        monitor: pca::PcaMonitor,
        /// Window features.
        features: Features,
    },
    /// Hotelling's T².
    Hotelling(hotelling::Hotelling),
    /// k-sigma.
    KSigma(ksigma::KSigma),
}

/// An evenly spaced sample of at most `max` of `idx`.
fn thin(idx: &[usize], max: usize) -> Vec<usize> {
    if idx.len() <= max {
        return idx.to_vec();
    }
    (0..max).map(|k| idx[k * idx.len() / max]).collect()
}

impl Baseline {
    /// Fits `cfg` on windows `idx` (the clean ones for the unsupervised baselines).
    pub fn fit(cfg: &BaselineConfig, data: &WindowData, idx: &[usize], seed: u64) -> Result<Baseline> {
        cfg.validate()?;
        let idx = crate::train::fit_windows(cfg.task(), data, idx)?;
        if idx.is_empty() {
            return Err(Error::Data(format!("no windows to fit {} on", cfg.name())));
        }
        Ok(match cfg {
            BaselineConfig::RandomForest(c) => {
                let labels = data.windows.labels().ok_or_else(|| Error::Data("random-forest needs labels".into()))?;
                let y: Vec<u8> = idx.iter().map(|&i| labels[i]).collect();
                let forest = forest::Forest::fit(
                    c.features.matrix(data, &idx),
                    &y,
                    c.trees,
                    c.max_depth,
                    c.feature_share,
                    seed,
                )?;
                Baseline::RandomForest { forest, features: c.features }
            }
            BaselineConfig::IsolationForest(c) => Baseline::IsolationForest {
                forest: iforest::IsolationForest::fit(&c.features.matrix(data, &idx), c.trees, c.max_samples, seed),
                features: c.features,
            },
            BaselineConfig::OneClassSvm(c) => Baseline::OneClassSvm {
                svm: ocsvm::OneClassSvm::fit(c.features.matrix(data, &thin(&idx, c.max_samples)), c.nu)?,
                features: c.features,
            },
            BaselineConfig::Pca(c) => Baseline::Pca {
                monitor: pca::PcaMonitor::fit(&c.features.matrix(data, &idx), c.variance, c.quantile)?,
                features: c.features,
            },
            BaselineConfig::Hotelling(c) => {
                Baseline::Hotelling(hotelling::Hotelling::fit(data, &idx, c.slow, c.shrinkage)?)
            }
            BaselineConfig::KSigma(_) => Baseline::KSigma(ksigma::KSigma::fit(data, &idx)),
        })
    }

    /// Scores windows `idx`.
    pub fn score(&self, data: &WindowData, idx: &[usize]) -> Scores {
        let c = data.channels;
        match self {
            Baseline::RandomForest { forest, features } => {
                Scores { score: forest.probability(&features.matrix(data, idx)), ..Default::default() }
            }
            Baseline::IsolationForest { forest, features } => {
                Scores { score: forest.score(&features.matrix(data, idx)), ..Default::default() }
            }
            Baseline::OneClassSvm { svm, features } => {
                Scores { score: svm.score(&features.matrix(data, idx)), ..Default::default() }
            }
            Baseline::Pca { monitor, features } => {
                let stats = monitor.stats(&features.matrix(data, idx));
                let score = stats
                    .t2
                    .iter()
                    .zip(&stats.q)
                    .map(|(t, q)| (t / monitor.t2_limit).max(q / monitor.q_limit))
                    .collect();
                let mut per_channel = vec![0f64; idx.len() * c];
                for (r, row) in stats.residual2.outer_iter().enumerate() {
                    for (j, v) in row.iter().enumerate() {
                        per_channel[r * c + features.channel(j, c)] += v;
                    }
                }
                Scores { score, per_channel, channels: c, rmse: None }
            }
            Baseline::Hotelling(h) => {
                let (score, per_channel) = h.score(data, idx);
                Scores { score, per_channel, channels: c, rmse: None }
            }
            Baseline::KSigma(k) => {
                let (score, per_channel) = k.score(data, idx);
                Scores { score, per_channel, channels: c, rmse: None }
            }
        }
    }
}
