//! Alerts: which anomalies notify whom ([`Planner`]: per-device cooldown),
//! and delivery through the channels ([`AlertSink`]: a webhook, Twilio SMS,
//! an MQTT topic) from the store's outbox ([`deliver`]), retried with
//! back-off until a channel confirms. An alert is queued in the same
//! transaction as its anomaly, so it is never lost, and sent at least once.
//!
//! Adding a channel: a module here with its [`AlertSink`] and a `build`
//! function, plus one line in [`CHANNELS`]. Its name is stored in every
//! alert row it delivers (the database and the dashboard show it).

pub mod mqtt;
pub mod outbox;
pub mod plan;
pub mod sinks;
pub mod twilio;
pub mod webhook;

use std::time::Duration;

pub use self::mqtt::MqttAlerts;
pub use self::outbox::{Unrecorded, deliver, deliver_due, deliver_due_keeping};
pub use self::plan::{AlertPayload, Planner, backoff_ms};
pub use self::sinks::{AlertSink, Setup, Sinks};
pub use self::twilio::Twilio;
pub use self::webhook::Webhook;
use crate::config::AlertsConfig;
use crate::error::Result;
use crate::source::BrokerUrl;

/// How a channel is built from the settings: `None` when they do not configure it.
pub type Build = fn(&Setup<'_>) -> Result<Option<Box<dyn AlertSink>>>;

/// A known channel: its name, what a row queued for it says when it is not configured (any more), and how it
/// is built from the settings (`None`: not configured).
#[derive(Debug, Clone, Copy)]
pub struct Channel {
    /// The channel's name (the alert rows' `sink`, or its part before `:`).
    pub name: &'static str,
    /// The error of a row queued for it while it is not configured.
    pub unconfigured: &'static str,
    /// Builds it, if configured.
    pub build: Build,
}

/// The alert channels, in the order one anomaly's alert rows are queued.
pub const CHANNELS: &[Channel] = &[
    Channel { name: "webhook", unconfigured: "no webhook is configured", build: webhook::build },
    Channel { name: "twilio", unconfigured: "Twilio is not configured", build: twilio::build },
    Channel { name: "mqtt", unconfigured: "no MQTT alert topic", build: mqtt::build },
];

/// The channels `alerts` configures, their HTTP requests given up after `timeout`; MQTT ones publish on
/// `broker` as `CLIENT_ID-alerts`.
pub fn channels(alerts: &AlertsConfig, timeout: Duration, broker: &BrokerUrl, client_id: &str) -> Result<Sinks> {
    let http = sinks::http_client(timeout)?;
    let setup = Setup { alerts, broker, client_id, http: &http };
    let mut built = Vec::new();
    let mut missing = Vec::new();
    for channel in CHANNELS {
        match (channel.build)(&setup)? {
            Some(sink) => built.push(sink),
            None => missing.push(channel),
        }
    }
    Ok(missing.into_iter().fold(Sinks::new(built), |s, c| s.unconfigured(c.name, c.unconfigured)))
}

#[cfg(test)]
mod tests;
