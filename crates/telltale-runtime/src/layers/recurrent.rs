//! LSTM (Keras layout: gates i, f, g, o; one bias) and GRU (Keras's
//! `reset_after`: gates z, r, n; input and recurrent biases).
//!
//! The input projection of every step is one matrix product; each step then
//! adds `h·U` in place, and one pass applies the gate non-linearities.
//! Both keep a stream's state in a flat slice ([`Lstm::state_len`] floats) so a stream can carry it
//! from one reading to the next.

use alloc::vec::Vec;

use crate::act::{sigmoid, tanh};
use crate::gemm::{Init, Matrix, gemm, gemm_reversed};
use crate::simd::Simd;

/// An LSTM layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Lstm {
    /// Input kernel `[d_input, 4·hidden]`.
    pub w_ih: Matrix,
    /// Recurrent kernel `[hidden, 4·hidden]`.
    pub w_hh: Matrix,
    /// Bias `4·hidden`, padded.
    pub bias: Vec<f32>,
    /// Output every step (`false`: the last only).
    pub sequence: bool,
}

/// A GRU layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Gru {
    /// Input kernel `[d_input, 3·hidden]`.
    pub w_ih: Matrix,
    /// Recurrent kernel `[hidden, 3·hidden]`.
    pub w_hh: Matrix,
    /// Input bias, padded.
    pub b_ih: Vec<f32>,
    /// Recurrent bias, padded.
    pub b_hh: Vec<f32>,
    /// Output every step (`false`: the last only).
    pub sequence: bool,
}

/// Lanes the cell updates work in: states are kept padded to a multiple of this, so every pass is whole vectors.
const LANES: usize = 16;

/// `h` rounded up to whole [`LANES`].
fn padded(h: usize) -> usize {
    h.div_ceil(LANES) * LANES
}

/// One GRU cell update from the input part `x` and recurrent part `r` (z, r, n blocks).
#[inline(always)]
fn gru_cell(x: &[f32], r: &[f32], hs: &mut [f32]) {
    let h = hs.len();
    for j in 0..h {
        let z = sigmoid(x[j] + r[j]);
        let reset = sigmoid(x[h + j] + r[h + j]);
        let n = tanh(x[2 * h + j] + reset * r[2 * h + j]);
        hs[j] = z * hs[j] + (1.0 - z) * n;
    }
}

impl Lstm {
    /// Hidden units.
    pub fn hidden(&self) -> usize {
        self.w_hh.k
    }

    /// Scratch floats for `b` windows of `t` steps.
    pub fn scratch(&self, b: usize, t: usize) -> usize {
        b * t * self.w_ih.n + LANES + 2 * b * padded(self.hidden())
    }

    /// `[b, t, d_input]` → `[b, t, hidden]` (or `[b, 1, hidden]`), zero initial state.
    #[inline(always)]
    pub fn forward<S: Simd>(&self, b: usize, t: usize, x: &[f32], out: &mut [f32], scratch: &mut [f32]) {
        let (h, g) = (self.hidden(), self.w_ih.n);
        let hp = padded(h);
        // The projections, and a tail so the last step's padded gate lanes stay in bounds.
        let (xp, rest) = scratch.split_at_mut(b * t * g + LANES);
        let (hs, rest) = rest.split_at_mut(b * hp);
        let cs = &mut rest[..b * hp];
        gemm::<S>(b * t, x, self.w_ih.k, &self.w_ih, xp, g, Init::Bias(&self.bias));
        hs.fill(0.0);
        cs.fill(0.0);
        for s in 0..t {
            if s % 2 == 1 {
                gemm_reversed::<S>(b, hs, hp, &self.w_hh, &mut xp[s * g..], t * g, Init::Accumulate);
            } else if s > 0 {
                gemm::<S>(b, hs, hp, &self.w_hh, &mut xp[s * g..], t * g, Init::Accumulate);
            }
            for i in 0..b {
                let z = &xp[(i * t + s) * g..(i * t + s) * g + 3 * h + hp];
                let (c, hi) = (&mut cs[i * hp..(i + 1) * hp], &mut hs[i * hp..(i + 1) * hp]);
                crate::vmath::lstm_cell::<S>(z, h, c, hi);
                if self.sequence {
                    out[(i * t + s) * h..(i * t + s + 1) * h].copy_from_slice(&hi[..h]);
                }
            }
        }
        if !self.sequence {
            for i in 0..b {
                out[i * h..(i + 1) * h].copy_from_slice(&hs[i * hp..i * hp + h]);
            }
        }
    }

