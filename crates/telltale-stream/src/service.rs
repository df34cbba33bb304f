//! The whole service, assembled from the stages: broker (embedded or
//! external) → MQTT source → detection → storing stage → alert outbox, with
//! the HTTP server beside them. [`Service::start`] brings it up;
//! [`Service::stop`] takes it down in order, so everything acknowledged is
//! stored and every queued alert gets a last attempt.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, QoS};
use telltale_runtime::Model;
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::alert::{Planner, Sinks, Twilio, deliver};
use crate::config::ServeConfig;
use crate::detect::{Decision, Detector};
use crate::error::{Error, Result};
use crate::live::Live;
use crate::pipeline::{Counters, DetectStage};
use crate::sink::SinkStage;
use crate::source::{BrokerUrl, Mqtt, Source};
use crate::store::Store;
use crate::topic::TopicPattern;
use crate::{broker, http};

/// A running service.
#[derive(Debug)]
pub struct Service {
    /// Its counters.
    pub counters: Arc<Counters>,
    /// Every decision as it is made (subscribe for live views); storage and alerts follow.
    pub decisions: broadcast::Sender<Decision>,
    /// The broker it reads from.
    pub broker: BrokerUrl,
    /// Where its HTTP server listens, if it runs one.
    pub http: Option<SocketAddr>,
    /// Its database.
    pub store: Store,
    /// What its dashboard shows, and the thresholds set while it runs.
    pub live: Arc<Live>,
    stop: watch::Sender<bool>,
    outbox_stop: watch::Sender<bool>,
    http_stop: watch::Sender<bool>,
    source: JoinHandle<Result<()>>,
    detect: JoinHandle<Detector>,
    sink: JoinHandle<()>,
    outbox: JoinHandle<()>,
    http_task: Option<JoinHandle<()>>,
    alert_client: Option<AsyncClient>,
}

/// What a service did, read when it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Messages taken.
    pub messages: u64,
    /// Readings accepted.
    pub readings: u64,
    /// Windows scored.
    pub windows: u64,
    /// Anomalies.
    pub anomalies: u64,
    /// Devices seen.
    pub devices: u64,
    /// Messages or readings refused.
    pub refused: u64,
    /// Alerts delivered.
    pub alerts_sent: u64,
    /// Bytes of per-device detection state when it stopped (0 before).
    pub state_bytes: u64,
}

impl Summary {
    /// The summary of `c` now.
    pub fn of(c: &Counters) -> Summary {
        let g = Counters::get;
        Summary {
            messages: g(&c.messages),
            readings: g(&c.readings),
            windows: g(&c.windows),
            anomalies: g(&c.anomalies),
            devices: g(&c.devices),
            refused: g(&c.malformed) + g(&c.out_of_order) + g(&c.duplicate) + g(&c.unknown_device) + g(&c.unmatched),
            alerts_sent: g(&c.alerts_sent),
            state_bytes: 0,
        }
    }
}

