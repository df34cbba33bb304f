//! Layers the presets are built from, each a burn `Config` + `Module` pair.

pub mod attention;
pub mod conv;
pub mod dense;
pub mod dropout;
pub mod gru;
pub mod init;
pub mod lstm;
pub mod tcn;

pub use attention::{AdditiveAttention, AdditiveAttentionConfig, QkvAttention, QkvAttentionConfig};
pub use conv::{ConvBlock, ConvBlockConfig};
pub use dense::{Dense, DenseConfig};
pub use dropout::{Dropout, DropoutConfig};
pub use gru::{Gru, GruConfig};
pub use lstm::{Lstm, LstmConfig, last_step};
pub use tcn::{TemporalBlock, TemporalBlockConfig};
