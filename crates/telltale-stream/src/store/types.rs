//! The rows the store writes and reads.

use serde::Serialize;

use crate::detect::Decision;

/// Which SQL the database speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (a file).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

/// A reading to store: its device, time (epoch ms) and values as a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingRow {
    /// The device.
    pub device: String,
    /// Epoch ms.
    pub ts: i64,
    /// The values, a JSON object `{"feature": value, …}`.
    pub data: String,
}

/// An anomaly to store, with the alerts to queue if it is new.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAnomaly {
    /// The decision that flagged it.
    pub decision: Decision,
    /// When it was detected (epoch ms).
    pub detected_ms: i64,
    /// One alert per sink to notify: (sink name, payload).
    pub alerts: Vec<(String, String)>,
}

/// One write: everything a stretch of messages produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Readings (stored only when the service stores readings).
    pub readings: Vec<ReadingRow>,
    /// Anomalies.
    pub anomalies: Vec<NewAnomaly>,
}

/// What a commit added (duplicates are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Committed {
    /// New readings.
    pub readings: u64,
    /// New anomalies.
    pub anomalies: u64,
    /// Alerts queued.
    pub alerts: u64,
}

/// A sensor's part of an anomaly score.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct TopSensor {
    /// The sensor (feature) name.
    pub sensor: String,
    /// Its part of the score.
    pub part: f64,
}

impl TopSensor {
    /// The top sensors of `d`, largest first.
    pub fn of(d: &Decision) -> Vec<TopSensor> {
        d.top.iter().map(|(s, p)| TopSensor { sensor: s.clone(), part: *p }).collect()
    }
}

/// A stored anomaly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnomalyRow {
    /// Row id.
    pub id: i64,
    /// The device.
    pub device: String,
    /// First reading of the window (epoch ms).
    pub start_ms: i64,
    /// Last reading of the window (epoch ms).
    pub end_ms: i64,
    /// The score.
    pub score: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// The sensors contributing most.
    pub top: Vec<TopSensor>,
    /// When it was detected (epoch ms).
    pub detected_ms: i64,
}

/// A queued alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    /// Row id.
    pub id: i64,
    /// The sink to send it through.
    pub sink: String,
    /// The device.
    pub device: String,
    /// The anomaly's last reading (epoch ms).
    pub end_ms: i64,
    /// What to send (JSON).
    pub payload: String,
    /// Attempts so far.
    pub attempts: i64,
}

/// Alerts by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AlertCounts {
    /// Waiting to be sent (including retries).
    pub pending: u64,
    /// Delivered.
    pub sent: u64,
}

/// One delivery of an anomaly's alert, as the feed shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// The sink.
    pub sink: String,
    /// `sent`, `pending` (not tried yet) or `failed` (tried, failing; retried).
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The last failure's message (empty once sent).
    pub last_error: String,
}

/// An acknowledgement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ack {
    /// When (epoch ms).
    pub acked_ms: i64,
    /// By whom (as given).
    pub by: String,
}

/// An anomaly with its alerts' deliveries and its acknowledgement: one line of the alert feed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedItem {
    /// The anomaly.
    #[serde(flatten)]
    pub anomaly: AnomalyRow,
    /// Its alerts, one per sink.
    pub deliveries: Vec<Delivery>,
    /// Its acknowledgement, if any.
    pub ack: Option<Ack>,
}

/// A recorded threshold change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdChange {
    /// Row id.
    pub id: i64,
    /// The device, or `None` for the model (every device without its own).
    pub device: Option<String>,
    /// The new threshold; `None`: cleared (back to the model's rule).
    pub value: Option<f64>,
    /// When (epoch ms).
    pub changed_ms: i64,
    /// By whom (as given).
    pub by: String,
}
