//! The one error type of `telltale-stream`.
//!
//! A reading that cannot be used names its topic, so an operator can find
//! the device that sent it.

/// Result alias used throughout `telltale-stream`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between a message and a decision.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A payload that is not a reading (bad JSON, a missing or non-numeric
    /// field, a bad timestamp).
    #[error("{topic}: {reason}")]
    Malformed {
        /// Where it came from.
        topic: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A topic the configured pattern does not match.
    #[error("{topic}: does not match the topic pattern {pattern}")]
    Topic {
        /// The topic.
        topic: String,
        /// The pattern.
        pattern: String,
    },

    /// A reading at or before the device's last one.
    #[error("{topic}: reading at {ts} ms is not after the device's last one at {last} ms")]
    OutOfOrder {
        /// Where it came from.
        topic: String,
        /// Its timestamp.
        ts: i64,
        /// The device's last accepted timestamp.
        last: i64,
    },

    /// A reading at the time of the device's last one with other values: both cannot be kept.
    #[error("{topic}: reading at {ts} ms repeats the device's last time with other values (the first is kept)")]
    Conflict {
        /// Where it came from.
        topic: String,
        /// Its timestamp.
        ts: i64,
    },

    /// A reading dated further ahead of its arrival than `max_future_s` allows: taken, it would silence the
    /// device (every later reading would be out of order).
    #[error("{topic}: reading at {ts} ms is {ahead_s} s ahead of its arrival (max_future_s {max_s})")]
    Future {
        /// Where it came from.
        topic: String,
        /// Its timestamp.
        ts: i64,
        /// How far ahead of the arrival it is (seconds).
        ahead_s: i64,
        /// The limit (seconds).
        max_s: i64,
    },

    /// A device the service does not monitor (not on the allow-list, or beyond the device limit).
    #[error("{topic}: {reason}")]
    UnknownDevice {
        /// Where it came from.
        topic: String,
        /// Why it is refused.
        reason: String,
    },

    /// A setting that cannot work.
    #[error("{what}: {reason}")]
    Config {
        /// The setting.
        what: String,
        /// Why.
        reason: String,
    },

    /// The model file could not be used.
    #[error("model: {0}")]
    Model(#[from] telltale_runtime::Error),

    /// The database refused or failed an operation.
    #[error("{what}: {source}")]
    Database {
        /// What was being done (and on which database).
        what: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },

    /// An alert could not be delivered (it stays queued and is retried).
    #[error("alert via {sink}: {reason}")]
    Alert {
        /// The sink.
        sink: String,
        /// Why.
        reason: String,
    },

    /// A network service could not be started or reached.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A [`Error::Malformed`] for `topic`.
    pub fn malformed(topic: &str, reason: impl Into<String>) -> Error {
        Error::Malformed { topic: topic.to_owned(), reason: reason.into() }
    }

    /// A [`Error::Config`].
    pub fn config(what: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Config { what: what.into(), reason: reason.into() }
    }

    /// A closure turning a driver error into a [`Error::Database`] about `what`.
    pub fn database(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Error {
        let what = what.into();
        move |source| Error::Database { what, source }
    }

    /// A [`Error::Alert`].
    pub fn alert(sink: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Alert { sink: sink.into(), reason: reason.into() }
    }
}
