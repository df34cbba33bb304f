//! The service's configuration: defaults, then a TOML file, then
//! environment variables (`TELLTALE_` + the key's path in capitals joined by
//! `_`: `TELLTALE_DB`, `TELLTALE_ALERTS_WEBHOOK`, `TELLTALE_ALERTS_TWILIO_TO`
//! with commas between numbers), then command-line flags.
//! `telltale config print` shows the result. [`ServeConfig::check`] refuses
//! what cannot work, naming the key, and returns the [`ValidServeConfig`]
//! the service is started with.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::broker::{Embedded, Passwords};
use crate::error::{Error, Result};
use crate::source::BrokerUrl;
use crate::topic::TopicPattern;

/// `telltale serve`'s settings. An empty text turns its feature off where noted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// The model: a trained model directory or an exported model file.
    pub model: String,
    /// An MQTT broker to use (`mqtt[s]://[user:password@]host[:port]`); empty: start the embedded one.
    pub broker: String,
    /// With `mqtts://`: the broker's CA certificate (PEM); empty: the system's certificate authorities.
    pub tls_ca: String,
    /// Where the embedded broker listens (off loopback only with `broker_passwords`).
    pub listen: String,
    /// The embedded broker's password file (`NAME:HASH` lines from `telltale passwd NAME`); empty: no passwords,
    /// and the broker may then listen on loopback only.
    pub broker_passwords: String,
    /// The embedded broker's TLS certificate chain (PEM); with `broker_tls_key` its listener speaks TLS only.
    pub broker_tls_cert: String,
    /// The private key (PEM) of `broker_tls_cert`.
    pub broker_tls_key: String,
    /// Most the embedded broker holds for the service when devices outrun it (MiB of payloads and topics); past
    /// it the oldest eighth is dropped and counted (`telltale_broker_backlog_overflows_total`).
    pub broker_backlog_mb: usize,
    /// Topic pattern; `{device}` marks the level naming the device.
    pub topic: String,
    /// MQTT client id: the name of the persistent session; empty: `telltale-` and an id made once for this
    /// database (unique per instance, the same across restarts).
    pub client_id: String,
    /// The devices to monitor; empty: every device that publishes on the topic pattern.
    pub devices: Vec<String>,
    /// Most devices monitored at once; readings of further new devices are refused and counted.
    pub max_devices: usize,
    /// Largest payload taken (bytes); a larger message is counted (`oversized`), acknowledged and dropped. The
    /// embedded broker refuses payloads over four times this.
    pub max_payload: usize,
    /// How far ahead of its arrival a reading may be dated (seconds); a later one is refused and counted
    /// (`future`), so one bad clock does not make every later reading out of order.
    pub max_future_s: f64,
    /// Database URL: `sqlite://FILE` (or a path), `postgres://…`, `mysql://…`.
    pub db: String,
    /// Store every accepted reading (anomalies and alerts are always stored).
    pub store_readings: bool,
    /// Where the HTTP server (dashboard, API, health, metrics) listens; empty: no HTTP server.
    pub http: String,
    /// The token the dashboard and the API require (letters, digits, `-._~`); empty: none, and the HTTP server
    /// then listens on loopback only.
    pub token: String,
    /// Scores the dashboard keeps per device (in memory), and as many runs of readings (a run per window step,
    /// its lowest and highest values): about 27 KB per device of three sensors at 300; 0 keeps none (no charts).
    pub live_history: usize,
    /// Dashboard event streams open at once at most (each sends the fleet's state twice a second); one more is
    /// answered 429.
    pub max_event_streams: usize,
    /// Messages waiting between two stages at most (back-pressure beyond).
    pub queue: usize,
    /// Alerts.
    pub alerts: AlertsConfig,
}

/// Where alerts go and how often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// At most one alert per device in this many seconds (of data time).
    pub cooldown_s: f64,
    /// POST each alert's JSON here; empty: no webhook.
    pub webhook: String,
    /// Publish each alert's JSON on this topic (`{device}` replaced); empty: no MQTT alerts.
    pub mqtt_topic: String,
    /// Give up on one HTTP attempt after this many seconds (it is retried).
    pub timeout_s: f64,
    /// SMS through Twilio (credentials from `TWILIO_ACCOUNT_SID` and `TWILIO_AUTH_TOKEN`).
    pub twilio: TwilioConfig,
}

