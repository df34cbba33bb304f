//! Streaming: one reading in, one output out, at the cost of one step.
//!
//! A forecaster (recurrent layers, or TCN blocks, then a dense head) keeps
//! its recurrent states and, for each dilated causal convolution, a ring of
//! the inputs its taps still need. After reading `t`, the output equals
//! [`Network::forward`] on the whole series `0..=t` as one window (zero
//! state, zero padding before the first reading); a TCN whose receptive field
//! fits in the model's lookback gives the same as its last-lookback window.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::gemm::{Init, gemm};
use crate::layers::{Conv, Layer};
use crate::net::Network;
use crate::simd::{Isa, Simd};

/// The past inputs of one causal convolution.
#[derive(Debug, Clone)]
struct Ring {
    /// `span` rows of `width` values, oldest overwritten first.
    rows: Vec<f32>,
    width: usize,
    span: usize,
    /// Readings seen.
    seen: usize,
}

impl Ring {
    fn new(conv: &Conv) -> Ring {
        let span = (conv.kernel - 1) * conv.dilation + 1;
        Ring { rows: vec![0.0; span * conv.channels], width: conv.channels, span, seen: 0 }
    }

    fn push(&mut self, row: &[f32]) {
        let at = self.seen % self.span;
        self.rows[at * self.width..(at + 1) * self.width].copy_from_slice(&row[..self.width]);
        self.seen += 1;
    }

    /// The unfolded taps of the newest position (`kernel · width` values, zeros before the start).
    fn taps(&self, conv: &Conv, out: &mut [f32]) {
        let c = self.width;
        for tap in 0..conv.kernel {
            let back = (conv.kernel - 1 - tap) * conv.dilation;
            let dst = &mut out[tap * c..(tap + 1) * c];
            if back >= self.seen {
                dst.fill(0.0);
            } else {
                let at = (self.seen - 1 - back) % self.span;
                dst.copy_from_slice(&self.rows[at * c..(at + 1) * c]);
            }
        }
    }
}

/// What one layer keeps between readings.
#[derive(Debug, Clone)]
enum State {
    /// Nothing (dense, last step).
    None,
    /// Recurrent state.
    Recurrent(Vec<f32>),
    /// The rings of a TCN block's two convolutions.
    Block(Ring, Ring),
}

/// A running stream over one series.
#[derive(Debug, Clone)]
pub struct Stream {
    isa: Isa,
    states: Vec<State>,
    /// Two rows of the widest layer, and scratch.
    a: Vec<f32>,
    b: Vec<f32>,
    scratch: Vec<f32>,
    out_width: usize,
}

impl Network {
    /// A stream for this network, which must be a forecaster of recurrent layers or TCN blocks
    /// followed by dense layers.
    pub fn stream(&self) -> Result<Stream> {
        let mut states = Vec::new();
        let mut width = self.input_shape().1;
        let mut widest = width;
        let mut scratch = 0;
        for (i, layer) in self.layers().iter().enumerate() {
            let state = match layer {
                Layer::Lstm(l) => {
                    scratch = scratch.max(l.w_ih.n + 16);
                    State::Recurrent(vec![0.0; l.state_len()])
                }
                Layer::Gru(g) => {
                    scratch = scratch.max(2 * g.w_ih.n);
                    State::Recurrent(vec![0.0; g.hidden()])
                }
                Layer::TemporalBlock(blk)
                    if blk.conv1.pool == 1 && blk.conv2.pool == 1 && causal(&blk.conv1) && causal(&blk.conv2) =>
                {
                    let f = blk.conv2.w.n;
                    scratch = scratch.max(blk.conv1.w.k.max(blk.conv2.w.k) + 2 * f);
                    State::Block(Ring::new(&blk.conv1), Ring::new(&blk.conv2))
                }
                Layer::Dense(_) | Layer::LastStep => State::None,
                _ => {
                    return Err(Error::invalid(
                        alloc::format!("layers[{i}]"),
                        "this layer cannot run one reading at a time",
                    ));
                }
            };
            let (_, w) =
                layer.output_shape(1, width).ok_or_else(|| Error::invalid(alloc::format!("layers[{i}]"), "shape"))?;
            width = w;
            widest = widest.max(w);
            states.push(state);
        }
        Ok(Stream {
            isa: Isa::detect(),
            states,
            a: vec![0.0; widest],
            b: vec![0.0; widest],
            scratch: vec![0.0; scratch],
            out_width: width,
        })
    }
}

