//! Alerts: which anomalies notify whom ([`Planner`]: per-device cooldown),
//! and delivery through the sinks ([`Sinks`]: Twilio SMS, a webhook, an
//! MQTT topic) from the store's outbox ([`deliver`]), retried with back-off
//! until a sink confirms. An alert is queued in the same transaction as its
//! anomaly, so it is never lost, and sent at least once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, QoS};
use serde::{Deserialize, Serialize};

use crate::detect::Decision;
use crate::error::{Error, Result};
use crate::pipeline::Counters;
use crate::source::now_ms;
use crate::store::{AlertRow, Store, TopSensor};

/// What every sink is sent (JSON), with a one-line message for SMS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertPayload {
    /// The device.
    pub device: String,
    /// First reading of the anomalous window (epoch ms).
    pub start_ms: i64,
    /// Last reading of the anomalous window (epoch ms).
    pub end_ms: i64,
    /// The score.
    pub score: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// The sensors contributing most.
    pub top: Vec<TopSensor>,
    /// One line for people.
    pub message: String,
}

impl AlertPayload {
    /// The payload for `d`.
    pub fn new(d: &Decision) -> AlertPayload {
        let top = TopSensor::of(d);
        let mut message = format!(
            "telltale: anomaly on {} at {} UTC: score {:.3} over threshold {:.3}",
            d.device,
            telltale_core::timestamp::format_millis(d.end_ms),
            d.score,
            d.threshold
        );
        if !top.is_empty() {
            let parts: Vec<String> = top.iter().map(|t| format!("{} {:.3}", t.sensor, t.part)).collect();
            message.push_str(&format!("; top sensors: {}", parts.join(", ")));
        }
        AlertPayload {
            device: d.device.clone(),
            start_ms: d.start_ms,
            end_ms: d.end_ms,
            score: d.score,
            threshold: d.threshold,
            top,
            message,
        }
    }
}

/// Twilio's SMS API: credentials from the environment (`TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Twilio {
    /// The API's base URL (`https://api.twilio.com`; a local server in tests).
    pub base_url: String,
    /// The account SID.
    pub account_sid: String,
    /// The auth token.
    pub auth_token: String,
    /// The sending number.
    pub from: String,
    /// Recipients: one message each.
    pub to: Vec<String>,
}

/// Where alerts go.
#[derive(Debug, Clone, Default)]
pub struct Sinks {
    /// POST the JSON payload to this URL.
    pub webhook: Option<String>,
    /// SMS through Twilio.
    pub twilio: Option<Twilio>,
    /// Publish the JSON payload on this topic pattern (`{device}` replaced), QoS 1, through this client.
    pub mqtt: Option<(AsyncClient, String)>,
    http: reqwest::Client,
}

impl Sinks {
    /// Sinks with an HTTP client that gives up on a request after `timeout`.
    pub fn new(
        webhook: Option<String>,
        twilio: Option<Twilio>,
        mqtt: Option<(AsyncClient, String)>,
        timeout: Duration,
    ) -> Result<Sinks> {
        // One TLS provider for the process (ring); a second install is refused harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("telltale/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::config("HTTP client", e.to_string()))?;
        Ok(Sinks { webhook, twilio, mqtt, http })
    }

    /// The names of the alert rows one anomaly queues: `webhook`, `twilio:NUMBER` per recipient, `mqtt`.
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if self.webhook.is_some() {
            names.push("webhook".to_owned());
        }
        if let Some(t) = &self.twilio {
            names.extend(t.to.iter().map(|n| format!("twilio:{n}")));
        }
        if self.mqtt.is_some() {
            names.push("mqtt".to_owned());
        }
        names
    }

    /// Sends one queued alert; `Ok` once its sink has accepted it.
    pub async fn send(&self, alert: &AlertRow) -> Result<()> {
        let sink = alert.sink.as_str();
        if sink == "webhook" {
            let url = self.webhook.as_deref().ok_or_else(|| Error::alert(sink, "no webhook is configured"))?;
            let response = self
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(alert.payload.clone())
                .send()
                .await
                .map_err(|e| Error::alert(sink, format!("{url}: {e}")))?;
            return check(sink, response).await;
        }
        if let Some(number) = sink.strip_prefix("twilio:") {
            let t = self.twilio.as_ref().ok_or_else(|| Error::alert(sink, "Twilio is not configured"))?;
            let payload: AlertPayload = serde_json::from_str(&alert.payload)
                .map_err(|e| Error::alert(sink, format!("queued payload unreadable: {e}")))?;
            let url =
                format!("{}/2010-04-01/Accounts/{}/Messages.json", t.base_url.trim_end_matches('/'), t.account_sid);
            let response = self
                .http
                .post(&url)
                .basic_auth(&t.account_sid, Some(&t.auth_token))
                .form(&[("To", number), ("From", t.from.as_str()), ("Body", payload.message.as_str())])
                .send()
                .await
                .map_err(|e| Error::alert(sink, format!("{url}: {e}")))?;
            return check(sink, response).await;
        }
        if sink == "mqtt" {
            let (client, pattern) = self.mqtt.as_ref().ok_or_else(|| Error::alert(sink, "no MQTT alert topic"))?;
            let topic = pattern.replace("{device}", &alert.device);
            // Accepted into the client's queue: rumqttc keeps QoS 1 publishes until the broker acknowledges them.
            return client
                .try_publish(topic, QoS::AtLeastOnce, false, alert.payload.clone().into_bytes())
                .map_err(|e| Error::alert(sink, e.to_string()));
        }
        Err(Error::alert(sink, "unknown sink (the configuration changed since it was queued?)"))
    }
}