/// Twilio's settings; on when `to` names a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioConfig {
    /// The sending number.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// The API's base URL.
    pub base_url: String,
}

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        ServeConfig {
            model: String::new(),
            broker: String::new(),
            tls_ca: String::new(),
            listen: "127.0.0.1:1883".into(),
            broker_passwords: String::new(),
            broker_tls_cert: String::new(),
            broker_tls_key: String::new(),
            broker_backlog_mb: 256,
            topic: "sensors/{device}/#".into(),
            client_id: String::new(),
            devices: Vec::new(),
            max_devices: 100_000,
            max_payload: 1 << 20,
            max_future_s: 600.0,
            db: "sqlite://telltale.db".into(),
            store_readings: true,
            http: "127.0.0.1:8080".into(),
            token: String::new(),
            live_history: 300,
            max_event_streams: 32,
            queue: 8192,
            alerts: AlertsConfig::default(),
        }
    }
}

impl Default for AlertsConfig {
    fn default() -> AlertsConfig {
        AlertsConfig {
            cooldown_s: 300.0,
            webhook: String::new(),
            mqtt_topic: "alerts/{device}".into(),
            timeout_s: 10.0,
            twilio: TwilioConfig::default(),
        }
    }
}

impl Default for TwilioConfig {
    fn default() -> TwilioConfig {
        TwilioConfig { from: String::new(), to: Vec::new(), base_url: "https://api.twilio.com".into() }
    }
}

impl ServeConfig {
    /// Defaults, then `file` (if any), then the `TELLTALE_*` variables among `env`.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<ServeConfig> {
        let mut table = defaults();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::config(path.display().to_string(), format!("cannot read: {e}")))?;
            let from_file: Table =
                toml::from_str(&text).map_err(|e| Error::config(path.display().to_string(), e.to_string()))?;
            merge(&mut table, from_file);
        }
        let env: Vec<(String, String)> = env.into_iter().filter(|(k, _)| k.starts_with("TELLTALE_")).collect();
        let base = table.clone();
        apply_env(&mut table, &base, &mut Vec::new(), &env)?;
        let what = file.map_or("configuration".to_owned(), |p| p.display().to_string());
        ServeConfig::deserialize(Value::Table(table)).map_err(|e| Error::config(what, e.to_string()))
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// The largest `max_payload`: a quarter of MQTT's largest packet (the embedded broker takes four times it).
pub const MAX_PAYLOAD: usize = 64 << 20;

/// The most messages a queue may hold (the channels' own limit).
pub const MAX_QUEUE: usize = usize::MAX >> 4;

/// The largest `broker_backlog_mb` taken (16 GiB).
pub const MAX_BACKLOG_MB: usize = 16 << 10;

impl ServeConfig {
    /// Checks every setting the service uses, once: the topic pattern, the broker (or the embedded one's
    /// address), the queue, the alerts' cooldown and timeout, the HTTP address and the token. A refusal names
    /// the key ([`Error::Config`]); nothing is adjusted silently.
    pub fn check(&self) -> Result<ValidServeConfig> {
        let pattern = TopicPattern::new(&self.topic)?;
        let (embedded, broker, source_url) = if self.broker.is_empty() {
            let embedded = self.embedded_broker()?;
            let broker = BrokerUrl::plain(embedded.listen.ip().to_string(), embedded.listen.port());
            let url = format!("mqtt://{}:{}", broker.host, broker.port);
            (Some(embedded), broker, url)
        } else {
            for (key, value) in [
                ("broker_passwords", &self.broker_passwords),
                ("broker_tls_cert", &self.broker_tls_cert),
                ("broker_tls_key", &self.broker_tls_key),
            ] {
                if !value.is_empty() {
                    return Err(Error::config(key, "is for the embedded broker, and `broker` names another"));
                }
            }
            let mut broker = BrokerUrl::parse(&self.broker)?;
            broker.ca_file = (!self.tls_ca.is_empty()).then(|| self.tls_ca.clone().into());
            (None, broker, self.broker.clone())
        };
        if self.max_event_streams == 0 {
            return Err(Error::config("max_event_streams", "must be at least 1"));
        }
        if self.queue == 0 {
            return Err(Error::config("queue", "must be at least 1"));
        }
        if self.queue > MAX_QUEUE {
            return Err(Error::config("queue", format!("must be at most {MAX_QUEUE}")));
        }
        if !(64..=MAX_PAYLOAD).contains(&self.max_payload) {
            return Err(Error::config("max_payload", format!("must be from 64 to {MAX_PAYLOAD} (bytes)")));
        }
        if !(self.max_future_s.is_finite() && self.max_future_s >= 0.0) {
            let v = self.max_future_s;
            return Err(Error::config("max_future_s", format!("must be 0 or more (seconds), not {v}")));
        }
        let cooldown_s = self.alerts.cooldown_s;
        if !(cooldown_s.is_finite() && cooldown_s >= 0.0) {
            return Err(Error::config("alerts.cooldown_s", format!("must be 0 or more (seconds), not {cooldown_s}")));
        }
        let timeout_s = self.alerts.timeout_s;
        let timeout = Duration::try_from_secs_f64(timeout_s).ok().filter(|t| !t.is_zero()).ok_or_else(|| {
            Error::config("alerts.timeout_s", format!("must be more than 0 (seconds), not {timeout_s}"))
        })?;
        let (http, token) = if self.http.is_empty() {
            (None, None)
        } else {
            let addr: SocketAddr = self
                .http
                .parse()
                .map_err(|_| Error::config("http", format!("{:?} is not an address like 127.0.0.1:8080", self.http)))?;
            (Some(addr), check_token(&self.token)?)
        };
        Ok(ValidServeConfig {
            settings: self.clone(),
            pattern,
            embedded,
            broker,
            source_url,
            http,
            token,
            cooldown_ms: (cooldown_s * 1000.0) as i64,
            timeout,
        })
    }
}

