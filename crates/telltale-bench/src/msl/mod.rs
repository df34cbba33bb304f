//! NASA's MSL telemetry in telemanom's layout (`train/<chan>.npy`,
//! `test/<chan>.npy`, `labeled_anomalies.csv`).
//!
//! So far its readers: [`npy`] (the arrays) and [`corpus`] (the folder and
//! its labels). The protocol, roster and leaderboard (`telltale bench msl`)
//! are not built yet.

pub mod corpus;
pub mod npy;
