//! A network's weights as one flat vector, in the order burn visits its parameters, and back.
//! Aggregation, codecs and hashes work on this vector; the segment lengths are the tensors' sizes.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};
use sha2::{Digest, Sha256};
use telltale_models::Net;

use crate::error::{Error, Result};

/// The weights of a network, flattened, with the length of each tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Flat {
    /// Every float parameter, in visiting order.
    pub values: Vec<f32>,
    /// The number of values of each tensor, in order.
    pub segments: Vec<usize>,
}

struct Collect(Flat);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let v = param.val().into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
        self.0.segments.push(v.len());
        self.0.values.extend(v);
    }
}

/// The weights of `net`.
pub fn flatten(net: &Net) -> Flat {
    let mut c = Collect(Flat { values: Vec::new(), segments: Vec::new() });
    net.visit(&mut c);
    c.0
}

struct Assign<'a> {
    values: &'a [f32],
    at: usize,
    short: bool,
}

impl ModuleMapper for Assign<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| {
            let shape = t.shape();
            let n = shape.num_elements();
            let Some(v) = self.values.get(self.at..self.at + n) else {
                self.short = true;
                return t;
            };
            self.at += n;
            let device = t.device();
            let require_grad = t.is_require_grad();
            let fresh = Tensor::<D>::from_data(TensorData::new(v.to_vec(), shape), &device);
            if require_grad { fresh.require_grad() } else { fresh }
        })
    }
}

/// `net` with its weights replaced by `values` (as [`flatten`] orders them).
pub fn assign(net: Net, values: &[f32]) -> Result<Net> {
    let expected = net.num_params();
    if values.len() != expected {
        return Err(Error::Mismatch(format!("{} weights for a network of {expected}", values.len())));
    }
    let mut a = Assign { values, at: 0, short: false };
    let net = net.map(&mut a);
    if a.short || a.at != values.len() {
        return Err(Error::Mismatch(format!("weights end at {} of {}", a.at, values.len())));
    }
    Ok(net)
}

/// A short hex hash of weights (the first 16 bytes of their SHA-256, little-endian f32): names a base model.
pub fn hash(values: &[f32]) -> String {
    let mut h = Sha256::new();
    for v in values {
        h.update(v.to_le_bytes());
    }
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The Euclidean norm.
pub fn norm(values: &[f32]) -> f64 {
    values.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt()
}
