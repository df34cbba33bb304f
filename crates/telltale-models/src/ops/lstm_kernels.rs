//! The LSTM recurrence as two kernels: the forward pass over a whole
//! sequence, and its backward pass (back-propagation through time).
//!
//! Gate order is Keras's: input, forget, cell candidate, output. The input
//! projection `x·W + b` of every step is computed before, as one matrix
//! product, so the recurrence only adds `h·U` per step.
//!
//! [`LstmKernels`] has a generic implementation from burn primitives, which
//! runs on any backend (a GPU among them). On the CPU backend `Flex` it is
//! replaced by plain loops over contiguous `f32` buffers: one matrix product
//! per step, the gate activations fused in one vectorised pass, and the batch
//! split over the CPU cores (the samples of a batch never interact).

#![allow(unsafe_code)]

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Flex, FloatDType, Shape, Slice, TensorMetadata};
use rayon::prelude::*;

use super::flex::{CHUNK_ROWS, all_f32, dims3, matmul, tensor, values};
use super::prim::{block, one_minus, range, stack, step};
use super::simd::simd_dispatch;
use telltale_runtime::act::{sigmoid, tanh};

/// What the backward pass needs from the forward pass.
#[derive(Debug, Clone)]
pub struct LstmCache<B: Backend> {
    /// Gate activations `[batch, time, 4·hidden]` (i, f, g, o after their non-linearity).
    pub acts: FloatTensor<B>,
    /// Cell states `[batch, time, hidden]`.
    pub c: FloatTensor<B>,
    /// Hidden states `[batch, time, hidden]`: the layer's output.
    pub h: FloatTensor<B>,
}

/// Forward and backward kernels of the LSTM recurrence.
///
/// # Shapes
/// - `xproj`: `[batch, time, 4·hidden]`, the input projection of every step
/// - `w_hh`: `[hidden, 4·hidden]`, the recurrent weights
/// - output `h`: `[batch, time, hidden]`
pub trait LstmKernels: Backend {
    /// The hidden states, without keeping what backward needs.
    fn lstm_forward(xproj: FloatTensor<Self>, w_hh: FloatTensor<Self>) -> FloatTensor<Self> {
        generic_forward::<Self>(xproj, w_hh).h
    }

    /// The hidden states and what backward needs.
    fn lstm_forward_train(xproj: FloatTensor<Self>, w_hh: FloatTensor<Self>) -> LstmCache<Self> {
        generic_forward::<Self>(xproj, w_hh)
    }

    /// Gradients of `xproj` and `w_hh` given the gradient of the hidden states.
    fn lstm_backward(
        cache: LstmCache<Self>,
        w_hh: FloatTensor<Self>,
        grad_h: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        generic_backward::<Self>(cache, w_hh, grad_h)
    }
}

/// The forward pass from burn primitives.
pub fn generic_forward<B: Backend>(xproj: FloatTensor<B>, w_hh: FloatTensor<B>) -> LstmCache<B> {
    let [b, t, g] = dims3(&xproj.shape());
    let h = g / 4;
    let device = xproj.device();
    let dtype = FloatDType::from(xproj.dtype());
    let mut hp = B::float_zeros(Shape::new([b, h]), &device, dtype);
    let mut cp = B::float_zeros(Shape::new([b, h]), &device, dtype);
    let (mut acts, mut cs, mut hs) = (Vec::with_capacity(t), Vec::with_capacity(t), Vec::with_capacity(t));
    for s in 0..t {
        let z = B::float_add(step::<B>(xproj.clone(), s), B::float_matmul(hp, w_hh.clone()));
        let i = B::sigmoid(block::<B>(&z, 0, h));
        let f = B::sigmoid(block::<B>(&z, 1, h));
        let c_hat = B::float_tanh(block::<B>(&z, 2, h));
        let o = B::sigmoid(block::<B>(&z, 3, h));
        cp = B::float_add(B::float_mul(f.clone(), cp), B::float_mul(i.clone(), c_hat.clone()));
        hp = B::float_mul(o.clone(), B::float_tanh(cp.clone()));
        acts.push(B::float_cat(vec![i, f, c_hat, o], 1));
        cs.push(cp.clone());
        hs.push(hp.clone());
    }
    LstmCache { acts: stack::<B>(acts), c: stack::<B>(cs), h: stack::<B>(hs) }
}

