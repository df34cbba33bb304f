//! The one error type of `telltale-bench`.
//!
//! The lower crates' errors pass through unchanged (their messages are the
//! ones users see); [`Error::Context`] says what a benchmark was doing when
//! one happened, and [`Error::root`] finds the error under every context, for
//! the command line to map to an exit code.

/// Result alias used throughout `telltale-bench`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while running a benchmark.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error from the data core (reading a corpus, scoring, statistics).
    #[error(transparent)]
    Core(#[from] telltale_core::Error),

    /// An error from the model zoo (configuration, training, scoring).
    #[error(transparent)]
    Models(#[from] telltale_models::Error),

    /// An error from the inference runtime.
    #[error(transparent)]
    Runtime(#[from] telltale_runtime::Error),

    /// An error from the live service (broker, store, simulation).
    #[error(transparent)]
    Stream(#[from] telltale_stream::Error),

    /// A run record could not be written.
    #[error(transparent)]
    Report(#[from] telltale_report::Error),

    /// A server the chaos bench deploys (Mosquitto, PostgreSQL, MariaDB, a small filesystem) did not start.
    #[error(transparent)]
    Server(#[from] telltale_testing::Error),

    /// Federated training (its run file, the coordinator's state).
    #[error(transparent)]
    Federated(#[from] telltale_federated::Error),

    /// A file, a process or a socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),

    /// A roster is not valid TOML for its benchmark.
    #[error(transparent)]
    Toml(#[from] toml::de::Error),

    /// The benchmark's own MQTT client failed.
    #[error(transparent)]
    Mqtt(#[from] rumqttc::ClientError),

    /// A wait of the stream benchmark ran out of time.
    #[error(transparent)]
    Timeout(#[from] tokio::time::error::Elapsed),

    /// A task of the stream benchmark ended before it answered.
    #[error(transparent)]
    Closed(#[from] tokio::sync::oneshot::error::RecvError),

    /// Data the protocol cannot use (too few windows in the rows it fits on, ...).
    #[error("{0}")]
    Data(String),

    /// A detector's setting the protocol does not take; `field` is its key.
    #[error("{field}: {message}")]
    Config {
        /// The key, as a roster writes it.
        field: String,
        /// What is wrong with it.
        message: String,
    },

    /// The benchmark cannot run as asked (an unknown detector, nothing to time, a peer's command that failed).
    #[error("{0}")]
    Failed(String),

    /// What the benchmark was doing when `source` happened.
    #[error("{context}")]
    Context {
        /// What was being done, e.g. `reading the NAB corpus at DIR`.
        context: String,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// The error under every [`Error::Context`]: the one that decides the exit code.
    pub fn root(&self) -> &Error {
        match self {
            Error::Context { source, .. } => source.root(),
            other => other,
        }
    }
}

/// Adds what was being done to an error, as [`Error::Context`].
pub(crate) trait Context<T> {
    /// Wraps the error with `context()`'s text.
    fn context_with(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context_with(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::Context { context: context(), source: Box::new(e.into()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_the_message_chain_and_the_root() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = Err::<(), _>(io).context_with(|| "reading x.toml".into()).unwrap_err();
        assert_eq!(e.to_string(), "reading x.toml");
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("gone"));
        assert!(matches!(e.root(), Error::Io(_)));
        let nested = Err::<(), _>(e).context_with(|| "outer".into()).unwrap_err();
        assert!(matches!(nested.root(), Error::Io(_)));
    }
}