/// `Ok` for a 2xx answer; otherwise an error with the status and the start of the body.
async fn check(sink: &str, response: reqwest::Response) -> Result<()> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(200).collect();
    Err(Error::alert(sink, format!("HTTP {status}: {body}")))
}

/// Decides which anomalies raise alerts: at most one per device per cooldown (in data time, so a replay at any
/// speed alerts the same way); the anomalies in between are stored, not alerted.
#[derive(Debug, Clone)]
pub struct Planner {
    /// Sink names every alerted anomaly queues.
    pub sinks: Vec<String>,
    /// Minimum time between two alerts of one device (ms).
    pub cooldown_ms: i64,
    last: HashMap<String, i64>,
}

impl Planner {
    /// A planner for `sinks` with `cooldown_ms`.
    pub fn new(sinks: Vec<String>, cooldown_ms: i64) -> Planner {
        Planner { sinks, cooldown_ms, last: HashMap::new() }
    }

    /// The alerts `d` raises: one (sink, payload) per sink, or none while its device is cooling down.
    pub fn plan(&mut self, d: &Decision) -> Vec<(String, String)> {
        if self.sinks.is_empty() {
            return Vec::new();
        }
        if let Some(last) = self.last.get(&d.device)
            && d.end_ms - last < self.cooldown_ms
        {
            return Vec::new();
        }
        self.last.insert(d.device.clone(), d.end_ms);
        let payload = serde_json::to_string(&AlertPayload::new(d)).unwrap_or_default();
        self.sinks.iter().map(|s| (s.clone(), payload.clone())).collect()
    }
}

/// The wait before attempt `attempts + 1`: 1 s doubling, at most 10 minutes.
pub fn backoff_ms(attempts: i64) -> i64 {
    1_000_i64.saturating_mul(1 << attempts.clamp(0, 20)).min(600_000)
}

/// Sends every due alert once; returns how many were delivered.
pub async fn deliver_due(store: &Store, sinks: &Sinks, counters: &Counters) -> Result<usize> {
    let mut delivered = 0;
    for alert in store.due_alerts(now_ms(), 100).await? {
        match sinks.send(&alert).await {
            Ok(()) => {
                store.alert_sent(alert.id, now_ms()).await?;
                Counters::add(&counters.alerts_sent, 1);
                delivered += 1;
            }
            Err(e) => {
                let next = now_ms() + backoff_ms(alert.attempts);
                tracing::warn!("{e} (device {}; attempt {}; kept, retried later)", alert.device, alert.attempts + 1);
                store.alert_failed(alert.id, next, &e.to_string()).await?;
                Counters::add(&counters.alert_failures, 1);
            }
        }
    }
    Ok(delivered)
}