/// The backward pass from burn primitives.
pub fn generic_backward<B: Backend>(
    cache: LstmCache<B>,
    w_hh: FloatTensor<B>,
    grad_h: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let [b, t, g] = dims3(&cache.acts.shape());
    let h = g / 4;
    let device = cache.acts.device();
    let dtype = FloatDType::from(cache.acts.dtype());
    let w_t = B::float_transpose(w_hh);
    let mut dh_next = B::float_zeros(Shape::new([b, h]), &device, dtype);
    let mut dc_next = B::float_zeros(Shape::new([b, h]), &device, dtype);
    let mut d_steps = Vec::with_capacity(t);
    for s in (0..t).rev() {
        let a = step::<B>(cache.acts.clone(), s);
        let (i, f, c_hat, o) = (block::<B>(&a, 0, h), block::<B>(&a, 1, h), block::<B>(&a, 2, h), block::<B>(&a, 3, h));
        let c = step::<B>(cache.c.clone(), s);
        let c_prev =
            if s > 0 { step::<B>(cache.c.clone(), s - 1) } else { B::float_zeros(Shape::new([b, h]), &device, dtype) };
        let dh = B::float_add(step::<B>(grad_h.clone(), s), dh_next);
        let tc = B::float_tanh(c);
        let d_o = B::float_mul(dh.clone(), tc.clone());
        let dc = B::float_add(
            dc_next,
            B::float_mul(B::float_mul(dh, o.clone()), one_minus::<B>(B::float_mul(tc.clone(), tc))),
        );
        let di = B::float_mul(dc.clone(), c_hat.clone());
        let dg = B::float_mul(dc.clone(), i.clone());
        let df = B::float_mul(dc.clone(), c_prev);
        dc_next = B::float_mul(dc, f.clone());
        let sig_grad =
            |d: FloatTensor<B>, y: FloatTensor<B>| B::float_mul(d, B::float_mul(y.clone(), one_minus::<B>(y)));
        let da = B::float_cat(
            vec![
                sig_grad(di, i),
                sig_grad(df, f),
                B::float_mul(dg, one_minus::<B>(B::float_mul(c_hat.clone(), c_hat))),
                sig_grad(d_o, o),
            ],
            1,
        );
        dh_next = B::float_matmul(da.clone(), w_t.clone());
        d_steps.push(da);
    }
    d_steps.reverse();
    let dx = stack::<B>(d_steps);
    // dU = Σ_t h_{t-1}ᵀ · dA_t, as one product over all (sample, step) rows.
    let zeros = B::float_zeros(Shape::new([b, 1, h]), &device, dtype);
    let h_prev = if t > 1 {
        B::float_cat(vec![zeros, B::float_slice(cache.h, &[Slice::full(), range(0, t - 1), Slice::full()])], 1)
    } else {
        zeros
    };
    let h_prev = B::float_transpose(B::float_reshape(h_prev, Shape::new([b * t, h])));
    let dw = B::float_matmul(h_prev, B::float_reshape(dx.clone(), Shape::new([b * t, g])));
    (dx, dw)
}

#[derive(Clone, Copy)]
struct Dims {
    t: usize,
    hd: usize,
}

impl LstmKernels for Flex {
    fn lstm_forward(xproj: FloatTensor<Self>, w_hh: FloatTensor<Self>) -> FloatTensor<Self> {
        if !all_f32(&[&xproj, &w_hh]) {
            return generic_forward::<Self>(xproj, w_hh).h;
        }
        flex_forward(&xproj, &w_hh, false).h
    }

