//! The model zoo: every architecture of the seed papers as a named preset
//! whose hyperparameters live in a burn `Config`.
//!
//! | preset | seed | task |
//! |---|---|---|
//! | `cnn-lstm` | 000 | classify windows |
//! | `cnn`, `lstm` | 000, 003's baselines | classify windows |
//! | `conv-lstm3` | 001 | classify windows |
//! | `lstm-forecast`, `gru-forecast`, `tcn-forecast` | 002 | forecast the next steps |
//! | `dense-ae`, `lstm-ae`, `conv-ae` | 003, 004, SKAB | novelty: reconstruct normal windows |
//! | `attention-lstm` | 004 | classify windows |
//! | `anomalynet` | 003 | classify windows (with an autoencoder inside) |

pub mod attention;
pub mod autoencoder;
pub mod cnn_lstm;
pub mod forecast;
pub mod plain;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

pub use attention::{AnomalyNet, AnomalyNetConfig, AttentionLstm, AttentionLstmConfig};
pub use autoencoder::{ConvAe, ConvAeConfig, DenseAe, DenseAeConfig, LstmAe, LstmAeConfig};
pub use cnn_lstm::{ConvLstm, ConvLstm3Config, ConvLstmConfig};
pub use forecast::{RnnForecastConfig, RnnForecaster, TcnForecastConfig, TcnForecaster};
pub use plain::{Plain, PlainCnnConfig, PlainLstmConfig};

use crate::error::Result;

/// What a model learns to do, which decides its loss, its score and its default threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Probability that a window is anomalous (supervised).
    Classify,
    /// Predict the next steps; a reading is anomalous when it leaves the
    /// prediction ± k·(std of the recent readings + ε) (seed 002).
    Forecast,
    /// Learn what normal windows look like and score how far a window is
    /// from them: autoencoders by reconstruction error; Isolation Forest,
    /// One-Class SVM, PCA and k-sigma by their own measures.
    Novelty,
}

/// A neural preset and its hyperparameters.
///
/// Read from `{"preset": "cnn-lstm", ...}`: fields left out take the preset's
/// defaults, and a field the preset does not have is an error naming it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "preset", rename_all = "kebab-case")]
#[allow(clippy::large_enum_variant)]
pub enum NetConfig {
    /// Seed 000's CNN-LSTM classifier.
    CnnLstm(ConvLstmConfig),
    /// Seed 001's Conv1D + MaxPool + three stacked LSTM layers.
    ConvLstm3(ConvLstm3Config),
    /// The plain CNN classifier (the CNN-LSTM without its LSTM).
    Cnn(PlainCnnConfig),
    /// The plain LSTM classifier (the CNN-LSTM without its convolution).
    Lstm(PlainLstmConfig),
    /// LSTM forecaster.
    LstmForecast(RnnForecastConfig),
    /// GRU forecaster.
    GruForecast(RnnForecastConfig),
    /// Temporal convolutional network forecaster.
    TcnForecast(TcnForecastConfig),
    /// Dense autoencoder over flattened windows.
    DenseAe(DenseAeConfig),
    /// Sequence-to-sequence LSTM autoencoder.
    LstmAe(LstmAeConfig),
    /// 1-D convolutional autoencoder.
    ConvAe(ConvAeConfig),
    /// LSTM with additive attention.
    AttentionLstm(AttentionLstmConfig),
    /// IoT-AnomalyNet: autoencoder + CNN + LSTM + attention.
    Anomalynet(AnomalyNetConfig),
}

impl<'de> Deserialize<'de> for NetConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let table = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        NetConfig::from_table(&table, "model").map_err(serde::de::Error::custom)
    }
}

/// The sizes a network is built for, taken from the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetDims {
    /// Input features per step.
    pub channels: usize,
    /// Input steps (window size or lookback).
    pub steps: usize,
    /// Steps predicted (forecasters; 0 otherwise).
    pub horizon: usize,
}

/// Names of every neural preset.
pub const PRESETS: &[&str] = &[
    "cnn-lstm",
    "conv-lstm3",
    "cnn",
    "lstm",
    "lstm-forecast",
    "gru-forecast",
    "tcn-forecast",
    "dense-ae",
    "lstm-ae",
    "conv-ae",
    "attention-lstm",
    "anomalynet",
];

