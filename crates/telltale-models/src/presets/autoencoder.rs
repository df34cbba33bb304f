//! Autoencoders (seeds 003, 004; SKAB's leader): `dense-ae`, `lstm-ae`,
//! `conv-ae`. Trained on normal windows only; a window's score is its
//! reconstruction error, kept per channel.

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig1d;
use burn::nn::conv::{Conv1d, Conv1dConfig, ConvTranspose1d, ConvTranspose1dConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use crate::error::{Result, positive, rate};
use crate::layers::{Dense, DenseConfig, Dropout, DropoutConfig, Lstm, LstmConfig};

/// Hyperparameters of `dense-ae`: the window flattened, dense layers down
/// to the latent code and back up.
#[derive(Config, Debug)]
pub struct DenseAeConfig {
    /// Widths of the encoder's hidden layers (the decoder mirrors them).
    #[config(default = "vec![64, 32]")]
    pub hidden: Vec<usize>,
    /// Width of the latent code.
    #[config(default = 16)]
    pub latent: usize,
    /// Dropout after each hidden layer.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl DenseAeConfig {
    /// Checks the hyperparameters.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        for (i, &h) in self.hidden.iter().enumerate() {
            positive(&format!("{prefix}.hidden[{i}]"), h)?;
        }
        positive(&format!("{prefix}.latent"), self.latent)?;
        rate(&format!("{prefix}.dropout"), self.dropout)
    }

    /// The network for windows of `steps` × `channels`.
    pub fn init(&self, steps: usize, channels: usize, device: &Device) -> DenseAe {
        let mut widths = vec![steps * channels];
        widths.extend(&self.hidden);
        widths.push(self.latent);
        let encoder = widths.windows(2).map(|w| DenseConfig::new(w[0], w[1]).init(device)).collect();
        let decoder = widths
            .iter()
            .rev()
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| DenseConfig::new(*w[0], *w[1]).init(device))
            .collect();
        DenseAe { encoder, decoder, dropout: DropoutConfig::new(self.dropout).init() }
    }
}

/// A dense autoencoder over flattened windows.
#[derive(Module, Debug)]
pub struct DenseAe {
    /// Encoder layers (ReLU after each).
    pub encoder: Vec<Dense>,
    /// Decoder layers (ReLU after each but the last).
    pub decoder: Vec<Dense>,
    /// Dropout after hidden layers.
    pub dropout: Dropout,
}

impl DenseAe {
    /// # Shapes
    /// `[batch, steps, channels]` → `[batch, steps, channels]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, c] = x.dims();
        let mut y = x.reshape([b, t * c]);
        for layer in &self.encoder {
            y = self.dropout.forward(relu(layer.forward(y)));
        }
        let last = self.decoder.len() - 1;
        for (i, layer) in self.decoder.iter().enumerate() {
            y = layer.forward(y);
            if i < last {
                y = self.dropout.forward(relu(y));
            }
        }
        y.reshape([b, t, c])
    }
}

/// Hyperparameters of `lstm-ae`: an LSTM encoder's last state, repeated
/// over the window, decoded by an LSTM and a per-step dense layer.
#[derive(Config, Debug)]
pub struct LstmAeConfig {
    /// Encoder and decoder units.
    #[config(default = 64)]
    pub units: usize,
}

impl LstmAeConfig {
    /// Checks the hyperparameters.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        positive(&format!("{prefix}.units"), self.units)
    }

    /// The network for `channels` features.
    pub fn init(&self, channels: usize, device: &Device) -> LstmAe {
        LstmAe {
            encoder: LstmConfig::new(channels, self.units).init(device),
            decoder: LstmConfig::new(self.units, self.units).init(device),
            output: DenseConfig::new(self.units, channels).init(device),
        }
    }
}

/// A sequence-to-sequence LSTM autoencoder.
#[derive(Module, Debug)]
pub struct LstmAe {
    /// Encoder.
    pub encoder: Lstm,
    /// Decoder.
    pub decoder: Lstm,
    /// Per-step output layer.
    pub output: Dense,
}