impl ServeConfig {
    /// The embedded broker's settings, checked: its address, password file and TLS files. Off loopback it needs
    /// passwords (TLS alone lets anyone in).
    fn embedded_broker(&self) -> Result<Embedded> {
        let listen: SocketAddr = self
            .listen
            .parse()
            .map_err(|_| Error::config("listen", format!("{:?} is not an address like 127.0.0.1:1883", self.listen)))?;
        let passwords = if self.broker_passwords.is_empty() {
            None
        } else {
            Some(Arc::new(Passwords::read(Path::new(&self.broker_passwords))?))
        };
        if passwords.is_none() && !listen.ip().is_loopback() {
            return Err(Error::config(
                "listen",
                format!(
                    "{listen} is off loopback: set broker_passwords (lines from `telltale passwd NAME`) so that \
                     only known clients connect, or listen on 127.0.0.1"
                ),
            ));
        }
        let tls = match (self.broker_tls_cert.as_str(), self.broker_tls_key.as_str()) {
            ("", "") => None,
            ("", _) => return Err(Error::config("broker_tls_cert", "is needed with broker_tls_key")),
            (_, "") => return Err(Error::config("broker_tls_key", "is needed with broker_tls_cert")),
            (cert, key) => Some((cert.into(), key.into())),
        };
        if !(8..=MAX_BACKLOG_MB).contains(&self.broker_backlog_mb) {
            return Err(Error::config("broker_backlog_mb", format!("must be from 8 to {MAX_BACKLOG_MB} (MiB)")));
        }
        let backlog = self.broker_backlog_mb << 20;
        Ok(Embedded { listen, max_payload: self.max_payload, passwords, tls, backlog })
    }
}

