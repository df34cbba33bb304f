//! `attention-lstm` (seed 004) and `anomalynet` (seed 003).
//!
//! - attention-lstm: LSTM over the window → additive attention pooling →
//!   dropout → one logit.
//! - anomalynet (IoT-AnomalyNet): a per-step dense autoencoder compresses the
//!   sensors to a latent sequence; a convolution block and an LSTM read it;
//!   query/key/value attention (the last state queries every step) gives a
//!   context vector; the fused head reads context and last state. Training
//!   minimises the classification loss plus `recon_weight` × the
//!   autoencoder's reconstruction MSE.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use crate::error::{Result, positive, rate};
use crate::layers::{
    AdditiveAttention, AdditiveAttentionConfig, ConvBlock, ConvBlockConfig, Dense, DenseConfig, Dropout, DropoutConfig,
    Lstm, LstmConfig, QkvAttention, QkvAttentionConfig, last_step,
};

/// Hyperparameters of `attention-lstm`.
#[derive(Config, Debug)]
pub struct AttentionLstmConfig {
    /// LSTM units.
    #[config(default = 64)]
    pub units: usize,
    /// Width of the attention scoring layer.
    #[config(default = 32)]
    pub attention: usize,
    /// Dropout before the output layer.
    #[config(default = 0.2)]
    pub dropout: f64,
}

impl AttentionLstmConfig {
    /// Checks the hyperparameters.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        positive(&format!("{prefix}.units"), self.units)?;
        positive(&format!("{prefix}.attention"), self.attention)?;
        rate(&format!("{prefix}.dropout"), self.dropout)
    }

    /// The network for `channels` input features.
    pub fn init(&self, channels: usize, device: &Device) -> AttentionLstm {
        AttentionLstm {
            lstm: LstmConfig::new(channels, self.units).init(device),
            attention: AdditiveAttentionConfig::new(self.units, self.attention).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            head: DenseConfig::new(self.units, 1).init(device),
        }
    }
}

/// LSTM with additive attention pooling.
#[derive(Module, Debug)]
pub struct AttentionLstm {
    /// The recurrent layer.
    pub lstm: Lstm,
    /// Attention pooling over its steps.
    pub attention: AdditiveAttention,
    /// Dropout before the output layer.
    pub dropout: Dropout,
    /// Output layer.
    pub head: Dense,
}

impl AttentionLstm {
    /// Logit of the anomalous class and the attention weights.
    ///
    /// # Shapes
    /// `[batch, steps, channels]` → (`[batch, 1]`, `[batch, steps]`)
    pub fn forward(&self, x: Tensor<3>) -> (Tensor<2>, Tensor<2>) {
        let (context, alpha) = self.attention.forward(self.lstm.forward(x));
        (self.head.forward(self.dropout.forward(context)), alpha)
    }
}

/// Hyperparameters of `anomalynet`.
#[derive(Config, Debug)]
pub struct AnomalyNetConfig {
    /// Width of the autoencoder's hidden layer.
    #[config(default = 32)]
    pub ae_hidden: usize,
    /// Width of the latent code per step.
    #[config(default = 16)]
    pub latent: usize,
    /// Convolution filters.
    #[config(default = 32)]
    pub filters: usize,
    /// Convolution kernel size.
    #[config(default = 3)]
    pub kernel: usize,
    /// LSTM units.
    #[config(default = 64)]
    pub lstm_units: usize,
    /// Width of queries, keys and values.
    #[config(default = 32)]
    pub key: usize,
    /// Dropout before the output layer.
    #[config(default = 0.2)]
    pub dropout: f64,
    /// Weight of the reconstruction loss beside the classification loss.
    #[config(default = 0.1)]
    pub recon_weight: f64,
}

impl AnomalyNetConfig {
    /// Checks the hyperparameters for windows of `steps` steps.
    pub fn validate(&self, prefix: &str, steps: usize) -> Result<()> {
        for (name, v) in [
            ("ae_hidden", self.ae_hidden),
            ("latent", self.latent),
            ("filters", self.filters),
            ("kernel", self.kernel),
            ("lstm_units", self.lstm_units),
            ("key", self.key),
        ] {
            positive(&format!("{prefix}.{name}"), v)?;
        }
        rate(&format!("{prefix}.dropout"), self.dropout)?;
        if !(self.recon_weight >= 0.0 && self.recon_weight.is_finite()) {
            return Err(crate::Error::config(format!("{prefix}.recon_weight"), "must be at least 0"));
        }
        if steps < self.kernel {
            return Err(crate::Error::config(
                format!("{prefix}.kernel"),
                format!("longer than the window ({steps} steps)"),
            ));
        }
        Ok(())
    }

    /// The network for `channels` input features.
    pub fn init(&self, channels: usize, device: &Device) -> AnomalyNet {
        AnomalyNet {
            enc1: DenseConfig::new(channels, self.ae_hidden).init(device),
            enc2: DenseConfig::new(self.ae_hidden, self.latent).init(device),
            dec1: DenseConfig::new(self.latent, self.ae_hidden).init(device),
            dec2: DenseConfig::new(self.ae_hidden, channels).init(device),
            conv: ConvBlockConfig::new(self.latent, self.filters, self.kernel).init(device),
            lstm: LstmConfig::new(self.filters, self.lstm_units).init(device),
            attention: QkvAttentionConfig::new(self.lstm_units, self.key).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            head: DenseConfig::new(self.key + self.lstm_units, 1).init(device),
        }
    }
}

/// IoT-AnomalyNet: autoencoder + convolution + LSTM + attention.
#[derive(Module, Debug)]
pub struct AnomalyNet {
    /// Encoder, first layer (per step).
    pub enc1: Dense,
    /// Encoder, latent layer.
    pub enc2: Dense,
    /// Decoder, first layer.
    pub dec1: Dense,
    /// Decoder, output layer.
    pub dec2: Dense,
    /// Convolution over the latent sequence.
    pub conv: ConvBlock,
    /// LSTM over the convolution's output.
    pub lstm: Lstm,
    /// Query/key/value attention.
    pub attention: QkvAttention,
    /// Dropout before the head.
    pub dropout: Dropout,
    /// Fused output layer over context and last state.
    pub head: Dense,
}

impl AnomalyNet {
    /// Logit of the anomalous class and the autoencoder's reconstruction.
    ///
    /// # Shapes
    /// `[batch, steps, channels]` → (`[batch, 1]`, `[batch, steps, channels]`)
    pub fn forward(&self, x: Tensor<3>) -> (Tensor<2>, Tensor<3>) {
        let latent = relu(self.enc2.forward(relu(self.enc1.forward(x))));
        let recon = self.dec2.forward(relu(self.dec1.forward(latent.clone())));
        let seq = self.lstm.forward(self.conv.forward(latent));
        let (context, _) = self.attention.forward(seq.clone());
        let fused = Tensor::cat(vec![context, last_step(seq)], 1);
        (self.head.forward(self.dropout.forward(fused)), recon)
    }
}
