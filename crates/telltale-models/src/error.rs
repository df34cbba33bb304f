//! The one error type of `telltale-models`.

use std::path::PathBuf;

/// Result alias used throughout `telltale-models`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while building, training, saving or scoring a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error from the data core (loading, windows, splits, metrics). A
    /// refused window setting becomes [`Error::Config`] naming `window.<key>`.
    #[error(transparent)]
    Core(telltale_core::Error),

    /// A configuration value is invalid; `field` is its dotted path, e.g. `train.batch_size`.
    #[error("{field}: {message}")]
    Config {
        /// Dotted path of the field.
        field: String,
        /// What is wrong with it.
        message: String,
    },

    /// A configuration file could not be parsed.
    #[error("{path}: {message}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// The parser's message (it names the line and the key).
        message: String,
    },

    /// A file could not be read or written.
    #[error("cannot access {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// A model directory is missing a part, is from another version, or is corrupt.
    #[error("{path}: {message}")]
    Artifact {
        /// The directory or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// Data that cannot be used for the requested model (too few windows, no labels, ...).
    #[error("{0}")]
    Data(String),

    /// Training stopped: the loss became NaN or infinite.
    #[error("training diverged at epoch {epoch}: loss is {loss}")]
    Diverged {
        /// The epoch (1-based).
        epoch: usize,
        /// The loss value.
        loss: f64,
    },
}

impl From<telltale_core::Error> for Error {
    fn from(e: telltale_core::Error) -> Error {
        match e {
            // Window settings come from the experiment's `[window]` section.
            telltale_core::Error::Window { key, message } => Error::config(format!("window.{key}"), message),
            e => Error::Core(e),
        }
    }
}

impl Error {
    /// Shorthand for [`Error::Config`].
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config { field: field.into(), message: message.into() }
    }

    /// True when the error comes from user data or files rather than from the configuration.
    pub fn is_data_error(&self) -> bool {
        match self {
            Error::Core(e) => e.is_data_error(),
            Error::Config { .. } | Error::ConfigFile { .. } => false,
            _ => true,
        }
    }
}

/// Checks that a hyperparameter is at least 1.
pub(crate) fn positive(field: &str, value: usize) -> Result<()> {
    if value == 0 {
        return Err(Error::config(field, "must be at least 1"));
    }
    Ok(())
}

/// Checks that a dropout rate lies in `[0, 1)`.
pub(crate) fn rate(field: &str, value: f64) -> Result<()> {
    if !(0.0..1.0).contains(&value) || !value.is_finite() {
        return Err(Error::config(field, format!("{value} is not a rate in [0, 1)")));
    }
    Ok(())
}
