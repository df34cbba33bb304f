//! The one error type of `telltale-core`.
//!
//! Every variant that comes from user data names the file and, where there is
//! one, the line (1-based, the header being line 1) and the column, so a user
//! can open the file and find the cell.

use std::path::PathBuf;

/// Result alias used throughout `telltale-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the data core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("cannot access {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// The file holds no header row at all.
    #[error("{path}: the file is empty (expected a header row)")]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },

    /// The file has a header but no data rows (or none survived cleaning).
    #[error("{path}: no data rows{detail}")]
    NoRows {
        /// The file.
        path: PathBuf,
        /// Extra context, e.g. how many rows were dropped; starts with `" ("` or is empty.
        detail: String,
    },

    /// A row has a different number of fields than the header.
    #[error("{path}, line {line}: {found} fields, but the header has {expected}")]
    Ragged {
        /// The file.
        path: PathBuf,
        /// Line of the row.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields in this row.
        found: usize,
    },

    /// The CSV reader could not parse the file (bad quoting, invalid UTF-8, ...).
    #[error("{path}, line {line}: malformed CSV: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Line where the reader stopped.
        line: u64,
        /// The reader's message.
        message: String,
    },

    /// A cell that must be numeric is not.
    #[error("{path}, line {line}, column '{column}': '{value}' is not a number")]
    NotNumeric {
        /// The file.
        path: PathBuf,
        /// Line of the row.
        line: u64,
        /// Column name.
        column: String,
        /// The offending text.
        value: String,
    },

    /// A label cell is not 0 or 1.
    #[error("{path}, line {line}, column '{column}': '{value}' is not a label (expected 0 or 1)")]
    NotLabel {
        /// The file.
        path: PathBuf,
        /// Line of the row.
        line: u64,
        /// Column name.
        column: String,
        /// The offending value.
        value: String,
    },

    /// A cell is missing and the missing-value policy is `error`.
    #[error("{path}, line {line}, column '{column}': missing value{hint}")]
    MissingValue {
        /// The file.
        path: PathBuf,
        /// Line of the row.
        line: u64,
        /// Column name.
        column: String,
        /// How to accept gaps, where there is a way; starts with `" ("` or is empty.
        hint: &'static str,
    },

    /// A column named by the user does not exist.
    #[error("{path}: no column named '{column}' (columns: {available})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        column: String,
        /// The header, comma-separated.
        available: String,
    },

    /// A timestamp cell could not be read.
    #[error("{path}, line {line}, column '{column}': cannot read '{value}' as a timestamp ({hint})")]
    BadTimestamp {
        /// The file.
        path: PathBuf,
        /// Line of the row.
        line: u64,
        /// Column name.
        column: String,
        /// The offending text.
        value: String,
        /// The accepted formats.
        hint: &'static str,
    },

    /// A label rule could not be parsed, or does not fit the data's columns.
    #[error("label rule '{rule}': {message}")]
    LabelRule {
        /// The rule as written.
        rule: String,
        /// What is wrong, with the character position where the parser knows it.
        message: String,
    },

    /// A label rule could not be evaluated on a row.
    #[error("{path}, line {line}: label rule '{rule}': {message}")]
    LabelEval {
        /// The file.
        path: PathBuf,
        /// Line of the row.
        line: u64,
        /// The rule as written.
        rule: String,
        /// What is wrong.
        message: String,
    },

    /// A file of labelled intervals is malformed or does not fit the data.
    #[error("{path}: {message}")]
    Intervals {
        /// The intervals file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// A parameter is out of range or inconsistent.
    #[error("invalid {field}: {message}")]
    InvalidParam {
        /// The parameter's name, as the user writes it.
        field: String,
        /// What is wrong with it.
        message: String,
    },

    /// A window setting is missing, out of range, or not one the kind of
    /// window takes (from `WindowSettings::check`).
    #[error("invalid window {key}: {message}")]
    Window {
        /// The key, as the `[window]` section names it: `size`, `step`, `lookback` or `horizon`.
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },

    /// A computation is undefined for the data given (e.g. ROC-AUC with one class).
    #[error("{0}")]
    Undefined(String),

    /// A JSON file could not be read or written.
    #[error("{path}: not valid JSON")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidParam`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidParam { field: field.into(), message: message.into() }
    }

    /// True when the error comes from the user's data or files rather than from
    /// parameters: the CLI maps the two to different exit codes.
    pub fn is_data_error(&self) -> bool {
        !matches!(self, Error::InvalidParam { .. } | Error::Window { .. } | Error::LabelRule { .. })
    }
}