/// The configured token, if any, once checked: it travels in a header and a cookie, so only letters, digits and
/// `-._~` are taken.
fn check_token(token: &str) -> Result<Option<Arc<str>>> {
    if token.is_empty() {
        return Ok(None);
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    if !token.chars().all(ok) || token.len() < 8 {
        return Err(Error::config("token", "use at least 8 characters, each a letter, a digit or one of -._~"));
    }
    Ok(Some(token.into()))
}

/// A [`ServeConfig`] that passed [`ServeConfig::check`], with what the check parsed: the only form the service
/// starts from.
#[derive(Debug, Clone)]
pub struct ValidServeConfig {
    settings: ServeConfig,
    pattern: TopicPattern,
    embedded: Option<Embedded>,
    broker: BrokerUrl,
    source_url: String,
    http: Option<SocketAddr>,
    token: Option<Arc<str>>,
    cooldown_ms: i64,
    timeout: Duration,
}

impl ValidServeConfig {
    /// The settings as given.
    pub fn settings(&self) -> &ServeConfig {
        &self.settings
    }

    /// The topic pattern.
    pub fn pattern(&self) -> &TopicPattern {
        &self.pattern
    }

    /// The embedded broker, when the service starts one (no `broker` given).
    pub fn embedded(&self) -> Option<&Embedded> {
        self.embedded.as_ref()
    }

    /// The broker the service reads from and publishes MQTT alerts on.
    pub fn broker(&self) -> &BrokerUrl {
        &self.broker
    }

    /// The URL the source is opened from (its scheme chooses the transport).
    pub fn source_url(&self) -> &str {
        &self.source_url
    }

    /// Whether the broker outlives the service (an external one).
    pub fn durable(&self) -> bool {
        self.embedded.is_none()
    }

    /// Where the HTTP server listens, if it runs.
    pub fn http(&self) -> Option<SocketAddr> {
        self.http
    }

    /// The token the dashboard and the API require, if any.
    pub fn token(&self) -> Option<&Arc<str>> {
        self.token.as_ref()
    }

    /// Messages waiting between two stages at most (at least 1).
    pub fn queue(&self) -> usize {
        self.settings.queue
    }

    /// At most one alert per device in this many milliseconds (of data time).
    pub fn cooldown_ms(&self) -> i64 {
        self.cooldown_ms
    }

    /// One HTTP attempt of an alert gives up after this long.
    pub fn alert_timeout(&self) -> Duration {
        self.timeout
    }
}

fn defaults() -> Table {
    match Value::try_from(ServeConfig::default()) {
        Ok(Value::Table(t)) => t,
        _ => Table::new(),
    }
}

/// Overlays `over` on `base`, table by table.
fn merge(base: &mut Table, over: Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Sets every key that has a `TELLTALE_…` variable in `env`, reading the text as the key's type.
fn apply_env(table: &mut Table, base: &Table, path: &mut Vec<String>, env: &[(String, String)]) -> Result<()> {
    for (key, default) in base {
        path.push(key.clone());
        if let Value::Table(sub) = default {
            if let Some(Value::Table(t)) = table.get_mut(key) {
                apply_env(t, sub, path, env)?;
            }
        } else {
            let name = format!("TELLTALE_{}", path.join("_").to_uppercase());
            if let Some((_, raw)) = env.iter().find(|(k, _)| *k == name) {
                let bad = |why: &str| Error::config(name.clone(), format!("{raw:?} {why}"));
                let value = match default {
                    Value::Boolean(_) => Value::Boolean(match raw.to_ascii_lowercase().as_str() {
                        "1" | "true" | "yes" | "on" => true,
                        "0" | "false" | "no" | "off" => false,
                        _ => return Err(bad("is not true or false")),
                    }),
                    Value::Integer(_) => Value::Integer(raw.trim().parse().map_err(|_| bad("is not a whole number"))?),
                    Value::Float(_) => Value::Float(raw.trim().parse().map_err(|_| bad("is not a number"))?),
                    Value::Array(_) => Value::Array(
                        raw.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(|s| Value::String(s.into()))
                            .collect(),
                    ),
                    _ => Value::String(raw.clone()),
                };
                table.insert(key.clone(), value);
            }
        }
        path.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn file_then_environment_override_the_defaults() {
        let dir = std::env::temp_dir().join(format!("telltale-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("serve.toml");
        std::fs::write(&file, "db = \"postgres://u@h/t\"\nqueue = 16\n[alerts]\ncooldown_s = 60.0\n").expect("write");
        let vars = env(&[
            ("TELLTALE_QUEUE", "32"),
            ("TELLTALE_STORE_READINGS", "off"),
            ("TELLTALE_ALERTS_TWILIO_TO", "+1555, +1666"),
            ("TELLTALE_ALERTS_WEBHOOK", "http://127.0.0.1:9/hook"),
            ("PATH", "/bin"),
        ]);
        let c = ServeConfig::load(Some(&file), vars).expect("config");
        assert_eq!(c.db, "postgres://u@h/t", "from the file");
        assert_eq!(c.queue, 32, "the environment beats the file");
        assert!(!c.store_readings);
        assert_eq!(c.alerts.cooldown_s, 60.0);
        assert_eq!(c.alerts.twilio.to, ["+1555", "+1666"]);
        assert_eq!(c.alerts.webhook, "http://127.0.0.1:9/hook");
        assert_eq!(c.topic, ServeConfig::default().topic, "untouched keys keep their defaults");
        // What `config print` shows reads back to the same configuration.
        let again: ServeConfig = toml::from_str(&c.to_toml()).expect("round trip");
        assert_eq!(again, c);

        std::fs::write(&file, "[alerts]\ncooldown = 5\n").expect("write");
        let e = ServeConfig::load(Some(&file), Vec::new()).expect_err("unknown key");
        assert!(e.to_string().contains("serve.toml") && e.to_string().contains("cooldown"), "{e}");
        let e = ServeConfig::load(None, env(&[("TELLTALE_QUEUE", "many")])).expect_err("bad number");
        assert_eq!(e.to_string(), "TELLTALE_QUEUE: \"many\" is not a whole number");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn the_defaults_pass_the_check() {
        let c = ServeConfig::default().check().expect("defaults");
        assert_eq!(c.embedded().map(|e| e.listen), Some("127.0.0.1:1883".parse().expect("addr")));
        assert_eq!((c.source_url(), c.durable()), ("mqtt://127.0.0.1:1883", false));
        assert_eq!((c.queue(), c.cooldown_ms(), c.alert_timeout()), (8192, 300_000, Duration::from_secs(10)));
        assert_eq!(c.http(), Some("127.0.0.1:8080".parse().expect("addr")));
        assert!(c.token().is_none());
        let external =
            ServeConfig { broker: "mqtts://broker.local".into(), tls_ca: "ca.pem".into(), ..Default::default() };
        let c = external.check().expect("external broker");
        assert!(c.durable() && c.embedded().is_none() && c.broker().tls);
        assert_eq!(c.broker().ca_file.as_deref(), Some(Path::new("ca.pem")));
        assert_eq!(c.source_url(), "mqtts://broker.local");
        let quiet = ServeConfig { http: String::new(), token: "bad token".into(), ..Default::default() };
        assert!(quiet.check().expect("no HTTP server, no token check").http().is_none());
    }

    /// The error `check` gives for the defaults changed by `change`.
    fn refusal(change: impl FnOnce(&mut ServeConfig)) -> String {
        let mut c = ServeConfig::default();
        change(&mut c);
        let e = c.check().expect_err("refused");
        assert!(matches!(e, Error::Config { .. }), "{e:?}");
        e.to_string()
    }

    #[test]
    fn bad_values_are_refused_with_their_key() {
        assert_eq!(refusal(|c| c.queue = 0), "queue: must be at least 1");
        assert!(refusal(|c| c.queue = usize::MAX).starts_with("queue: must be at most "));
        assert_eq!(refusal(|c| c.alerts.cooldown_s = -1.0), "alerts.cooldown_s: must be 0 or more (seconds), not -1");
        assert!(refusal(|c| c.alerts.cooldown_s = f64::NAN).starts_with("alerts.cooldown_s: "));
        assert_eq!(refusal(|c| c.alerts.timeout_s = 0.0), "alerts.timeout_s: must be more than 0 (seconds), not 0");
        assert!(refusal(|c| c.alerts.timeout_s = -2.5).starts_with("alerts.timeout_s: "));
        assert!(refusal(|c| c.alerts.timeout_s = f64::INFINITY).starts_with("alerts.timeout_s: "));
        assert_eq!(
            refusal(|c| c.listen = "nowhere".into()),
            "listen: \"nowhere\" is not an address like 127.0.0.1:1883"
        );
        assert_eq!(refusal(|c| c.http = "8080".into()), "http: \"8080\" is not an address like 127.0.0.1:8080");
        assert!(refusal(|c| c.token = "short".into()).starts_with("token: use at least 8 characters"));
        assert!(refusal(|c| c.token = "has a space".into()).starts_with("token: "));
        assert!(refusal(|c| c.topic = "sensors/#".into()).starts_with("topic pattern \"sensors/#\""));
        assert!(refusal(|c| c.broker = "tcp://x".into()).starts_with("broker URL \"tcp://x\""));
        assert!(refusal(|c| c.listen = "0.0.0.0:1883".into()).starts_with("listen: 0.0.0.0:1883 is off loopback"));
        assert!(refusal(|c| c.broker_tls_key = "k.pem".into()).starts_with("broker_tls_cert: is needed"));
        let e = refusal(|c| c.broker_passwords = "/nonexistent/pw".into());
        assert!(e.starts_with("/nonexistent/pw: cannot read"), "{e}");
        let e = refusal(|c| {
            c.broker = "mqtt://x".into();
            c.broker_passwords = "pw".into();
        });
        assert!(e.starts_with("broker_passwords: is for the embedded broker"), "{e}");
        assert!(refusal(|c| c.max_payload = 10).starts_with("max_payload: must be from 64 to "));
        assert!(refusal(|c| c.max_payload = usize::MAX).starts_with("max_payload: "));
        assert!(refusal(|c| c.max_future_s = -1.0).starts_with("max_future_s: must be 0 or more"));
        assert!(refusal(|c| c.max_future_s = f64::NAN).starts_with("max_future_s: "));
    }
}
