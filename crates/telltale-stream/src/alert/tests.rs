use super::*;
use crate::detect::Decision;
use crate::pipeline::Counters;
use crate::store::{Batch, NewAnomaly, Store};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine;
use std::sync::{Arc, Mutex};

/// One request the test server saw: path, Authorization, Content-Type, body, Idempotency-Key.
type Seen = Arc<Mutex<Vec<(String, String, String, String, String)>>>;

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
                h("idempotency-key"),
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
    let http = sinks::http_client(Duration::from_secs(5)).expect("HTTP client");
    let twilio = Twilio {
        base_url: base.clone(),
        account_sid: "AC0123".into(),
        auth_token: "t0ken".into(),
        from: "+15550000000".into(),
        to: vec!["+15551112222".into()],
        http: http.clone(),
    };
    let webhook = Webhook { url: format!("{base}/hook"), http };
    let sinks = Sinks::new(vec![Box::new(webhook), Box::new(twilio)]);
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
        [("To".into(), "+15551112222".into()), ("From".into(), "+15550000000".into()), ("Body".into(), body.into())]
    );

    // After its back-off the webhook gets the JSON payload.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(deliver_due(&store, &sinks, &counters).await.expect("deliver"), 1);
    let requests = seen.lock().expect("seen").clone();
    let hooks: Vec<_> = requests.iter().filter(|r| r.0 == "/hook").collect();
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[1].2, "application/json");
    assert_eq!(hooks[0].4, hooks[1].4, "a retry carries the same Idempotency-Key");
    assert!(hooks[1].4.starts_with("telltale-alert-"), "{}", hooks[1].4);
    let payload: AlertPayload = serde_json::from_str(&hooks[1].3).expect("json");
    assert_eq!(
        (payload.device.as_str(), payload.end_ms, payload.message.as_str()),
        ("pump-7", 1_718_000_000_000, body)
    );
    assert_eq!(store.alert_counts().await.expect("counts"), crate::store::AlertCounts { pending: 0, sent: 2 });
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_configured_channels_are_built_in_order_and_a_row_for_a_missing_one_says_so() {
    let alerts = crate::config::AlertsConfig {
        webhook: "http://127.0.0.1:9/hook".into(),
        mqtt_topic: String::new(),
        ..Default::default()
    };
    let broker = BrokerUrl::plain("127.0.0.1", 1);
    let sinks = channels(&alerts, Duration::from_secs(1), &broker, "telltale").expect("channels");
    assert_eq!(sinks.names(), ["webhook"], "no Twilio recipient, no MQTT topic");
    let row = |sink: &str| crate::store::AlertRow {
        id: 1,
        sink: sink.into(),
        device: "d1".into(),
        end_ms: 0,
        payload: "{}".into(),
        attempts: 0,
    };
    for (sink, why) in [
        ("twilio:+1555", "alert via twilio:+1555: Twilio is not configured"),
        ("mqtt", "alert via mqtt: no MQTT alert topic"),
        ("pager", "alert via pager: unknown sink (the configuration changed since it was queued?)"),
    ] {
        let e = sinks.send(&row(sink)).await.expect_err("not configured");
        assert_eq!(e.to_string(), why);
    }
}

/// A channel that accepts everything and counts what it was sent.
#[derive(Debug, Default)]
struct Counting(Arc<std::sync::atomic::AtomicUsize>);

impl AlertSink for Counting {
    fn name(&self) -> &str {
        "webhook"
    }

    fn send<'a>(
        &'a self,
        _alert: &'a crate::store::AlertRow,
    ) -> futures_util::future::BoxFuture<'a, crate::Result<()>> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }
}

/// Found by `telltale bench chaos` (disk-full: 11 of 60 alerts sent twice): a confirmation the store could not
/// record left the alert due, and the next pass sent it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_alert_whose_record_fails_is_recorded_later_not_sent_again() {
    let dir = std::env::temp_dir().join(format!("telltale-alert-unrecorded-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let db = dir.join("a.db");
    let _ = std::fs::remove_file(&db);
    let store = Store::open(db.to_str().expect("utf-8")).await.expect("store");
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sinks = Sinks::new(vec![Box::new(Counting(sent.clone()))]);
    let mut planner = Planner::new(sinks.names(), 0);
    let d = decision("pump-7", 1_718_000_000_000);
    let alerts = planner.plan(&d);
    let batch = Batch { readings: Vec::new(), anomalies: vec![NewAnomaly { decision: d, detected_ms: 1, alerts }] };
    store.commit(&batch).await.expect("commit");

    // Writes that mark an alert sent fail, as on a full disk.
    sqlx::any::install_default_drivers();
    let raw = sqlx::AnyPool::connect(&format!("sqlite://{}", db.display())).await.expect("raw connection");
    sqlx::query(
        "CREATE TRIGGER no_sent BEFORE UPDATE ON alerts WHEN NEW.status = 'sent' \
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    )
    .execute(&raw)
    .await
    .expect("trigger");
    let counters = Counters::default();
    let mut unrecorded = Unrecorded::new();
    let sends = || sent.load(std::sync::atomic::Ordering::SeqCst);
    let e = deliver_due_keeping(&store, &sinks, &counters, &mut unrecorded).await.expect_err("the record fails");
    assert!(e.to_string().contains("cannot mark an alert"), "{e}");
    assert_eq!((sends(), unrecorded.len()), (1, 1), "sent once, its confirmation kept");
    assert!(deliver_due_keeping(&store, &sinks, &counters, &mut unrecorded).await.is_err(), "still failing");
    assert_eq!(sends(), 1, "not sent again while its record fails");

    sqlx::query("DROP TRIGGER no_sent").execute(&raw).await.expect("space again");
    assert_eq!(deliver_due_keeping(&store, &sinks, &counters, &mut unrecorded).await.expect("recorded"), 0);
    assert_eq!(sends(), 1, "sent exactly once");
    assert!(unrecorded.is_empty());
    assert_eq!(store.alert_counts().await.expect("counts"), crate::store::AlertCounts { pending: 0, sent: 1 });
    raw.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