/// `default` with the fields of `user` replaced; unknown fields are errors
/// naming `prefix.field`.
pub(crate) fn overlay<T: Serialize + serde::de::DeserializeOwned>(
    default: &T,
    user: &serde_json::Map<String, serde_json::Value>,
    prefix: &str,
) -> Result<T> {
    let mut base = serde_json::to_value(default).map_err(|e| crate::Error::config(prefix, e.to_string()))?;
    let fields = base.as_object_mut().ok_or_else(|| crate::Error::config(prefix, "not a table"))?;
    for (key, value) in user {
        if !fields.contains_key(key) {
            let mut known: Vec<&str> = fields.keys().map(String::as_str).collect();
            known.sort_unstable();
            return Err(crate::Error::config(
                format!("{prefix}.{key}"),
                format!("unknown field (known: {})", known.join(", ")),
            ));
        }
        fields.insert(key.clone(), value.clone());
    }
    serde_json::from_value(base).map_err(|e| crate::Error::config(prefix, e.to_string()))
}

impl NetConfig {
    /// Reads a preset from a table with a `preset` key; see the type's documentation.
    pub fn from_table(table: &serde_json::Map<String, serde_json::Value>, prefix: &str) -> Result<NetConfig> {
        let name = table.get("preset").and_then(|v| v.as_str()).ok_or_else(|| {
            crate::Error::config(format!("{prefix}.preset"), format!("missing (one of: {})", PRESETS.join(", ")))
        })?;
        let mut fields = table.clone();
        fields.remove("preset");
        let p = prefix;
        Ok(match name {
            "cnn-lstm" => NetConfig::CnnLstm(overlay(&ConvLstmConfig::new(), &fields, p)?),
            "conv-lstm3" => NetConfig::ConvLstm3(overlay(&ConvLstm3Config::new(), &fields, p)?),
            "cnn" => NetConfig::Cnn(overlay(&PlainCnnConfig::new(), &fields, p)?),
            "lstm" => NetConfig::Lstm(overlay(&PlainLstmConfig::new(), &fields, p)?),
            "lstm-forecast" => NetConfig::LstmForecast(overlay(&RnnForecastConfig::new(), &fields, p)?),
            "gru-forecast" => NetConfig::GruForecast(overlay(&RnnForecastConfig::new(), &fields, p)?),
            "tcn-forecast" => NetConfig::TcnForecast(overlay(&TcnForecastConfig::new(), &fields, p)?),
            "dense-ae" => NetConfig::DenseAe(overlay(&DenseAeConfig::new(), &fields, p)?),
            "lstm-ae" => NetConfig::LstmAe(overlay(&LstmAeConfig::new(), &fields, p)?),
            "conv-ae" => NetConfig::ConvAe(overlay(&ConvAeConfig::new(), &fields, p)?),
            "attention-lstm" => NetConfig::AttentionLstm(overlay(&AttentionLstmConfig::new(), &fields, p)?),
            "anomalynet" => NetConfig::Anomalynet(overlay(&AnomalyNetConfig::new(), &fields, p)?),
            other => {
                return Err(crate::Error::config(
                    format!("{prefix}.preset"),
                    format!("unknown preset '{other}' (one of: {})", PRESETS.join(", ")),
                ));
            }
        })
    }

