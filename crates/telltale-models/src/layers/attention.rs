//! Attention over the steps of a sequence.
//!
//! - [`AdditiveAttention`] (seed 004's attention LSTM): `e_t = vᵀ·tanh(h_t·W + b)`,
//!   `α = softmax(e)`, context `Σ α_t·h_t`.
//! - [`QkvAttention`] (seed 003): query from the last state, keys and values
//!   from every step, scaled dot-product scores, softmax weights, context
//!   `Σ α_t·v_t`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::{sigmoid, softmax};
use burn::tensor::{Device, Tensor};

use super::init;
use super::lstm::last_step;

/// Configuration of [`AdditiveAttention`].
#[derive(Config, Debug)]
pub struct AdditiveAttentionConfig {
    /// Width of the attended sequence.
    pub d_model: usize,
    /// Width of the scoring layer.
    pub d_attention: usize,
}

/// Additive (Bahdanau) attention pooling.
#[derive(Module, Debug)]
pub struct AdditiveAttention {
    /// Scoring kernel `[d_model, d_attention]`.
    pub w: Param<Tensor<2>>,
    /// Scoring bias `[d_attention]`.
    pub b: Param<Tensor<1>>,
    /// Scoring vector `[d_attention, 1]`.
    pub v: Param<Tensor<2>>,
}

impl AdditiveAttentionConfig {
    /// The layer.
    pub fn init(&self, device: &Device) -> AdditiveAttention {
        AdditiveAttention {
            w: init::dense(self.d_model, self.d_attention, device),
            b: init::zeros(self.d_attention, device),
            v: init::dense(self.d_attention, 1, device),
        }
    }
}

impl AdditiveAttention {
    /// The context vector and the attention weights.
    ///
    /// # Shapes
    /// `[batch, time, d_model]` → (`[batch, d_model]`, `[batch, time]`)
    pub fn forward(&self, seq: Tensor<3>) -> (Tensor<2>, Tensor<2>) {
        let [b, t, d] = seq.dims();
        let z = seq.clone().reshape([b * t, d]).matmul(self.w.val()) + self.b.val().unsqueeze::<2>();
        // tanh(z) = 2·sigmoid(2z) − 1: the same values, and burn's CPU sigmoid is vectorised where its tanh is not.
        let e = sigmoid(z * 2.0) * 2.0 - 1.0;
        let scores = e.matmul(self.v.val()).reshape([b, t]);
        let alpha = softmax(scores, 1);
        let context = (seq * alpha.clone().reshape([b, t, 1])).sum_dim(1).reshape([b, d]);
        (context, alpha)
    }
}

/// Configuration of [`QkvAttention`].
#[derive(Config, Debug)]
pub struct QkvAttentionConfig {
    /// Width of the attended sequence.
    pub d_model: usize,
    /// Width of queries, keys and values.
    pub d_key: usize,
}

/// Query-key-value attention with the last step as the query.
#[derive(Module, Debug)]
pub struct QkvAttention {
    /// Query kernel `[d_model, d_key]`.
    pub wq: Param<Tensor<2>>,
    /// Key kernel `[d_model, d_key]`.
    pub wk: Param<Tensor<2>>,
    /// Value kernel `[d_model, d_key]`.
    pub wv: Param<Tensor<2>>,
}

impl QkvAttentionConfig {
    /// The layer.
    pub fn init(&self, device: &Device) -> QkvAttention {
        let (d, k) = (self.d_model, self.d_key);
        QkvAttention { wq: init::dense(d, k, device), wk: init::dense(d, k, device), wv: init::dense(d, k, device) }
    }
}

impl QkvAttention {
    /// The context vector and the attention weights.
    ///
    /// # Shapes
    /// `[batch, time, d_model]` → (`[batch, d_key]`, `[batch, time]`)
    pub fn forward(&self, seq: Tensor<3>) -> (Tensor<2>, Tensor<2>) {
        let [b, t, d] = seq.dims();
        let k_dim = self.wq.dims()[1];
        let q = last_step(seq.clone()).matmul(self.wq.val()); // [b, k]
        let flat = seq.reshape([b * t, d]);
        let keys = flat.clone().matmul(self.wk.val()).reshape([b, t, k_dim]);
        let values = flat.matmul(self.wv.val()).reshape([b, t, k_dim]);
        let scores = keys.matmul(q.reshape([b, k_dim, 1])).reshape([b, t]) / (k_dim as f64).sqrt();
        let alpha = softmax(scores, 1);
        let context = (values * alpha.clone().reshape([b, t, 1])).sum_dim(1).reshape([b, k_dim]);
        (context, alpha)
    }
}
