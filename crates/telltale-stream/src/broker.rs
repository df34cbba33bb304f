//! The embedded MQTT broker (rumqttd): `telltale serve` starts one on
//! 127.0.0.1:1883 by default so nothing else needs installing.
//!
//! With a password file ([`Passwords`]) only the clients it lists get in;
//! with a certificate and key its listener speaks TLS only. The service's own
//! client then connects on a second, loopback-only listener with a
//! credential made for this process ([`Embedded::start`] returns where).

pub mod passwords;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;

use rumqttd::{Broker, Config, ConnectionSettings, MetricType, RouterConfig, ServerSettings, TlsConfig};

pub use self::passwords::Passwords;
use crate::error::{Error, Result};
use crate::pipeline::Counters;
use crate::source::BrokerUrl;

/// Largest packet any of the service's clients sends (alerts, the simulator's batches).
pub const MAX_OUTGOING: usize = (1 << 20) + 1024;

/// The embedded broker's payload limit is this many times the service's `max_payload`: a payload between the two
/// is delivered and counted as oversized (then dropped); a larger one is refused by the broker itself.
pub const BROKER_PAYLOAD_FACTOR: usize = 4;

/// The embedded broker's backlog is kept in this many segments; when the last is full the oldest is dropped.
const BACKLOG_SEGMENTS: usize = 8;

/// What the embedded broker is asked to be.
#[derive(Debug, Clone)]
pub struct Embedded {
    /// Where devices connect.
    pub listen: SocketAddr,
    /// The service's payload limit (the broker's is [`BROKER_PAYLOAD_FACTOR`] times it).
    pub max_payload: usize,
    /// Who may connect; `None`: anyone (loopback only, see `ServeConfig::check`).
    pub passwords: Option<Arc<Passwords>>,
    /// TLS certificate chain and private key (PEM): the listener then speaks TLS only.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Most bytes (payloads and topics) it holds for a subscription that falls behind.
    pub backlog: usize,
}

impl Embedded {
    /// An open broker on `listen` with the default payload limit (tests, benchmarks).
    pub fn open(listen: SocketAddr) -> Embedded {
        Embedded { listen, max_payload: 1 << 20, passwords: None, tls: None, backlog: 256 << 20 }
    }

    /// Starts the broker (see [`Embedded::start_counted`]) with nobody counting its backlog's overflows.
    pub fn start(&self) -> Result<BrokerUrl> {
        self.start_counted(&Arc::default())
    }