impl LstmAe {
    /// # Shapes
    /// `[batch, steps, channels]` → `[batch, steps, channels]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, _] = x.dims();
        let code = self.encoder.last(x);
        let units = code.dims()[1];
        let repeated = code.reshape([b, 1, units]).expand([b, t, units]);
        self.output.forward(self.decoder.forward(repeated))
    }
}

/// Hyperparameters of `conv-ae` (SKAB's Conv-AE): two strided convolutions
/// down, two transposed convolutions up, and one to the input width; "same"
/// padding, so windows must be a multiple of 4 steps.
#[derive(Config, Debug)]
pub struct ConvAeConfig {
    /// Filters of the first and second convolution.
    #[config(default = "[32, 16]")]
    pub filters: [usize; 2],
    /// Kernel size.
    #[config(default = 7)]
    pub kernel: usize,
    /// Dropout after the first convolution and the first transposed one.
    #[config(default = 0.2)]
    pub dropout: f64,
}

impl ConvAeConfig {
    /// Checks the hyperparameters for windows of `steps` steps.
    pub fn validate(&self, prefix: &str, steps: usize) -> Result<()> {
        positive(&format!("{prefix}.filters[0]"), self.filters[0])?;
        positive(&format!("{prefix}.filters[1]"), self.filters[1])?;
        positive(&format!("{prefix}.kernel"), self.kernel)?;
        if self.kernel.is_multiple_of(2) {
            return Err(crate::Error::config(
                format!("{prefix}.kernel"),
                format!("{} must be odd (\"same\" padding)", self.kernel),
            ));
        }
        rate(&format!("{prefix}.dropout"), self.dropout)?;
        if !steps.is_multiple_of(4) || steps == 0 {
            return Err(crate::Error::config(
                "window.size",
                format!("conv-ae needs a multiple of 4 steps, not {steps}"),
            ));
        }
        Ok(())
    }

    /// The network for `channels` features.
    pub fn init(&self, channels: usize, device: &Device) -> ConvAe {
        let k = self.kernel;
        // "same" padding at stride 2 on an even length: k − 2 in total, the extra step on the right (as Keras).
        let total = k.saturating_sub(2);
        let (left, right) = (total / 2, total - total / 2);
        let down = |c_in, c_out| {
            Conv1dConfig::new(c_in, c_out, k)
                .with_stride(2)
                .with_padding(PaddingConfig1d::Explicit(left, right))
                .init(device)
        };
        // Transposed, stride 2, odd k: output (t − 1)·2 − 2·pad + k + pad_out = 2·t.
        let pad = (k - 1) / 2;
        let pad_out = 1;
        let up = |c_in, c_out, stride| {
            let cfg = ConvTranspose1dConfig::new([c_in, c_out], k).with_stride(stride);
            if stride == 2 { cfg.with_padding(pad).with_padding_out(pad_out) } else { cfg.with_padding((k - 1) / 2) }
                .init(device)
        };
        let [f1, f2] = self.filters;
        ConvAe {
            down1: down(channels, f1),
            down2: down(f1, f2),
            up1: up(f2, f2, 2),
            up2: up(f2, f1, 2),
            out: up(f1, channels, 1),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

/// A 1-D convolutional autoencoder.
#[derive(Module, Debug)]
pub struct ConvAe {
    /// First strided convolution.
    pub down1: Conv1d,
    /// Second strided convolution.
    pub down2: Conv1d,
    /// First transposed convolution.
    pub up1: ConvTranspose1d,
    /// Second transposed convolution.
    pub up2: ConvTranspose1d,
    /// Output layer back to the input width.
    pub out: ConvTranspose1d,
    /// Dropout.
    pub dropout: Dropout,
}

impl ConvAe {
    /// # Shapes
    /// `[batch, steps, channels]` → `[batch, steps, channels]` (steps a multiple of 4)
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [_, t, _] = x.dims();
        let y = x.swap_dims(1, 2);
        let y = self.dropout.forward(relu(self.down1.forward(y)));
        let y = relu(self.down2.forward(y));
        let y = self.dropout.forward(relu(self.up1.forward(y)));
        let y = relu(self.up2.forward(y));
        let y = self.out.forward(y);
        let [b, c, got] = y.dims();
        y.slice([0..b, 0..c, 0..got.min(t)]).swap_dims(1, 2)
    }
}
