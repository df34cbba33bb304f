//! Why a server could not be started.

use std::path::PathBuf;

/// A failure of the harness (a test turns it into a panic naming it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A program the harness needs is not installed.
    #[error("{program} not found: install Debian's {package} (scripts/test.sh does)")]
    NotInstalled {
        /// The program.
        program: String,
        /// The Debian package that has it.
        package: String,
    },
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// A preparation step (initdb, openssl, …) exited with a failure.
    #[error("{program} failed in {}: {output}", dir.display())]
    Step {
        /// The program.
        program: String,
        /// Where it ran.
        dir: PathBuf,
        /// Its stdout and stderr.
        output: String,
    },
    /// The server did not accept connections in time.
    #[error("{program} did not listen on 127.0.0.1:{port}: {log}")]
    NotListening {
        /// The program.
        program: String,
        /// The port it was told to use.
        port: u16,
        /// Its log so far.
        log: String,
    },
}

impl Error {
    /// A constructor for `map_err`: an I/O error while doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

/// The harness's result.
pub type Result<T> = std::result::Result<T, Error>;
