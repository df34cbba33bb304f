//! Forecasters (seed 002): `lstm-forecast`, `gru-forecast`, `tcn-forecast`.
//! Each reads `lookback` steps of every channel and predicts every channel
//! of the next `horizon` steps; trained with MSE, reported by RMSE.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::error::{Result, positive, rate};
use crate::layers::{
    Dense, DenseConfig, Dropout, DropoutConfig, Gru, GruConfig, Lstm, LstmConfig, TemporalBlock, TemporalBlockConfig,
    last_step,
};

/// Hyperparameters of the recurrent forecasters.
#[derive(Config, Debug)]
pub struct RnnForecastConfig {
    /// Units of each stacked recurrent layer.
    #[config(default = "vec![64]")]
    pub units: Vec<usize>,
    /// Dropout before the output layer.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl RnnForecastConfig {
    /// Checks the hyperparameters.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        if self.units.is_empty() {
            return Err(crate::Error::config(format!("{prefix}.units"), "needs at least one layer"));
        }
        for (i, &u) in self.units.iter().enumerate() {
            positive(&format!("{prefix}.units[{i}]"), u)?;
        }
        rate(&format!("{prefix}.dropout"), self.dropout)
    }

    /// An LSTM forecaster for `channels` features and `horizon` steps.
    pub fn init_lstm(&self, channels: usize, horizon: usize, device: &Device) -> RnnForecaster {
        let mut d_in = channels;
        let layers = self
            .units
            .iter()
            .map(|&u| {
                let l = LstmConfig::new(d_in, u).init(device);
                d_in = u;
                Recurrent::Lstm(l)
            })
            .collect();
        self.finish(layers, d_in, channels, horizon, device)
    }

    /// A GRU forecaster for `channels` features and `horizon` steps.
    pub fn init_gru(&self, channels: usize, horizon: usize, device: &Device) -> RnnForecaster {
        let mut d_in = channels;
        let layers = self
            .units
            .iter()
            .map(|&u| {
                let l = GruConfig::new(d_in, u).init(device);
                d_in = u;
                Recurrent::Gru(l)
            })
            .collect();
        self.finish(layers, d_in, channels, horizon, device)
    }

    fn finish(
        &self,
        layers: Vec<Recurrent>,
        d_last: usize,
        channels: usize,
        horizon: usize,
        device: &Device,
    ) -> RnnForecaster {
        RnnForecaster {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            head: DenseConfig::new(d_last, horizon * channels).init(device),
            horizon,
        }
    }
}

/// A recurrent layer of a forecaster.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Recurrent {
    /// LSTM.
    Lstm(Lstm),
    /// GRU.
    Gru(Gru),
}

impl Recurrent {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        match self {
            Recurrent::Lstm(l) => l.forward(x),
            Recurrent::Gru(g) => g.forward(x),
        }
    }
}

/// Stacked recurrent layers, then one dense layer for all predicted values.
#[derive(Module, Debug)]
pub struct RnnForecaster {
    /// Recurrent layers.
    pub layers: Vec<Recurrent>,
    /// Dropout before the output layer.
    pub dropout: Dropout,
    /// Output layer `[units, horizon·channels]`.
    pub head: Dense,
    /// Steps predicted.
    pub horizon: usize,
}

impl RnnForecaster {
    /// The next `horizon` steps of every channel.
    ///
    /// # Shapes
    /// `[batch, lookback, channels]` → `[batch, horizon, channels]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, _, c] = x.dims();
        let mut seq = x;
        for layer in &self.layers {
            seq = layer.forward(seq);
        }
        self.head.forward(self.dropout.forward(last_step(seq))).reshape([b, self.horizon, c])
    }
}

/// Hyperparameters of `tcn-forecast`.
#[derive(Config, Debug)]
pub struct TcnForecastConfig {
    /// Filters of every block.
    #[config(default = 64)]
    pub filters: usize,
    /// Kernel size.
    #[config(default = 3)]
    pub kernel: usize,
    /// Dilation of each residual block.
    #[config(default = "vec![1, 2, 4, 8]")]
    pub dilations: Vec<usize>,
    /// Dropout after each convolution.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl TcnForecastConfig {
    /// Checks the hyperparameters.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        positive(&format!("{prefix}.filters"), self.filters)?;
        positive(&format!("{prefix}.kernel"), self.kernel)?;
        if self.dilations.is_empty() {
            return Err(crate::Error::config(format!("{prefix}.dilations"), "needs at least one block"));
        }
        for (i, &d) in self.dilations.iter().enumerate() {
            positive(&format!("{prefix}.dilations[{i}]"), d)?;
        }
        rate(&format!("{prefix}.dropout"), self.dropout)
    }

    /// The network for `channels` features and `horizon` steps.
    pub fn init(&self, channels: usize, horizon: usize, device: &Device) -> TcnForecaster {
        let mut d_in = channels;
        let blocks = self
            .dilations
            .iter()
            .map(|&d| {
                let b = TemporalBlockConfig::new(d_in, self.filters, self.kernel, d)
                    .with_dropout(self.dropout)
                    .init(device);
                d_in = self.filters;
                b
            })
            .collect();
        TcnForecaster { blocks, head: DenseConfig::new(self.filters, horizon * channels).init(device), horizon }
    }
}

/// Residual blocks of dilated causal convolutions, then one dense layer.
#[derive(Module, Debug)]
pub struct TcnForecaster {
    /// Residual blocks, dilations growing.
    pub blocks: Vec<TemporalBlock>,
    /// Output layer `[filters, horizon·channels]`.
    pub head: Dense,
    /// Steps predicted.
    pub horizon: usize,
}

impl TcnForecaster {
    /// The next `horizon` steps of every channel, from the last step's features.
    ///
    /// # Shapes
    /// `[batch, lookback, channels]` → `[batch, horizon, channels]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, _, c] = x.dims();
        let mut y = x;
        for block in &self.blocks {
            y = block.forward(y);
        }
        self.head.forward(last_step(y)).reshape([b, self.horizon, c])
    }
}
