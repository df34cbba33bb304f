//! The store's behaviour on every dialect: SQLite here, PostgreSQL and MariaDB on real servers started by
//! telltale-testing.

use sqlx::{Executor, Row};

use super::url::normalise;
use super::*;
use crate::detect::Decision;

/// An anomaly of `device` ending at `end_ms`, raising one alert per sink named.
pub(crate) fn anomaly(device: &str, end_ms: i64, sinks: &[&str]) -> NewAnomaly {
    NewAnomaly {
        decision: Decision {
            device: device.into(),
            start_ms: end_ms - 10,
            end_ms,
            score: 0.9,
            threshold: 0.5,
            anomalous: true,
            top: vec![("x".into(), 0.7), ("y".into(), 0.2)],
        },
        detected_ms: end_ms + 1,
        alerts: sinks.iter().map(|s| (s.to_string(), format!("{{\"device\":\"{device}\"}}"))).collect(),
    }
}

fn reading(device: &str, ts: i64) -> ReadingRow {
    ReadingRow { device: device.into(), ts, data: format!("{{\"x\":{ts}}}") }
}

/// The behaviour every dialect must show; run on SQLite and on real PostgreSQL and MariaDB servers below.
pub(crate) async fn exercise(store: &Store) {
    let batch = Batch {
        readings: (0..600).map(|t| reading(if t % 2 == 0 { "a" } else { "b" }, t)).collect(),
        anomalies: vec![anomaly("a", 100, &["webhook", "sms"]), anomaly("b", 300, &["webhook"])],
    };
    let first = store.commit(&batch).await.expect("commit");
    assert_eq!(first, Committed { readings: 600, anomalies: 2, alerts: 3 });
    // Delivered again (a redelivery): nothing new, no alert twice.
    let again = store.commit(&batch).await.expect("commit again");
    assert_eq!(again, Committed::default());
    assert_eq!(store.count("readings").await.expect("count"), 600);

    let newest = store.anomalies(None, 10).await.expect("anomalies");
    assert_eq!(newest.iter().map(|a| a.end_ms).collect::<Vec<_>>(), [300, 100]);
    assert_eq!(newest[1].top[0], TopSensor { sensor: "x".into(), part: 0.7 });
    assert_eq!(newest[1].start_ms, 90);
    assert!((newest[0].score - 0.9).abs() < 1e-12);
    let of_a = store.anomalies(Some("a"), 10).await.expect("anomalies of a");
    assert_eq!(of_a.len(), 1);

    let due = store.due_alerts(i64::MAX, 10).await.expect("due");
    assert_eq!(due.len(), 3);
    assert_eq!((due[0].sink.as_str(), due[0].device.as_str(), due[0].end_ms), ("webhook", "a", 100));
    store.alert_sent(due[0].id, 5).await.expect("sent");
    store.alert_failed(due[1].id, 1_000, "sms gateway down").await.expect("failed");
    let later = store.due_alerts(999, 10).await.expect("due");
    assert_eq!(later.iter().map(|a| a.id).collect::<Vec<_>>(), [due[2].id], "the failed one waits");
    let retry = store.due_alerts(1_000, 10).await.expect("due");
    assert_eq!(retry.len(), 2);
    assert_eq!(retry[0].attempts, 1);
    assert_eq!(store.alert_counts().await.expect("counts"), AlertCounts { pending: 2, sent: 1 });

    // The feed: newest anomaly first, its deliveries (one failed, retried) and acknowledgements.
    let feed = store.feed(10, false).await.expect("feed");
    assert_eq!(feed.iter().map(|f| f.anomaly.end_ms).collect::<Vec<_>>(), [300, 100]);
    // An anomaly in a device's cooldown raised no alert: in the whole list, not in the alerted one.
    store.commit(&Batch { readings: Vec::new(), anomalies: vec![anomaly("a", 200, &[])] }).await.expect("quiet");
    let all = store.feed(10, false).await.expect("feed");
    assert_eq!(all.iter().map(|f| f.anomaly.end_ms).collect::<Vec<_>>(), [300, 200, 100]);
    assert!(all[1].deliveries.is_empty());
    let alerted = store.feed(10, true).await.expect("alerted");
    assert_eq!(alerted.iter().map(|f| f.anomaly.end_ms).collect::<Vec<_>>(), [300, 100]);
    let states: Vec<(&str, &str)> = feed[1].deliveries.iter().map(|d| (d.sink.as_str(), d.status.as_str())).collect();
    assert_eq!(states, [("webhook", "sent"), ("sms", "failed")]);
    assert_eq!(feed[1].deliveries[1].last_error, "sms gateway down");
    assert_eq!(feed[0].deliveries[0].status, "pending");
    assert!(feed.iter().all(|f| f.ack.is_none()));
    assert!(store.acknowledge(feed[1].anomaly.id, 77, "ops").await.expect("ack"));
    assert!(store.acknowledge(feed[1].anomaly.id, 99, "late").await.expect("ack again"), "kept, not doubled");
    assert!(!store.acknowledge(123_456, 77, "ops").await.expect("no such anomaly"));
    let feed = store.feed(10, true).await.expect("feed");
    assert_eq!(feed[1].ack, Some(Ack { acked_ms: 77, by: "ops".into() }));
    assert_eq!(store.count("acks").await.expect("count"), 1);
    // Threshold changes, replayed in order.
    store.record_threshold(None, Some(2.5), 10, "ops").await.expect("model");
    store.record_threshold(Some("a"), Some(0.75), 11, "ops").await.expect("device");
    store.record_threshold(Some("a"), None, 12, "ops").await.expect("clear");
    let changes = store.threshold_changes().await.expect("changes");
    let seen: Vec<(Option<&str>, Option<f64>, i64)> =
        changes.iter().map(|c| (c.device.as_deref(), c.value, c.changed_ms)).collect();
    assert_eq!(seen, [(None, Some(2.5), 10), (Some("a"), Some(0.75), 11), (Some("a"), None, 12)]);

    let rows = store.readings("a", 10, 14, 100).await.expect("readings");
    assert_eq!(rows, [(10, "{\"x\":10}".to_owned()), (12, "{\"x\":12}".to_owned()), (14, "{\"x\":14}".to_owned())]);
    store.ping().await.expect("ping");

    let id = store.instance_id().await.expect("instance id");
    assert!(id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    assert_eq!(store.instance_id().await.expect("again"), id, "made once, kept");
}

#[tokio::test]
async fn sqlite_stores_once_and_keeps_the_alert_queue() {
    let dir = std::env::temp_dir().join(format!("telltale-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("t.db");
    let _ = std::fs::remove_file(&path);
    let store = Store::open(path.to_str().expect("utf-8")).await.expect("open");
    assert_eq!(store.dialect(), Dialect::Sqlite);
    exercise(&store).await;
    let mode: String =
        sqlx::query("PRAGMA journal_mode").fetch_one(&store.pool).await.expect("pragma").try_get(0).expect("mode");
    assert_eq!(mode, "wal");
    store.close().await;
    // Reopening finds the same rows (the tables are not recreated).
    let store = Store::open(&format!("sqlite://{}", path.display())).await.expect("reopen");
    assert_eq!(store.count("anomalies").await.expect("count"), 3);
    store.close().await;
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// Opens `url`, retrying while the server finishes starting (at most 30 s).
async fn open_when_ready(url: &str) -> Store {
    let start = std::time::Instant::now();
    loop {
        match Store::open(url).await {
            Ok(s) => return s,
            Err(e) if start.elapsed() < std::time::Duration::from_secs(30) => {
                tracing::debug!("waiting for {url}: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test]
async fn postgresql_behaves_like_sqlite() {
    let server = crate::testing::postgres();
    let store = open_when_ready(&server.url).await;
    assert_eq!(store.dialect(), Dialect::Postgres);
    exercise(&store).await;
    store.close().await;
}

#[tokio::test]
async fn mariadb_behaves_like_sqlite() {
    let server = crate::testing::mariadb();
    let root = server.url.trim_end_matches("/telltale");
    sqlx::any::install_default_drivers();
    let start = std::time::Instant::now();
    loop {
        let created = async {
            let pool = sqlx::AnyPool::connect(root).await?;
            pool.execute("CREATE DATABASE IF NOT EXISTS telltale").await?;
            pool.close().await;
            Ok::<_, sqlx::Error>(())
        };
        match created.await {
            Ok(()) => break,
            Err(e) if start.elapsed() < std::time::Duration::from_secs(30) => {
                tracing::debug!("waiting for mariadb: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{e}\n{}", server.log()),
        }
    }
    let store = open_when_ready(&server.url).await;
    assert_eq!(store.dialect(), Dialect::MySql);
    exercise(&store).await;
    store.close().await;
}

#[test]
fn urls_pick_the_dialect_and_hide_passwords() {
    assert_eq!(normalise("telltale.db").expect("path"), (Dialect::Sqlite, "sqlite://telltale.db?mode=rwc".into()));
    assert_eq!(normalise("postgresql://u:p@h/db").expect("pg").0, Dialect::Postgres);
    assert_eq!(normalise("mariadb://u:p@h/db").expect("maria"), (Dialect::MySql, "mysql://u:p@h/db".into()));
    let e = normalise("redis://u:secret@h").expect_err("unknown");
    assert!(!e.to_string().contains("secret") && e.to_string().contains("postgres://"), "{e}");
    assert_eq!(redact("mysql://root:pw@127.0.0.1:3306/t"), "mysql://root:***@127.0.0.1:3306/t");
    assert_eq!(redact("root:pw@host"), "root:***@host", "no scheme");
}
