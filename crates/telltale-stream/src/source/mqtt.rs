//! The MQTT transport: subscribes on a broker (rumqttc) with a persistent
//! session, and acknowledges what the store has committed. Where a broker is
//! and how to reach it: [`BrokerUrl`].

mod broker_url;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use tokio::sync::{mpsc, watch};

pub use self::broker_url::BrokerUrl;
use super::interface::{DynSource, Link, Message, Source};
use crate::error::Result;
use crate::pipeline::Counters;

/// MQTT's largest packet (its remaining length's limit): read whole, however large, so that an oversized
/// message can be acknowledged and dropped instead of breaking the connection on every redelivery.
pub const MQTT_MAX_PACKET: usize = 268_435_455;

/// The source for `url` (`mqtt[s]://…`), linked to the service: see [`Link::durable`].
pub fn open(url: &str, link: Link) -> Result<Box<dyn DynSource>> {
    let broker = BrokerUrl { ca_file: link.tls_ca, ..BrokerUrl::parse(url)? };
    Ok(Box::new(Mqtt {
        broker,
        filter: link.filter,
        client_id: link.client_id,
        // Acknowledging after the commit protects messages held by a broker that outlives the service. The
        // embedded broker lives and dies with it (and lets only 100 messages wait for acknowledgement, which
        // would tie delivery to the commit cadence), so there messages are acknowledged on arrival.
        committed: link.durable.then_some(link.committed),
        stop: Some(link.stop),
        qos: if link.durable { QoS::AtLeastOnce } else { QoS::AtMostOnce },
        subscribed: Some(link.subscribed),
        max_payload: link.max_payload,
        counters: link.counters,
    }))
}

/// Subscribes to `filter` on a broker (at `qos`) with a persistent session (`client_id` names it), and forwards
/// every publish. Reconnects with back-off (0.1 s doubling to 5 s) when the broker goes away.
///
/// With `committed` set, a QoS 1 message is acknowledged only once the store has committed it (the receiver
/// carries the last committed [`Message::seq`]): a message the service took but had not stored when it stopped
/// is redelivered by the broker. Without it, messages are acknowledged on arrival.
#[derive(Debug, Clone)]
pub struct Mqtt {
    /// The broker.
    pub broker: BrokerUrl,
    /// The subscription filter.
    pub filter: String,
    /// The client id (the persistent session's name).
    pub client_id: String,
    /// The last committed sequence number, when acknowledgements wait for the store.
    pub committed: Option<watch::Receiver<u64>>,
    /// Turns true to stop: the source stops forwarding, waits (at most 10 s) until what it forwarded is
    /// committed and acknowledged, then disconnects.
    pub stop: Option<watch::Receiver<bool>>,
    /// The subscription's QoS: 1 where the broker outlives the service (it keeps what the service has not
    /// acknowledged); the embedded broker, which lives and dies with the service, delivers at 0 (its QoS 1 path
    /// was seen holding back a few readings of a busy stream for good).
    pub qos: QoS,
    /// Notified each time the broker confirms the subscription (a reading published before the first
    /// confirmation may find no subscriber and be dropped by the broker).
    pub subscribed: Option<Arc<tokio::sync::Notify>>,
    /// The largest payload read: a larger one is forwarded as [`Message::oversized`] (counted, acknowledged in
    /// its turn, never parsed), so one oversized message cannot stall the session with endless redeliveries.
    pub max_payload: usize,
    /// Where lost connections are counted.
    pub counters: Arc<Counters>,
}

/// QoS 1 publishes waiting for their commit, oldest first.
type Unacked = Arc<Mutex<VecDeque<(u64, Publish)>>>;

impl Mqtt {
    /// The client options: persistent session, keep-alive, credentials, payload limit.
    fn options(&self) -> Result<MqttOptions> {
        let mut options = self.broker.options(&self.client_id)?;
        options.set_max_packet_size(MQTT_MAX_PACKET, crate::broker::MAX_OUTGOING);
        options.set_clean_session(false);
        options.set_manual_acks(self.committed.is_some());
        Ok(options)
    }
}