    fn lstm_forward_train(xproj: FloatTensor<Self>, w_hh: FloatTensor<Self>) -> LstmCache<Self> {
        if !all_f32(&[&xproj, &w_hh]) {
            return generic_forward::<Self>(xproj, w_hh);
        }
        flex_forward(&xproj, &w_hh, true)
    }

    fn lstm_backward(
        cache: LstmCache<Self>,
        w_hh: FloatTensor<Self>,
        grad_h: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        if !all_f32(&[&cache.acts, &w_hh, &grad_h]) {
            return generic_backward::<Self>(cache, w_hh, grad_h);
        }
        flex_backward(&cache, &w_hh, &grad_h)
    }
}

fn flex_forward(xproj: &FlexTensor, w_hh: &FlexTensor, train: bool) -> LstmCache<Flex> {
    let [b, t, g] = dims3(&xproj.shape());
    let hd = g / 4;
    let (x, w) = (values(xproj), values(w_hh));
    let mut h = vec![0f32; b * t * hd];
    let mut c = vec![0f32; if train { b * t * hd } else { 0 }];
    let mut acts = vec![0f32; if train { b * t * g } else { 0 }];
    let rows = CHUNK_ROWS;
    let dims = Dims { t, hd };
    if train {
        h.par_chunks_mut(rows * t * hd)
            .zip(c.par_chunks_mut(rows * t * hd))
            .zip(acts.par_chunks_mut(rows * t * g))
            .zip(x.par_chunks(rows * t * g))
            .for_each(|(((h, c), a), x)| forward_chunk(dims, x, &w, h, Some((c, a))));
    } else {
        h.par_chunks_mut(rows * t * hd)
            .zip(x.par_chunks(rows * t * g))
            .for_each(|(h, x)| forward_chunk(dims, x, &w, h, None));
    }
    let empty = || tensor(Vec::new(), [0, t, hd]);
    LstmCache {
        acts: if train { tensor(acts, [b, t, g]) } else { empty() },
        c: if train { tensor(c, [b, t, hd]) } else { empty() },
        h: tensor(h, [b, t, hd]),
    }
}

fn flex_backward(cache: &LstmCache<Flex>, w_hh: &FlexTensor, grad_h: &FlexTensor) -> (FlexTensor, FlexTensor) {
    let [b, t, g] = dims3(&cache.acts.shape());
    let hd = g / 4;
    let (acts, c, h, w, dh) = (values(&cache.acts), values(&cache.c), values(&cache.h), values(w_hh), values(grad_h));
    let mut dx = vec![0f32; b * t * g];
    let rows = CHUNK_ROWS;
    let dims = Dims { t, hd };
    let partial: Vec<Vec<f32>> = dx
        .par_chunks_mut(rows * t * g)
        .zip(acts.par_chunks(rows * t * g))
        .zip(c.par_chunks(rows * t * hd))
        .zip(h.par_chunks(rows * t * hd))
        .zip(dh.par_chunks(rows * t * hd))
        .map(|((((dx, a), c), h), dh)| backward_chunk(dims, a, c, h, &w, dh, dx))
        .collect();
    let mut dw = vec![0f32; hd * g];
    for p in partial {
        dw.iter_mut().zip(p).for_each(|(d, v)| *d += v);
    }
    (tensor(dx, [b, t, g]), tensor(dw, [hd, g]))
}

/// One chunk of samples, all steps. `x`: `[n, T, 4H]`; `h`: `[n, T, H]`;
/// `keep` = (cell states `[n, T, H]`, activations `[n, T, 4H]`) for training.
fn forward_chunk(d: Dims, x: &[f32], w: &[f32], h: &mut [f32], keep: Option<(&mut [f32], &mut [f32])>) {
    simd_dispatch!(forward_chunk_impl(d, x, w, h, keep))
}

