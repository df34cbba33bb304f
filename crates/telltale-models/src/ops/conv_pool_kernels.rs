//! The 1-D convolution block of the seed models as one kernel: a
//! convolution over time, bias, ReLU and max-pooling, channels last.
//!
//! With input `x` `[batch, T, C]`, weights `w` `[K·C, F]` (row `tap·C + c`),
//! bias `[F]`, dilation `d` and pool size `p`:
//! `z[b, t, f] = Σ x[b, src(t, tap), c]·w[tap·C + c, f] + bias[f]`, with
//! `src = t + tap·d` for `t < Tc = T − (K − 1)·d` (valid), or, causal,
//! `src = t − (K − 1 − tap)·d` (zero before the first step) for `t < Tc = T`;
//! then `y[b, u, f] = max(0, max_j z[b, u·p + j, f])` for `u < Tc / p` (the
//! tail that does not fill a pool window is dropped, as Keras's
//! `MaxPooling1D` does). ReLU and max commute, so this is Keras's
//! `Conv1D(activation="relu")` followed by `MaxPooling1D(p)`; causal and
//! dilated with `p = 1`, it is a TCN's convolution.
//!
//! Channels last, the unfolded input ("im2col") is built by copying runs of
//! `C` values (one run of `K·C` when the taps are consecutive), and the
//! convolution is one matrix product.

#![allow(unsafe_code)]

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, BoolDType, Flex, FloatDType, Scalar, Shape, Slice, TensorMetadata};

use super::flex::{all_f32, dims3, matmul, tensor, values};
use super::prim::range;

/// The shape of the convolution: pooling, dilation, causal padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Max-pool size (1: none).
    pub pool: usize,
    /// Dilation (1: consecutive steps).
    pub dilation: usize,
    /// Pad the start with zeros so that output step t sees input steps ≤ t.
    pub causal: bool,
}

impl Geometry {
    /// Convolution output steps for `t_in` input steps and kernel `k`.
    pub fn conv_steps(&self, t_in: usize, k: usize) -> usize {
        if self.causal { t_in } else { t_in.saturating_sub((k.max(1) - 1) * self.dilation) }
    }

    /// Block output steps (after pooling).
    pub fn output_steps(&self, t_in: usize, k: usize) -> usize {
        self.conv_steps(t_in, k) / self.pool.max(1)
    }

    /// Input step read by output step `t` through tap `tap` (`None`: causal zero padding).
    fn source(&self, t: usize, tap: usize, k: usize) -> Option<usize> {
        if self.causal {
            (t + tap * self.dilation).checked_sub((k - 1) * self.dilation)
        } else {
            Some(t + tap * self.dilation)
        }
    }
}

/// What the backward pass needs from the forward pass.
#[derive(Debug, Clone)]
pub struct ConvPoolCache<B: Backend> {
    /// The unfolded input `[batch·Tc, K·C]`.
    pub cols: FloatTensor<B>,
    /// Convolution outputs before ReLU and pooling `[batch, Tc, F]`.
    pub z: FloatTensor<B>,
    /// Input time steps `T`.
    pub t_in: usize,
    /// Input channels.
    pub channels: usize,
    /// Pooling, dilation, padding.
    pub geometry: Geometry,
}

/// Forward and backward kernels of the convolution block.
///
/// # Shapes
/// - `x`: `[batch, T, C]`; `w`: `[K·C, F]`; `bias`: `[F]`
/// - output: `[batch, Tc / pool, F]`
pub trait ConvPoolKernels: Backend {
    /// The block's output and what backward needs.
    fn conv_pool_forward(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: Geometry,
    ) -> (FloatTensor<Self>, ConvPoolCache<Self>) {
        generic_forward::<Self>(x, w, bias, geometry)
    }

    /// Gradients of the input (when `need_dx`), the weights and the bias.
    fn conv_pool_backward(
        cache: ConvPoolCache<Self>,
        y: FloatTensor<Self>,
        w: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
        need_dx: bool,
    ) -> (Option<FloatTensor<Self>>, FloatTensor<Self>, FloatTensor<Self>) {
        generic_backward::<Self>(cache, y, w, grad_y, need_dx)
    }
}