    /// The preset's name.
    pub fn name(&self) -> &'static str {
        match self {
            NetConfig::CnnLstm(_) => "cnn-lstm",
            NetConfig::ConvLstm3(_) => "conv-lstm3",
            NetConfig::Cnn(_) => "cnn",
            NetConfig::Lstm(_) => "lstm",
            NetConfig::LstmForecast(_) => "lstm-forecast",
            NetConfig::GruForecast(_) => "gru-forecast",
            NetConfig::TcnForecast(_) => "tcn-forecast",
            NetConfig::DenseAe(_) => "dense-ae",
            NetConfig::LstmAe(_) => "lstm-ae",
            NetConfig::ConvAe(_) => "conv-ae",
            NetConfig::AttentionLstm(_) => "attention-lstm",
            NetConfig::Anomalynet(_) => "anomalynet",
        }
    }

    /// The preset's task.
    pub fn task(&self) -> Task {
        match self {
            NetConfig::CnnLstm(_)
            | NetConfig::ConvLstm3(_)
            | NetConfig::Cnn(_)
            | NetConfig::Lstm(_)
            | NetConfig::AttentionLstm(_)
            | NetConfig::Anomalynet(_) => Task::Classify,
            NetConfig::LstmForecast(_) | NetConfig::GruForecast(_) | NetConfig::TcnForecast(_) => Task::Forecast,
            NetConfig::DenseAe(_) | NetConfig::LstmAe(_) | NetConfig::ConvAe(_) => Task::Novelty,
        }
    }

    /// Checks the hyperparameters for `dims`; errors name the field (`model.…`).
    pub fn validate(&self, dims: &NetDims) -> Result<()> {
        let p = "model";
        match self {
            NetConfig::CnnLstm(c) => c.validate(p, dims.steps),
            NetConfig::ConvLstm3(c) => ConvLstmConfig::from(c).validate(p, dims.steps),
            NetConfig::Cnn(c) => c.validate(p, dims.steps),
            NetConfig::Lstm(c) => c.validate(p),
            NetConfig::LstmForecast(c) | NetConfig::GruForecast(c) => c.validate(p),
            NetConfig::TcnForecast(c) => c.validate(p),
            NetConfig::DenseAe(c) => c.validate(p),
            NetConfig::LstmAe(c) => c.validate(p),
            NetConfig::ConvAe(c) => c.validate(p, dims.steps),
            NetConfig::AttentionLstm(c) => c.validate(p),
            NetConfig::Anomalynet(c) => c.validate(p, dims.steps),
        }
    }

    /// The network, with fresh weights on `device`.
    pub fn init(&self, dims: &NetDims, device: &Device) -> Net {
        let (c, t, h) = (dims.channels, dims.steps, dims.horizon.max(1));
        match self {
            NetConfig::CnnLstm(cfg) => Net::ConvLstm(cfg.init(c, device)),
            NetConfig::ConvLstm3(cfg) => Net::ConvLstm(ConvLstmConfig::from(cfg).init(c, device)),
            NetConfig::Cnn(cfg) => Net::Plain(cfg.init(c, t, device)),
            NetConfig::Lstm(cfg) => Net::Plain(cfg.init(c, device)),
            NetConfig::LstmForecast(cfg) => Net::Rnn(cfg.init_lstm(c, h, device)),
            NetConfig::GruForecast(cfg) => Net::Rnn(cfg.init_gru(c, h, device)),
            NetConfig::TcnForecast(cfg) => Net::Tcn(cfg.init(c, h, device)),
            NetConfig::DenseAe(cfg) => Net::DenseAe(cfg.init(t, c, device)),
            NetConfig::LstmAe(cfg) => Net::LstmAe(cfg.init(c, device)),
            NetConfig::ConvAe(cfg) => Net::ConvAe(cfg.init(c, device)),
            NetConfig::AttentionLstm(cfg) => Net::AttentionLstm(cfg.init(c, device)),
            NetConfig::Anomalynet(cfg) => Net::AnomalyNet(cfg.init(c, device)),
        }
    }

    /// Weight of the reconstruction loss beside the classification loss (anomalynet).
    pub fn recon_weight(&self) -> f64 {
        match self {
            NetConfig::Anomalynet(c) => c.recon_weight,
            _ => 0.0,
        }
    }
}

/// Any network of the zoo.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Net {
    /// `cnn-lstm`, `conv-lstm3`.
    ConvLstm(ConvLstm),
    /// `cnn`, `lstm`.
    Plain(Plain),
    /// `lstm-forecast`, `gru-forecast`.
    Rnn(RnnForecaster),
    /// `tcn-forecast`.
    Tcn(TcnForecaster),
    /// `dense-ae`.
    DenseAe(DenseAe),
    /// `lstm-ae`.
    LstmAe(LstmAe),
    /// `conv-ae`.
    ConvAe(ConvAe),
    /// `attention-lstm`.
    AttentionLstm(AttentionLstm),
    /// `anomalynet`.
    AnomalyNet(AnomalyNet),
}

/// What a network returns, by task.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum NetOutput {
    /// Logits of the anomalous class `[batch, 1]`, with an optional
    /// reconstruction `[batch, steps, channels]` (anomalynet).
    Logit(Tensor<2>, Option<Tensor<3>>),
    /// Predicted steps `[batch, horizon, channels]`.
    Forecast(Tensor<3>),
    /// Reconstructed window `[batch, steps, channels]`.
    Reconstruction(Tensor<3>),
}

impl NetOutput {
    /// The main output's values, row-major: logits, forecasts or reconstructions (what the runtime
    /// computes for the same network).
    pub fn into_values(self) -> Vec<f32> {
        let t = match self {
            NetOutput::Logit(z, _) => z.reshape([-1]),
            NetOutput::Forecast(f) => f.reshape([-1]),
            NetOutput::Reconstruction(r) => r.reshape([-1]),
        };
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default()
    }
}

