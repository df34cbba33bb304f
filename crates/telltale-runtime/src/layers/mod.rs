//! The layers a network is a sequence of. Each maps `b` windows of
//! `[steps, width]` to `b` windows of a new shape, reading one buffer and
//! writing another, with scratch space sized when the session is made.

pub mod attention;
pub mod conv;
pub mod dense;
pub mod recurrent;

pub use attention::{Additive, Qkv};
pub use conv::{Conv, ConvTranspose};
pub use dense::Dense;
pub use recurrent::{Gru, Lstm};

use crate::simd::Simd;

/// A residual block of two dilated causal convolutions (TCN), with a dense
/// skip path where the widths differ; ReLU after the sum.
#[derive(Debug, Clone, PartialEq)]
pub struct TemporalBlock {
    /// First convolution (ReLU).
    pub conv1: Conv,
    /// Second convolution (ReLU).
    pub conv2: Conv,
    /// 1×1 convolution on the skip path.
    pub skip: Option<Dense>,
}

impl TemporalBlock {
    fn filters(&self) -> usize {
        self.conv2.w.n
    }

    /// Scratch floats for `b` windows of `t` steps.
    pub fn scratch(&self, b: usize, t: usize) -> usize {
        let f = self.filters();
        2 * b * t * f + self.conv1.scratch(b, t).max(self.conv2.scratch(b, t))
    }

    /// `[b, t, c]` → `[b, t, filters]`.
    #[inline(always)]
    pub fn forward<S: Simd>(&self, b: usize, t: usize, x: &[f32], out: &mut [f32], scratch: &mut [f32]) {
        let f = self.filters();
        let (y1, rest) = scratch.split_at_mut(b * t * f);
        let (skip, rest) = rest.split_at_mut(b * t * f);
        self.conv1.forward::<S>(b, t, x, y1, rest);
        self.conv2.forward::<S>(b, t, y1, out, rest);
        let skip: &[f32] = match &self.skip {
            Some(dense) => {
                dense.forward::<S>(b * t, x, skip);
                skip
            }
            None => &x[..b * t * f],
        };
        for (o, &s) in out[..b * t * f].iter_mut().zip(skip) {
            *o = (*o + s).max(0.0);
        }
    }
}

/// One layer of a network.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Layer {
    /// Convolution block.
    Conv(Conv),
    /// Transposed convolution.
    ConvTranspose(ConvTranspose),
    /// Dense layer over the last dimension.
    Dense(Dense),
    /// LSTM.
    Lstm(Lstm),
    /// GRU.
    Gru(Gru),
    /// TCN residual block.
    TemporalBlock(TemporalBlock),
    /// Additive attention pooling.
    Additive(Additive),
    /// Query/key/value attention, output context ++ last step.
    Qkv(Qkv),
    /// `[t, c]` → `[1, c]`: the last step.
    LastStep,
    /// `[1, c]` → `[steps, c]`.
    Repeat(usize),
    /// `[t, c]` → `[steps, c]`, the first steps.
    Crop(usize),
    /// `[t, c]` → `[1, t·c]`.
    Flatten,
    /// `[1, steps·c]` → `[steps, c]`.
    Unflatten(usize),
}

impl Layer {
    /// Output shape for an input of `t` steps × `c` values, `None` when the input does not fit.
    pub fn output_shape(&self, t: usize, c: usize) -> Option<(usize, usize)> {
        let width = |k: usize| (k == c).then_some(());
        match self {
            Layer::Conv(l) => l.output_shape(t, c),
            Layer::ConvTranspose(l) => {
                width(l.w.k)?;
                Some((l.output_steps(t)?, l.filters))
            }
            Layer::Dense(l) => width(l.w.k).map(|_| (t, l.w.n)),
            Layer::Lstm(l) => width(l.w_ih.k).map(|_| (if l.sequence { t } else { 1 }, l.hidden())),
            Layer::Gru(l) => width(l.w_ih.k).map(|_| (if l.sequence { t } else { 1 }, l.hidden())),
            Layer::TemporalBlock(l) => {
                let y = l.conv1.output_shape(t, c)?;
                let y = l.conv2.output_shape(y.0, y.1)?;
                match &l.skip {
                    Some(d) => width(d.w.k)?,
                    None => (c == y.1).then_some(())?,
                }
                (y.0 == t).then_some(y)
            }
            Layer::Additive(l) => (t > 0).then_some(()).and(width(l.w.k)).map(|_| (1, c)),
            Layer::Qkv(l) => (t > 0).then_some(()).and(width(l.wq.k)).map(|_| (1, l.key() + c)),
            Layer::LastStep => (t > 0).then_some((1, c)),
            Layer::Repeat(steps) => (t == 1 && *steps > 0).then_some((*steps, c)),
            Layer::Crop(steps) => (*steps > 0 && *steps <= t).then_some((*steps, c)),
            Layer::Flatten => Some((1, t * c)),
            Layer::Unflatten(steps) => {
                (t == 1 && *steps > 0 && c.is_multiple_of(*steps)).then_some((*steps, c / steps))
            }
        }
    }

    /// Scratch floats for `b` windows of `t` steps.
    pub fn scratch(&self, b: usize, t: usize) -> usize {
        match self {
            Layer::Conv(l) => l.scratch(b, t),
            Layer::ConvTranspose(l) => l.scratch(b, t),
            Layer::Lstm(l) => l.scratch(b, t),
            Layer::Gru(l) => l.scratch(b, t),
            Layer::TemporalBlock(l) => l.scratch(b, t),
            Layer::Additive(l) => l.scratch(b, t),
            Layer::Qkv(l) => l.scratch(b, t),
            _ => 0,
        }
    }

    /// Runs the layer on `b` windows of `[t, c]`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn forward<S: Simd>(&self, b: usize, t: usize, c: usize, x: &[f32], out: &mut [f32], scratch: &mut [f32]) {
        match self {
            Layer::Conv(l) => l.forward::<S>(b, t, x, out, scratch),
            Layer::ConvTranspose(l) => l.forward::<S>(b, t, x, out, scratch),
            Layer::Dense(l) => l.forward::<S>(b * t, x, out),
            Layer::Lstm(l) => l.forward::<S>(b, t, x, out, scratch),
            Layer::Gru(l) => l.forward::<S>(b, t, x, out, scratch),
            Layer::TemporalBlock(l) => l.forward::<S>(b, t, x, out, scratch),
            Layer::Additive(l) => l.forward::<S>(b, t, x, out, scratch),
            Layer::Qkv(l) => l.forward::<S>(b, t, x, out, scratch),
            Layer::LastStep => dense::last_step(b, t, c, x, out),
            Layer::Repeat(steps) => dense::repeat(b, c, *steps, x, out),
            Layer::Crop(steps) => dense::crop(b, t, c, *steps, x, out),
            Layer::Flatten | Layer::Unflatten(_) => out[..b * t * c].copy_from_slice(&x[..b * t * c]),
        }
    }
}
