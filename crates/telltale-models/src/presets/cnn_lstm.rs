//! `cnn-lstm` (seed 000) and `conv-lstm3` (seed 001): a convolution block
//! that summarises short runs of steps, then LSTM layers, then one logit.
//!
//! Seed 000: Conv1D 64 filters, kernel 3, ReLU → MaxPool 2 → Dropout 0.2 →
//! LSTM 50 → Dropout 0.2 → Dense 1 (sigmoid): 23,691 parameters.
//! Seed 001: Conv1D + MaxPool + three stacked LSTM layers over 200 steps.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::error::{Result, positive, rate};
use crate::layers::{
    ConvBlock, ConvBlockConfig, Dense, DenseConfig, Dropout, DropoutConfig, Lstm, LstmConfig, last_step,
};

/// Hyperparameters of the convolution + LSTM classifiers.
#[derive(Config, Debug)]
pub struct ConvLstmConfig {
    /// Convolution filters.
    #[config(default = 64)]
    pub filters: usize,
    /// Convolution kernel size.
    #[config(default = 3)]
    pub kernel: usize,
    /// Max-pool size.
    #[config(default = 2)]
    pub pool: usize,
    /// Units of each stacked LSTM layer.
    #[config(default = "vec![50]")]
    pub lstm_units: Vec<usize>,
    /// Dropout after the convolution block and after the last LSTM layer.
    #[config(default = 0.2)]
    pub dropout: f64,
}

/// Hyperparameters of `conv-lstm3` (seed 001): as [`ConvLstmConfig`], with
/// three stacked LSTM layers of 64 units by default.
#[derive(Config, Debug)]
pub struct ConvLstm3Config {
    /// Convolution filters.
    #[config(default = 64)]
    pub filters: usize,
    /// Convolution kernel size.
    #[config(default = 3)]
    pub kernel: usize,
    /// Max-pool size.
    #[config(default = 2)]
    pub pool: usize,
    /// Units of each stacked LSTM layer.
    #[config(default = "vec![64, 64, 64]")]
    pub lstm_units: Vec<usize>,
    /// Dropout after the convolution block and after the last LSTM layer.
    #[config(default = 0.2)]
    pub dropout: f64,
}

impl From<&ConvLstm3Config> for ConvLstmConfig {
    fn from(c: &ConvLstm3Config) -> Self {
        ConvLstmConfig {
            filters: c.filters,
            kernel: c.kernel,
            pool: c.pool,
            lstm_units: c.lstm_units.clone(),
            dropout: c.dropout,
        }
    }
}

impl ConvLstmConfig {
    /// Checks the hyperparameters for windows of `steps` steps.
    pub fn validate(&self, prefix: &str, steps: usize) -> Result<()> {
        positive(&format!("{prefix}.filters"), self.filters)?;
        positive(&format!("{prefix}.kernel"), self.kernel)?;
        positive(&format!("{prefix}.pool"), self.pool)?;
        rate(&format!("{prefix}.dropout"), self.dropout)?;
        if self.lstm_units.is_empty() {
            return Err(crate::Error::config(format!("{prefix}.lstm_units"), "needs at least one layer"));
        }
        for (i, &u) in self.lstm_units.iter().enumerate() {
            positive(&format!("{prefix}.lstm_units[{i}]"), u)?;
        }
        if steps < self.kernel + self.pool - 1 {
            return Err(crate::Error::config(
                format!("{prefix}.kernel"),
                format!("a window of {steps} steps is too short for kernel {} and pool {}", self.kernel, self.pool),
            ));
        }
        Ok(())
    }

    /// The network for `channels` input features.
    pub fn init(&self, channels: usize, device: &Device) -> ConvLstm {
        let conv = ConvBlockConfig::new(channels, self.filters, self.kernel).with_pool(self.pool).init(device);
        let mut d_in = self.filters;
        let lstm = self
            .lstm_units
            .iter()
            .map(|&u| {
                let layer = LstmConfig::new(d_in, u).init(device);
                d_in = u;
                layer
            })
            .collect();
        ConvLstm {
            conv,
            dropout: DropoutConfig::new(self.dropout).init(),
            lstm,
            head: DenseConfig::new(d_in, 1).init(device),
        }
    }
}

/// Convolution block, stacked LSTM layers, one logit.
#[derive(Module, Debug)]
pub struct ConvLstm {
    /// Convolution, ReLU, max-pooling.
    pub conv: ConvBlock,
    /// Dropout after the convolution block and the last LSTM layer.
    pub dropout: Dropout,
    /// Stacked LSTM layers (all but the last return every step).
    pub lstm: Vec<Lstm>,
    /// Output layer.
    pub head: Dense,
}

impl ConvLstm {
    /// Logit of the anomalous class.
    ///
    /// # Shapes
    /// `[batch, steps, channels]` → `[batch, 1]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let mut seq = self.dropout.forward(self.conv.forward(x));
        for layer in &self.lstm {
            seq = layer.forward(seq);
        }
        self.head.forward(self.dropout.forward(last_step(seq)))
    }
}