fn causal(conv: &Conv) -> bool {
    conv.stride == 1 && conv.pad_right == 0 && conv.pad_left == (conv.kernel - 1) * conv.dilation
}

impl Stream {
    /// Forgets the series: zero states, empty rings.
    pub fn reset(&mut self) {
        for s in &mut self.states {
            match s {
                State::None => {}
                State::Recurrent(v) => v.fill(0.0),
                State::Block(r1, r2) => {
                    for r in [r1, r2] {
                        r.rows.fill(0.0);
                        r.seen = 0;
                    }
                }
            }
        }
    }

    /// Feeds one (scaled) reading and returns the network's output for the series so far.
    pub fn push<'s>(&'s mut self, net: &Network, reading: &[f32]) -> Result<&'s [f32]> {
        let c = net.input_shape().1;
        if reading.len() != c {
            return Err(Error::Input { what: "one reading".into(), expected: c, got: reading.len() });
        }
        let isa = self.isa;
        let result = push_on(isa, net, self, reading);
        let buf = if result == 0 { &self.a } else { &self.b };
        Ok(&buf[..self.out_width])
    }
}

crate::isa_fn! {
    /// [`push_impl`] on an instruction set.
    fn push_on(net: &Network, s: &mut Stream, reading: &[f32]) -> usize = push_impl;
}

/// Runs one reading through every layer; returns which row buffer holds the output (0: `a`).
#[inline(always)]
fn push_impl<S: Simd>(net: &Network, s: &mut Stream, reading: &[f32]) -> usize {
    let Stream { states, a, b, scratch, .. } = s;
    let c = reading.len();
    a[..c].copy_from_slice(reading);
    let (mut src, mut dst): (&mut [f32], &mut [f32]) = (a.as_mut_slice(), b.as_mut_slice());
    let mut width = c;
    let mut which = 0;
    for (layer, state) in net.layers().iter().zip(states.iter_mut()) {
        match (layer, state) {
            (Layer::Lstm(l), State::Recurrent(st)) => {
                l.step::<S>(&src[..width], st, scratch);
                width = l.hidden();
                dst[..width].copy_from_slice(&st[..width]);
            }
            (Layer::Gru(g), State::Recurrent(st)) => {
                g.step::<S>(&src[..width], st, scratch);
                width = g.hidden();
                dst[..width].copy_from_slice(&st[..width]);
            }
            (Layer::TemporalBlock(blk), State::Block(r1, r2)) => {
                let f = blk.conv2.w.n;
                let (cols, rest) = scratch.split_at_mut(blk.conv1.w.k.max(blk.conv2.w.k));
                let (y1, skip) = rest.split_at_mut(f);
                r1.push(&src[..width]);
                r1.taps(&blk.conv1, cols);
                gemm::<S>(1, cols, blk.conv1.w.k, &blk.conv1.w, y1, f, Init::Bias(&blk.conv1.bias));
                if blk.conv1.relu {
                    y1.iter_mut().for_each(|v| *v = v.max(0.0));
                }
                r2.push(y1);
                r2.taps(&blk.conv2, cols);
                gemm::<S>(1, cols, blk.conv2.w.k, &blk.conv2.w, dst, f, Init::Bias(&blk.conv2.bias));
                let skip: &[f32] = match &blk.skip {
                    Some(d) => {
                        d.forward::<S>(1, &src[..width], &mut skip[..f]);
                        &skip[..f]
                    }
                    None => &src[..f],
                };
                let floor = if blk.conv2.relu { 0.0 } else { f32::NEG_INFINITY };
                for (o, &k) in dst[..f].iter_mut().zip(skip) {
                    *o = (o.max(floor) + k).max(0.0);
                }
                width = f;
            }
            (Layer::Dense(d), State::None) => {
                d.forward::<S>(1, &src[..width], dst);
                width = d.w.n;
            }
            (Layer::LastStep, State::None) => dst[..width].copy_from_slice(&src[..width]),
            _ => {}
        }
        core::mem::swap(&mut src, &mut dst);
        which = 1 - which;
    }
    which
}
