//! A network (a checked sequence of layers) and the session that runs it:
//! two activation buffers and one scratch buffer, sized once for a largest
//! batch, so a call allocates nothing.

use alloc::vec;
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::format::{self, Header, Tensors};
use crate::layers::Layer;
use crate::simd::{Isa, Simd};

/// Layers with their input shapes checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    layers: Vec<Layer>,
    /// `shapes[i]`: input `(steps, width)` of layer `i`; the last is the output.
    shapes: Vec<(usize, usize)>,
}

impl Network {
    /// Checks that `layers` chain for windows of `steps` × `channels`.
    pub fn new(steps: usize, channels: usize, layers: Vec<Layer>) -> Result<Network> {
        if layers.is_empty() {
            return Err(Error::invalid("layers", "a network needs at least one layer"));
        }
        if steps == 0 || channels == 0 {
            return Err(Error::invalid("input", "a window needs at least one step and one channel"));
        }
        let mut shapes = vec![(steps, channels)];
        for (i, layer) in layers.iter().enumerate() {
            let (t, c) = shapes[i];
            let next = layer.output_shape(t, c).ok_or_else(|| {
                Error::invalid(alloc::format!("layers[{i}]"), alloc::format!("does not accept {t} steps × {c} values"))
            })?;
            shapes.push(next);
        }
        Ok(Network { layers, shapes })
    }

    /// Builds the layers of `header` from `tensors`.
    pub fn from_header(header: &Header, tensors: &Tensors<'_>) -> Result<Network> {
        let mut width = header.features.len();
        let mut steps = header.steps;
        let mut layers = Vec::with_capacity(header.layers.len());
        for (i, spec) in header.layers.iter().enumerate() {
            let layer = spec.build(tensors, width).map_err(|e| format::at_layer(i, spec, e))?;
            let (t, c) = layer.output_shape(steps, width).ok_or_else(|| {
                format::at_layer(
                    i,
                    spec,
                    Error::invalid("input", alloc::format!("{steps} steps × {width} values do not fit")),
                )
            })?;
            (steps, width) = (t, c);
            layers.push(layer);
        }
        Network::new(header.steps, header.features.len(), layers)
    }

    /// The layers.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Input `(steps, channels)` of one window.
    pub fn input_shape(&self) -> (usize, usize) {
        self.shapes[0]
    }

    /// Output `(steps, width)` of one window.
    pub fn output_shape(&self) -> (usize, usize) {
        self.shapes[self.shapes.len() - 1]
    }

    /// Floats of one window's output.
    pub fn output_len(&self) -> usize {
        let (t, c) = self.output_shape();
        t * c
    }

    /// A session for batches of up to `max_batch` windows on the best instruction set of this CPU.
    pub fn session(&self, max_batch: usize) -> Session {
        self.session_with(max_batch, Isa::detect())
    }

    /// A session on instruction set `isa`, which must be one [`Isa::available`] lists.
    pub fn session_with(&self, max_batch: usize, isa: Isa) -> Session {
        let b = max_batch.max(1);
        let act = self.shapes.iter().map(|(t, c)| b * t * c).max().unwrap_or(0);
        let scratch = self.layers.iter().zip(&self.shapes).map(|(l, &(t, _))| l.scratch(b, t)).max().unwrap_or(0);
        let isa = if Isa::available().contains(&isa) { isa } else { Isa::detect() };
        Session { isa, max_batch: b, bufs: [vec![0.0; act], vec![0.0; act]], scratch: vec![0.0; scratch] }
    }

    /// Runs `batch` windows (`batch · steps · channels` values, row-major) and returns their outputs.
    pub fn forward<'s>(&self, session: &'s mut Session, x: &[f32], batch: usize) -> Result<&'s [f32]> {
        let (t, c) = self.input_shape();
        if batch > session.max_batch || x.len() != batch * t * c {
            return Err(Error::Input {
                what: alloc::format!(
                    "{batch} windows of {t} steps × {c} channels (session batch ≤ {})",
                    session.max_batch
                ),
                expected: batch * t * c,
                got: x.len(),
            });
        }
        let Session { isa, bufs, scratch, .. } = session;
        let result = run_on(*isa, self, bufs, scratch, x, batch);
        Ok(&session.bufs[result][..batch * self.output_len()])
    }
}

/// Buffers for running a [`Network`].
#[derive(Debug, Clone)]
pub struct Session {
    isa: Isa,
    max_batch: usize,
    bufs: [Vec<f32>; 2],
    scratch: Vec<f32>,
}

impl Session {
    /// The instruction set the session runs on.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// The largest batch it takes.
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }
}

crate::isa_fn! {
    /// [`run`] on an instruction set.
    fn run_on(net: &Network, bufs: &mut [Vec<f32>; 2], scratch: &mut [f32], x: &[f32], b: usize) -> usize = run;
}

/// Runs every layer; returns which buffer holds the output.
#[inline(always)]
fn run<S: Simd>(net: &Network, bufs: &mut [Vec<f32>; 2], scratch: &mut [f32], x: &[f32], b: usize) -> usize {
    let [first, second] = bufs;
    let (mut src, mut dst): (&mut [f32], &mut [f32]) = (first, second);
    for (i, (layer, &(t, c))) in net.layers.iter().zip(&net.shapes).enumerate() {
        let input: &[f32] = if i == 0 { x } else { src };
        layer.forward::<S>(b, t, c, input, dst, scratch);
        core::mem::swap(&mut src, &mut dst);
    }
    if net.layers.len() % 2 == 1 { 1 } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gemm::{Matrix, pad_bias};
    use crate::layers::Dense;

    fn dense(k: usize, n: usize) -> Layer {
        Layer::Dense(Dense { w: Matrix::new(k, n, &vec![0.5; k * n]), bias: pad_bias(&vec![0.0; n]), relu: false })
    }

    #[test]
    fn layers_that_do_not_chain_are_refused_by_position() {
        let err = Network::new(5, 3, vec![dense(3, 4), dense(5, 2)]).unwrap_err().to_string();
        assert_eq!(err, "layers[1]: does not accept 5 steps × 4 values");
        assert!(Network::new(0, 3, vec![dense(3, 4)]).is_err(), "empty windows");
        assert!(Network::new(5, 3, Vec::new()).is_err(), "no layers");
        assert!(Network::new(5, 3, vec![Layer::Crop(0)]).is_err(), "nothing left");
    }

    #[test]
    fn wrong_input_sizes_are_errors() {
        let net = Network::new(2, 3, vec![dense(3, 1)]).expect("network");
        let mut s = net.session(2);
        assert_eq!(net.forward(&mut s, &[1.0; 6], 1).expect("fits"), &[1.5, 1.5]);
        assert!(net.forward(&mut s, &[1.0; 5], 1).is_err());
        assert!(net.forward(&mut s, &[1.0; 18], 3).is_err(), "batch over the session's size");
    }
}
