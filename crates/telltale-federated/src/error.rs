//! The errors of federated training.

use std::path::PathBuf;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is invalid; `key` names it (`federated.rounds`, `codec`).
    #[error("{key}: {message}")]
    Config {
        /// The offending key.
        key: String,
        /// Why.
        message: String,
    },
    /// Weights that do not fit the network.
    #[error("weights: {0}")]
    Mismatch(String),
    /// An update or message that cannot be read.
    #[error("update: {0}")]
    Update(String),
    /// The broker.
    #[error("broker {url}: {message}")]
    Broker {
        /// Where.
        url: String,
        /// What happened.
        message: String,
    },
    /// A file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A stored round that cannot be read back.
    #[error("{}: {message}", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// No site joined before the deadline, or too few.
    #[error("{0}")]
    Sites(String),
    /// The models crate (data, training, model directories).
    #[error(transparent)]
    Models(#[from] telltale_models::Error),
    /// The stream crate (the embedded broker, broker URLs).
    #[error(transparent)]
    Stream(#[from] telltale_stream::Error),
    /// The core crate (data, scalers).
    #[error(transparent)]
    Core(#[from] telltale_core::Error),
}

impl Error {
    /// A configuration error for `key`.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Config { key: key.into(), message: message.into() }
    }

    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io { path: path.to_owned(), source }
    }
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
