//! # telltale-models
//!
//! The model zoo of telltale on burn: every architecture of the seed papers
//! as a preset ([`presets`]), the layers they are built from ([`layers`]),
//! and the fused CPU operations that make them fast ([`ops`]).

pub mod artifact;
pub mod baselines;
pub mod config;
pub mod error;
pub mod eval;
pub mod export;
pub mod import;
pub mod layers;
pub mod online;
pub mod ops;
pub mod pipeline;
pub mod presets;
pub mod samples;
pub mod score;
pub mod train;
pub mod tune;

pub use error::{Error, Result};
pub use presets::{Net, NetConfig, NetDims, NetOutput, Task};
