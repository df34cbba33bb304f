//! The Skoltech Anomaly Benchmark.
//!
//! - [`corpus`]: SKAB's layout read (`;`-separated experiment files with `anomaly` and `changepoint`).
//! - [`protocol`]: per file, fit on the first 400 rows and score the rest, pooled over files,
//!   for every detector of the roster.
//! - [`cv`]: the choice of detector cross-validated over folds of files.
//! - [`leaderboard`]: the published leaderboard and the table beside it.

pub mod corpus;
pub mod cv;
pub mod leaderboard;
pub mod protocol;
