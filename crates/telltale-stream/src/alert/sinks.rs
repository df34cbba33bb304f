//! The alert channels' interface ([`AlertSink`]) and the set of channels
//! configured ([`Sinks`]): a queued alert row names its channel (`webhook`,
//! `mqtt`) or its channel and recipient (`twilio:NUMBER`).

use std::fmt::Debug;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::config::AlertsConfig;
use crate::error::{Error, Result};
use crate::source::BrokerUrl;
use crate::store::AlertRow;

/// One alert channel.
pub trait AlertSink: Debug + Send + Sync {
    /// Its name: the `sink` of the alert rows it delivers, or their part before `:` (`twilio:NUMBER`).
    fn name(&self) -> &str;

    /// The alert rows one alerted anomaly queues for it: one named after it unless it has several recipients.
    fn rows(&self) -> Vec<String> {
        vec![self.name().to_owned()]
    }

    /// Sends one queued alert; `Ok` once the channel has accepted it.
    fn send<'a>(&'a self, alert: &'a AlertRow) -> BoxFuture<'a, Result<()>>;

    /// Called once when the service stops, after the outbox's last pass: lets what is queued leave.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// What building a channel may use: the alert settings, the broker, the service's client id, and the HTTP
/// client every HTTP channel shares (its timeout is `alerts.timeout_s`).
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    /// The alert settings.
    pub alerts: &'a AlertsConfig,
    /// The service's broker.
    pub broker: &'a BrokerUrl,
    /// The service's MQTT client id.
    pub client_id: &'a str,
    /// The shared HTTP client.
    pub http: &'a reqwest::Client,
}

/// An HTTP client that gives up on a request after `timeout`.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client> {
    // One TLS provider for the process (ring); a second install is refused harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("telltale/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::config("HTTP client", e.to_string()))
}

/// `Ok` for a 2xx answer; otherwise an error with the status and the start of the body.
pub async fn check_response(sink: &str, response: reqwest::Response) -> Result<()> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(200).collect();
    Err(Error::alert(sink, format!("HTTP {status}: {body}")))
}

/// Where alerts go: the configured channels, in order.
#[derive(Debug, Default)]
pub struct Sinks {
    channels: Vec<Box<dyn AlertSink>>,
    /// Known channels that are not configured, with what to say of a row queued for one.
    unconfigured: Vec<(&'static str, &'static str)>,
}

/// Whether the alert row `row` belongs to the channel `name`.
fn serves(name: &str, row: &str) -> bool {
    row.strip_prefix(name).is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
}

impl Sinks {
    /// These channels.
    pub fn new(channels: Vec<Box<dyn AlertSink>>) -> Sinks {
        Sinks { channels, unconfigured: Vec::new() }
    }

    /// Notes that the channel `name` is known but not configured: a row still queued for it fails with `why`.
    pub fn unconfigured(mut self, name: &'static str, why: &'static str) -> Sinks {
        self.unconfigured.push((name, why));
        self
    }

    /// The names of the alert rows one anomaly queues, channel by channel (`webhook`, `twilio:NUMBER` per
    /// recipient, `mqtt`).
    pub fn names(&self) -> Vec<String> {
        self.channels.iter().flat_map(|c| c.rows()).collect()
    }

    /// Sends one queued alert through its channel; `Ok` once the channel has accepted it.
    pub async fn send(&self, alert: &AlertRow) -> Result<()> {
        let row = alert.sink.as_str();
        if let Some(channel) = self.channels.iter().find(|c| serves(c.name(), row)) {
            return channel.send(alert).await;
        }
        let why = self.unconfigured.iter().find(|(name, _)| serves(name, row)).map(|(_, why)| *why);
        Err(Error::alert(row, why.unwrap_or("unknown sink (the configuration changed since it was queued?)")))
    }

    /// Closes every channel (see [`AlertSink::close`]).
    pub async fn close(&self) {
        for channel in &self.channels {
            channel.close().await;
        }
    }
}