/// The forward pass from burn primitives.
pub fn generic_forward<B: Backend>(
    x: FloatTensor<B>,
    w: FloatTensor<B>,
    bias: FloatTensor<B>,
    geometry: Geometry,
) -> (FloatTensor<B>, ConvPoolCache<B>) {
    let [b, t, c] = dims3(&x.shape());
    let (kc, f) = (w.shape()[0], w.shape()[1]);
    let k = kc / c;
    let (pool, d) = (geometry.pool, geometry.dilation);
    let tc = geometry.conv_steps(t, k);
    let tp = tc / pool;
    let dtype = FloatDType::from(x.dtype());
    let padded = if geometry.causal && k > 1 {
        B::float_cat(vec![B::float_zeros(Shape::new([b, (k - 1) * d, c]), &x.device(), dtype), x], 1)
    } else {
        x
    };
    let taps = (0..k)
        .map(|tap| B::float_slice(padded.clone(), &[Slice::full(), range(tap * d, tap * d + tc), Slice::full()]))
        .collect();
    let cols = B::float_reshape(B::float_cat(taps, 2), Shape::new([b * tc, kc]));
    let bias = B::float_expand(B::float_reshape(bias, Shape::new([1, f])), Shape::new([b * tc, f]));
    let z = B::float_reshape(B::float_add(B::float_matmul(cols.clone(), w), bias), Shape::new([b, tc, f]));
    let pooled = B::float_reshape(
        B::float_slice(z.clone(), &[Slice::full(), range(0, tp * pool), Slice::full()]),
        Shape::new([b, tp, pool, f]),
    );
    let y = B::relu(B::float_reshape(B::float_max_dim(pooled, 2), Shape::new([b, tp, f])));
    (y, ConvPoolCache { cols, z, t_in: t, channels: c, geometry })
}

/// The backward pass from burn primitives. Where several steps of a pool
/// window tie for the maximum, each receives the gradient (the fast kernel
/// gives it to the first, as the forward maximum is taken).
pub fn generic_backward<B: Backend>(
    cache: ConvPoolCache<B>,
    y: FloatTensor<B>,
    w: FloatTensor<B>,
    grad_y: FloatTensor<B>,
    need_dx: bool,
) -> (Option<FloatTensor<B>>, FloatTensor<B>, FloatTensor<B>) {
    let [b, tc, f] = dims3(&cache.z.shape());
    let (g, c, t) = (cache.geometry, cache.channels, cache.t_in);
    let p = g.pool;
    let tp = tc / p;
    let kc = w.shape()[0];
    let dtype = FloatDType::from(cache.z.dtype());
    let device = cache.z.device();
    let win = B::float_reshape(
        B::float_slice(cache.z, &[Slice::full(), range(0, tp * p), Slice::full()]),
        Shape::new([b, tp, p, f]),
    );
    let max = B::float_expand(B::float_max_dim(win.clone(), 2), Shape::new([b, tp, p, f]));
    let winners = B::bool_into_float(B::float_equal(win, max, BoolDType::Native), dtype);
    let alive = B::bool_into_float(B::float_greater_elem(y, Scalar::Float(0.0), BoolDType::Native), dtype);
    let gy = B::float_reshape(B::float_mul(grad_y, alive), Shape::new([b, tp, 1, f]));
    let dz = B::float_reshape(
        B::float_mul(B::float_expand(gy, Shape::new([b, tp, p, f])), winners),
        Shape::new([b, tp * p, f]),
    );
    let dz = if tp * p < tc {
        B::float_cat(vec![dz, B::float_zeros(Shape::new([b, tc - tp * p, f]), &device, dtype)], 1)
    } else {
        dz
    };
    let dz = B::float_reshape(dz, Shape::new([b * tc, f]));
    let dw = B::float_matmul(B::float_transpose(cache.cols), dz.clone());
    let db = B::float_reshape(B::float_sum_dim(dz.clone(), 0), Shape::new([f]));
    let dx = need_dx.then(|| {
        let k = kc / c;
        let pad = if g.causal { (k - 1) * g.dilation } else { 0 };
        let dcols = B::float_reshape(B::float_matmul(dz, B::float_transpose(w)), Shape::new([b, tc, kc]));
        // Gradients of the (causally padded) input: tap j read its steps j·d .. j·d + Tc.
        let tpad = t + pad;
        let mut dx = B::float_zeros(Shape::new([b, tpad, c]), &device, dtype);
        for tap in 0..k {
            let at = tap * g.dilation;
            let mut parts = Vec::with_capacity(3);
            if at > 0 {
                parts.push(B::float_zeros(Shape::new([b, at, c]), &device, dtype));
            }
            parts.push(B::float_slice(dcols.clone(), &[Slice::full(), Slice::full(), range(tap * c, (tap + 1) * c)]));
            if tpad > at + tc {
                parts.push(B::float_zeros(Shape::new([b, tpad - at - tc, c]), &device, dtype));
            }
            dx = B::float_add(dx, B::float_cat(parts, 1));
        }
        if pad > 0 { B::float_slice(dx, &[Slice::full(), range(pad, tpad), Slice::full()]) } else { dx }
    });
    (dx, dw, db)
}