    /// Floats of a stream's state (`h` then `c`, padded).
    pub fn state_len(&self) -> usize {
        2 * padded(self.hidden())
    }

    /// One step of a stream: `x` is one reading's input, `state` ([`Lstm::state_len`], zeros at the start)
    /// is updated and its first `hidden` values are the output. `scratch` holds `4·hidden + 16` floats.
    #[inline(always)]
    pub fn step<S: Simd>(&self, x: &[f32], state: &mut [f32], scratch: &mut [f32]) {
        let (h, g) = (self.hidden(), self.w_ih.n);
        let hp = padded(h);
        let z = &mut scratch[..g + LANES];
        gemm::<S>(1, x, self.w_ih.k, &self.w_ih, z, g, Init::Bias(&self.bias));
        let (hs, cs) = state.split_at_mut(hp);
        gemm::<S>(1, hs, hp, &self.w_hh, z, g, Init::Accumulate);
        crate::vmath::lstm_cell::<S>(&z[..3 * h + hp], h, &mut cs[..hp], hs);
    }
}

impl Gru {
    /// Hidden units.
    pub fn hidden(&self) -> usize {
        self.w_hh.k
    }

    /// Scratch floats for `b` windows of `t` steps.
    pub fn scratch(&self, b: usize, t: usize) -> usize {
        b * t * self.w_ih.n + b * self.w_hh.n + b * self.hidden()
    }

    /// `[b, t, d_input]` → `[b, t, hidden]` (or `[b, 1, hidden]`), zero initial state.
    #[inline(always)]
    pub fn forward<S: Simd>(&self, b: usize, t: usize, x: &[f32], out: &mut [f32], scratch: &mut [f32]) {
        let (h, g) = (self.hidden(), self.w_ih.n);
        let (xp, rest) = scratch.split_at_mut(b * t * g);
        let (rp, rest) = rest.split_at_mut(b * g);
        let hs = &mut rest[..b * h];
        gemm::<S>(b * t, x, self.w_ih.k, &self.w_ih, xp, g, Init::Bias(&self.b_ih));
        hs.fill(0.0);
        for s in 0..t {
            if s % 2 == 1 {
                gemm_reversed::<S>(b, hs, h, &self.w_hh, rp, g, Init::Bias(&self.b_hh));
            } else {
                gemm::<S>(b, hs, h, &self.w_hh, rp, g, Init::Bias(&self.b_hh));
            }
            for i in 0..b {
                let xs = &xp[(i * t + s) * g..(i * t + s + 1) * g];
                gru_cell(xs, &rp[i * g..(i + 1) * g], &mut hs[i * h..(i + 1) * h]);
                if self.sequence {
                    out[(i * t + s) * h..(i * t + s + 1) * h].copy_from_slice(&hs[i * h..(i + 1) * h]);
                }
            }
        }
        if !self.sequence {
            out[..b * h].copy_from_slice(hs);
        }
    }

    /// One step of a stream: `x` is one reading's input, `state` holds `h` and is updated.
    #[inline(always)]
    pub fn step<S: Simd>(&self, x: &[f32], state: &mut [f32], scratch: &mut [f32]) {
        let (h, g) = (self.hidden(), self.w_ih.n);
        let (xz, rest) = scratch.split_at_mut(g);
        let rz = &mut rest[..g];
        gemm::<S>(1, x, self.w_ih.k, &self.w_ih, xz, g, Init::Bias(&self.b_ih));
        gemm::<S>(1, state, h, &self.w_hh, rz, g, Init::Bias(&self.b_hh));
        gru_cell(xz, rz, &mut state[..h]);
    }
}
