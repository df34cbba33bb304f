//! Where a broker is and how to reach it: `mqtt://` or `mqtts://` (TLS,
//! verified against the system's certificate authorities or a given CA
//! file), with an optional user name and password. Every MQTT client of the
//! service (ingest, alerts, simulator) connects through [`BrokerUrl::options`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{MqttOptions, TlsConfiguration, Transport};

use crate::error::{Error, Result};

/// A broker: `mqtt[s]://[user:password@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// Host name or address.
    pub host: String,
    /// Port (1883 by default, 8883 with TLS).
    pub port: u16,
    /// User name and password, if given.
    pub credentials: Option<(String, String)>,
    /// Connect over TLS.
    pub tls: bool,
    /// With TLS: trust this CA certificate (PEM) instead of the system's.
    pub ca_file: Option<PathBuf>,
}

impl BrokerUrl {
    /// A plain-TCP broker without credentials.
    pub fn plain(host: impl Into<String>, port: u16) -> BrokerUrl {
        BrokerUrl { host: host.into(), port, credentials: None, tls: false, ca_file: None }
    }

    /// Parses `url`.
    pub fn parse(url: &str) -> Result<BrokerUrl> {
        let shown = crate::store::redact(url);
        let bad = |reason: &str| Error::config(format!("broker URL {shown:?}"), reason);
        let (tls, rest) = match (url.strip_prefix("mqtt://"), url.strip_prefix("mqtts://")) {
            (Some(rest), _) => (false, rest),
            (_, Some(rest)) => (true, rest),
            _ => return Err(bad("must start with mqtt:// or mqtts://")),
        };
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
            None => (hostport, if tls { 8883 } else { 1883 }),
        };
        if host.is_empty() {
            return Err(bad("names no host"));
        }
        Ok(BrokerUrl { host: host.to_owned(), port, credentials, tls, ca_file: None })
    }

    /// The URL again: `mqtt[s]://[user:password@]host:port` (with the password: not for messages).
    pub fn to_url(&self) -> String {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        let login = self.credentials.as_ref().map(|(u, p)| format!("{u}:{p}@")).unwrap_or_default();
        format!("{scheme}://{login}{}:{}", self.host, self.port)
    }

    /// Client options for `client_id`: address, credentials, TLS, keep-alive and the payload limit.
    pub fn options(&self, client_id: &str) -> Result<MqttOptions> {
        let mut options = MqttOptions::new(client_id, self.host.clone(), self.port);
        options.set_keep_alive(Duration::from_secs(15));
        options.set_max_packet_size(crate::broker::MAX_OUTGOING, crate::broker::MAX_OUTGOING);
        if let Some((u, p)) = &self.credentials {
            options.set_credentials(u.clone(), p.clone());
        }
        if self.tls {
            options.set_transport(Transport::tls_with_config(self.tls_config()?));
        }
        Ok(options)
    }

    fn tls_config(&self) -> Result<TlsConfiguration> {
        // One TLS provider for the process (ring); a second install is refused harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        if let Some(path) = &self.ca_file {
            let what = format!("tls_ca {}", path.display());
            let ca = std::fs::read(path).map_err(|e| Error::config(&what, format!("cannot read: {e}")))?;
            if !String::from_utf8_lossy(&ca).contains("-----BEGIN CERTIFICATE-----") {
                return Err(Error::config(what, "holds no PEM certificate"));
            }
            return Ok(TlsConfiguration::Simple { ca, alpn: None, client_auth: None });
        }
        let found = rustls_native_certs::load_native_certs();
        let mut roots = rustls::RootCertStore::empty();
        for cert in found.certs {
            let _ = roots.add(cert);
        }
        if roots.is_empty() {
            return Err(Error::config(
                "mqtts",
                "no system certificate authorities found: install ca-certificates or set tls_ca to the broker's CA",
            ));
        }
        let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        Ok(TlsConfiguration::Rustls(Arc::new(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_are_read() {
        let u = BrokerUrl::parse("mqtt://127.0.0.1:1884").expect("url");
        assert_eq!(u, BrokerUrl::plain("127.0.0.1", 1884));
        let u = BrokerUrl::parse("mqtt://ann:s3cr:et@broker.local").expect("url");
        assert_eq!(u.port, 1883);
        assert_eq!(u.credentials, Some(("ann".into(), "s3cr:et".into())));
        assert_eq!(BrokerUrl::parse(&u.to_url()).expect("again"), u);
        let t = BrokerUrl::parse("mqtts://broker.local").expect("tls");
        assert!(t.tls && t.port == 8883);
        assert!(BrokerUrl::parse("tcp://x").is_err());
        assert!(BrokerUrl::parse("mqtt://x:99999").is_err());
        let e = BrokerUrl::parse("mqtt://ann:hunter2@x:port").expect_err("bad port").to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let path = std::env::temp_dir().join(format!("telltale-not-a-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "hello").expect("write");
        let url = BrokerUrl { ca_file: Some(path.clone()), ..BrokerUrl::parse("mqtts://x").expect("url") };
        let e = url.options("c").expect_err("not PEM").to_string();
        assert!(e.contains("holds no PEM certificate"), "{e}");
        std::fs::remove_file(path).expect("clean up");
    }

    /// Connects with `url` and returns the first answer: `Ok` on a CONNACK that accepts, the error otherwise.
    async fn connect(url: &BrokerUrl) -> std::result::Result<(), String> {
        let (_client, mut events) = rumqttc::AsyncClient::new(url.options("tls-check").map_err(|e| e.to_string())?, 8);
        let answer = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                match events.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        });
        answer.await.unwrap_or_else(|_| Err("no answer in 20 s".into()))
    }

    #[tokio::test]
    async fn mqtts_with_a_password_reaches_mosquitto_and_nothing_else_does() {
        let (server, ca) = crate::testing::mosquitto_tls();
        let good = BrokerUrl { ca_file: Some(ca.clone()), ..BrokerUrl::parse(&server.url).expect("url") };
        assert_eq!(connect(&good).await, Ok(()), "{}", server.log());
        let wrong = BrokerUrl { credentials: Some(("ann".into(), "guess".into())), ..good.clone() };
        assert!(connect(&wrong).await.is_err(), "a wrong password is refused");
        let untrusted = BrokerUrl { ca_file: None, ..good.clone() };
        let e = connect(&untrusted).await.expect_err("the test CA is not a system CA");
        assert!(e.to_lowercase().contains("cert") || e.contains("authorit"), "{e}");
        let plain = BrokerUrl { tls: false, ..good };
        assert!(connect(&plain).await.is_err(), "no plain TCP on a TLS listener");
    }
}
