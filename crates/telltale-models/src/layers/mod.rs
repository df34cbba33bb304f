//! Layers the presets are built from.

pub mod dropout;

pub use dropout::{Dropout, DropoutConfig};
