//! # telltale-bench
//!
//! Every benchmark of telltale in one place; the `telltale bench …` and
//! `telltale nab-score` commands only turn their flags into the options here
//! and print what comes back.
//!
//! Layout:
//!
//! - one folder per public benchmark, each split the same way:
//!   - `corpus`: the reader of the benchmark's own file layout;
//!   - `protocol`: what is fitted on what, what is scored, the roster of detectors;
//!   - `leaderboard`: the published figures, and the tables that set a run beside them.
//!
//!   [`nab`] (the Numenta Anomaly Benchmark; its scorer is a metric of the data core,
//!   `telltale_core::metrics::nab`) and [`skab`] (the Skoltech Anomaly Benchmark).
//! - [`msl`]: NASA MSL in telemanom's layout (`telltale bench msl`).
//! - [`perf`]: performance runs (training, inference latency, the live stream).
//! - [`chaos`]: scripted faults against a real deployment of `serve` on loopback (`telltale bench chaos`).
//! - [`folds`]: folds for cross-validation (`--cv K`), by unit name.
//! - [`zoo`]: a zoo detector fitted on nominal rows and scored on others, as SKAB and MSL run it.
//! - [`roster`]: choosing a roster's detectors by name; [`frame`]: what every corpus reader starts from.
//! - `benches/runtime.rs`: criterion benches of telltale-runtime on every preset.
//!
//! Adding a benchmark = a new folder `src/<name>/` with `mod.rs`, `corpus.rs`,
//! `protocol.rs` and `leaderboard.rs`, one `pub mod <name>;` line here, and the
//! command in the cli (its flags, and a thin file that calls `<name>::protocol`
//! and prints).

pub mod chaos;
pub mod error;
pub mod federated;
pub mod folds;
pub mod frame;
pub mod msl;
pub mod nab;
pub mod perf;
pub mod roster;
pub mod skab;
pub mod zoo;

pub use error::{Error, Result};
