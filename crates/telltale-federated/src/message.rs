//! What crosses the broker: a JSON header line, a newline, then a binary body. Topics:
//!
//! ```text
//! tt/fl/{run}/spec             the run's file (retained, QoS 1; body: its TOML text): sites need no config
//! tt/fl/{run}/global           the global model of the current round (retained, QoS 1; body: f32 weights)
//! tt/fl/{run}/join/{site}      a site's row count and column moments (retained, QoS 1; no body)
//! tt/fl/{run}/update/{site}    a site's update for one round (QoS 1; body: the codec's bytes)
//! tt/fl/{run}/left/{site}      a site saw the end of training (QoS 1): the coordinator may stop its broker
//!
//! When the run ends, each side clears what it retained (an empty retained payload), so that a later run of
//! the same name on the same broker starts clean.
//! ```

use serde::{Deserialize, Serialize};
use telltale_core::Scaler;

use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::moments::Moments;

/// The global model of one round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Global {
    /// The run.
    pub run: String,
    /// The coordinator state it comes from ([`Spec::instance`]).
    pub instance: String,
    /// The round this model starts (1-based); after the last round, `done` is set and `round` is the last.
    pub round: usize,
    /// The hash of these weights: updates name it as their base.
    pub hash: String,
    /// Values per tensor.
    pub segments: Vec<usize>,
    /// The scaler every site applies (formed from the sites' moments).
    pub scaler: Scaler,
    /// The sites asked to train this round.
    pub selected: Vec<String>,
    /// The codec of updates.
    pub codec: Codec,
    /// FedProx's μ.
    pub mu: f64,
    /// Local epochs.
    pub local_epochs: usize,
    /// True once training is over: sites stop.
    pub done: bool,
    /// Changes each time the coordinator announces the round again (after its restart, or the broker's): a site
    /// that already answered this round and base sends its update again, since it may have been lost.
    pub announce: u64,
}

/// A site announcing itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Join {
    /// The run.
    pub run: String,
    /// The coordinator state whose spec the site read ([`Spec::instance`]): a join kept by the broker from
    /// another run of the name is not taken.
    pub instance: String,
    /// The site.
    pub site: String,
    /// Moments of its training rows, per column.
    pub moments: Moments,
    /// Training windows it holds.
    pub windows: usize,
}

/// A site's update: its weights minus the base model's, encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    /// The run.
    pub run: String,
    /// The round it answers.
    pub round: usize,
    /// The site.
    pub site: String,
    /// The hash of the global model it started from.
    pub base: String,
    /// Windows it trained on (the weight of its update).
    pub samples: usize,
    /// How the body is encoded.
    pub codec: Codec,
    /// Its last local epoch's mean training loss.
    pub loss: f64,
}

/// A header and a body as one payload.
pub fn frame<T: Serialize>(header: &T, body: &[u8]) -> Vec<u8> {
    let mut out = serde_json::to_vec(header).unwrap_or_default();
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// The header and body of a payload; `what` names the topic in errors.
pub fn unframe<'a, T: Deserialize<'a>>(payload: &'a [u8], what: &str) -> Result<(T, &'a [u8])> {
    let cut =
        payload.iter().position(|&b| b == b'\n').ok_or_else(|| Error::Update(format!("{what}: no header line")))?;
    let header = serde_json::from_slice(&payload[..cut]).map_err(|e| Error::Update(format!("{what}: {e}")))?;
    Ok((header, &payload[cut + 1..]))
}

/// The weights of a global model's body.
pub fn weights(body: &[u8], segments: &[usize]) -> Result<Vec<f32>> {
    crate::codec::decode(Codec::F32, body, segments)
}

/// The header of the run's file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// The run.
    pub run: String,
    /// Names this run's coordinator state (the same across its restarts, new for a new run of the same name).
    pub instance: String,
}

/// Topic of the run's file.
pub fn spec_topic(run: &str) -> String {
    format!("tt/fl/{run}/spec")
}

/// Topic of the global model.
pub fn global_topic(run: &str) -> String {
    format!("tt/fl/{run}/global")
}

/// Topic of a site's join.
pub fn join_topic(run: &str, site: &str) -> String {
    format!("tt/fl/{run}/join/{site}")
}

/// Topic where a site says it stopped after the last round (no body beyond the header).
pub fn left_topic(run: &str, site: &str) -> String {
    format!("tt/fl/{run}/left/{site}")
}

/// Topic of a site's updates.
pub fn update_topic(run: &str, site: &str) -> String {
    format!("tt/fl/{run}/update/{site}")
}
