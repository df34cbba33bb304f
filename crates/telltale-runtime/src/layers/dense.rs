//! Dense layers over the last dimension, and the layers that only move
//! values (last step, repeat, crop, flatten).

use alloc::vec::Vec;

use crate::gemm::{Init, Matrix, gemm};
use crate::simd::Simd;

/// `x·W + b` over the last dimension, optionally followed by ReLU.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// Kernel `[d_input, d_output]`.
    pub w: Matrix,
    /// Bias, padded.
    pub bias: Vec<f32>,
    /// ReLU after.
    pub relu: bool,
}

impl Dense {
    /// Runs over `rows` rows of `x` into `out`.
    #[inline(always)]
    pub fn forward<S: Simd>(&self, rows: usize, x: &[f32], out: &mut [f32]) {
        let n = self.w.n;
        gemm::<S>(rows, x, self.w.k, &self.w, out, n, Init::Bias(&self.bias));
        if self.relu {
            relu(&mut out[..rows * n]);
        }
    }
}

/// `max(x, 0)` in place.
#[inline(always)]
pub fn relu(x: &mut [f32]) {
    for v in x {
        *v = v.max(0.0);
    }
}

/// The last of `t` steps of each of `b` windows of width `c`.
#[inline(always)]
pub fn last_step(b: usize, t: usize, c: usize, x: &[f32], out: &mut [f32]) {
    for i in 0..b {
        out[i * c..(i + 1) * c].copy_from_slice(&x[((i * t) + t - 1) * c..(i * t + t) * c]);
    }
}

/// Each window's single row, repeated `steps` times.
#[inline(always)]
pub fn repeat(b: usize, c: usize, steps: usize, x: &[f32], out: &mut [f32]) {
    for i in 0..b {
        let row = &x[i * c..(i + 1) * c];
        for s in 0..steps {
            out[(i * steps + s) * c..(i * steps + s + 1) * c].copy_from_slice(row);
        }
    }
}

/// The first `steps` of `t` steps of each window.
#[inline(always)]
pub fn crop(b: usize, t: usize, c: usize, steps: usize, x: &[f32], out: &mut [f32]) {
    for i in 0..b {
        out[i * steps * c..(i + 1) * steps * c].copy_from_slice(&x[i * t * c..(i * t + steps) * c]);
    }
}
