//! Attention pooling over the steps of a sequence.
//!
//! - [`Additive`]: `e_t = vᵀ·tanh(h_t·W + b)`, `α = softmax(e)`, context `Σ α_t·h_t`.
//! - [`Qkv`]: the last step queries every step (scaled dot product), context
//!   `Σ α_t·v_t`, output the context followed by the last step.

use alloc::vec::Vec;

use crate::act::{exp, tanh};
use crate::gemm::{Init, Matrix, gemm};
use crate::simd::Simd;

/// Additive (Bahdanau) attention pooling.
#[derive(Debug, Clone, PartialEq)]
pub struct Additive {
    /// Scoring kernel `[d_model, d_attention]`.
    pub w: Matrix,
    /// Scoring bias, padded.
    pub b: Vec<f32>,
    /// Scoring vector `d_attention`.
    pub v: Vec<f32>,
}

/// Query/key/value attention with the last step as the query.
#[derive(Debug, Clone, PartialEq)]
pub struct Qkv {
    /// Query kernel `[d_model, d_key]`.
    pub wq: Matrix,
    /// Key and value kernels side by side `[d_model, 2·d_key]`.
    pub wkv: Matrix,
    /// `1 / √d_key`.
    pub scale: f32,
}

/// Softmax in place (largest value subtracted first).
#[inline(always)]
fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = exp(*v - max);
        sum += *v;
    }
    for v in x.iter_mut() {
        *v /= sum;
    }
}

impl Additive {
    /// Scratch floats for `b` windows of `t` steps.
    pub fn scratch(&self, b: usize, t: usize) -> usize {
        b * t * self.w.n + t
    }

    /// `[b, t, d_model]` → `[b, 1, d_model]`.
    #[inline(always)]
    pub fn forward<S: Simd>(&self, b: usize, t: usize, x: &[f32], out: &mut [f32], scratch: &mut [f32]) {
        let (d, a) = (self.w.k, self.w.n);
        let (z, rest) = scratch.split_at_mut(b * t * a);
        let scores = &mut rest[..t];
        gemm::<S>(b * t, x, d, &self.w, z, a, Init::Bias(&self.b));
        for i in 0..b {
            for (s, e) in scores.iter_mut().enumerate() {
                let row = &z[(i * t + s) * a..(i * t + s + 1) * a];
                *e = row.iter().zip(&self.v).map(|(&zj, &vj)| tanh(zj) * vj).sum();
            }
            softmax(scores);
            let ctx = &mut out[i * d..(i + 1) * d];
            ctx.fill(0.0);
            for (s, &alpha) in scores.iter().enumerate() {
                for (cj, &hj) in ctx.iter_mut().zip(&x[(i * t + s) * d..(i * t + s + 1) * d]) {
                    *cj += alpha * hj;
                }
            }
        }
    }
}

impl Qkv {
    /// Width of queries, keys and values.
    pub fn key(&self) -> usize {
        self.wq.n
    }

    /// Scratch floats for `b` windows of `t` steps.
    pub fn scratch(&self, b: usize, t: usize) -> usize {
        b * self.key() + b * t * self.wkv.n + t
    }

    /// `[b, t, d_model]` → `[b, 1, d_key + d_model]`.
    #[inline(always)]
    pub fn forward<S: Simd>(&self, b: usize, t: usize, x: &[f32], out: &mut [f32], scratch: &mut [f32]) {
        let (d, k) = (self.wq.k, self.key());
        let (q, rest) = scratch.split_at_mut(b * k);
        let (kv, rest) = rest.split_at_mut(b * t * 2 * k);
        let scores = &mut rest[..t];
        gemm::<S>(b, &x[(t - 1) * d..], t * d, &self.wq, q, k, Init::Zero);
        gemm::<S>(b * t, x, d, &self.wkv, kv, 2 * k, Init::Zero);
        let width = k + d;
        for i in 0..b {
            let qi = &q[i * k..(i + 1) * k];
            for (s, e) in scores.iter_mut().enumerate() {
                let keys = &kv[(i * t + s) * 2 * k..(i * t + s) * 2 * k + k];
                *e = keys.iter().zip(qi).map(|(a, b)| a * b).sum::<f32>() * self.scale;
            }
            softmax(scores);
            let o = &mut out[i * width..(i + 1) * width];
            let (ctx, last) = o.split_at_mut(k);
            ctx.fill(0.0);
            for (s, &alpha) in scores.iter().enumerate() {
                let values = &kv[(i * t + s) * 2 * k + k..(i * t + s + 1) * 2 * k];
                for (cj, &vj) in ctx.iter_mut().zip(values) {
                    *cj += alpha * vj;
                }
            }
            last.copy_from_slice(&x[(i * t + t - 1) * d..(i * t + t) * d]);
        }
    }
}
