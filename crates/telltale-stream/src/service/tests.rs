use super::*;
use crate::config::ServeConfig;
use crate::detect::tests::zero_model;
use crate::testing::free_port;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
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
    let service = Service::start(&config.check().expect("config"), zero_model(ThresholdSpec::Static { value: 4.0 }, 1))
        .await
        .expect("start");
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
    let service = Service::start(&config.check().expect("config"), zero_model(ThresholdSpec::Static { value: 4.0 }, 1))
        .await
        .expect("start");
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
    let newest: Vec<serde_json::Value> = get("/api/anomalies?limit=2").await.expect("api").json().await.expect("json");
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
