//! Where messages come from, behind one small interface so detection never
//! knows the transport: an MQTT broker (rumqttc) now, a replay of recorded
//! messages for tests.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

use crate::error::{Error, Result};

/// One message: its topic, payload and arrival time.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The topic it was published on.
    pub topic: String,
    /// The raw payload.
    pub payload: Vec<u8>,
    /// When it arrived (epoch ms).
    pub received_ms: i64,
}

/// Epoch milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A source of messages: runs until its input ends (or forever), sending every message to `tx`, whose bound
/// is the back-pressure.
pub trait Source: Send + 'static {
    /// Runs the source.
    fn run(self, tx: mpsc::Sender<Message>) -> impl Future<Output = Result<()>> + Send;
}

/// Recorded messages, sent in order (tests, and replaying a capture).
#[derive(Debug, Clone, Default)]
pub struct Replay {
    /// The messages.
    pub messages: Vec<Message>,
}

impl Source for Replay {
    async fn run(self, tx: mpsc::Sender<Message>) -> Result<()> {
        for m in self.messages {
            if tx.send(m).await.is_err() {
                break;
            }
        }
        Ok(())
    }
}

/// Where a broker is: `mqtt://[user:password@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// Host name or address.
    pub host: String,
    /// Port (1883 by default).
    pub port: u16,
    /// User name and password, if given.
    pub credentials: Option<(String, String)>,
}

impl BrokerUrl {
    /// Parses `url`.
    pub fn parse(url: &str) -> Result<BrokerUrl> {
        let bad = |reason: &str| Error::config(format!("broker URL {url:?}"), reason);
        let rest = url.strip_prefix("mqtt://").ok_or_else(|| {
            if url.starts_with("mqtts://") {
                bad("mqtts:// (TLS) is not supported yet; use mqtt://")
            } else {
                bad("must start with mqtt://")
            }
        })?;
        let rest = rest.trim_end_matches('/');
        let (credentials, hostport) = match rest.rsplit_once('@') {
            Some((user, hp)) => {
                let (u, p) = user.split_once(':').unwrap_or((user, ""));
                (Some((u.to_owned(), p.to_owned())), hp)
            }
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("the port must be a number up to 65535"))?),
            None => (hostport, 1883),
        };
        if host.is_empty() {
            return Err(bad("names no host"));
        }
        Ok(BrokerUrl { host: host.to_owned(), port, credentials })
    }
}

/// Subscribes to `filter` on a broker at QoS 1 with a persistent session (`client_id` names it), and forwards
/// every publish. Reconnects with back-off (0.1 s doubling to 5 s) when the broker goes away.
#[derive(Debug, Clone)]
pub struct Mqtt {
    /// The broker.
    pub broker: BrokerUrl,
    /// The subscription filter.
    pub filter: String,
    /// The client id (the persistent session's name).
    pub client_id: String,
}

impl Source for Mqtt {
    async fn run(self, tx: mpsc::Sender<Message>) -> Result<()> {
        let mut options = MqttOptions::new(self.client_id.clone(), self.broker.host.clone(), self.broker.port);
        options.set_keep_alive(Duration::from_secs(15));
        options.set_clean_session(false);
        options.set_max_packet_size(crate::broker::MAX_PAYLOAD + 1024, crate::broker::MAX_PAYLOAD + 1024);
        if let Some((u, p)) = &self.broker.credentials {
            options.set_credentials(u.clone(), p.clone());
        }
        let (client, mut events) = AsyncClient::new(options, 1024);
        let mut backoff = Duration::from_millis(100);
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff = Duration::from_millis(100);
                    tracing::info!("connected to mqtt://{}:{}", self.broker.host, self.broker.port);
                    // Subscribing again after a reconnect is harmless and covers a broker that lost the session.
                    client
                        .subscribe(self.filter.clone(), QoS::AtLeastOnce)
                        .await
                        .map_err(|e| Error::config("mqtt subscribe", e.to_string()))?;
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let m = Message { topic: p.topic.clone(), payload: p.payload.to_vec(), received_ms: now_ms() };
                    if tx.send(m).await.is_err() {
                        return Ok(());
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("mqtt://{}:{}: {e}; retrying in {backoff:?}", self.broker.host, self.broker.port);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_are_read() {
        let u = BrokerUrl::parse("mqtt://127.0.0.1:1884").expect("url");
        assert_eq!((u.host.as_str(), u.port, u.credentials), ("127.0.0.1", 1884, None));
        let u = BrokerUrl::parse("mqtt://ann:s3cr:et@broker.local").expect("url");
        assert_eq!(u.port, 1883);
        assert_eq!(u.credentials, Some(("ann".into(), "s3cr:et".into())));
        assert!(BrokerUrl::parse("tcp://x").is_err());
        assert!(BrokerUrl::parse("mqtt://x:99999").is_err());
        assert!(BrokerUrl::parse("mqtts://x").expect_err("tls").to_string().contains("not supported yet"));
    }

    /// A free port on loopback.
    pub(crate) fn free_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readings_published_to_the_embedded_broker_are_decided() {
        use crate::detect::tests::zero_model;
        use crate::{Counters, Detector, TopicPattern, pipeline};
        use std::sync::Arc;
        use telltale_runtime::format::ThresholdSpec;

        let port = free_port();
        crate::broker::start(format!("127.0.0.1:{port}").parse().expect("addr")).expect("broker");
        let pattern = TopicPattern::new("sensors/{device}/#").expect("pattern");
        let source = Mqtt {
            broker: BrokerUrl::parse(&format!("mqtt://127.0.0.1:{port}")).expect("url"),
            filter: pattern.filter(),
            client_id: "telltale-test".into(),
        };
        let (tx, rx) = mpsc::channel(64);
        let (out_tx, mut out_rx) = mpsc::channel(64);
        let counters = Arc::new(Counters::default());
        let detector = Detector::new(zero_model(ThresholdSpec::Static { value: 4.0 }, 1));
        let _stage = pipeline::spawn(rx, detector, pattern, out_tx, counters.clone());
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
                if let Ok(Some(d)) = tokio::time::timeout(Duration::from_millis(200), out_rx.recv()).await {
                    got.push(d);
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
}
