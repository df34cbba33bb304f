//! probe
#![allow(missing_docs)]
pub mod layers;
pub mod ops;
use crate::layers::{Dropout, DropoutConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation;

#[derive(Module, Debug)]
pub struct Probe {
    conv_w: burn::module::Param<Tensor<2>>,
    conv_b: burn::module::Param<Tensor<1>>,
    drop: Dropout,
    w_ih: Linear,
    w_hh: Linear,
    head: Linear,
}

impl Probe {
    pub fn new(device: &Device) -> Self {
        Probe {
            conv_w: burn::nn::Initializer::Normal { mean: 0.0, std: 0.2 }.init([9, 64], device),
            conv_b: burn::nn::Initializer::Zeros.init([64], device),
            drop: DropoutConfig::new(0.2).init(),
            w_ih: LinearConfig::new(64, 200).init(device),
            w_hh: LinearConfig::new(50, 200).with_bias(false).init(device),
            head: LinearConfig::new(50, 1).init(device),
        }
    }
    /// x: [B, T, C]
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let x = crate::ops::conv1d_relu_pool(x, self.conv_w.val(), self.conv_b.val(), 2);
        let x = self.drop.forward(x); // [B, T', 64]
        let [b, t, _] = x.dims();
        let proj = self.w_ih.forward(x); // [B, T', 200]
        let hs = crate::ops::lstm_recurrence(proj, self.w_hh.weight.val());
        let h = hs.slice([0..b, t - 1..t, 0..50]).reshape([b, 50]);
        activation::sigmoid(self.head.forward(self.drop.forward(h)))
    }
}
