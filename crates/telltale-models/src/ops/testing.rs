//! Helpers shared by the operations' tests.

use burn::backend::flex::FlexTensor;
use burn::tensor::TensorData;

/// `n` deterministic pseudo-random values in [−1, 1).
pub(crate) fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| ((i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / 8_388_608.0) - 1.0)
        .collect()
}

/// A Flex tensor of `shape` holding `v`.
pub(crate) fn flex(v: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(v, shape))
}

/// A Flex tensor's values.
pub(crate) fn data(t: FlexTensor) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32")
}

/// Asserts two tensors' values agree within 2e-5.
pub(crate) fn close(a: FlexTensor, b: FlexTensor, what: &str) {
    let (a, b) = (data(a), data(b));
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    assert!(worst < 2e-5, "{what}: differs by {worst}");
}
