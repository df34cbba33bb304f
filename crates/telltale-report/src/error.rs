//! Errors of the report crate.

use std::path::PathBuf;

/// What can go wrong while writing or reading a run record or drawing its report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A record file is malformed.
    #[error("{path}, line {line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when the file as a whole is wrong).
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The folder holds no run record.
    #[error("{0}: no run record (run.json and scores.csv) here or in its sub-folders")]
    NoRun(PathBuf),
    /// The plotting backend failed.
    #[error("drawing {path}: {message}")]
    Draw {
        /// The figure being drawn.
        path: PathBuf,
        /// The backend's message.
        message: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Maps an io error to [`Error::Io`] for `path`.
pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}