#[inline(always)]
fn forward_chunk_impl(d: Dims, x: &[f32], w: &[f32], h: &mut [f32], mut keep: Option<(&mut [f32], &mut [f32])>) {
    let (t, hd) = (d.t, d.hd);
    let g = 4 * hd;
    let n = x.len() / (t * g);
    let mut gates = vec![0f32; n * g];
    let mut c_state = vec![0f32; n * hd];
    for s in 0..t {
        for r in 0..n {
            gates[r * g..(r + 1) * g].copy_from_slice(&x[(r * t + s) * g..(r * t + s + 1) * g]);
        }
        if s > 0 {
            // gates += h_{s-1} · U, reading h_{s-1} in place (row stride T·H).
            // SAFETY: rows r < n, columns < H of h at offset (r·T + s−1)·H, and the
            // [H, 4H] weights and [n, 4H] gates are all inside their buffers.
            unsafe {
                matmul(
                    (n, g, hd),
                    gates.as_mut_ptr(),
                    g,
                    true,
                    h.as_ptr().add((s - 1) * hd),
                    (t * hd, 1),
                    w.as_ptr(),
                    (g, 1),
                    false,
                );
            }
        }
        activate_gates(&mut gates, hd);
        for r in 0..n {
            let at = (r * t + s) * hd;
            let row = &gates[r * g..(r + 1) * g];
            let cs = &mut c_state[r * hd..(r + 1) * hd];
            cell_forward(row, cs, &mut h[at..at + hd]);
            if let Some((c, a)) = keep.as_mut() {
                c[at..at + hd].copy_from_slice(cs);
                a[(r * t + s) * g..(r * t + s + 1) * g].copy_from_slice(row);
            }
        }
    }
}

/// Applies the gate non-linearities to rows `[i f g o]` of width `4·hd`:
/// one sigmoid pass over the whole block, with `tanh(x) = 2·sigmoid(2x) − 1`
/// for the cell candidate `g`.
#[inline(always)]
fn activate_gates(gates: &mut [f32], hd: usize) {
    for row in gates.chunks_exact_mut(4 * hd) {
        row[2 * hd..3 * hd].iter_mut().for_each(|v| *v *= 2.0);
    }
    gates.iter_mut().for_each(|v| *v = sigmoid(*v));
    for row in gates.chunks_exact_mut(4 * hd) {
        row[2 * hd..3 * hd].iter_mut().for_each(|v| *v = 2.0 * *v - 1.0);
    }
}

/// Advances one sample's cell and hidden state from its activated gates.
#[inline(always)]
fn cell_forward(gates: &[f32], c: &mut [f32], h: &mut [f32]) {
    let hd = c.len();
    let (i, rest) = gates.split_at(hd);
    let (f, rest) = rest.split_at(hd);
    let (g, o) = rest.split_at(hd);
    for (((((i, f), g), o), c), h) in i.iter().zip(f).zip(g).zip(o).zip(c.iter_mut()).zip(h.iter_mut()) {
        *c = f * *c + i * g;
        *h = o * tanh(*c);
    }
}

/// Back-propagates one chunk of samples through all steps; returns this
/// chunk's share of dU `[H, 4H]`.
fn backward_chunk(d: Dims, acts: &[f32], c: &[f32], h: &[f32], w: &[f32], dh_out: &[f32], dx: &mut [f32]) -> Vec<f32> {
    simd_dispatch!(backward_chunk_impl(d, acts, c, h, w, dh_out, dx))
}

