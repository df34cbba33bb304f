//! Temporal convolutional network blocks (seed 002's TCN): residual blocks
//! of two dilated causal convolutions, each followed by ReLU and dropout,
//! with a 1×1 convolution (a dense layer over channels) on the skip path
//! when the widths differ. Channels last, on the fused convolution block.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::conv::{ConvBlock, ConvBlockConfig};
use super::dense::{Dense, DenseConfig};
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
    /// First convolution (with ReLU).
    pub conv1: ConvBlock,
    /// Second convolution (with ReLU).
    pub conv2: ConvBlock,
    /// 1×1 convolution on the skip path, when the widths differ.
    pub skip: Option<Dense>,
    /// Dropout.
    pub dropout: Dropout,
}

impl TemporalBlockConfig {
    /// The block.
    pub fn init(&self, device: &Device) -> TemporalBlock {
        let conv = |c_in: usize| {
            ConvBlockConfig::new(c_in, self.filters, self.kernel)
                .with_dilation(self.dilation)
                .with_causal(true)
                .init(device)
        };
        TemporalBlock {
            conv1: conv(self.d_input),
            conv2: conv(self.filters),
            skip: (self.d_input != self.filters).then(|| DenseConfig::new(self.d_input, self.filters).init(device)),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

impl TemporalBlock {
    /// # Shapes
    /// `[batch, time, channels]` → `[batch, time, filters]` (causal: step t sees steps ≤ t)
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let y = self.dropout.forward(self.conv1.forward(x.clone()));
        let y = self.dropout.forward(self.conv2.forward(y));
        let skip = match &self.skip {
            Some(dense) => dense.forward(x),
            None => x,
        };
        relu(y + skip)
    }
}