/// Whether the big products are worth the thread pool.
fn parallel(rows: usize, f: usize, kc: usize) -> bool {
    rows * f * kc > 1 << 20
}

impl ConvPoolKernels for Flex {
    fn conv_pool_forward(
        x: FlexTensor,
        w: FlexTensor,
        bias: FlexTensor,
        geometry: Geometry,
    ) -> (FlexTensor, ConvPoolCache<Flex>) {
        if !all_f32(&[&x, &w, &bias]) {
            return generic_forward::<Flex>(x, w, bias, geometry);
        }
        let [b, t, c] = dims3(&x.shape());
        let (kc, f) = (w.shape()[0], w.shape()[1]);
        let k = kc / c;
        let pool = geometry.pool;
        let tc = geometry.conv_steps(t, k);
        let tp = tc / pool;
        let (xv, wv, bv) = (values(&x), values(&w), values(&bias));
        let rows = b * tc;
        let mut cols = vec![0f32; rows * kc];
        let consecutive = geometry.dilation == 1 && !geometry.causal;
        for bi in 0..b {
            for ti in 0..tc {
                let row = &mut cols[(bi * tc + ti) * kc..(bi * tc + ti + 1) * kc];
                if consecutive {
                    let src = (bi * t + ti) * c;
                    row.copy_from_slice(&xv[src..src + kc]);
                    continue;
                }
                for tap in 0..k {
                    if let Some(s) = geometry.source(ti, tap, k) {
                        let src = (bi * t + s) * c;
                        row[tap * c..(tap + 1) * c].copy_from_slice(&xv[src..src + c]);
                    }
                }
            }
        }
        let mut z = vec![0f32; rows * f];
        for row in z.chunks_exact_mut(f) {
            row.copy_from_slice(&bv);
        }
        // SAFETY: cols is [rows, kc], w is [kc, f], z is [rows, f], all row-major.
        unsafe {
            matmul(
                (rows, f, kc),
                z.as_mut_ptr(),
                f,
                true,
                cols.as_ptr(),
                (kc, 1),
                wv.as_ptr(),
                (f, 1),
                parallel(rows, f, kc),
            );
        }
        let mut y = vec![0f32; b * tp * f];
        for bi in 0..b {
            for u in 0..tp {
                let out = &mut y[(bi * tp + u) * f..(bi * tp + u + 1) * f];
                out.fill(0.0);
                for j in 0..pool {
                    let zr = &z[(bi * tc + u * pool + j) * f..(bi * tc + u * pool + j + 1) * f];
                    out.iter_mut().zip(zr).for_each(|(o, &v)| *o = o.max(v));
                }
            }
        }
        let cache =
            ConvPoolCache { cols: tensor(cols, [rows, kc]), z: tensor(z, [b, tc, f]), t_in: t, channels: c, geometry };
        (tensor(y, [b, tp, f]), cache)
    }

