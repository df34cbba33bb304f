//! The MQTT channel: each alert's JSON payload published at QoS 1 on a topic
//! (`{device}` replaced), through a client of its own on the service's
//! broker.

use std::time::Duration;

use futures_util::future::BoxFuture;
use rumqttc::{AsyncClient, QoS};

use super::sinks::{AlertSink, Setup};
use crate::error::{Error, Result};
use crate::source::BrokerUrl;
use crate::store::AlertRow;

/// Publishes each alert's JSON payload on `topic` (`{device}` replaced), QoS 1, through `client`.
#[derive(Debug, Clone)]
pub struct MqttAlerts {
    /// The client.
    pub client: AsyncClient,
    /// The topic pattern.
    pub topic: String,
}

/// The MQTT channel of `alerts.mqtt_topic`, if set: a client `CLIENT_ID-alerts` on the service's broker.
pub fn build(setup: &Setup<'_>) -> Result<Option<Box<dyn AlertSink>>> {
    let topic = &setup.alerts.mqtt_topic;
    if topic.is_empty() {
        return Ok(None);
    }
    let client = publisher(setup.broker, setup.client_id)?;
    Ok(Some(Box::new(MqttAlerts { client, topic: topic.clone() })))
}

impl AlertSink for MqttAlerts {
    fn name(&self) -> &str {
        "mqtt"
    }

    fn send<'a>(&'a self, alert: &'a AlertRow) -> BoxFuture<'a, Result<()>> {
        let topic = self.topic.replace("{device}", &alert.device);
        // Accepted into the client's queue: rumqttc keeps QoS 1 publishes until the broker acknowledges them.
        let sent = self
            .client
            .try_publish(topic, QoS::AtLeastOnce, false, alert.payload.clone().into_bytes())
            .map_err(|e| Error::alert(alert.sink.as_str(), e.to_string()));
        Box::pin(async move { sent })
    }

    /// Gives queued alerts a moment to leave, then disconnects.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = self.client.disconnect().await;
        })
    }
}

/// An MQTT client for alerts, its event loop polled (reconnecting with back-off) on a task of its own.
fn publisher(broker: &BrokerUrl, client_id: &str) -> Result<AsyncClient> {
    let mut options = broker.options(&format!("{client_id}-alerts"))?;
    options.set_clean_session(false);
    let (client, mut events) = AsyncClient::new(options, 1024);
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match events.poll().await {
                Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
                Ok(_) => backoff = Duration::from_millis(100),
                Err(rumqttc::ConnectionError::RequestsDone) => return,
                Err(e) => {
                    tracing::warn!("MQTT alerts: {e}; retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    });
    Ok(client)
}