/// Acknowledges every waiting publish up to the committed sequence number, as commits come in.
async fn acknowledge(client: AsyncClient, unacked: Unacked, mut committed: watch::Receiver<u64>) {
    while committed.changed().await.is_ok() {
        let upto = *committed.borrow_and_update();
        loop {
            let next = {
                let mut q = unacked.lock().unwrap_or_else(|e| e.into_inner());
                match q.front() {
                    Some((seq, _)) if *seq <= upto => q.pop_front(),
                    _ => None,
                }
            };
            let Some((_, publish)) = next else { break };
            if client.ack(&publish).await.is_err() {
                return;
            }
        }
    }
}

impl Source for Mqtt {
    async fn run(self, tx: mpsc::Sender<Message>) -> Result<()> {
        let (client, mut events) = AsyncClient::new(self.options()?, 1024);
        let unacked: Unacked = Arc::default();
        let acks = self.committed.clone().map(|c| tokio::spawn(acknowledge(client.clone(), unacked.clone(), c)));
        // Without a stop signal, one that never fires (its sender lives as long as the loop).
        let (_never, never) = watch::channel(false);
        let mut stop = self.stop.clone().unwrap_or(never);
        let mut backoff = Duration::from_millis(100);
        let mut seq = 0;
        let where_ = format!("mqtt://{}:{}", self.broker.host, self.broker.port);
        let result = loop {
            let event = tokio::select! {
                event = events.poll() => event,
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break Ok(());
                    }
                    continue;
                }
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = Duration::from_millis(100);
                    tracing::info!("connected to {where_}");
                    // Subscribing again after a reconnect is harmless and covers a broker that lost the session.
                    // The request joins the client's queue, which only this loop's polling empties: when
                    // acknowledgements made while the broker was away have filled it, waiting here would deadlock,
                    // so the request then waits in a task of its own.
                    if client.try_subscribe(self.filter.clone(), self.qos).is_err() {
                        let (c, filter, at, qos) = (client.clone(), self.filter.clone(), where_.clone(), self.qos);
                        tokio::spawn(async move {
                            if let Err(e) = c.subscribe(filter, qos).await {
                                tracing::warn!("{at}: subscribing failed: {e}");
                            }
                        });
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(n) = &self.subscribed {
                        n.notify_one();
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    seq += 1;
                    let m = if p.payload.len() > self.max_payload {
                        Message::oversized(p.topic.clone(), p.payload.len(), seq)
                    } else {
                        Message::new(p.topic.clone(), p.payload.to_vec(), seq)
                    };
                    if self.committed.is_some() && p.qos != QoS::AtMostOnce {
                        unacked.lock().unwrap_or_else(|e| e.into_inner()).push_back((seq, p));
                    }
                    if tx.send(m).await.is_err() {
                        break Ok(());
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    Counters::add(&self.counters.broker_disconnects, 1);
                    tracing::warn!("{where_}: {e}; retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        };
        // Stopping: no more messages in; acknowledge what gets committed, then leave the broker cleanly.
        drop(tx);
        let drained = async {
            // Each acknowledgement sent is an event, so the queue is checked after every one; polls are never
            // cut short (that could cancel a reconnection's handshake), the whole wait is bounded below.
            while !unacked.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
                if events.poll().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            let _ = client.disconnect().await;
            while let Ok(e) = events.poll().await {
                if matches!(e, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                    break;
                }
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), drained).await.is_err() {
            tracing::warn!("{where_}: stopped before every stored message was acknowledged (it will be redelivered)");
        }
        if let Some(a) = acks {
            a.abort();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::free_port;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readings_published_to_the_embedded_broker_are_decided() {
        use crate::detect::tests::zero_model;
        use crate::pipeline::DetectStage;
        use crate::{Counters, Detector, TopicPattern};
        use std::sync::Arc;
        use telltale_runtime::format::ThresholdSpec;

        let port = free_port();
        crate::broker::Embedded::open(format!("127.0.0.1:{port}").parse().expect("addr")).start().expect("broker");
        let pattern = TopicPattern::new("sensors/{device}/#").expect("pattern");
        let source = Mqtt {
            broker: BrokerUrl::parse(&format!("mqtt://127.0.0.1:{port}")).expect("url"),
            filter: pattern.filter(),
            client_id: "telltale-test".into(),
            committed: None,
            stop: None,
            qos: QoS::AtLeastOnce,
            subscribed: None,
            max_payload: 1 << 20,
            counters: Arc::default(),
        };
        let (tx, rx) = mpsc::channel(64);
        let (out_tx, mut out_rx) = mpsc::channel(64);
        let counters = Arc::new(Counters::default());
        let detector = Detector::new(zero_model(ThresholdSpec::Static { value: 4.0 }, 1));
        let _stage = DetectStage { pattern, store_readings: false, decisions: None, live: None }.spawn(
            rx,
            detector,
            out_tx,
            counters.clone(),
        );
        tokio::spawn(source.run(tx));

        let (client, mut events) = AsyncClient::new(MqttOptions::new("publisher", "127.0.0.1", port), 64);
        tokio::spawn(async move {
            loop {
                if events.poll().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
        let decisions = tokio::time::timeout(Duration::from_secs(20), async {
            // Publish until the subscriber is in (its subscription may land after the first publishes), then
            // collect: device d1 sends a normal then an extreme reading, d2 normal ones.
            let mut got = Vec::new();
            let mut ts = 1_000_i64;
            while got.len() < 4 {
                ts += 1;
                for (device, a) in [("d1", if ts % 2 == 0 { 0.0 } else { 4.0 }), ("d2", 0.0)] {
                    let payload = format!(r#"{{"ts": {ts}000, "values": {{"a": {a}, "b": 1}}}}"#);
                    client
                        .publish(format!("sensors/{device}/data"), QoS::AtLeastOnce, false, payload)
                        .await
                        .expect("publish");
                }
                if let Ok(Some(p)) = tokio::time::timeout(Duration::from_millis(200), out_rx.recv()).await {
                    got.extend(p.decisions);
                }
            }
            got
        })
        .await
        .expect("decisions within 20 s");
        for d in &decisions {
            assert_eq!(d.anomalous, d.device == "d1", "{d:?}");
        }
        assert_eq!(Counters::get(&counters.malformed), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mqtt5_devices_at_qos_0_and_1_reach_the_service_through_mosquitto() {
        use rumqttc::v5::mqttbytes::QoS as QoS5;
        let server = crate::testing::mosquitto();
        let source = Mqtt {
            broker: BrokerUrl::parse(&server.url).expect("url"),
            filter: "sensors/+/#".into(),
            client_id: "telltale-v5".into(),
            committed: None,
            stop: None,
            qos: QoS::AtLeastOnce,
            subscribed: None,
            max_payload: 1 << 20,
            counters: Arc::default(),
        };
        let (tx, mut rx) = mpsc::channel(64);
        tokio::spawn(source.run(tx));
        let options = rumqttc::v5::MqttOptions::new("device-v5", "127.0.0.1", server.port);
        let (client, mut events) = rumqttc::v5::AsyncClient::new(options, 64);
        tokio::spawn(async move { while events.poll().await.is_ok() {} });
        let got = tokio::time::timeout(Duration::from_secs(20), async {
            let mut got = Vec::new();
            let mut ts = 0;
            while got.len() < 2 {
                ts += 1;
                for (qos, name) in [(QoS5::AtMostOnce, "q0"), (QoS5::AtLeastOnce, "q1")] {
                    let payload = format!(r#"{{"ts": {ts}, "a": 1}}"#);
                    client.publish(format!("sensors/{name}/x"), qos, false, payload).await.expect("publish");
                }
                while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(100), rx.recv()).await {
                    if !got.contains(&m.topic) {
                        got.push(m.topic);
                    }
                }
            }
            got
        })
        .await
        .expect("both devices heard within 20 s");
        assert!(got.contains(&"sensors/q0/x".to_owned()) && got.contains(&"sensors/q1/x".to_owned()), "{got:?}");
    }
}
