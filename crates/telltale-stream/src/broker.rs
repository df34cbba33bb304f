//! The embedded MQTT broker (rumqttd): `telltale serve` starts one on
//! 127.0.0.1:1883 by default so nothing else needs installing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::thread;

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

use crate::error::{Error, Result};

/// Largest payload the embedded broker accepts (bytes): room for a batch of a few hundred readings.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// Starts an MQTT 3.1.1 broker listening on `listen`, on threads of its own, for the life of the process;
/// returns once it accepts connections.
///
/// The port is checked free first, so a clash is an error here rather than a log line on the broker's thread.
pub fn start(listen: SocketAddr) -> Result<()> {
    std::net::TcpListener::bind(listen)
        .map_err(|e| Error::config(format!("embedded broker {listen}"), format!("cannot listen: {e}")))?;
    let server = ServerSettings {
        name: "telltale".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: MAX_PAYLOAD,
            max_inflight_count: 500,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: 10_010,
            max_outgoing_packet_count: 500,
            max_segment_size: 100 << 20,
            max_segment_count: 10,
            ..RouterConfig::default()
        },
        v4: Some(HashMap::from([("telltale".to_owned(), server)])),
        ..Config::default()
    };
    let mut broker = Broker::new(config);
    thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!("embedded broker stopped: {e}");
            }
        })
        .map_err(|e| Error::config("embedded broker", format!("cannot start its thread: {e}")))?;
    // Return once it accepts connections, so a client started next does not meet a refused connection.
    for _ in 0..100 {
        if std::net::TcpStream::connect_timeout(&listen, std::time::Duration::from_millis(100)).is_ok() {
            return Ok(());
        }
        thread::sleep(std::time::Duration::from_millis(20));
    }
    Err(Error::config(format!("embedded broker {listen}"), "not accepting connections after 10 s"))
}
