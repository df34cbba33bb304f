//! The transport between coordinator and sites: a small interface ([`Bus`]) so that a NATS transport can
//! carry the same messages later, and its MQTT implementation ([`Mqtt`], rumqttc, QoS 1, TLS and passwords
//! as `serve` takes them). Every payload byte that crosses, both ways, is counted.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use rumqttc::{Client, Event, Packet, QoS};
use telltale_stream::BrokerUrl;

use crate::error::{Error, Result};

/// A message that arrived.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Its topic.
    pub topic: String,
    /// Its payload.
    pub payload: Vec<u8>,
}

/// Bytes that crossed the broker (topic and payload of each publish).
#[derive(Debug, Default)]
pub struct Traffic {
    /// Sent by this side.
    pub sent: AtomicU64,
    /// Received by this side.
    pub received: AtomicU64,
    /// Connections made (the first and each reconnect).
    pub connects: AtomicU64,
}

/// A publish/subscribe transport.
pub trait Bus: Send {
    /// Subscribes to `filter` (kept across reconnects).
    fn subscribe(&mut self, filter: &str) -> Result<()>;
    /// Publishes `payload` on `topic`, at least once; `retain` keeps it for later subscribers.
    fn publish(&mut self, topic: &str, payload: Vec<u8>, retain: bool) -> Result<()>;
    /// The next message, waiting at most `timeout`.
    fn recv(&mut self, timeout: Duration) -> Option<Incoming>;
    /// What crossed so far.
    fn traffic(&self) -> &Traffic;
}

/// MQTT through rumqttc, the subscriptions made again on every reconnect. Sessions are clean: what a side
/// missed while away is the retained global model (sent again on subscribing) and updates, which the
/// coordinator asks for again by announcing the round anew after it reconnects. (A resumed session on the
/// embedded broker did not send retained messages again, and its QoS 1 path has the faults in
/// docs/rumqttd-qos1.md.)
pub struct Mqtt {
    client: Client,
    incoming: mpsc::Receiver<Incoming>,
    filters: Arc<Mutex<Vec<String>>>,
    traffic: Arc<Traffic>,
    stop: Arc<AtomicBool>,
}

impl Drop for Mqtt {
    /// Disconnects, and stops the connection's thread from reconnecting: a client left behind under the same id
    /// would take the session from its successor, again and again.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.client.try_disconnect();
    }
}

/// The largest packet either side sends or reads (a model's weights go in one message).
pub const MAX_PACKET: usize = 64 << 20;

impl Mqtt {
    /// Connects to `broker` as `client_id` (its persistent session's name).
    pub fn connect(broker: &BrokerUrl, client_id: &str) -> Result<Mqtt> {
        let mut options = broker.options(client_id)?;
        options.set_max_packet_size(MAX_PACKET, MAX_PACKET);
        options.set_clean_session(true);
        options.set_keep_alive(Duration::from_secs(10));
        let (client, mut connection) = Client::new(options, 256);
        let (tx, incoming) = mpsc::channel();
        let filters: Arc<Mutex<Vec<String>>> = Arc::default();
        let traffic: Arc<Traffic> = Arc::default();
        let stop: Arc<AtomicBool> = Arc::default();
        let (f, t, c, url, halt) = (filters.clone(), traffic.clone(), client.clone(), broker.to_url(), stop.clone());
        std::thread::Builder::new()
            .name(format!("fl-mqtt-{client_id}"))
            .spawn(move || {
                for event in connection.iter() {
                    if halt.load(Ordering::Relaxed) {
                        return;
                    }
                    match event {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            t.connects.fetch_add(1, Ordering::Relaxed);
                            let filters = f.lock().unwrap_or_else(|e| e.into_inner()).clone();
                            for filter in filters {
                                let _ = c.try_subscribe(filter, QoS::AtLeastOnce);
                            }
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            t.received.fetch_add((p.topic.len() + p.payload.len()) as u64, Ordering::Relaxed);
                            let topic = p.topic.clone();
                            if tx.send(Incoming { topic, payload: p.payload.to_vec() }).is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::debug!("{url}: {e}; reconnecting");
                            std::thread::sleep(Duration::from_millis(200));
                        }
                    }
                }
            })
            .map_err(|e| Error::Broker { url: broker.to_url(), message: e.to_string() })?;
        Ok(Mqtt { client, incoming, filters, traffic, stop })
    }
}

impl Bus for Mqtt {
    fn subscribe(&mut self, filter: &str) -> Result<()> {
        self.filters.lock().unwrap_or_else(|e| e.into_inner()).push(filter.to_owned());
        self.client
            .subscribe(filter, QoS::AtLeastOnce)
            .map_err(|e| Error::Broker { url: filter.to_owned(), message: e.to_string() })
    }

    fn publish(&mut self, topic: &str, payload: Vec<u8>, retain: bool) -> Result<()> {
        self.traffic.sent.fetch_add((topic.len() + payload.len()) as u64, Ordering::Relaxed);
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .map_err(|e| Error::Broker { url: topic.to_owned(), message: e.to_string() })
    }

    fn recv(&mut self, timeout: Duration) -> Option<Incoming> {
        self.incoming.recv_timeout(timeout).ok()
    }

    fn traffic(&self) -> &Traffic {
        &self.traffic
    }
}