    fn conv_pool_backward(
        cache: ConvPoolCache<Flex>,
        y: FlexTensor,
        w: FlexTensor,
        grad_y: FlexTensor,
        need_dx: bool,
    ) -> (Option<FlexTensor>, FlexTensor, FlexTensor) {
        if !all_f32(&[&cache.z, &y, &w, &grad_y]) {
            return generic_backward::<Flex>(cache, y, w, grad_y, need_dx);
        }
        let [b, tc, f] = dims3(&cache.z.shape());
        let (g, c, t) = (cache.geometry, cache.channels, cache.t_in);
        let p = g.pool;
        let tp = tc / p;
        let kc = w.shape()[0];
        let k = kc / c;
        let rows = b * tc;
        let (z, yv, gy, cols, wv) = (values(&cache.z), values(&y), values(&grad_y), values(&cache.cols), values(&w));
        // The gradient reaches the first step holding each window's maximum, where it was positive.
        let mut dz = vec![0f32; rows * f];
        let mut best = vec![0f32; f];
        let mut arg = vec![0u32; f];
        for bi in 0..b {
            for u in 0..tp {
                let at = (bi * tp + u) * f;
                let base = bi * tc + u * p;
                best.copy_from_slice(&z[base * f..(base + 1) * f]);
                arg.fill(0);
                for j in 1..p {
                    let zr = &z[(base + j) * f..(base + j + 1) * f];
                    for ((bv, a), &v) in best.iter_mut().zip(arg.iter_mut()).zip(zr) {
                        let better = v > *bv;
                        *bv = if better { v } else { *bv };
                        *a = if better { j as u32 } else { *a };
                    }
                }
                let (yr, gr) = (&yv[at..at + f], &gy[at..at + f]);
                for j in 0..p {
                    let dr = &mut dz[(base + j) * f..(base + j + 1) * f];
                    for (((d, &a), &yy), &g) in dr.iter_mut().zip(&arg).zip(yr).zip(gr) {
                        *d = if a == j as u32 && yy > 0.0 { g } else { 0.0 };
                    }
                }
            }
        }
        let mut dw = vec![0f32; kc * f];
        // SAFETY: cols is [rows, kc] read transposed (row stride 1, column stride kc); dz is [rows, f].
        unsafe {
            matmul(
                (kc, f, rows),
                dw.as_mut_ptr(),
                f,
                false,
                cols.as_ptr(),
                (1, kc),
                dz.as_ptr(),
                (f, 1),
                parallel(rows, f, kc),
            );
        }
        let mut db = vec![0f32; f];
        for row in dz.chunks_exact(f) {
            db.iter_mut().zip(row).for_each(|(d, v)| *d += v);
        }
        let dx = need_dx.then(|| {
            let mut dcols = vec![0f32; rows * kc];
            // SAFETY: dz is [rows, f]; w is [kc, f] read transposed (row stride 1, column stride f).
            unsafe {
                matmul(
                    (rows, kc, f),
                    dcols.as_mut_ptr(),
                    kc,
                    false,
                    dz.as_ptr(),
                    (f, 1),
                    wv.as_ptr(),
                    (1, f),
                    parallel(rows, f, kc),
                );
            }
            let mut dx = vec![0f32; b * t * c];
            for bi in 0..b {
                for ti in 0..tc {
                    let row = &dcols[(bi * tc + ti) * kc..(bi * tc + ti + 1) * kc];
                    for tap in 0..k {
                        if let Some(s) = g.source(ti, tap, k) {
                            let dst = (bi * t + s) * c;
                            dx[dst..dst + c].iter_mut().zip(&row[tap * c..(tap + 1) * c]).for_each(|(d, v)| *d += v);
                        }
                    }
                }
            }
            tensor(dx, [b, t, c])
        });
        (dx, tensor(dw, [kc, f]), tensor(db, [f]))
    }
}