/// Delivers queued alerts until `stop` turns true, then makes one last pass; wakes every `every` or when
/// `wake` is notified (a commit queued alerts).
pub async fn deliver(
    store: Store,
    sinks: Arc<Sinks>,
    counters: Arc<Counters>,
    wake: Arc<tokio::sync::Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    every: Duration,
) {
    loop {
        if let Err(e) = deliver_due(&store, &sinks, &counters).await {
            tracing::error!("alert outbox: {e}");
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(every) => {}
            changed = stop.changed() => {
                // Stopping (or nobody left to say so): one last pass, then out.
                if changed.is_err() {
                    if let Err(e) = deliver_due(&store, &sinks, &counters).await {
                        tracing::error!("alert outbox: {e}");
                    }
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Batch, NewAnomaly};
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode, Uri};
    use base64::Engine;
    use std::sync::Mutex;

    /// One request the test server saw: path, Authorization, Content-Type, body.
    type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

    /// A local HTTP server standing in for Twilio and a webhook; the webhook fails its first request.
    async fn server() -> (String, Seen) {
        let seen: Seen = Arc::default();
        let record = seen.clone();
        let handler = move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let seen = record.clone();
            async move {
                let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let mut all = seen.lock().expect("seen");
                let hooks_before = all.iter().filter(|r| r.0 == "/hook").count();
                all.push((
                    uri.path().to_owned(),
                    h("authorization"),
                    h("content-type"),
                    String::from_utf8_lossy(&body).into(),
                ));
                if uri.path() == "/hook" {
                    if hooks_before == 0 { (StatusCode::SERVICE_UNAVAILABLE, "busy") } else { (StatusCode::OK, "ok") }
                } else {
                    (StatusCode::CREATED, r#"{"sid": "SM1", "status": "queued"}"#)
                }
            }
        };
        let app = axum::Router::new().fallback(axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), seen)
    }

    fn decision(device: &str, end_ms: i64) -> Decision {
        Decision {
            device: device.into(),
            start_ms: end_ms - 1_000,
            end_ms,
            score: 0.93,
            threshold: 0.5,
            anomalous: true,
            top: vec![("x".into(), 0.61), ("y".into(), 0.2)],
        }
    }

    #[test]
    fn one_alert_per_device_per_cooldown() {
        let mut p = Planner::new(vec!["webhook".into()], 60_000);
        assert_eq!(p.plan(&decision("a", 0)).len(), 1);
        assert!(p.plan(&decision("a", 59_999)).is_empty(), "cooling down");
        assert_eq!(p.plan(&decision("b", 59_999)).len(), 1, "devices cool down apart");
        assert_eq!(p.plan(&decision("a", 60_000)).len(), 1);
        assert!(Planner::new(Vec::new(), 0).plan(&decision("a", 0)).is_empty(), "no sinks, no alerts");
        assert_eq!((backoff_ms(0), backoff_ms(3), backoff_ms(40)), (1_000, 8_000, 600_000));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn twilio_gets_its_exact_request_and_a_failed_webhook_is_retried() {
        let (base, seen) = server().await;
        let twilio = Twilio {
            base_url: base.clone(),
            account_sid: "AC0123".into(),
            auth_token: "t0ken".into(),
            from: "+15550000000".into(),
            to: vec!["+15551112222".into()],
        };
        let sinks =
            Sinks::new(Some(format!("{base}/hook")), Some(twilio), None, Duration::from_secs(5)).expect("sinks");
        assert_eq!(sinks.names(), ["webhook", "twilio:+15551112222"]);
        let dir = std::env::temp_dir().join(format!("telltale-alert-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let db = dir.join("a.db");
        let _ = std::fs::remove_file(&db);
        let store = Store::open(db.to_str().expect("utf-8")).await.expect("store");
        let mut planner = Planner::new(sinks.names(), 60_000);
        let d = decision("pump-7", 1_718_000_000_000);
        let alerts = planner.plan(&d);
        let batch = Batch { readings: Vec::new(), anomalies: vec![NewAnomaly { decision: d, detected_ms: 1, alerts }] };
        store.commit(&batch).await.expect("commit");

        let counters = Counters::default();
        assert_eq!(deliver_due(&store, &sinks, &counters).await.expect("deliver"), 1, "twilio yes, webhook busy");
        assert_eq!(Counters::get(&counters.alert_failures), 1);
        assert_eq!(store.alert_counts().await.expect("counts").pending, 1, "the failed alert is kept");
        assert_eq!(deliver_due(&store, &sinks, &counters).await.expect("deliver"), 0, "not before its back-off");

        let requests = seen.lock().expect("seen").clone();
        let sms = requests.iter().find(|r| r.0.contains("Messages")).expect("a Twilio request");
        assert_eq!(sms.0, "/2010-04-01/Accounts/AC0123/Messages.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("AC0123:t0ken");
        assert_eq!(sms.1, format!("Basic {auth}"));
        assert_eq!(sms.2, "application/x-www-form-urlencoded");
        let form: Vec<(String, String)> = serde_urlencoded::from_str(&sms.3).expect("form");
        let body = "telltale: anomaly on pump-7 at 2024-06-10 06:13:20 UTC: score 0.930 over threshold 0.500; \
                    top sensors: x 0.610, y 0.200";
        assert_eq!(
            form,
            [
                ("To".into(), "+15551112222".into()),
                ("From".into(), "+15550000000".into()),
                ("Body".into(), body.into())
            ]
        );

        // After its back-off the webhook gets the JSON payload.
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        assert_eq!(deliver_due(&store, &sinks, &counters).await.expect("deliver"), 1);
        let requests = seen.lock().expect("seen").clone();
        let hooks: Vec<_> = requests.iter().filter(|r| r.0 == "/hook").collect();
        assert_eq!(hooks.len(), 2);
        assert_eq!(hooks[1].2, "application/json");
        let payload: AlertPayload = serde_json::from_str(&hooks[1].3).expect("json");
        assert_eq!(
            (payload.device.as_str(), payload.end_ms, payload.message.as_str()),
            ("pump-7", 1_718_000_000_000, body)
        );
        assert_eq!(store.alert_counts().await.expect("counts"), crate::store::AlertCounts { pending: 0, sent: 2 });
        let _ = std::fs::remove_dir_all(&dir);
    }
}
