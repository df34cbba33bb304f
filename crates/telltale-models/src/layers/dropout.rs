//! Inverted dropout with the mask drawn on the host from a seeded generator.
//!
//! Same semantics as burn's (and Keras's) dropout: during training each value
//! is kept with probability `1 − prob` and scaled by `1 / (1 − prob)`; outside
//! training (a module after `valid()`, or a device without autodiff) it is the
//! identity. The mask comes from SplitMix64 seeded by [`seed`], which is fast
//! on the CPU and makes runs repeat exactly from a seed.

use std::cell::Cell;

use burn::config::Config;
use burn::module::{Flag, Module, Param};
use burn::tensor::{Tensor, TensorData};

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0x5EED_0000_0000_0001) };
}

/// Seeds the dropout masks drawn on this thread.
pub fn seed(seed: u64) {
    STATE.with(|s| s.set(seed ^ 0x9E37_79B9_7F4A_7C15));
}

fn next_u64() -> u64 {
    STATE.with(|s| {
        let z = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(z);
        let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// A keep-mask of `n` values: `1 / keep` with probability `keep`, else 0.
fn mask(n: usize, keep: f64) -> Vec<f32> {
    let threshold = (keep * 4_294_967_296.0) as u64;
    let scale = (1.0 / keep) as f32;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let r = next_u64();
        for half in [r & 0xFFFF_FFFF, r >> 32] {
            if out.len() < n {
                out.push(if half < threshold { scale } else { 0.0 });
            }
        }
    }
    out
}

/// Configuration of [`Dropout`].
#[derive(Config, Debug)]
pub struct DropoutConfig {
    /// Probability of zeroing a value, in `[0, 1)`.
    pub prob: f64,
}

/// Inverted dropout (see the module documentation).
#[derive(Module, Debug)]
pub struct Dropout {
    /// Probability of zeroing a value.
    pub prob: f64,
    /// Whether the layer is in training mode.
    pub training: Param<Flag>,
}

impl DropoutConfig {
    /// The layer; `prob` must already be validated to lie in `[0, 1)`.
    pub fn init(&self) -> Dropout {
        Dropout { prob: self.prob, training: Param::from_bool(true) }
    }
}

impl Dropout {
    /// # Shapes
    /// any shape → the same shape
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        if !self.training.is_enabled() || !input.device().is_autodiff() || self.prob <= 0.0 {
            return input;
        }
        let shape = input.shape();
        let keep = mask(shape.num_elements(), 1.0 - self.prob);
        let mask = Tensor::<D>::from_data(TensorData::new(keep, shape), &input.device());
        input * mask
    }
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;

    use super::*;

    #[test]
    fn keeps_the_expected_share_and_scales() {
        seed(1);
        let m = mask(100_000, 0.8);
        let kept = m.iter().filter(|&&v| v > 0.0).count() as f64 / m.len() as f64;
        assert!((kept - 0.8).abs() < 0.01, "kept {kept}");
        assert!(m.iter().all(|&v| v == 0.0 || (v - 1.25).abs() < 1e-6));
    }

    #[test]
    fn same_seed_same_mask() {
        seed(9);
        let a = mask(1000, 0.5);
        seed(9);
        assert_eq!(a, mask(1000, 0.5));
        assert_ne!(a, mask(1000, 0.5));
    }

    #[test]
    fn identity_outside_training() {
        let layer = DropoutConfig::new(0.5).init();
        let x = Tensor::<2>::ones([4, 8], &Device::flex().autodiff());
        let eval = layer.valid().forward(x.clone());
        assert_eq!(eval.into_data(), x.clone().into_data());
        let plain = layer.forward(Tensor::<2>::ones([4, 8], &Device::flex()));
        assert_eq!(plain.into_data(), Tensor::<2>::ones([4, 8], &Device::flex()).into_data());
        let train = layer.forward(x).into_data().try_to_vec::<f32>().unwrap();
        assert!(train.iter().all(|&v| v == 0.0 || v == 2.0));
        assert!(train.contains(&0.0) && train.contains(&2.0));
    }
}
