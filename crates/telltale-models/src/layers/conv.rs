//! The 1-D convolution block of the seed models, channels last: a
//! convolution over time (valid, or dilated and causal for TCNs), bias, ReLU
//! and max-pooling as one fused operation (Keras:
//! `Conv1D(filters, kernel, activation="relu")` then `MaxPooling1D(pool)`).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use super::init;
use crate::ops::conv1d_relu_pool;

/// Configuration of [`ConvBlock`].
#[derive(Config, Debug)]
pub struct ConvBlockConfig {
    /// Input channels.
    pub channels: usize,
    /// Filters (output channels).
    pub filters: usize,
    /// Kernel size in steps.
    pub kernel: usize,
    /// Max-pool size (1: no pooling).
    #[config(default = 1)]
    pub pool: usize,
    /// Dilation between taps.
    #[config(default = 1)]
    pub dilation: usize,
    /// Pad the start so step t sees only steps ≤ t (output as long as the input).
    #[config(default = false)]
    pub causal: bool,
}

/// Convolution, ReLU, max-pooling.
#[derive(Module, Debug)]
pub struct ConvBlock {
    /// Kernel `[kernel·channels, filters]` (row `tap·channels + channel`).
    pub weight: Param<Tensor<2>>,
    /// Bias `[filters]`.
    pub bias: Param<Tensor<1>>,
    /// Max-pool size.
    pub pool: usize,
    /// Dilation between taps.
    pub dilation: usize,
    /// Causal padding.
    pub causal: bool,
}

impl ConvBlockConfig {
    /// The block, Glorot-uniform with Keras's fans (kernel × channels).
    pub fn init(&self, device: &Device) -> ConvBlock {
        let (c, f, k) = (self.channels, self.filters, self.kernel);
        ConvBlock {
            weight: init::glorot(k * c, f, k * c, k * f, device),
            bias: init::zeros(f, device),
            pool: self.pool.max(1),
            dilation: self.dilation.max(1),
            causal: self.causal,
        }
    }

    /// Output steps for `steps` input steps.
    pub fn output_steps(&self, steps: usize) -> usize {
        let g = crate::ops::conv_pool_kernels::Geometry {
            pool: self.pool.max(1),
            dilation: self.dilation.max(1),
            causal: self.causal,
        };
        g.output_steps(steps, self.kernel)
    }
}

impl ConvBlock {
    /// # Shapes
    /// `[batch, time, channels]` → `[batch, Tc / pool, filters]`, `Tc = time − (kernel − 1)·dilation`
    /// (`time` when causal)
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        conv1d_relu_pool(x, self.weight.val(), self.bias.val(), self.pool, self.dilation, self.causal)
    }
}
