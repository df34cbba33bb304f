//! The Numenta Anomaly Benchmark.
//!
//! - [`corpus`]: NAB's layouts read and written (a corpus, a detector's result files).
//! - [`protocol`]: the streaming run of each roster detector over the corpus, scored by
//!   NAB's scorer (`telltale_core::metrics::nab`); and `nab-score` on any result files.
//! - [`cv`]: cross-validated figures: thresholds and the choice of detector made on other series.
//! - [`leaderboard`]: the published scoreboard and the tables beside it.

pub mod corpus;
pub mod cv;
pub mod leaderboard;
pub mod protocol;
