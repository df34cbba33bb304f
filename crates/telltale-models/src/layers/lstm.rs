//! An LSTM layer with Keras's parameter layout (23,691 parameters for seed
//! 000's model, where burn-nn's LSTM has 23,891): one input kernel, one
//! recurrent kernel, one bias; the recurrence runs as one fused operation.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use super::init;
use crate::ops::lstm_recurrence;

/// Configuration of [`Lstm`].
#[derive(Config, Debug)]
pub struct LstmConfig {
    /// Input features per step.
    pub d_input: usize,
    /// Hidden units.
    pub d_hidden: usize,
}

/// An LSTM over a whole sequence, zero initial state, gates `i, f, g, o`.
#[derive(Module, Debug)]
pub struct Lstm {
    /// Input kernel `[d_input, 4·d_hidden]`.
    pub w_ih: Param<Tensor<2>>,
    /// Recurrent kernel `[d_hidden, 4·d_hidden]`.
    pub w_hh: Param<Tensor<2>>,
    /// Bias `[4·d_hidden]`.
    pub bias: Param<Tensor<1>>,
}

impl LstmConfig {
    /// The layer, initialised as Keras does (forget-gate bias 1).
    pub fn init(&self, device: &Device) -> Lstm {
        let (i, h) = (self.d_input, self.d_hidden);
        let mut b = vec![0.0; 4 * h];
        b[h..2 * h].fill(1.0);
        Lstm {
            w_ih: init::dense(i, 4 * h, device),
            w_hh: init::orthogonal(h, 4 * h, device),
            bias: init::bias(b, device),
        }
    }
}

impl Lstm {
    /// Hidden states of every step.
    ///
    /// # Shapes
    /// `[batch, time, d_input]` → `[batch, time, d_hidden]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, i] = x.dims();
        let g = self.bias.dims()[0];
        let proj = x.reshape([b * t, i]).matmul(self.w_ih.val()) + self.bias.val().unsqueeze::<2>();
        lstm_recurrence(proj.reshape([b, t, g]), self.w_hh.val())
    }

    /// The last hidden state.
    ///
    /// # Shapes
    /// `[batch, time, d_input]` → `[batch, d_hidden]`
    pub fn last(&self, x: Tensor<3>) -> Tensor<2> {
        last_step(self.forward(x))
    }
}

/// The last step of a `[batch, time, width]` sequence, as `[batch, width]`.
pub fn last_step(seq: Tensor<3>) -> Tensor<2> {
    let [b, t, w] = seq.dims();
    seq.slice([0..b, t - 1..t, 0..w]).reshape([b, w])
}
