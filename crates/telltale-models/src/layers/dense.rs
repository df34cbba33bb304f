//! A fully connected layer with a Glorot-uniform kernel and zero bias, over
//! the last dimension of any rank.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use super::init;

/// Configuration of [`Dense`].
#[derive(Config, Debug)]
pub struct DenseConfig {
    /// Input features.
    pub d_input: usize,
    /// Output features.
    pub d_output: usize,
}

/// `x·W + b` over the last dimension.
#[derive(Module, Debug)]
pub struct Dense {
    /// Kernel `[d_input, d_output]`.
    pub weight: Param<Tensor<2>>,
    /// Bias `[d_output]`.
    pub bias: Param<Tensor<1>>,
}

impl DenseConfig {
    /// The layer.
    pub fn init(&self, device: &Device) -> Dense {
        Dense { weight: init::dense(self.d_input, self.d_output, device), bias: init::zeros(self.d_output, device) }
    }
}

impl Dense {
    /// # Shapes
    /// `[.., d_input]` → `[.., d_output]`
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let dims = x.dims();
        let d_in = dims[D - 1];
        let rows = dims.iter().take(D - 1).product();
        let y = x.reshape([rows, d_in]).matmul(self.weight.val()) + self.bias.val().unsqueeze::<2>();
        let mut out = dims;
        out[D - 1] = self.bias.dims()[0];
        y.reshape(out)
    }
}
