//! telltale's inference runtime: every network of the model zoo, run from
//! an exported model file with kernels chosen for the CPU at run time.
//!
//! - [`format`](mod@format): the model file (safetensors + a JSON header), versioned.
//! - [`Network`] and [`Session`]: a checked sequence of [`layers`]; a session
//!   holds every buffer, so running a batch allocates nothing.
//! - [`gemm`]: the matrix kernel, and [`simd`]: instruction sets (AVX-512,
//!   AVX2 + FMA, SSE2, NEON, scalar) chosen when the session is made.
//! - [`act`]: vectorisable `exp`, `sigmoid`, `tanh` (max abs error < 2.5e-7).
//! - [`Model`] and [`Scores`]: a loaded file and the scoring rules.
//!
//! The crate is `#![no_std]` with `alloc` when built without its `std`
//! feature, which adds run-time CPU detection.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod act;
pub mod error;
pub mod format;
pub mod gemm;
pub mod layers;
pub mod model;
pub mod net;
pub mod onnx;
#[cfg(feature = "std")]
pub mod pool;
pub mod simd;
pub mod stream;
pub mod tflite;
pub mod vmath;

pub use error::{Error, Result};
pub use format::{Affine, Header, LayerSpec, ScoreSpec};
pub use model::{Batch, Model, Scores};
pub use net::{Network, Session};
#[cfg(feature = "std")]
pub use pool::Pool;
pub use simd::Isa;
pub use stream::Stream;
