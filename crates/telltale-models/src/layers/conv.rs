//! The 1-D convolution block of the seed models, channels last: a valid
//! convolution over time, bias, ReLU and max-pooling as one fused operation
//! (Keras: `Conv1D(filters, kernel, activation="relu")` then `MaxPooling1D(pool)`).

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
}

impl ConvBlockConfig {
    /// The block, Glorot-uniform with Keras's fans (kernel × channels).
    pub fn init(&self, device: &Device) -> ConvBlock {
        let (c, f, k) = (self.channels, self.filters, self.kernel);
        ConvBlock {
            weight: init::glorot(k * c, f, k * c, k * f, device),
            bias: init::zeros(f, device),
            pool: self.pool.max(1),
        }
    }

    /// Output steps for `steps` input steps.
    pub fn output_steps(&self, steps: usize) -> usize {
        crate::ops::conv_pool_kernels::output_steps(steps, self.kernel, self.pool.max(1))
    }
}

impl ConvBlock {
    /// # Shapes
    /// `[batch, time, channels]` → `[batch, (time − kernel + 1) / pool, filters]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        conv1d_relu_pool(x, self.weight.val(), self.bias.val(), self.pool)
    }
}