    /// Starts the broker on threads of its own, for the life of the process; returns once it accepts
    /// connections, with the address (and credential) the service's own client uses. Each time a subscription's
    /// backlog outgrows [`Embedded::backlog`] (its oldest part dropped) is counted in `counters`.
    ///
    /// Ports are checked free first, so a clash is an error here rather than a log line on the broker's thread.
    pub fn start_counted(&self, counters: &Arc<Counters>) -> Result<BrokerUrl> {
        let listen = self.listen;
        std::net::TcpListener::bind(listen)
            .map_err(|e| Error::config(format!("embedded broker {listen}"), format!("cannot listen: {e}")))?;
        if let Some((cert, key)) = &self.tls {
            for (what, path) in [("broker_tls_cert", cert), ("broker_tls_key", key)] {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::config(format!("{what} {}", path.display()), format!("cannot read: {e}")))?;
                if !text.contains("-----BEGIN ") {
                    return Err(Error::config(format!("{what} {}", path.display()), "holds no PEM block"));
                }
            }
        }
        let mut servers = HashMap::new();
        let mut public = server("devices", listen, self.broker_limit());
        public.tls = self.tls.as_ref().map(|(cert, key)| TlsConfig::Rustls {
            capath: None,
            certpath: cert.display().to_string(),
            keypath: key.display().to_string(),
        });
        // The service's own way in: the public listener when it is open plain TCP, else a loopback listener of
        // its own with a credential made now.
        let own = if self.passwords.is_none() && self.tls.is_none() {
            BrokerUrl::plain(listen.ip().to_string(), listen.port())
        } else {
            let internal = loopback_port()?;
            let (user, password) = (format!("telltale-{}", random_hex(8)?), random_hex(24)?);
            let mut inside = server("service", internal, self.broker_limit());
            inside.connections.auth = Some(HashMap::from([(user.clone(), password.clone())]));
            servers.insert("service".to_owned(), inside);
            BrokerUrl { credentials: Some((user, password)), ..BrokerUrl::plain("127.0.0.1", internal.port()) }
        };
        if let Some(passwords) = &self.passwords {
            let passwords = passwords.clone();
            public.set_auth_handler(move |_client, user: String, password: String| {
                let passwords = passwords.clone();
                async move {
                    // The hash's rounds are CPU work: off the broker's threads.
                    let checked = tokio::task::spawn_blocking(move || passwords.check(&user, &password));
                    checked.await.unwrap_or(false)
                }
            });
        }
        servers.insert("devices".to_owned(), public);
        let config = Config {
            id: 0,
            router: RouterConfig {
                max_connections: 10_010,
                max_outgoing_packet_count: 500,
                max_segment_size: (self.backlog / BACKLOG_SEGMENTS).max(1 << 16),
                max_segment_count: BACKLOG_SEGMENTS,
                ..RouterConfig::default()
            },
            v4: Some(servers),
            // Alerts once a second: a reader whose cursor had to jump past dropped data is one. rumqttd's timer
            // needs meters set too (it unwraps both); nobody reads them.
            metrics: Some(HashMap::from([(MetricType::Alerts, every(1)?), (MetricType::Meters, every(3600)?)])),
            ..Config::default()
        };
        let mut broker = Broker::new(config);
        count_overflows(&broker, counters)?;
        thread::Builder::new()
            .name("mqtt-broker".into())
            .spawn(move || {
                if let Err(e) = broker.start() {
                    tracing::error!("embedded broker stopped: {e}");
                }
            })
            .map_err(|e| Error::config("embedded broker", format!("cannot start its thread: {e}")))?;
        // Return once it accepts connections, so a client started next does not meet a refused connection.
        let own_addr = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), own.port);
        let reach = if listen.ip().is_unspecified() { own_addr } else { listen };
        for addr in [reach, own_addr] {
            let up = (0..500).any(|_| {
                let ok = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(100)).is_ok();
                if !ok {
                    thread::sleep(std::time::Duration::from_millis(20));
                }
                ok
            });
            if !up {
                return Err(Error::config(format!("embedded broker {addr}"), "not accepting connections after 10 s"));
            }
        }
        Ok(own)
    }

    fn broker_limit(&self) -> usize {
        self.max_payload.saturating_mul(BROKER_PAYLOAD_FACTOR).min(crate::source::MQTT_MAX_PACKET)
    }
}

/// Metric settings pushed every `seconds` (its field is private to rumqttd: made through its serde form).
fn every(seconds: u64) -> Result<rumqttd::MetricSettings> {
    serde_json::from_value(serde_json::json!({ "push_interval": seconds }))
        .map_err(|e| Error::config("embedded broker", format!("metric settings: {e}")))
}

/// Counts the broker's cursor jumps (a subscriber's backlog outgrew the log and its oldest segment was dropped).
fn count_overflows(broker: &Broker, counters: &Arc<Counters>) -> Result<()> {
    let alerts = broker.alerts().map_err(|e| Error::config("embedded broker", format!("alerts: {e}")))?;
    let counters = counters.clone();
    thread::Builder::new()
        .name("mqtt-broker-alerts".into())
        .spawn(move || {
            while let Ok(batch) = alerts.router_rx.recv() {
                for alert in batch {
                    let kind = serde_json::to_value(&alert.kind).unwrap_or_default();
                    if kind.get("CursorJump").is_some() {
                        counters.broker_backlog_overflows.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            "embedded broker: {}'s backlog outgrew broker_backlog_mb; its oldest readings were dropped",
                            alert.client_id
                        );
                    }
                }
            }
        })
        .map_err(|e| Error::config("embedded broker", format!("cannot start its alerts thread: {e}")))?;
    Ok(())
}

/// One listener's settings.
fn server(name: &str, listen: SocketAddr, max_payload: usize) -> ServerSettings {
    ServerSettings {
        name: name.into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: max_payload,
            max_inflight_count: 500,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    }
}

/// A free port on 127.0.0.1.
fn loopback_port() -> Result<SocketAddr> {
    let probe = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map_err(|e| Error::config("embedded broker", format!("no free loopback port: {e}")))?;
    Ok(probe)
}

/// `bytes` random bytes as hex.
fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|e| Error::config("embedded broker", format!("no randomness: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}
