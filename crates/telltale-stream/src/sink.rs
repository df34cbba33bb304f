//! The storing stage: what detection produced goes to the database in
//! batches, one transaction each (readings, anomalies and the alerts they
//! raise); after each commit the source may acknowledge the messages it
//! covered, the alert outbox is woken and anomalies are announced to live
//! listeners. A failed commit is retried with back-off (the channel before
//! it fills, and the source slows): nothing accepted is dropped.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, broadcast, mpsc, watch};

use crate::alert::Planner;
use crate::detect::Decision;
use crate::pipeline::{Counters, Processed};
use crate::source::now_ms;
use crate::store::{Batch, NewAnomaly, Store};

/// Readings per transaction at most (a batch also ends when nothing more is waiting).
pub const MAX_BATCH: usize = 4096;

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
    /// Every decision, after its commit (live views; nobody listening is fine).
    pub decisions: broadcast::Sender<Decision>,
    /// Shared counters.
    pub counters: Arc<Counters>,
}

impl SinkStage {
    /// Stores everything from `rx` until it closes; returns after the last commit.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Processed>) {
        while let Some(first) = rx.recv().await {
            let mut batch = Batch::default();
            let mut decisions = Vec::new();
            let mut last = self.take(first, &mut batch, &mut decisions);
            while batch.readings.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(p) => last = self.take(p, &mut batch, &mut decisions),
                    Err(_) => break,
                }
            }
            self.commit(&batch).await;
            self.committed.send_replace(last);
            for d in decisions {
                let _ = self.decisions.send(d);
            }
        }
    }

    /// Adds one message's output to `batch`; returns its sequence number.
    fn take(&mut self, p: Processed, batch: &mut Batch, decisions: &mut Vec<Decision>) -> u64 {
        batch.readings.extend(p.readings);
        for d in p.decisions {
            if d.anomalous {
                let alerts = self.planner.plan(&d);
                batch.anomalies.push(NewAnomaly { decision: d.clone(), detected_ms: now_ms(), alerts });
            }
            decisions.push(d);
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
                    Counters::add(&self.counters.stored_readings, done.readings);
                    Counters::add(&self.counters.stored_anomalies, done.anomalies);
                    Counters::add(&self.counters.alerts_queued, done.alerts);
                    if done.alerts > 0 {
                        self.wake.notify_one();
                    }
                    return;
                }
                Err(e) => {
                    Counters::add(&self.counters.store_failures, 1);
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
    use crate::source::{BrokerUrl, Mqtt, Source};
    use crate::{Detector, TopicPattern};
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    use telltale_runtime::format::ThresholdSpec;

    /// Publishes `n` readings at QoS 1 from four devices; returns once the broker has acknowledged all of them.
    async fn publish(port: u16, n: usize, restart_after: usize, broker: &std::sync::Mutex<crate::testing::Server>) {
        let mut options = MqttOptions::new("load", "127.0.0.1", port);
        options.set_clean_session(false);
        let (client, mut events) = AsyncClient::new(options, 4096);
        let sender = tokio::spawn(async move {
            for i in 0..n {
                let payload = format!(r#"{{"ts": {}, "a": {}, "b": 1}}"#, 1_000 + i / 4, i % 7);
                client.publish(format!("sensors/d{}/x", i % 4), QoS::AtLeastOnce, false, payload).await.expect("queue");
            }
            client
        });
        let mut acked = 0;
        let mut restarted = false;
        while acked < n {
            match events.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
            if !restarted && acked >= restart_after {
                restarted = true;
                let b = broker.lock().expect("broker");
                let log = b.log();
                drop(b);
                tokio::task::block_in_place(|| broker.lock().expect("broker").restart());
                tracing::info!("mosquitto restarted; log so far: {log}");
            }
        }
        assert!(restarted);
        let _client = sender.await.expect("sender");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nothing_acknowledged_is_lost_when_mosquitto_restarts() {
        let broker = std::sync::Mutex::new(crate::testing::mosquitto());
        let (port, url) = {
            let b = broker.lock().expect("broker");
            (b.port, b.url.clone())
        };
        let dir = std::env::temp_dir().join(format!("telltale-restart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let db = dir.join("t.db");
        let _ = std::fs::remove_file(&db);
        let store = Store::open(db.to_str().expect("utf-8")).await.expect("store");

        let pattern = TopicPattern::new("sensors/{device}/#").expect("pattern");
        let (committed_tx, committed_rx) = watch::channel(0);
        let source = Mqtt {
            broker: BrokerUrl::parse(&url).expect("url"),
            filter: pattern.filter(),
            client_id: "telltale-restart".into(),
            committed: Some(committed_rx),
        };
        let counters = Arc::new(Counters::default());
        let (tx, rx) = mpsc::channel(256);
        let (ptx, prx) = mpsc::channel(256);
        let detector = Detector::new(zero_model(ThresholdSpec::Static { value: 30.0 }, 2));
        let _detect = DetectStage { pattern, store_readings: true }.spawn(rx, detector, ptx, counters.clone());
        let sink = SinkStage {
            store: store.clone(),
            planner: Planner::new(Vec::new(), 0),
            committed: committed_tx,
            wake: Arc::default(),
            decisions: broadcast::channel(16).0,
            counters: counters.clone(),
        };
        tokio::spawn(sink.run(prx));
        tokio::spawn(source.run(tx));

        // The subscription exists (a message went through) before the load starts.
        let (warm, mut warm_events) = AsyncClient::new(MqttOptions::new("warm", "127.0.0.1", port), 16);
        let mut ts = 0;
        tokio::time::timeout(Duration::from_secs(20), async {
            while Counters::get(&counters.messages) == 0 {
                ts += 1;
                let _ = warm.try_publish("sensors/warm/x", QoS::AtLeastOnce, false, format!(r#"{{"ts":{ts},"a":0,"b":1}}"#));
                let _ = tokio::time::timeout(Duration::from_millis(100), warm_events.poll()).await;
            }
        })
        .await
        .expect("subscriber up within 20 s");
        let warm_stored = ts as u64;

        let n = 4_000;
        tokio::time::timeout(Duration::from_secs(60), publish(port, n, n / 2, &broker))
            .await
            .expect("every publish acknowledged within 60 s");
        // Every reading the broker acknowledged reaches the database, across the restart.
        let stored = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let count = store.count("readings").await.expect("count");
                if count >= n as u64 {
                    return count;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
        .await;
        let count = store.count("readings").await.expect("count");
        let log = broker.lock().expect("broker").log();
        assert!(stored.is_ok(), "{count} of {n} readings stored (+{warm_stored} warm-up); broker log:\n{log}");
        let warm_rows = store.readings("warm", 0, i64::MAX, 1_000).await.expect("warm").len() as u64;
        assert_eq!(count - warm_rows, n as u64, "each reading stored once");
        assert_eq!(Counters::get(&counters.malformed), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