#[inline(always)]
fn backward_chunk_impl(
    d: Dims,
    acts: &[f32],
    c: &[f32],
    h: &[f32],
    w: &[f32],
    dh_out: &[f32],
    dx: &mut [f32],
) -> Vec<f32> {
    let (t, hd) = (d.t, d.hd);
    let g = 4 * hd;
    let n = acts.len() / (t * g);
    let mut dh_next = vec![0f32; n * hd];
    let mut dc_next = vec![0f32; n * hd];
    let zeros = vec![0f32; hd];
    for s in (0..t).rev() {
        for r in 0..n {
            let at = (r * t + s) * hd;
            let c_prev = if s > 0 { &c[at - hd..at] } else { &zeros[..] };
            cell_backward(
                &acts[(r * t + s) * g..(r * t + s + 1) * g],
                &c[at..at + hd],
                c_prev,
                &dh_out[at..at + hd],
                &dh_next[r * hd..(r + 1) * hd],
                &mut dc_next[r * hd..(r + 1) * hd],
                &mut dx[(r * t + s) * g..(r * t + s + 1) * g],
            );
        }
        if s > 0 {
            // dh_{s-1} = dA_s · Uᵀ; Uᵀ read in place (row stride 1, column stride 4H).
            // SAFETY: dx rows at offset (r·T + s)·4H hold 4H values; U is [H, 4H].
            unsafe {
                matmul(
                    (n, hd, g),
                    dh_next.as_mut_ptr(),
                    hd,
                    false,
                    dx.as_ptr().add(s * g),
                    (t * g, 1),
                    w.as_ptr(),
                    (1, g),
                    false,
                );
            }
        }
    }
    // dU = Σ h_{s-1}ᵀ · dA_s over samples and steps: one product over rows (r, s).
    let mut h_prev = vec![0f32; n * t * hd];
    for r in 0..n {
        for s in 1..t {
            let (dst, src) = ((r * t + s) * hd, (r * t + s - 1) * hd);
            h_prev[dst..dst + hd].copy_from_slice(&h[src..src + hd]);
        }
    }
    let mut dw = vec![0f32; hd * g];
    // SAFETY: h_prev is [n·T, H] (read transposed: row stride 1, column stride H),
    // dx is [n·T, 4H], dw is [H, 4H].
    unsafe {
        matmul((hd, g, n * t), dw.as_mut_ptr(), g, false, h_prev.as_ptr(), (1, hd), dx.as_ptr(), (g, 1), false);
    }
    dw
}

/// One sample, one step: from dh (output gradient + recurrent gradient) and
/// the carried dc, the pre-activation gate gradients `dx`; dc is updated to
/// the gradient of the previous cell state.
#[inline(always)]
fn cell_backward(
    a: &[f32],
    c: &[f32],
    c_prev: &[f32],
    dh_out: &[f32],
    dh_next: &[f32],
    dc: &mut [f32],
    dx: &mut [f32],
) {
    let hd = c.len();
    // Every slice re-cut to exactly `hd` so the loop runs without bounds checks.
    let (i, f, g, o) = (&a[..hd], &a[hd..2 * hd], &a[2 * hd..3 * hd], &a[3 * hd..4 * hd]);
    let (c, c_prev, dh_out, dh_next, dc) = (&c[..hd], &c_prev[..hd], &dh_out[..hd], &dh_next[..hd], &mut dc[..hd]);
    let (dxi, rest) = dx[..4 * hd].split_at_mut(hd);
    let (dxf, rest) = rest.split_at_mut(hd);
    let (dxg, dxo) = rest.split_at_mut(hd);
    for j in 0..hd {
        let dh = dh_out[j] + dh_next[j];
        let tc = tanh(c[j]);
        let d_o = dh * tc;
        let dcj = dc[j] + dh * o[j] * (1.0 - tc * tc);
        dxi[j] = dcj * g[j] * i[j] * (1.0 - i[j]);
        dxf[j] = dcj * c_prev[j] * f[j] * (1.0 - f[j]);
        dxg[j] = dcj * i[j] * (1.0 - g[j] * g[j]);
        dxo[j] = d_o * o[j] * (1.0 - o[j]);
        dc[j] = dcj * f[j];
    }
}
