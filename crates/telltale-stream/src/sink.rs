//! The storing stage: what detection produced goes to the database in
//! batches, one transaction each (readings, anomalies and the alerts they
//! raise); after each commit the source may acknowledge the messages it
//! covered and the alert outbox is woken. A failed commit is retried with back-off (the channel before
//! it fills, and the source slows): nothing accepted is dropped.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};

use crate::alert::Planner;
use crate::pipeline::{Counters, Processed};
use crate::source::now_ms;
use crate::store::{Batch, NewAnomaly, Store};

/// Readings per transaction at most (a batch also ends when nothing more is waiting). SQLite writes about the
/// same pages for a batch of 4,096 readings from 100 devices as for 16,384, so large batches under load store
/// twice as fast; a light load commits small batches at once.
pub const MAX_BATCH: usize = 16_384;

/// The storing stage's ends.
#[derive(Debug)]
pub struct SinkStage {
    /// The database.
    pub store: Store,
    /// Which anomalies alert.
    pub planner: Planner,
    /// Receives the last committed message's sequence number.
    pub committed: watch::Sender<u64>,
    /// Woken when alerts were queued.
    pub wake: Arc<Notify>,
    /// Shared counters.
    pub counters: Arc<Counters>,
}

impl SinkStage {
    /// Stores everything from `rx` until it closes; returns after the last commit.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Processed>) {
        while let Some(first) = rx.recv().await {
            let mut batch = Batch::default();
            let mut last = self.take(first, &mut batch);
            while batch.readings.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(p) => last = self.take(p, &mut batch),
                    Err(_) => break,
                }
            }
            self.commit(&batch).await;
            self.committed.send_replace(last);
        }
    }

    /// Adds one message's output to `batch`; returns its sequence number.
    fn take(&mut self, p: Processed, batch: &mut Batch) -> u64 {
        batch.readings.extend(p.readings);
        for d in p.decisions.into_iter().filter(|d| d.anomalous) {
            let alerts = self.planner.plan(&d);
            batch.anomalies.push(NewAnomaly { decision: d, detected_ms: now_ms(), alerts });
        }
        p.seq
    }

    /// Commits `batch`, retrying with back-off (0.1 s doubling to 10 s) until the database takes it.
    async fn commit(&self, batch: &Batch) {
        if batch.readings.is_empty() && batch.anomalies.is_empty() {
            return;
        }
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.store.commit(batch).await {
                Ok(done) => {
                    self.counters.set_store_error(None);
                    Counters::add(&self.counters.stored_readings, done.readings);
                    let handed = batch.readings.len() as u64;
                    Counters::add(&self.counters.already_stored, handed.saturating_sub(done.readings));
                    Counters::add(&self.counters.stored_anomalies, done.anomalies);
                    Counters::add(&self.counters.alerts_queued, done.alerts);
                    if done.alerts > 0 {
                        self.wake.notify_one();
                    }
                    return;
                }
                Err(e) => {
                    Counters::add(&self.counters.store_failures, 1);
                    self.counters.set_store_error(Some(e.to_string()));
                    tracing::error!("{e}; retrying in {backoff:?} (nothing is dropped)");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::tests::zero_model;
    use crate::pipeline::DetectStage;
    use crate::source::{BrokerUrl, Message, Mqtt, Source};
    use crate::{Detector, TopicPattern};
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    use std::sync::Mutex;
    use telltale_runtime::format::ThresholdSpec;

    /// Publishes readings `from..to` (device `d{i % 4}`, time `1000 + i / 4` s) at QoS 1; returns once the broker
    /// has acknowledged every one.
    async fn publish(port: u16, from: usize, to: usize) {
        let mut options = MqttOptions::new(format!("load-{from}"), "127.0.0.1", port);
        options.set_clean_session(false);
        let (client, mut events) = AsyncClient::new(options, 8192);
        let sender = tokio::spawn(async move {
            for i in from..to {
                let payload = format!(r#"{{"ts": {}, "a": {}, "b": 1}}"#, 1_000 + i / 4, i % 7);
                client.publish(format!("sensors/d{}/x", i % 4), QoS::AtLeastOnce, false, payload).await.expect("queue");
            }
            client
        });
        let mut acked = 0;
        while acked < to - from {
            match events.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let _client = sender.await.expect("sender");
    }

    /// The MQTT source for the service under test: manual acknowledgements after `committed`.
    fn source(url: &str, committed: watch::Receiver<u64>) -> Mqtt {
        Mqtt {
            broker: BrokerUrl::parse(url).expect("url"),
            filter: "sensors/+/#".into(),
            client_id: "telltale-restart".into(),
            committed: Some(committed),
            stop: None,
            qos: QoS::AtLeastOnce,
            subscribed: None,
            max_payload: 1 << 20,
            counters: Arc::default(),
        }
    }

    /// The whole service: MQTT source, detection, the storing stage on `store`.
    fn service(url: &str, store: &Store, counters: &Arc<Counters>) -> tokio::task::JoinHandle<crate::Result<()>> {
        let (committed_tx, committed_rx) = watch::channel(0);
        let (tx, rx) = mpsc::channel(256);
        let (ptx, prx) = mpsc::channel(256);
        let detector = Detector::new(zero_model(ThresholdSpec::Static { value: 30.0 }, 2));
        let pattern = TopicPattern::new("sensors/{device}/#").expect("pattern");
        let _detect = DetectStage { pattern, store_readings: true, decisions: None, live: None }.spawn(
            rx,
            detector,
            ptx,
            counters.clone(),
        );
        let sink = SinkStage {
            store: store.clone(),
            planner: Planner::new(Vec::new(), 0),
            committed: committed_tx,
            wake: Arc::default(),
            counters: counters.clone(),
        };
        tokio::spawn(sink.run(prx));
        tokio::spawn(source(url, committed_rx).run(tx))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nothing_acknowledged_is_lost_across_a_crash_and_mosquitto_restarts() {
        let broker = Mutex::new(crate::testing::mosquitto());
        let (port, url) = {
            let b = broker.lock().expect("broker");
            (b.port, b.url.clone())
        };
        let dir = std::env::temp_dir().join(format!("telltale-restart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let db = dir.join("t.db");
        let _ = std::fs::remove_file(&db);
        let store = Store::open(db.to_str().expect("utf-8")).await.expect("store");

        // A first service takes messages and dies before storing any: its commits never come.
        let (_never, stalled) = watch::channel(0);
        let (tx, mut taken) = mpsc::channel::<Message>(100_000);
        let crashed = tokio::spawn(source(&url, stalled).run(tx));
        let (warm, mut warm_events) = AsyncClient::new(MqttOptions::new("warm", "127.0.0.1", port), 16);
        // The warm-up client's event loop runs on its own: cutting a poll short (a timeout) can cancel its
        // connection handshake, and under load it then never connects.
        let pump = tokio::spawn(async move {
            loop {
                if warm_events.poll().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(60), async {
            let mut ts = 0;
            while taken.try_recv().is_err() {
                ts += 1;
                let payload = format!(r#"{{"ts":{ts},"a":0,"b":1}}"#);
                let _ = warm.try_publish("warm/x", QoS::AtLeastOnce, false, payload.clone());
                let _ = warm.try_publish("sensors/warm/x", QoS::AtLeastOnce, false, payload);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .expect("subscribed within 60 s");
        pump.abort();
        let n = 3_000;
        tokio::time::timeout(Duration::from_secs(60), publish(port, 0, n)).await.expect("published");
        let mut got = 0;
        while tokio::time::timeout(Duration::from_millis(500), taken.recv()).await.is_ok_and(|m| m.is_some()) {
            got += 1;
        }
        assert!(got > 0, "the first service took messages before it died");
        crashed.abort();
        let _ = crashed.await;
        // The broker restarts with the session's unacknowledged and queued messages on disk.
        tokio::task::block_in_place(|| broker.lock().expect("broker").restart());

        // The service comes back under the same session and works through the backlog while more readings
        // arrive; the broker restarts again between two publishers' batches (the publishers are the test's tools:
        // what one had in flight at a restart is its own affair), with the service mid-way.
        let counters = Arc::new(Counters::default());
        let _service = service(&url, &store, &counters);
        let m = 2_000;
        tokio::time::timeout(Duration::from_secs(60), publish(port, n, n + m / 2)).await.expect("first half published");
        tokio::task::block_in_place(|| broker.lock().expect("broker").restart());
        tokio::time::timeout(Duration::from_secs(60), publish(port, n + m / 2, n + m))
            .await
            .expect("second half published");
        let total = (n + m) as u64;
        let sensors = |store: Store| async move {
            let warm = store.readings("warm", 0, i64::MAX, 10_000).await.expect("warm").len() as u64;
            store.count("readings").await.expect("count") - warm
        };
        let stored = tokio::time::timeout(Duration::from_secs(60), async {
            while sensors(store.clone()).await < total {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
        .await;
        let count = sensors(store.clone()).await;
        let log = broker.lock().expect("broker").log();
        let late = (Counters::get(&counters.out_of_order), Counters::get(&counters.duplicate));
        assert!(
            stored.is_ok(),
            "{count} of {total} readings stored ({got} taken by the crashed one; {} late, {} repeated); log:\n{log}",
            late.0,
            late.1
        );
        assert_eq!(count, total, "each reading stored once");
        assert_eq!(Counters::get(&counters.malformed), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
