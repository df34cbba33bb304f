//! NASA's MSL telemetry in telemanom's layout (`train/<chan>.npy`,
//! `test/<chan>.npy`, `labeled_anomalies.csv`).
//!
//! So far only its array reader: [`npy`]. The protocol, roster and
//! leaderboard (`telltale bench msl`) are not built yet.

pub mod npy;
