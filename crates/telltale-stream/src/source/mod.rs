//! Where messages come from, behind one small interface ([`Source`]) so
//! detection never knows the transport: one module per transport
//! ([`mqtt`]: a broker through rumqttc; [`replay`]: recorded messages for
//! tests), and the choice of transport by URL scheme ([`open`]).
//!
//! Adding a transport: a module here whose `open(url, link)` returns its
//! source, plus one line in [`TRANSPORTS`].

pub mod interface;
pub mod mqtt;
pub mod replay;

pub use interface::{DynSource, Link, Message, Source, SourceFuture, now_ms};
pub use mqtt::{BrokerUrl, MQTT_MAX_PACKET, Mqtt};
pub use replay::Replay;

use crate::error::{Error, Result};

/// Opens the source for a URL (given as is), linked to the service.
pub type Open = fn(url: &str, link: Link) -> Result<Box<dyn DynSource>>;

/// The transports the service can read from, by URL scheme.
pub const TRANSPORTS: &[(&str, Open)] = &[("mqtt", mqtt::open), ("mqtts", mqtt::open)];

/// The source for `url`, chosen by its scheme among [`TRANSPORTS`].
pub fn open(url: &str, link: Link) -> Result<Box<dyn DynSource>> {
    let scheme = url.split_once("://").map(|(s, _)| s);
    match TRANSPORTS.iter().find(|(name, _)| Some(*name) == scheme) {
        Some((_, open)) => open(url, link),
        None => {
            let known: Vec<String> = TRANSPORTS.iter().map(|(name, _)| format!("{name}://")).collect();
            let shown = crate::store::redact(url);
            Err(Error::config(format!("broker URL {shown:?}"), format!("must start with {}", known.join(" or "))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> Link {
        Link {
            filter: "sensors/+/#".into(),
            client_id: "registry".into(),
            tls_ca: None,
            durable: false,
            committed: tokio::sync::watch::channel(0).1,
            stop: tokio::sync::watch::channel(false).1,
            subscribed: Default::default(),
            max_payload: 1 << 20,
            counters: Default::default(),
        }
    }

    #[test]
    fn the_scheme_chooses_the_transport() {
        assert!(open("mqtt://127.0.0.1:1883", link()).is_ok());
        assert!(open("mqtts://broker.local", link()).is_ok());
        let e = open("nats://ann:hunter2@x:4222", link()).err().expect("no such transport").to_string();
        assert!(e.contains("must start with mqtt:// or mqtts://"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = open("mqtt://x:port", link()).err().expect("the transport's own check").to_string();
        assert!(e.contains("the port must be a number"), "{e}");
    }
}
