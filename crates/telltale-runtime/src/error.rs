//! The one error type of `telltale-runtime`.

use alloc::string::String;

/// Result alias used throughout `telltale-runtime`.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong while loading or running a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a telltale model file (another safetensors file, or not safetensors at all).
    #[error("not a telltale model file: {0}")]
    Foreign(String),

    /// The file was written by a newer telltale, with a layout this build does not know.
    #[error("model file version {found} is newer than this build reads (≤ {supported}); upgrade telltale")]
    Newer {
        /// The file's version.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },

    /// The file is a telltale model but something in it is wrong: `what` names the part.
    #[error("{what}: {message}")]
    Invalid {
        /// The header field or tensor name.
        what: String,
        /// What is wrong with it.
        message: String,
    },

    /// Input of the wrong size.
    #[error("input: expected {expected} values ({what}), got {got}")]
    Input {
        /// What the values should be.
        what: String,
        /// How many were expected.
        expected: usize,
        /// How many were given.
        got: usize,
    },
}

impl Error {
    /// An [`Error::Invalid`].
    pub fn invalid(what: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid { what: what.into(), message: message.into() }
    }
}
