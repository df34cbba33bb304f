//! 1-D convolutions over time, channels last: the fused convolution block
//! (valid or dilated causal, strided, with "same" padding; bias, ReLU,
//! max-pooling) and the transposed convolution of the autoencoder.

use alloc::vec::Vec;

use super::dense::relu;
use crate::gemm::{Init, Matrix, gemm};
use crate::simd::Simd;

/// Convolution, bias, ReLU and max-pooling.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    /// Kernel `[kernel·channels, filters]`, row `tap·channels + channel`.
    pub w: Matrix,
    /// Bias, padded.
    pub bias: Vec<f32>,
    /// Taps.
    pub kernel: usize,
    /// Input channels.
    pub channels: usize,
    /// Step between outputs.
    pub stride: usize,
    /// Step between taps.
    pub dilation: usize,
    /// Zero steps before the input.
    pub pad_left: usize,
    /// Zero steps after the input.
    pub pad_right: usize,
    /// Max-pool size (1: none).
    pub pool: usize,
    /// ReLU after.
    pub relu: bool,
}

impl Conv {
    /// Convolution outputs before pooling for `t` input steps (`None`: too short).
    pub fn conv_steps(&self, t: usize) -> Option<usize> {
        let span = (self.kernel - 1) * self.dilation + 1;
        (t + self.pad_left + self.pad_right).checked_sub(span).map(|v| v / self.stride + 1)
    }

    /// Output steps for `t` input steps.
    pub fn output_steps(&self, t: usize) -> Option<usize> {
        self.conv_steps(t).map(|s| s / self.pool).filter(|&s| s > 0)
    }

    /// Output `(steps, filters)` for `t` steps of `c` channels, `None` when they do not fit.
    pub fn output_shape(&self, t: usize, c: usize) -> Option<(usize, usize)> {
        (c == self.channels && self.w.k == self.kernel * c).then_some(())?;
        Some((self.output_steps(t)?, self.w.n))
    }

    fn contiguous(&self) -> bool {
        self.stride == 1 && self.dilation == 1 && self.pad_left == 0 && self.pad_right == 0
    }

    /// Scratch floats for `b` windows of `t` steps.
    pub fn scratch(&self, b: usize, t: usize) -> usize {
        let tc = self.conv_steps(t).unwrap_or(0);
        let cols = if self.contiguous() { 0 } else { b * tc * self.w.k };
        let z = if self.pool > 1 { b * tc * self.w.n } else { 0 };
        cols + z
    }

    /// `[b, t, channels]` → `[b, output_steps(t), filters]`.
    #[inline(always)]
    pub fn forward<S: Simd>(&self, b: usize, t: usize, x: &[f32], out: &mut [f32], scratch: &mut [f32]) {
        let (f, kc) = (self.w.n, self.w.k);
        let Some(tc) = self.conv_steps(t) else { return };
        let (cols, rest) = scratch.split_at_mut(if self.contiguous() { 0 } else { b * tc * kc });
        if self.pool == 1 {
            self.convolve::<S>(b, t, tc, x, cols, &mut out[..b * tc * f]);
            if self.relu {
                relu(&mut out[..b * tc * f]);
            }
            return;
        }
        let z = &mut rest[..b * tc * f];
        self.convolve::<S>(b, t, tc, x, cols, z);
        let (p, tp) = (self.pool, tc / self.pool);
        let floor = if self.relu { 0.0 } else { f32::NEG_INFINITY };
        for i in 0..b {
            for s in 0..tp {
                let dst = &mut out[(i * tp + s) * f..(i * tp + s + 1) * f];
                dst.fill(floor);
                for q in 0..p {
                    let src = &z[(i * tc + s * p + q) * f..(i * tc + s * p + q + 1) * f];
                    for (d, &v) in dst.iter_mut().zip(src) {
                        *d = d.max(v);
                    }
                }
            }
        }
    }
}

impl Conv {
    /// Convolution and bias of `b` windows into `z` `[b, tc, filters]`; `cols` holds the unfolded input when the
    /// taps are not contiguous rows.
    #[inline(always)]
    fn convolve<S: Simd>(&self, b: usize, t: usize, tc: usize, x: &[f32], cols: &mut [f32], z: &mut [f32]) {
        let (c, f, kc) = (self.channels, self.w.n, self.w.k);
        if self.contiguous() {
            // The taps of output step s are input rows s..s+kernel: a matrix with row stride `c`.
            for i in 0..b {
                gemm::<S>(tc, &x[i * t * c..], c, &self.w, &mut z[i * tc * f..], f, Init::Bias(&self.bias));
            }
            return;
        }
        for i in 0..b {
            for s in 0..tc {
                let row = &mut cols[(i * tc + s) * kc..(i * tc + s + 1) * kc];
                for tap in 0..self.kernel {
                    let dst = &mut row[tap * c..(tap + 1) * c];
                    match (s * self.stride + tap * self.dilation).checked_sub(self.pad_left) {
                        Some(src) if src < t => dst.copy_from_slice(&x[(i * t + src) * c..(i * t + src + 1) * c]),
                        _ => dst.fill(0.0),
                    }
                }
            }
        }
        gemm::<S>(b * tc, cols, kc, &self.w, z, f, Init::Bias(&self.bias));
    }
}

/// Transposed convolution (stride, symmetric padding, extra output padding on the right).
#[derive(Debug, Clone, PartialEq)]
pub struct ConvTranspose {
    /// Kernel `[channels, kernel·filters]`, column `tap·filters + filter`.
    pub w: Matrix,
    /// Bias, `filters` values.
    pub bias: Vec<f32>,
    /// Taps.
    pub kernel: usize,
    /// Output channels.
    pub filters: usize,
    /// Output steps per input step.
    pub stride: usize,
    /// Steps removed at both ends.
    pub padding: usize,
    /// Steps added at the end.
    pub padding_out: usize,
    /// ReLU after.
    pub relu: bool,
}

impl ConvTranspose {
    /// Output steps for `t` input steps.
    pub fn output_steps(&self, t: usize) -> Option<usize> {
        ((t.max(1) - 1) * self.stride + self.kernel + self.padding_out).checked_sub(2 * self.padding).filter(|&s| s > 0)
    }

    /// Scratch floats for `b` windows of `t` steps.
    pub fn scratch(&self, b: usize, t: usize) -> usize {
        b * t * self.w.n
    }

    /// `[b, t, channels]` → `[b, output_steps(t), filters]`.
    #[inline(always)]
    pub fn forward<S: Simd>(&self, b: usize, t: usize, x: &[f32], out: &mut [f32], scratch: &mut [f32]) {
        let (c, f, kf) = (self.w.k, self.filters, self.w.n);
        let Some(to) = self.output_steps(t) else { return };
        let z = &mut scratch[..b * t * kf];
        gemm::<S>(b * t, x, c, &self.w, z, kf, Init::Zero);
        for i in 0..b {
            let y = &mut out[i * to * f..(i + 1) * to * f];
            for row in y.chunks_exact_mut(f) {
                row.copy_from_slice(&self.bias[..f]);
            }
            for ti in 0..t {
                for tap in 0..self.kernel {
                    let Some(o) = (ti * self.stride + tap).checked_sub(self.padding) else { continue };
                    if o >= to {
                        continue;
                    }
                    let src = &z[(i * t + ti) * kf + tap * f..(i * t + ti) * kf + (tap + 1) * f];
                    for (d, &v) in y[o * f..(o + 1) * f].iter_mut().zip(src) {
                        *d += v;
                    }
                }
            }
        }
        if self.relu {
            relu(&mut out[..b * to * f]);
        }
    }
}
