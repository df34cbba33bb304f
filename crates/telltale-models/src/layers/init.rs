//! Keras's default initialisers, so the seed models start where the papers'
//! models started: Glorot-uniform kernels, orthogonal recurrent kernels,
//! zero biases (with the LSTM forget gate's bias at 1).

use burn::module::Param;
use burn::nn::Initializer;
use burn::tensor::{Device, Tensor, TensorData};

/// A `[rows, cols]` kernel, Glorot-uniform with the given fans.
pub fn glorot(rows: usize, cols: usize, fan_in: usize, fan_out: usize, device: &Device) -> Param<Tensor<2>> {
    Initializer::XavierUniform { gain: 1.0 }.init_with([rows, cols], Some(fan_in), Some(fan_out), device)
}

/// A dense kernel `[d_in, d_out]` (fans `d_in`, `d_out`).
pub fn dense(d_in: usize, d_out: usize, device: &Device) -> Param<Tensor<2>> {
    glorot(d_in, d_out, d_in, d_out, device)
}

/// A recurrent kernel `[hidden, gates·hidden]` with orthonormal rows.
pub fn orthogonal(rows: usize, cols: usize, device: &Device) -> Param<Tensor<2>> {
    Initializer::Orthogonal { gain: 1.0 }.init([rows, cols], device)
}

/// A bias vector of `values`.
pub fn bias(values: Vec<f32>, device: &Device) -> Param<Tensor<1>> {
    let n = values.len();
    Param::from_tensor(Tensor::from_data(TensorData::new(values, [n]), device))
}

/// A zero bias of `n` values.
pub fn zeros(n: usize, device: &Device) -> Param<Tensor<1>> {
    bias(vec![0.0; n], device)
}
