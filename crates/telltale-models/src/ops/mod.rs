//! Custom burn operations with fused CPU kernels and hand-written backward
//! passes: the LSTM recurrence and the 1-D convolution block
//! (convolution, bias, ReLU, max-pooling).
//!
//! Each operation has a kernels trait with a generic implementation from
//! burn primitives (any backend, a GPU among them) that the CPU backend
//! `Flex` replaces with loops over contiguous buffers, and a backend
//! extension that routes a call to the tensor's backend and registers the
//! backward pass with autodiff.

pub mod conv_pool;
pub mod conv_pool_kernels;
mod flex;
pub mod lstm;
pub mod lstm_kernels;
mod prim;
mod simd;
#[cfg(test)]
mod testing;

pub use conv_pool::conv1d_relu_pool;
pub use lstm::lstm_recurrence;