impl Service {
    /// Starts everything `config` asks for around `model`.
    pub async fn start(config: &ServeConfig, model: Model) -> Result<Service> {
        let pattern = TopicPattern::new(&config.topic)?;
        let broker = if config.broker.is_empty() {
            let listen: SocketAddr = config.listen.parse().map_err(|_| {
                Error::config("listen", format!("{:?} is not an address like 127.0.0.1:1883", config.listen))
            })?;
            broker::start(listen)?;
            tracing::info!("embedded MQTT broker on {listen}");
            BrokerUrl::plain(listen.ip().to_string(), listen.port())
        } else {
            let mut url = BrokerUrl::parse(&config.broker)?;
            url.ca_file = (!config.tls_ca.is_empty()).then(|| config.tls_ca.clone().into());
            url
        };
        let store = Store::open(&config.db).await?;
        tracing::info!("storing in {}", store.name());

        let alerts = &config.alerts;
        let timeout = Duration::from_secs_f64(alerts.timeout_s.max(0.1));
        let twilio = if alerts.twilio.to.is_empty() {
            None
        } else {
            let var = |name: &str| {
                std::env::var(name)
                    .map_err(|_| Error::config("alerts.twilio", format!("set {name} in the environment")))
            };
            Some(Twilio {
                base_url: alerts.twilio.base_url.clone(),
                account_sid: var("TWILIO_ACCOUNT_SID")?,
                auth_token: var("TWILIO_AUTH_TOKEN")?,
                from: alerts.twilio.from.clone(),
                to: alerts.twilio.to.clone(),
            })
        };
        let alert_client = match alerts.mqtt_topic.is_empty() {
            true => None,
            false => Some(alert_publisher(&broker, &config.client_id)?),
        };
        let mqtt_sink = alert_client.clone().map(|c| (c, alerts.mqtt_topic.clone()));
        let webhook = (!alerts.webhook.is_empty()).then(|| alerts.webhook.clone());
        let sinks = Arc::new(Sinks::new(webhook, twilio, mqtt_sink, timeout)?);
        let sink_names = sinks.names();

        let counters = Arc::new(Counters::default());
        let queue = config.queue.max(1);
        let (messages_tx, messages_rx) = mpsc::channel(queue);
        let (processed_tx, processed_rx) = mpsc::channel(queue);
        let (committed_tx, committed_rx) = watch::channel(0);
        let (stop, stop_rx) = watch::channel(false);
        let (outbox_stop, outbox_stop_rx) = watch::channel(false);
        let (decisions, _) = broadcast::channel(4096);
        let wake = Arc::new(Notify::new());

        let live = Arc::new(Live::new(model.header.features.clone(), config.live_history, model.header.step));
        // Thresholds changed on the dashboard stay changed across restarts: their record is replayed.
        for change in store.threshold_changes().await? {
            live.thresholds.set(change.device.as_deref(), change.value);
        }
        let in_force = live.thresholds.snapshot();
        if in_force != Default::default() {
            tracing::info!(
                "thresholds set on the dashboard: model {:?}, devices {:?}",
                in_force.model,
                in_force.devices
            );
        }
        let stage = DetectStage {
            pattern: pattern.clone(),
            store_readings: config.store_readings,
            decisions: Some(decisions.clone()),
            live: Some(live.clone()),
        };
        let detector = Detector::new(model.clone())
            .limit_devices(&config.devices, config.max_devices)
            .with_thresholds(live.thresholds.clone());
        let detect = stage.spawn(messages_rx, detector, processed_tx, counters.clone());
        let cooldown_ms = (alerts.cooldown_s.max(0.0) * 1000.0) as i64;
        let sink = SinkStage {
            store: store.clone(),
            planner: Planner::new(sinks.names(), cooldown_ms),
            committed: committed_tx,
            wake: wake.clone(),
            counters: counters.clone(),
        };
        let sink = tokio::spawn(sink.run(processed_rx));
        let outbox = tokio::spawn(deliver(
            store.clone(),
            sinks,
            counters.clone(),
            wake,
            outbox_stop_rx,
            Duration::from_millis(500),
        ));
        let subscribed = Arc::new(Notify::new());
        let source = Mqtt {
            broker: broker.clone(),
            filter: pattern.filter(),
            client_id: config.client_id.clone(),
            // Acknowledging after the commit protects messages held by a broker that outlives the service. The
            // embedded broker lives and dies with it (and lets only 100 messages wait for acknowledgement, which
            // would tie delivery to the commit cadence), so there messages are acknowledged on arrival.
            committed: (!config.broker.is_empty()).then_some(committed_rx),
            stop: Some(stop_rx),
            qos: if config.broker.is_empty() { QoS::AtMostOnce } else { QoS::AtLeastOnce },
            subscribed: Some(subscribed.clone()),
        };
        let source = tokio::spawn(source.run(messages_tx));
        // Readings published before the broker holds the subscription find no subscriber: start serving once it
        // does (a broker that cannot be reached yet is retried in the background; the wait is bounded).
        if tokio::time::timeout(Duration::from_secs(10), subscribed.notified()).await.is_err() {
            tracing::warn!("not subscribed after 10 s; serving anyway, the subscription follows the connection");
        }

        let (http_stop, closing) = watch::channel(false);
        let (http_addr, http_task) = if config.http.is_empty() {
            (None, None)
        } else {
            let mut addr: SocketAddr = config.http.parse().map_err(|_| {
                Error::config("http", format!("{:?} is not an address like 127.0.0.1:8080", config.http))
            })?;
            let token = check_token(&config.token)?;
            if token.is_none() && !addr.ip().is_loopback() {
                addr = SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port());
                tracing::warn!(
                    "no token set: the dashboard and API listen on loopback only ({addr}); set --token to serve {}",
                    config.http
                );
            }
            let h = &model.header;
            let state = http::AppState {
                store: store.clone(),
                counters: counters.clone(),
                started: Instant::now(),
                model: h.name.clone(),
                model_info: serde_json::json!({
                    "name": h.name,
                    "preset": h.preset,
                    "features": h.features,
                    "window": h.steps,
                    "step": h.step,
                    "horizon": h.horizon,
                    "score": h.score,
                    "threshold": h.threshold,
                    "test": h.info.get("test").cloned().unwrap_or_default(),
                }),
                live: live.clone(),
                token,
                closing: closing.clone(),
                alerting: !sink_names.is_empty(),
                changes: Arc::default(),
            };
            let mut closing = closing.clone();
            let (bound, task) = http::serve(addr, state, async move {
                let _ = closing.wait_for(|c| *c).await;
            })
            .await?;
            tracing::info!("HTTP on http://{bound}: dashboard /, API /api/…, /health, /metrics");
            (Some(bound), Some(task))
        };
        Ok(Service {
            counters,
            decisions,
            broker,
            http: http_addr,
            store,
            live,
            stop,
            outbox_stop,
            http_stop,
            source,
            detect,
            sink,
            outbox,
            http_task,
            alert_client,
        })
    }

    /// What the service has done so far.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.counters)
    }

    /// Stops in order: no more messages in; what was taken is scored, stored and acknowledged; queued alerts get
    /// a last attempt; the HTTP server and the database close.
    pub async fn stop(self) -> Result<Summary> {
        self.stop.send_replace(true);
        let source = self.source.await.map_err(|e| Error::config("MQTT source", e.to_string()))?;
        let state_bytes = self.detect.await.map_or(0, |d| d.state_bytes() as u64);
        let _ = self.sink.await;
        self.outbox_stop.send_replace(true);
        let _ = self.outbox.await;
        if let Some(client) = &self.alert_client {
            // Give queued MQTT alerts a moment to leave before disconnecting.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = client.disconnect().await;
        }
        // Event streams end first (an open dashboard would hold a graceful shutdown forever).
        self.http_stop.send_replace(true);
        if let Some(task) = self.http_task {
            let _ = task.await;
        }
        let summary = Summary { state_bytes, ..Summary::of(&self.counters) };
        self.store.close().await;
        source.map(|()| summary)
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

/// An MQTT client for alerts, its event loop polled (reconnecting with back-off) on a task of its own.
fn alert_publisher(broker: &BrokerUrl, client_id: &str) -> Result<AsyncClient> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::tests::zero_model;
    use crate::testing::free_port;
    use rumqttc::{Event, MqttOptions, Packet};
    use std::sync::Mutex;
    use telltale_runtime::format::ThresholdSpec;

    /// A local webhook receiver: the bodies it was sent.
    async fn webhook() -> (String, Arc<Mutex<Vec<String>>>) {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let record = seen.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: String| {
                let seen = record.clone();
                async move { seen.lock().expect("seen").push(body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/hook"), seen)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readings_published_as_soon_as_the_service_is_up_are_all_received() {
        // `start` returns once the broker holds the subscription: nothing published after it finds no subscriber.
        let dir = std::env::temp_dir().join(format!("telltale-service-first-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let port = free_port();
        let config = ServeConfig {
            listen: format!("127.0.0.1:{port}"),
            db: format!("sqlite://{}", dir.join("first.db").display()),
            http: String::new(),
            ..ServeConfig::default()
        };
        let service =
            Service::start(&config, zero_model(ThresholdSpec::Static { value: 4.0 }, 1)).await.expect("start");
        let (client, mut events) = AsyncClient::new(MqttOptions::new("first", "127.0.0.1", port), 512);
        let n = 200;
        for ts in 0..n {
            let payload = format!(r#"{{"ts": {}, "a": 0, "b": 1}}"#, 1_000 + ts);
            client.publish("sensors/d1/x", QoS::AtLeastOnce, false, payload).await.expect("queue");
        }
        let acked = tokio::time::timeout(Duration::from_secs(20), async {
            let mut acked = 0;
            while acked < n {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        })
        .await;
        assert!(acked.is_ok(), "the broker acknowledged every reading");
        let received = tokio::time::timeout(Duration::from_secs(20), async {
            while Counters::get(&service.counters.messages) < n {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        let got = Counters::get(&service.counters.messages);
        assert!(received.is_ok(), "{got} of {n} readings received");
        service.stop().await.expect("stop");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_service_ingests_scores_stores_alerts_and_reports() {
        let (hook, hooked) = webhook().await;
        let dir = std::env::temp_dir().join(format!("telltale-service-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let port = free_port();
        let mut config = ServeConfig {
            listen: format!("127.0.0.1:{port}"),
            db: format!("sqlite://{}", dir.join("s.db").display()),
            http: "127.0.0.1:0".into(),
            ..ServeConfig::default()
        };
        config.alerts.webhook = hook;
        config.alerts.cooldown_s = 0.0;
        let service =
            Service::start(&config, zero_model(ThresholdSpec::Static { value: 4.0 }, 1)).await.expect("start");
        let http = service.http.expect("http");

        // A watcher on the MQTT alert topic, and a device publisher.
        let (watch, mut watch_events) = AsyncClient::new(MqttOptions::new("watch", "127.0.0.1", port), 64);
        watch.subscribe("alerts/#", QoS::AtLeastOnce).await.expect("subscribe");
        let mqtt_alerts: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let got = mqtt_alerts.clone();
        tokio::spawn(async move {
            while let Ok(e) = watch_events.poll().await {
                if let Event::Incoming(Packet::Publish(p)) = e {
                    got.lock().expect("alerts").push((p.topic.clone(), String::from_utf8_lossy(&p.payload).into()));
                }
            }
        });
        let (client, mut events) = AsyncClient::new(MqttOptions::new("devices", "127.0.0.1", port), 256);
        tokio::spawn(async move { while events.poll().await.is_ok() {} });
        tokio::time::timeout(Duration::from_secs(30), async {
            let mut ts = 1_000;
            while hooked.lock().expect("hooked").len() < 3 || mqtt_alerts.lock().expect("alerts").is_empty() {
                ts += 1;
                let a = if ts % 2 == 0 { 0 } else { 4 };
                for (device, a) in [("d1", a), ("d2", 0)] {
                    let payload = format!(r#"{{"ts": {ts}000, "a": {a}, "b": 1}}"#);
                    client.publish(format!("sensors/{device}/x"), QoS::AtLeastOnce, false, payload).await.expect("pub");
                }
                client.publish("sensors/d2/x", QoS::AtLeastOnce, false, "{not json").await.expect("pub");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("alerts by webhook and MQTT within 30 s");

        let get = |path: &str| reqwest::get(format!("http://{http}{path}"));
        let health = get("/health").await.expect("health");
        assert_eq!(health.status(), 200);
        let health: serde_json::Value = health.json().await.expect("json");
        assert_eq!((health["status"].as_str(), health["devices"].as_u64()), (Some("ok"), Some(2)));
        let metrics = get("/metrics").await.expect("metrics").text().await.expect("text");
        assert!(metrics.contains("# TYPE telltale_decision_latency_seconds histogram"), "{metrics}");
        assert!(metrics.contains("telltale_dropped_total{reason=\"malformed\"} "), "{metrics}");
        let windows: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("telltale_windows_total "))
            .and_then(|v| v.parse().ok())
            .expect("windows_total");
        assert!(windows >= 3, "{metrics}");
        let newest: Vec<serde_json::Value> =
            get("/api/anomalies?limit=2").await.expect("api").json().await.expect("json");
        assert_eq!(newest.len(), 2);
        assert!(newest[0]["end_ms"].as_i64() > newest[1]["end_ms"].as_i64(), "newest first");
        assert!(newest.iter().all(|a| a["device"] == "d1"), "{newest:?}");

        let alert: serde_json::Value = serde_json::from_str(&hooked.lock().expect("hooked")[0]).expect("alert json");
        assert_eq!(alert["device"], "d1");
        assert!(alert["message"].as_str().expect("message").starts_with("telltale: anomaly on d1 at "));
        assert_eq!(mqtt_alerts.lock().expect("alerts")[0].0, "alerts/d1");

        let summary = service.stop().await.expect("stop");
        assert!(summary.refused > 0 && summary.anomalies >= 3 && summary.devices == 2, "{summary:?}");
        // Everything the service accepted is in the database after a graceful stop.
        let store = Store::open(&config.db).await.expect("reopen");
        assert_eq!(store.count("readings").await.expect("count"), summary.readings);
        assert_eq!(store.count("anomalies").await.expect("count"), summary.anomalies);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
