//! Helpers for kernels on the CPU backend `Flex`: typed views of tensor
//! buffers, tensors from vectors, and a strided matrix product.

#![allow(unsafe_code)]

use std::borrow::Cow;

use burn::backend::flex::FlexTensor;
use burn::backend::{DType, Shape, TensorData};

/// The tensor's values, row-major; borrowed when the tensor is contiguous.
pub(crate) fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(t.to_contiguous().as_slice::<f32>().map(<[f32]>::to_vec).unwrap_or_default()),
    }
}

/// A tensor of `shape` holding `values`.
pub(crate) fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// True when every tensor holds `f32` (the fast kernels' only type).
pub(crate) fn all_f32(tensors: &[&FlexTensor]) -> bool {
    tensors.iter().all(|t| t.dtype() == DType::F32)
}

/// The first three dimensions of a shape.
pub(crate) fn dims3(shape: &Shape) -> [usize; 3] {
    [shape[0], shape[1], shape[2]]
}

/// Batch rows per parallel chunk. Fixed, not derived from the thread count,
/// so partial sums (and so trained weights) are the same on any machine.
pub(crate) const CHUNK_ROWS: usize = 32;

/// `dst[m×n] (+)= lhs[m×k] · rhs[k×n]`; `dst` is row-major with row stride
/// `dst_rs`, the operands are read through (row, column) element strides.
///
/// # Safety
/// Every element the shapes and strides address must lie inside its buffer.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn matmul(
    (m, n, k): (usize, usize, usize),
    dst: *mut f32,
    dst_rs: usize,
    accumulate: bool,
    lhs: *const f32,
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: *const f32,
    (rhs_rs, rhs_cs): (usize, usize),
    parallel: bool,
) {
    let parallelism = if parallel { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    // SAFETY: the caller guarantees the strided index ranges are in bounds.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            accumulate,
            lhs,
            lhs_cs as isize,
            lhs_rs as isize,
            rhs,
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        )
    }
}
