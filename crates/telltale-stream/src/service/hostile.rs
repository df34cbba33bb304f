//! Regression tests for what bad luck and attackers did to the service: an oversized message, a reading dated
//! 2100, conflicting repeats, a client taking the service's id, clients without (or with wrong) credentials,
//! plain TCP on the TLS port.

use super::*;
use crate::config::ServeConfig;
use crate::detect::tests::zero_model;
use crate::testing::free_port;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::sync::atomic::AtomicU64;
use telltale_runtime::format::ThresholdSpec;
use telltale_testing::Scratch;

async fn start(config: ServeConfig) -> Service {
    let model = zero_model(ThresholdSpec::Static { value: 4.0 }, 1);
    Service::start(&config.check().expect("config"), model).await.expect("start")
}

fn base(scratch: &Scratch, port: u16) -> ServeConfig {
    ServeConfig {
        listen: format!("127.0.0.1:{port}"),
        db: format!("sqlite://{}", scratch.path("s.db")),
        http: String::new(),
        ..ServeConfig::default()
    }
}

/// A device client (packets up to 4 MB) whose event loop runs in the background.
fn device(options: MqttOptions) -> AsyncClient {
    let mut options = options;
    options.set_max_packet_size(4 << 20, 4 << 20);
    let (client, mut events) = AsyncClient::new(options, 256);
    tokio::spawn(async move {
        loop {
            if events.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    client
}

/// Waits (at most 30 s) until `done` holds of the counters; false if it never did.
async fn until(counters: &Counters, done: impl Fn(&Counters) -> bool) -> bool {
    tokio::time::timeout(Duration::from_secs(30), async {
        while !done(counters) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .is_ok()
}

fn g(c: &AtomicU64) -> u64 {
    Counters::get(c)
}

/// The first answer to connecting with `options`: `Ok` on a CONNACK that accepts, the error otherwise.
async fn connect(options: MqttOptions) -> std::result::Result<(), String> {
    let (_client, mut events) = AsyncClient::new(options, 8);
    let answer = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    });
    answer.await.unwrap_or_else(|_| Err("no answer in 20 s".into()))
}

/// Publishes an oversized message then `n` readings of device d1 (QoS 1), from ts 1000 s on.
async fn oversized_then_readings(client: &AsyncClient, bytes: usize, n: u64) {
    let big = format!(r#"{{"ts": 999000, "a": 0, "b": 1, "pad": "{}"}}"#, "x".repeat(bytes));
    client.publish("sensors/d1/x", QoS::AtLeastOnce, false, big).await.expect("publish big");
    for ts in 0..n {
        let payload = format!(r#"{{"ts": {}000, "a": 0, "b": 1}}"#, 1_000 + ts);
        client.publish("sensors/d1/x", QoS::AtLeastOnce, false, payload).await.expect("publish");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_is_counted_and_the_embedded_broker_goes_on() {
    let scratch = Scratch::new("hostile-big-embedded");
    let port = free_port();
    let service = start(base(&scratch, port)).await;
    let client = device(MqttOptions::new("dev-big", "127.0.0.1", port));
    // 1.06 MB: over max_payload (1 MiB), under the broker's own limit (4 MiB).
    oversized_then_readings(&client, 1_060_000, 20).await;
    let c = &service.counters;
    let ok = until(c, |c| g(&c.oversized) == 1 && g(&c.readings) == 20).await;
    assert!(ok, "oversized {} readings {}", g(&c.oversized), g(&c.readings));
    service.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_qos1_message_through_mosquitto_does_not_stall_the_session() {
    let server = crate::testing::mosquitto();
    let scratch = Scratch::new("hostile-big-mosquitto");
    let service = start(ServeConfig { broker: server.url.clone(), ..base(&scratch, 0) }).await;
    let client = device(MqttOptions::new("dev-big", "127.0.0.1", server.port));
    oversized_then_readings(&client, 2_000_000, 20).await;
    let c = &service.counters;
    let ok = until(c, |c| g(&c.oversized) == 1 && g(&c.readings) == 20).await;
    assert!(ok, "oversized {} readings {} disconnects {}", g(&c.oversized), g(&c.readings), g(&c.broker_disconnects));
    // Acknowledged, not redelivered: no reconnect loop, and nothing more arrives.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!((g(&c.broker_disconnects), g(&c.oversized)), (0, 1));
    service.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reading_dated_2100_and_conflicting_repeats_are_counted_and_the_device_goes_on() {
    let scratch = Scratch::new("hostile-clock");
    let port = free_port();
    let service = start(base(&scratch, port)).await;
    let client = device(MqttOptions::new("dev-clock", "127.0.0.1", port));
    let now_s = crate::source::now_ms() / 1000;
    let send = |payload: String| {
        let client = client.clone();
        async move { client.publish("sensors/d1/x", QoS::AtLeastOnce, false, payload).await.expect("publish") }
    };
    send(format!(r#"{{"ts": {now_s}, "a": 0, "b": 1}}"#)).await;
    send(r#"{"ts": "2100-01-01T00:00:00Z", "a": 0, "b": 1}"#.to_owned()).await;
    send(format!(r#"{{"ts": {now_s}, "a": 0, "b": 1}}"#)).await;
    send(format!(r#"{{"ts": {now_s}, "a": 3, "b": 1}}"#)).await;
    for t in 1..=5 {
        send(format!(r#"{{"ts": {}, "a": 0, "b": 1}}"#, now_s + t)).await;
    }
    let c = &service.counters;
    let ok = until(c, |c| g(&c.readings) == 6).await;
    assert!(ok, "readings {} future {}", g(&c.readings), g(&c.future));
    assert_eq!((g(&c.future), g(&c.duplicate), g(&c.conflicting)), (1, 1, 1));
    service.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_named_telltale_does_not_kick_the_service_off() {
    let scratch = Scratch::new("hostile-client-id");
    let port = free_port();
    let service = start(base(&scratch, port)).await;
    let intruder = device(MqttOptions::new("telltale", "127.0.0.1", port));
    for ts in 0..20 {
        let payload = format!(r#"{{"ts": {}000, "a": 0, "b": 1}}"#, 1_000 + ts);
        intruder.publish("sensors/d1/x", QoS::AtLeastOnce, false, payload).await.expect("publish");
    }
    let c = &service.counters;
    assert!(until(c, |c| g(&c.readings) == 20).await, "readings {}", g(&c.readings));
    assert_eq!(g(&c.broker_disconnects), 0);
    let id = service.store.instance_id().await.expect("id");
    assert_eq!(id.len(), 16);
    service.stop().await.expect("stop");
}

/// A password file letting in `ann` with `pw`.
fn passwords(scratch: &Scratch) -> String {
    scratch.write("broker.passwd", format!("{}\n", crate::broker::passwords::line("ann", "pw").expect("line")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_passwords_the_embedded_broker_lets_in_only_who_it_lists() {
    let scratch = Scratch::new("hostile-passwords");
    let port = free_port();
    let service = start(ServeConfig { broker_passwords: passwords(&scratch), ..base(&scratch, port) }).await;
    let with = |user: Option<(&str, &str)>| {
        let mut o = MqttOptions::new(format!("dev-{}", user.map_or("anon", |u| u.1)), "127.0.0.1", port);
        if let Some((u, p)) = user {
            o.set_credentials(u, p);
        }
        o
    };
    assert!(connect(with(None)).await.is_err(), "anonymous refused");
    assert!(connect(with(Some(("ann", "guess")))).await.is_err(), "a wrong password refused");
    assert!(connect(with(Some(("bob", "pw")))).await.is_err(), "an unknown user refused");
    assert_eq!(connect(with(Some(("ann", "pw")))).await, Ok(()));
    let ann = device(with(Some(("ann", "pw"))));
    for ts in 0..5 {
        let payload = format!(r#"{{"ts": {}000, "a": 0, "b": 1}}"#, 1_000 + ts);
        ann.publish("sensors/d1/x", QoS::AtLeastOnce, false, payload).await.expect("publish");
    }
    let c = &service.counters;
    assert!(until(c, |c| g(&c.readings) == 5).await, "readings {}", g(&c.readings));
    service.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_broker_speaks_only_tls_on_its_tls_port() {
    let scratch = Scratch::new("hostile-tls");
    let certs = telltale_testing::certificates(scratch.dir()).expect("certificates");
    let port = free_port();
    let config = ServeConfig {
        broker_passwords: passwords(&scratch),
        broker_tls_cert: certs.cert.display().to_string(),
        broker_tls_key: certs.key.display().to_string(),
        ..base(&scratch, port)
    };
    let service = start(config).await;
    let mut plain = MqttOptions::new("dev-plain", "127.0.0.1", port);
    plain.set_credentials("ann", "pw");
    assert!(connect(plain).await.is_err(), "plain TCP refused on the TLS port");
    let url = crate::source::BrokerUrl {
        ca_file: Some(certs.ca.clone()),
        ..crate::source::BrokerUrl::parse(&format!("mqtts://ann:pw@127.0.0.1:{port}")).expect("url")
    };
    assert_eq!(connect(url.options("dev-tls").expect("options")).await, Ok(()));
    let wrong = crate::source::BrokerUrl { credentials: Some(("ann".into(), "guess".into())), ..url.clone() };
    assert!(connect(wrong.options("dev-tls-wrong").expect("options")).await.is_err());
    let ann = device(url.options("dev-tls-pub").expect("options"));
    for ts in 0..5 {
        let payload = format!(r#"{{"ts": {}000, "a": 0, "b": 1}}"#, 1_000 + ts);
        ann.publish("sensors/d1/x", QoS::AtLeastOnce, false, payload).await.expect("publish");
    }
    let c = &service.counters;
    assert!(until(c, |c| g(&c.readings) == 5).await, "readings {}", g(&c.readings));
    service.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_side_answers_hostile_requests_clearly() {
    let scratch = Scratch::new("hostile-http");
    let token = "t0ken-for-tests";
    let config = ServeConfig {
        http: "127.0.0.1:0".into(),
        token: token.into(),
        max_event_streams: 2,
        ..base(&scratch, free_port())
    };
    let service = start(config).await;
    let http = service.http.expect("http");
    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{http}{path}");
    let authed = |r: reqwest::RequestBuilder| r.bearer_auth(token);

    let health = client.get(url("/health")).send().await.expect("health");
    let csp = health.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    assert!(csp.starts_with("default-src 'none'; script-src 'sha256-") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");

    let wrong = client.get(url("/api/devices")).bearer_auth("t0ken-for-testz").send().await.expect("wrong");
    assert_eq!(wrong.status(), 401);
    let long = client.get(url(&format!("/api/devices?device={}", "x".repeat(3000)))).send().await.expect("long");
    assert_eq!(long.status(), 414);
    for path in ["/../../etc/passwd", "/api/../../etc/passwd", "/static/..%2f..%2fetc%2fpasswd"] {
        let r = authed(client.get(url(path))).send().await.expect("traversal");
        let body = r.text().await.expect("body");
        assert!(!body.contains("root:"), "{path}: {body}");
    }

    let big = serde_json::json!({ "value": 1.0, "by": "x".repeat(20_000) });
    let r = authed(client.put(url("/api/thresholds"))).json(&big).send().await.expect("big");
    assert_eq!(r.status(), 413);
    assert!(r.text().await.expect("body").contains("the body is over"));
    for value in [-1e300, -0.5] {
        let r = authed(client.put(url("/api/thresholds"))).json(&serde_json::json!({ "value": value }));
        let r = r.send().await.expect("negative");
        assert_eq!(r.status(), 400, "{value}");
        assert!(r.text().await.expect("body").contains("is below 0"));
    }
    // Found by fuzzing: every change was listed, so the history grew the answer without bound. The latest are
    // listed, the total counted.
    let listed = crate::http::THRESHOLD_CHANGES_LISTED as usize;
    for i in 0..=listed {
        let r =
            authed(client.put(url("/api/thresholds"))).json(&serde_json::json!({ "value": i as f64, "by": "flood" }));
        assert_eq!(r.send().await.expect("change").status(), 200);
    }
    let t: serde_json::Value =
        authed(client.get(url("/api/thresholds"))).send().await.expect("thresholds").json().await.expect("json");
    let changes = t["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), listed);
    assert!(t["changes_total"].as_u64().is_some_and(|n| n as usize > listed), "{}", t["changes_total"]);
    assert_eq!(changes.last().and_then(|c| c["value"].as_f64()), Some(listed as f64));
    // Also found by fuzzing: thresholds for made-up device names were kept and listed in every answer. A device
    // that sent nothing gets none; clearing any name stays allowed.
    let made_up = serde_json::json!({ "device": "no-such-device", "value": 2.0 });
    let r = authed(client.put(url("/api/thresholds"))).json(&made_up).send().await.expect("made up");
    assert_eq!(r.status(), 404);
    assert!(r.text().await.expect("body").contains("no readings from"));
    let clear = serde_json::json!({ "device": "no-such-device", "value": null });
    assert_eq!(authed(client.put(url("/api/thresholds"))).json(&clear).send().await.expect("clear").status(), 200);

    // Two event streams at most: a third is told so, and a slot comes back when a stream ends.
    let first = authed(client.get(url("/api/events"))).send().await.expect("stream 1");
    let _second = authed(client.get(url("/api/events"))).send().await.expect("stream 2");
    assert_eq!((first.status().as_u16(), _second.status().as_u16()), (200, 200));
    let third = authed(client.get(url("/api/events"))).send().await.expect("stream 3");
    assert_eq!(third.status(), 429);
    drop(first);
    let again = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let r = authed(client.get(url("/api/events"))).send().await.expect("stream again");
            if r.status() == 200 {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(again.is_ok(), "a closed stream gives its slot back");
    assert_eq!(client.get(url("/health")).send().await.expect("health").status(), 200);
    service.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_turns_health_red_loses_nothing_and_recovers_when_space_returns() {
    let fs = telltale_testing::Tmpfs::mount("full-disk", 1024).expect("a 512 KiB tmpfs");
    let db = format!("sqlite://{}", fs.dir().join("t.db").display());
    let scratch = Scratch::new("hostile-full-disk");
    let port = free_port();
    let config = ServeConfig { db: db.clone(), http: "127.0.0.1:0".into(), ..base(&scratch, port) };
    let service = start(config).await;
    let health = format!("http://{}/health", service.http.expect("http"));
    let client = device(MqttOptions::new("dev-fill", "127.0.0.1", port));
    // 30,000 readings of two devices, 5 to a message: more than 512 KiB of rows, in small commits (a full disk
    // then fails the COMMIT itself, which leaves SQLite inside the transaction).
    let (messages, per) = (30000, 1);
    for m in 0..messages {
        let device = if m % 2 == 0 { "d1" } else { "d2" };
        let batch: Vec<String> =
            (0..per).map(|i| format!(r#"{{"ts": {}, "a": {}, "b": 1}}"#, 1_000_000 + m * per + i, i % 7)).collect();
        let payload = format!("[{}]", batch.join(","));
        client.publish(format!("sensors/{device}/x"), QoS::AtLeastOnce, false, payload).await.expect("publish");
        if m % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let c = &service.counters;
    assert!(until(c, |c| c.store_error().is_some()).await, "the disk fills: stored {}", g(&c.stored_readings));
    let answer = reqwest::get(&health).await.expect("health");
    assert_eq!(answer.status(), 503);
    let body: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(body["status"], "degraded");
    assert!(body["database"].as_str().expect("database").starts_with("commits failing"), "{body}");

    fs.resize(64 << 10).expect("space returns");
    let total = (messages * per) as u64;
    let recovered = until(c, |c| g(&c.stored_readings) == total && c.store_error().is_none()).await;
    assert!(recovered, "stored {} of {total}, failing {:?}", g(&c.stored_readings), c.store_error());
    assert_eq!(reqwest::get(&health).await.expect("health").status(), 200);
    service.stop().await.expect("stop");
    // What was counted stored is in the file, every reading once.
    let store = Store::open(&db).await.expect("reopen");
    assert_eq!(store.count("readings").await.expect("count"), total);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mosquittos_acl_recipe_a_device_publishes_only_under_its_own_name() {
    let server = telltale_testing::mosquitto_acl();
    let scratch = Scratch::new("hostile-acl");
    let broker = format!("mqtt://telltale:svc-pw@127.0.0.1:{}", server.port);
    let service = start(ServeConfig { broker, ..base(&scratch, 0) }).await;
    let mut options = MqttOptions::new("pump-7-dev", "127.0.0.1", server.port);
    options.set_credentials("pump-7", "p7");
    let pump7 = device(options);
    for ts in 0..5 {
        for target in ["pump-7", "pump-9"] {
            let payload = format!(r#"{{"ts": {}000, "a": 0, "b": 1}}"#, 1_000 + ts);
            pump7.publish(format!("sensors/{target}/x"), QoS::AtLeastOnce, false, payload).await.expect("publish");
        }
    }
    let c = &service.counters;
    assert!(until(c, |c| g(&c.readings) >= 5).await, "readings {}", g(&c.readings));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!((g(&c.readings), g(&c.devices)), (5, 1), "pump-7 cannot speak for pump-9");
    let mut anonymous = MqttOptions::new("anon", "127.0.0.1", server.port);
    anonymous.set_keep_alive(Duration::from_secs(5));
    assert!(connect(anonymous).await.is_err(), "anonymous refused");
    service.stop().await.expect("stop");
}

/// The next server-sent event's JSON from `stream`, reading chunks into `buf`.
async fn next_tick(stream: &mut reqwest::Response, buf: &mut String) -> serde_json::Value {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                return serde_json::from_str(data).expect("tick JSON");
            }
            continue;
        }
        let chunk = stream.chunk().await.expect("stream").expect("stream open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_sends_the_fleet_once_then_only_what_changed() {
    let scratch = Scratch::new("hostile-events");
    let port = free_port();
    let service = start(ServeConfig { http: "127.0.0.1:0".into(), ..base(&scratch, port) }).await;
    let client = device(MqttOptions::new("dev-events", "127.0.0.1", port));
    let publish = |device: &'static str, ts: i64| {
        let client = client.clone();
        async move {
            let payload = format!(r#"{{"ts": {ts}000, "a": 0, "b": 1}}"#);
            client.publish(format!("sensors/{device}/x"), QoS::AtLeastOnce, false, payload).await.expect("publish")
        }
    };
    for d in ["d1", "d2", "d3"] {
        publish(d, 1_000).await;
    }
    let c = &service.counters;
    assert!(until(c, |c| g(&c.readings) == 3).await);
    let mut stream = reqwest::get(format!("http://{}/api/events", service.http.expect("http"))).await.expect("events");
    let mut buf = String::new();
    let first = next_tick(&mut stream, &mut buf).await;
    assert_eq!(first["devices"].as_array().expect("the whole fleet first").len(), 3);
    // Idle (the rates settle within two of their 1 s samples): ticks carry no line at all, 2 s running.
    let idle = tokio::time::timeout(Duration::from_secs(20), async {
        let mut empty = 0;
        while empty < 4 {
            let t = next_tick(&mut stream, &mut buf).await;
            assert!(t["devices"].is_null(), "{t}");
            empty = if t["devices_changed"].as_array().expect("changed").is_empty() { empty + 1 } else { 0 };
        }
    });
    assert!(idle.await.is_ok(), "an idle fleet sends nothing per device");
    publish("d2", 1_001).await;
    let changed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let t = next_tick(&mut stream, &mut buf).await;
            let names: Vec<String> = t["devices_changed"]
                .as_array()
                .expect("changed")
                .iter()
                .map(|d| d["device"].as_str().unwrap_or_default().to_owned())
                .collect();
            if !names.is_empty() {
                return names;
            }
        }
    });
    assert_eq!(changed.await.expect("d2's new line"), ["d2"]);
    drop(stream);
    service.stop().await.expect("stop");
}

/// Found by `telltale bench chaos` (postgres-stopped): while PostgreSQL was down, `/metrics` waited for the
/// pool (5 s and more) and `/health` for its ping, so the scrape failed exactly when it was needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_answer_at_once_while_the_database_is_down() {
    let mut pg = crate::testing::postgres();
    let scratch = Scratch::new("hostile-db-down");
    let port = free_port();
    let config = ServeConfig { db: pg.url.clone(), http: "127.0.0.1:0".into(), ..base(&scratch, port) };
    let service = start(config).await;
    let http = service.http.expect("http");
    let get = |path: &'static str| async move {
        let started = std::time::Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(10), reqwest::get(format!("http://{http}{path}"))).await;
        let status = answer.ok().and_then(|a| a.ok()).map(|a| a.status().as_u16());
        (status, started.elapsed())
    };
    assert_eq!(get("/health").await.0, Some(200));
    // PostgreSQL's fast shutdown: the service's sessions end with it.
    tokio::task::block_in_place(|| pg.stop_with("INT"));
    for _ in 0..3 {
        let (status, took) = get("/health").await;
        assert_eq!(status, Some(503), "red while the database is down");
        assert!(took < Duration::from_secs(4), "/health took {took:?}");
        let (status, took) = get("/metrics").await;
        assert_eq!(status, Some(200));
        assert!(took < Duration::from_secs(2), "/metrics took {took:?}");
    }
    tokio::task::block_in_place(|| pg.start_again()).expect("PostgreSQL back");
    let back = tokio::time::timeout(Duration::from_secs(30), async {
        while get("/health").await.0 != Some(200) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    assert!(back.await.is_ok(), "green again once the database is back");
    service.stop().await.expect("stop");
}
