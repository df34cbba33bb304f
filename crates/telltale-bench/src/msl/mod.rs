//! NASA's MSL telemetry in telemanom's layout (`train/<chan>.npy`,
//! `test/<chan>.npy`, `labeled_anomalies.csv`).
//!
//! - [`npy`]: the arrays; [`corpus`]: the folder and its labels.
//! - [`protocol`]: per channel, fit on the train array, score the test array;
//!   telemanom's event counts summed over channels, point-wise F1, ROC-AUC, VUS-PR.
//! - [`detectors`]: the roster: zoo detectors fitted on the train array, streaming ones warmed up on it.
//! - [`record`]: a detector's run record (`--report DIR`).
//! - [`cv`]: the choice of detector cross-validated over folds of channels.
//! - [`leaderboard`]: telemanom's stored run beside ours, and the table.

pub mod corpus;
pub mod cv;
pub mod detectors;
pub mod leaderboard;
pub mod npy;
pub mod protocol;
pub mod record;
