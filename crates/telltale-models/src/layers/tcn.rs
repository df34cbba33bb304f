//! Temporal convolutional network blocks (seed 002's TCN): residual blocks
//! of two dilated causal convolutions, each followed by ReLU and dropout, with
//! a 1×1 convolution on the skip path when the widths differ.

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig1d;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::dropout::{Dropout, DropoutConfig};

/// Configuration of [`TemporalBlock`].
#[derive(Config, Debug)]
pub struct TemporalBlockConfig {
    /// Input channels.
    pub d_input: usize,
    /// Filters.
    pub filters: usize,
    /// Kernel size.
    pub kernel: usize,
    /// Dilation.
    pub dilation: usize,
    /// Dropout after each convolution.
    #[config(default = 0.0)]
    pub dropout: f64,
}

/// One residual block of dilated causal convolutions.
#[derive(Module, Debug)]
pub struct TemporalBlock {
    /// First convolution.
    pub conv1: Conv1d,
    /// Second convolution.
    pub conv2: Conv1d,
    /// 1×1 convolution on the skip path, when the widths differ.
    pub skip: Option<Conv1d>,
    /// Dropout.
    pub dropout: Dropout,
}

impl TemporalBlockConfig {
    /// The block.
    pub fn init(&self, device: &Device) -> TemporalBlock {
        let pad = (self.kernel - 1) * self.dilation;
        let conv = |c_in: usize| {
            Conv1dConfig::new(c_in, self.filters, self.kernel)
                .with_dilation(self.dilation)
                .with_padding(PaddingConfig1d::Explicit(pad, 0))
                .init(device)
        };
        TemporalBlock {
            conv1: conv(self.d_input),
            conv2: conv(self.filters),
            skip: (self.d_input != self.filters).then(|| Conv1dConfig::new(self.d_input, self.filters, 1).init(device)),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl TemporalBlock {
    /// # Shapes
    /// `[batch, channels, time]` → `[batch, filters, time]` (causal: step t sees steps ≤ t)
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let y = self.dropout.forward(relu(self.conv1.forward(x.clone())));
        let y = self.dropout.forward(relu(self.conv2.forward(y)));
        let skip = match &self.skip {
            Some(conv) => conv.forward(x),
            None => x,
        };
        relu(y + skip)
    }
}
