//! `cnn` and `lstm`: the plain classifiers seeds 000 and 003 compare their
//! hybrids with, each the hybrid with one half taken away, so that a
//! comparison changes one thing.
//!
//! - `cnn`: Conv1D 64 filters, kernel 3, ReLU → MaxPool 2 → Dropout 0.2 →
//!   Flatten → Dense 1 (sigmoid): the CNN-LSTM without its LSTM.
//! - `lstm`: LSTM 50 → Dropout 0.2 → Dense 1 (sigmoid) on the last step: the
//!   CNN-LSTM without its convolution.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};

use crate::error::{Result, positive, rate};
use crate::layers::{
    ConvBlock, ConvBlockConfig, Dense, DenseConfig, Dropout, DropoutConfig, Lstm, LstmConfig, last_step,
};

/// Hyperparameters of `cnn`.
#[derive(Config, Debug)]
pub struct PlainCnnConfig {
    /// Convolution filters.
    #[config(default = 64)]
    pub filters: usize,
    /// Convolution kernel size.
    #[config(default = 3)]
    pub kernel: usize,
    /// Max-pool size.
    #[config(default = 2)]
    pub pool: usize,
    /// Dropout after the convolution block.
    #[config(default = 0.2)]
    pub dropout: f64,
}

/// Hyperparameters of `lstm`.
#[derive(Config, Debug)]
pub struct PlainLstmConfig {
    /// Units of each stacked LSTM layer.
    #[config(default = "vec![50]")]
    pub units: Vec<usize>,
    /// Dropout after the last LSTM layer.
    #[config(default = 0.2)]
    pub dropout: f64,
}

impl PlainCnnConfig {
    /// Steps left after the convolution and the pooling of `steps` input steps.
    fn steps_out(&self, steps: usize) -> usize {
        (steps + 1).saturating_sub(self.kernel) / self.pool.max(1)
    }

    /// Checks the hyperparameters for windows of `steps` steps.
    pub fn validate(&self, prefix: &str, steps: usize) -> Result<()> {
        positive(&format!("{prefix}.filters"), self.filters)?;
        positive(&format!("{prefix}.kernel"), self.kernel)?;
        positive(&format!("{prefix}.pool"), self.pool)?;
        rate(&format!("{prefix}.dropout"), self.dropout)?;
        if self.steps_out(steps) == 0 {
            return Err(crate::Error::config(
                format!("{prefix}.kernel"),
                format!("a window of {steps} steps is too short for kernel {} and pool {}", self.kernel, self.pool),
            ));
        }
        Ok(())
    }

    /// The network for windows of `steps` steps of `channels` features.
    pub fn init(&self, channels: usize, steps: usize, device: &Device) -> Plain {
        let conv = ConvBlockConfig::new(channels, self.filters, self.kernel).with_pool(self.pool).init(device);
        Plain {
            conv: Some(conv),
            lstm: Vec::new(),
            dropout: DropoutConfig::new(self.dropout).init(),
            head: DenseConfig::new(self.steps_out(steps) * self.filters, 1).init(device),
        }
    }
}

impl PlainLstmConfig {
    /// Checks the hyperparameters.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        rate(&format!("{prefix}.dropout"), self.dropout)?;
        if self.units.is_empty() {
            return Err(crate::Error::config(format!("{prefix}.units"), "needs at least one layer"));
        }
        for (i, &u) in self.units.iter().enumerate() {
            positive(&format!("{prefix}.units[{i}]"), u)?;
        }
        Ok(())
    }

    /// The network for `channels` input features.
    pub fn init(&self, channels: usize, device: &Device) -> Plain {
        let mut d_in = channels;
        let lstm = self
            .units
            .iter()
            .map(|&u| {
                let layer = LstmConfig::new(d_in, u).init(device);
                d_in = u;
                layer
            })
            .collect();
        Plain {
            conv: None,
            lstm,
            dropout: DropoutConfig::new(self.dropout).init(),
            head: DenseConfig::new(d_in, 1).init(device),
        }
    }
}

/// A convolution block or stacked LSTM layers, then one logit.
#[derive(Module, Debug)]
pub struct Plain {
    /// `cnn`: convolution, ReLU, max-pooling.
    pub conv: Option<ConvBlock>,
    /// `lstm`: stacked LSTM layers (all but the last return every step).
    pub lstm: Vec<Lstm>,
    /// Dropout before the head.
    pub dropout: Dropout,
    /// Output layer: on the flattened convolution output (`cnn`) or the last step (`lstm`).
    pub head: Dense,
}

impl Plain {
    /// Logit of the anomalous class.
    ///
    /// # Shapes
    /// `[batch, steps, channels]` → `[batch, 1]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let features = match &self.conv {
            Some(conv) => {
                let y = conv.forward(x);
                let [b, t, f] = y.dims();
                y.reshape([b, t * f])
            }
            None => {
                let mut seq = x;
                for layer in &self.lstm {
                    seq = layer.forward(seq);
                }
                last_step(seq)
            }
        };
        self.head.forward(self.dropout.forward(features))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_keras_counts_them() {
        let dev = Device::flex();
        // Conv 3×3×64 + 64; 29 pooled steps × 64 filters into one logit.
        let cnn = PlainCnnConfig::new().init(3, 60, &dev);
        assert_eq!(cnn.num_params(), 640 + 29 * 64 + 1);
        // LSTM 50 on 3 features, one bias vector as Keras has; 50 into one logit.
        let lstm = PlainLstmConfig::new().init(3, &dev);
        assert_eq!(lstm.num_params(), 4 * (3 * 50 + 50 * 50 + 50) + 51);
        let x = Tensor::<3>::zeros([2, 60, 3], &dev);
        assert_eq!(cnn.forward(x.clone()).dims(), [2, 1]);
        assert_eq!(lstm.forward(x).dims(), [2, 1]);
        assert!(PlainCnnConfig::new().validate("model", 3).is_err(), "a window shorter than kernel and pool");
        assert!(PlainLstmConfig::new().with_units(vec![]).validate("model").is_err());
    }
}
