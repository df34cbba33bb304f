//! Helpers that compose burn backend primitives, for the generic kernels.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Scalar, Shape, Slice, TensorMetadata};

/// The slice `start..end` of one dimension.
pub(crate) fn range(start: usize, end: usize) -> Slice {
    Slice::new(start as isize, Some(end as isize), 1)
}

/// Step `s` of a `[batch, time, width]` tensor, as `[batch, width]`.
pub(crate) fn step<B: Backend>(t: FloatTensor<B>, s: usize) -> FloatTensor<B> {
    let shape = t.shape();
    let (b, w) = (shape[0], shape[2]);
    B::float_reshape(B::float_slice(t, &[Slice::full(), range(s, s + 1), Slice::full()]), Shape::new([b, w]))
}

/// Columns `k·w .. (k+1)·w` of a `[batch, n·w]` tensor.
pub(crate) fn block<B: Backend>(t: &FloatTensor<B>, k: usize, w: usize) -> FloatTensor<B> {
    B::float_slice(t.clone(), &[Slice::full(), range(k * w, (k + 1) * w)])
}

/// Stacks `[batch, width]` steps into `[batch, time, width]`.
pub(crate) fn stack<B: Backend>(steps: Vec<FloatTensor<B>>) -> FloatTensor<B> {
    let steps = steps
        .into_iter()
        .map(|t| {
            let s = t.shape();
            B::float_reshape(t, Shape::new([s[0], 1, s[1]]))
        })
        .collect();
    B::float_cat(steps, 1)
}

/// `1 − t`.
pub(crate) fn one_minus<B: Backend>(t: FloatTensor<B>) -> FloatTensor<B> {
    B::float_add_scalar(B::float_neg(t), Scalar::Float(1.0))
}
