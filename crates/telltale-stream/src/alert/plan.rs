//! Which anomalies notify: the [`Planner`] (per-device cooldown) and the
//! [`AlertPayload`] every channel is sent; [`backoff_ms`], the wait between
//! two attempts.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::detect::Decision;
use crate::store::TopSensor;

/// What every sink is sent (JSON), with a one-line message for SMS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertPayload {
    /// The device.
    pub device: String,
    /// First reading of the anomalous window (epoch ms).
    pub start_ms: i64,
    /// Last reading of the anomalous window (epoch ms).
    pub end_ms: i64,
    /// The score.
    pub score: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// The sensors contributing most.
    pub top: Vec<TopSensor>,
    /// One line for people.
    pub message: String,
}

impl AlertPayload {
    /// The payload for `d`.
    pub fn new(d: &Decision) -> AlertPayload {
        let top = TopSensor::of(d);
        let mut message = format!(
            "telltale: anomaly on {} at {} UTC: score {:.3} over threshold {:.3}",
            d.device,
            telltale_core::timestamp::format_millis(d.end_ms),
            d.score,
            d.threshold
        );
        if !top.is_empty() {
            let parts: Vec<String> = top.iter().map(|t| format!("{} {:.3}", t.sensor, t.part)).collect();
            message.push_str(&format!("; top sensors: {}", parts.join(", ")));
        }
        AlertPayload {
            device: d.device.clone(),
            start_ms: d.start_ms,
            end_ms: d.end_ms,
            score: d.score,
            threshold: d.threshold,
            top,
            message,
        }
    }
}

/// Decides which anomalies raise alerts: at most one per device per cooldown (in data time, so a replay at any
/// speed alerts the same way); the anomalies in between are stored, not alerted.
#[derive(Debug, Clone)]
pub struct Planner {
    /// Sink names every alerted anomaly queues.
    pub sinks: Vec<String>,
    /// Minimum time between two alerts of one device (ms).
    pub cooldown_ms: i64,
    last: HashMap<String, i64>,
}

impl Planner {
    /// A planner for `sinks` with `cooldown_ms`.
    pub fn new(sinks: Vec<String>, cooldown_ms: i64) -> Planner {
        Planner { sinks, cooldown_ms, last: HashMap::new() }
    }

    /// The alerts `d` raises: one (sink, payload) per sink, or none while its device is cooling down.
    pub fn plan(&mut self, d: &Decision) -> Vec<(String, String)> {
        if self.sinks.is_empty() {
            return Vec::new();
        }
        if let Some(last) = self.last.get(&d.device)
            && d.end_ms - last < self.cooldown_ms
        {
            return Vec::new();
        }
        self.last.insert(d.device.clone(), d.end_ms);
        let payload = serde_json::to_string(&AlertPayload::new(d)).unwrap_or_default();
        self.sinks.iter().map(|s| (s.clone(), payload.clone())).collect()
    }
}

/// The wait before attempt `attempts + 1`: 1 s doubling, at most 10 minutes.
pub fn backoff_ms(attempts: i64) -> i64 {
    1_000_i64.saturating_mul(1 << attempts.clamp(0, 20)).min(600_000)
}