impl Net {
    /// Runs the network on windows `[batch, steps, channels]`.
    pub fn forward(&self, x: Tensor<3>) -> NetOutput {
        match self {
            Net::ConvLstm(m) => NetOutput::Logit(m.forward(x), None),
            Net::Plain(m) => NetOutput::Logit(m.forward(x), None),
            Net::Rnn(m) => NetOutput::Forecast(m.forward(x)),
            Net::Tcn(m) => NetOutput::Forecast(m.forward(x)),
            Net::DenseAe(m) => NetOutput::Reconstruction(m.forward(x)),
            Net::LstmAe(m) => NetOutput::Reconstruction(m.forward(x)),
            Net::ConvAe(m) => NetOutput::Reconstruction(m.forward(x)),
            Net::AttentionLstm(m) => NetOutput::Logit(m.forward(x).0, None),
            Net::AnomalyNet(m) => {
                let (logit, recon) = m.forward(x);
                NetOutput::Logit(logit, Some(recon))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;

    use super::*;

    fn dims(channels: usize, steps: usize, horizon: usize) -> NetDims {
        NetDims { channels, steps, horizon }
    }

    #[test]
    fn seed000_cnn_lstm_has_kerass_parameter_count() {
        let net = NetConfig::CnnLstm(ConvLstmConfig::new()).init(&dims(3, 60, 0), &Device::flex());
        assert_eq!(net.num_params(), 23_691);
    }

    #[test]
    fn every_preset_runs_forward_with_the_right_shape() {
        let device = Device::flex();
        let presets = vec![
            NetConfig::CnnLstm(ConvLstmConfig::new()),
            NetConfig::ConvLstm3(ConvLstm3Config::new()),
            NetConfig::LstmForecast(RnnForecastConfig::new()),
            NetConfig::GruForecast(RnnForecastConfig::new()),
            NetConfig::TcnForecast(TcnForecastConfig::new()),
            NetConfig::DenseAe(DenseAeConfig::new()),
            NetConfig::LstmAe(LstmAeConfig::new()),
            NetConfig::ConvAe(ConvAeConfig::new()),
            NetConfig::AttentionLstm(AttentionLstmConfig::new()),
            NetConfig::Anomalynet(AnomalyNetConfig::new()),
        ];
        for cfg in presets {
            let d = dims(4, 24, if cfg.task() == Task::Forecast { 2 } else { 0 });
            cfg.validate(&d).unwrap_or_else(|e| panic!("{}: {e}", cfg.name()));
            let net = cfg.init(&d, &device);
            let x = Tensor::<3>::ones([5, 24, 4], &device);
            match (cfg.task(), net.forward(x)) {
                (Task::Classify, NetOutput::Logit(l, recon)) => {
                    assert_eq!(l.dims(), [5, 1], "{}", cfg.name());
                    if let Some(r) = recon {
                        assert_eq!(r.dims(), [5, 24, 4]);
                    }
                }
                (Task::Forecast, NetOutput::Forecast(f)) => assert_eq!(f.dims(), [5, 2, 4], "{}", cfg.name()),
                (Task::Novelty, NetOutput::Reconstruction(r)) => assert_eq!(r.dims(), [5, 24, 4], "{}", cfg.name()),
                (task, _) => panic!("{}: output does not match task {task:?}", cfg.name()),
            }
        }
    }

    #[test]
    fn presets_read_from_json_with_defaults() {
        let cfg: NetConfig = serde_json::from_str(r#"{"preset": "conv-lstm3", "filters": 16}"#).unwrap();
        match cfg {
            NetConfig::ConvLstm3(c) => {
                assert_eq!(c.filters, 16);
                assert_eq!(c.lstm_units, vec![64, 64, 64]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_fields_and_presets_are_named() {
        let err =
            serde_json::from_str::<NetConfig>(r#"{"preset": "cnn-lstm", "filterz": 16}"#).unwrap_err().to_string();
        assert!(
            err.starts_with("model.filterz: unknown field (known: dropout, filters, kernel, lstm_units, pool)"),
            "{err}"
        );
        let err = serde_json::from_str::<NetConfig>(r#"{"preset": "cnn-gru"}"#).unwrap_err().to_string();
        assert!(err.starts_with("model.preset: unknown preset 'cnn-gru'"), "{err}");
        let err =
            serde_json::from_str::<NetConfig>(r#"{"preset": "cnn-lstm", "filters": "many"}"#).unwrap_err().to_string();
        assert!(err.contains("invalid type"), "{err}");
        let cfg = NetConfig::CnnLstm(ConvLstmConfig::new());
        let back: NetConfig = serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(back.name(), "cnn-lstm");
    }

    #[test]
    fn bad_hyperparameters_name_the_field() {
        let cfg = NetConfig::CnnLstm(ConvLstmConfig::new().with_dropout(1.5));
        assert_eq!(
            cfg.validate(&dims(3, 60, 0)).unwrap_err().to_string(),
            "model.dropout: 1.5 is not a rate in [0, 1)"
        );
        let cfg = NetConfig::ConvAe(ConvAeConfig::new());
        assert!(cfg.validate(&dims(3, 30, 0)).unwrap_err().to_string().contains("multiple of 4"));
        let cfg = NetConfig::CnnLstm(ConvLstmConfig::new());
        assert!(cfg.validate(&dims(3, 2, 0)).unwrap_err().to_string().contains("too short"));
    }
}
