//! A GRU layer with Keras's layout (`reset_after=True`: the reset gate
//! applies after the recurrent product, with a separate recurrent bias).
//!
//! ```text
//! z = σ(x·Wz + bz + h·Uz + rz)     r = σ(x·Wr + br + h·Ur + rr)
//! n = tanh(x·Wn + bn + r ⊙ (h·Un + rn))     h' = z ⊙ h + (1 − z) ⊙ n
//! ```

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use super::init;

/// Configuration of [`Gru`].
#[derive(Config, Debug)]
pub struct GruConfig {
    /// Input features per step.
    pub d_input: usize,
    /// Hidden units.
    pub d_hidden: usize,
}

/// A GRU over a whole sequence, zero initial state, gates `z, r, n`.
#[derive(Module, Debug)]
pub struct Gru {
    /// Input kernel `[d_input, 3·d_hidden]`.
    pub w_ih: Param<Tensor<2>>,
    /// Recurrent kernel `[d_hidden, 3·d_hidden]`.
    pub w_hh: Param<Tensor<2>>,
    /// Input bias `[3·d_hidden]`.
    pub b_ih: Param<Tensor<1>>,
    /// Recurrent bias `[3·d_hidden]`.
    pub b_hh: Param<Tensor<1>>,
}

impl GruConfig {
    /// The layer, initialised as Keras does.
    pub fn init(&self, device: &Device) -> Gru {
        let (i, h) = (self.d_input, self.d_hidden);
        Gru {
            w_ih: init::dense(i, 3 * h, device),
            w_hh: init::orthogonal(h, 3 * h, device),
            b_ih: init::zeros(3 * h, device),
            b_hh: init::zeros(3 * h, device),
        }
    }
}

impl Gru {
    /// Hidden states of every step.
    ///
    /// # Shapes
    /// `[batch, time, d_input]` → `[batch, time, d_hidden]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, i] = x.dims();
        let g = self.b_ih.dims()[0];
        let h = g / 3;
        let proj =
            (x.reshape([b * t, i]).matmul(self.w_ih.val()) + self.b_ih.val().unsqueeze::<2>()).reshape([b, t, g]);
        let mut state = Tensor::<2>::zeros([b, h], &proj.device());
        let mut out = Vec::with_capacity(t);
        for s in 0..t {
            let xs = proj.clone().slice([0..b, s..s + 1, 0..g]).reshape([b, g]);
            let hs = state.clone().matmul(self.w_hh.val()) + self.b_hh.val().unsqueeze::<2>();
            let z = sigmoid(xs.clone().slice([0..b, 0..h]) + hs.clone().slice([0..b, 0..h]));
            let r = sigmoid(xs.clone().slice([0..b, h..2 * h]) + hs.clone().slice([0..b, h..2 * h]));
            let n = (xs.slice([0..b, 2 * h..3 * h]) + r * hs.slice([0..b, 2 * h..3 * h])).tanh();
            state = z.clone() * state + (z.neg() + 1.0) * n;
            out.push(state.clone().reshape([b, 1, h]));
        }
        Tensor::cat(out, 1)
    }
}
