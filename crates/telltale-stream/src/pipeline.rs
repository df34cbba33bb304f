//! The detection stage: messages in, decisions out, on a thread of its own
//! (scoring is CPU work), joined to its neighbours by bounded channels.
//! Every message that cannot be used is counted by kind and logged with its
//! topic; the stage never stops for bad input.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};

use crate::detect::{Decision, Detector};
use crate::error::Error;
use crate::live::Live;
use crate::payload;
use crate::source::Message;
use crate::store::ReadingRow;
use crate::topic::TopicPattern;

/// Upper bounds (µs) of the decision-latency histogram's buckets; one more counts everything above.
pub const LATENCY_BUCKETS_US: [u64; 14] =
    [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 20_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 5_000_000];

/// What the service has seen, by kind: shared by every stage, read by `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Messages taken from the source.
    pub messages: AtomicU64,
    /// Readings accepted.
    pub readings: AtomicU64,
    /// Windows scored.
    pub windows: AtomicU64,
    /// Windows judged anomalous.
    pub anomalies: AtomicU64,
    /// Payloads or readings that could not be read (bad JSON, missing or non-numeric fields).
    pub malformed: AtomicU64,
    /// Readings before their device's last one.
    pub out_of_order: AtomicU64,
    /// Readings at the same time as their device's last one (a repeat).
    pub duplicate: AtomicU64,
    /// Readings at their device's last time with other values (the first is kept).
    pub conflicting: AtomicU64,
    /// Readings dated too far ahead of their arrival (`max_future_s`).
    pub future: AtomicU64,
    /// Messages over the payload limit (`max_payload`): acknowledged and dropped.
    pub oversized: AtomicU64,
    /// Readings of devices the service does not monitor.
    pub unknown_device: AtomicU64,
    /// Messages on topics the pattern does not match.
    pub unmatched: AtomicU64,
    /// Devices seen since start.
    pub devices: AtomicU64,
    /// Readings written to the database (duplicates of stored ones are not counted).
    pub stored_readings: AtomicU64,
    /// Readings handed to the database that it held already (a redelivery, or a late repeat of a stored time).
    pub already_stored: AtomicU64,
    /// Times the connection to the broker was lost (or refused).
    pub broker_disconnects: AtomicU64,
    /// Times the embedded broker's backlog for the service outgrew `broker_backlog_mb` and its oldest part was
    /// dropped (each time loses readings the broker had acknowledged).
    pub broker_backlog_overflows: AtomicU64,
    /// Anomalies written to the database.
    pub stored_anomalies: AtomicU64,
    /// Alerts queued.
    pub alerts_queued: AtomicU64,
    /// Alerts delivered.
    pub alerts_sent: AtomicU64,
    /// Failed delivery attempts (each is retried).
    pub alert_failures: AtomicU64,
    /// Failed database commits (each is retried).
    pub store_failures: AtomicU64,
    /// Set while commits fail: the last failure (cleared by the next commit that succeeds).
    pub store_error: std::sync::Mutex<Option<String>>,
    /// Decision latency, from a message's arrival to its decision: one count per bucket of
    /// [`LATENCY_BUCKETS_US`], the last for anything slower.
    pub latency: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
    /// Sum of the latencies (µs).
    pub latency_sum_us: AtomicU64,
}

impl Counters {
    /// A counter's value.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The last commit failure, while commits fail.
    pub fn store_error(&self) -> Option<String> {
        self.store_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records how the last commit went.
    pub fn set_store_error(&self, error: Option<String>) {
        *self.store_error.lock().unwrap_or_else(|e| e.into_inner()) = error;
    }

    /// Messages or readings refused, every reason together.
    pub fn refused(&self) -> u64 {
        [
            &self.malformed,
            &self.out_of_order,
            &self.duplicate,
            &self.conflicting,
            &self.future,
            &self.oversized,
            &self.unknown_device,
            &self.unmatched,
        ]
        .into_iter()
        .map(Counters::get)
        .sum()
    }

    /// Records one decision latency.
    pub fn observe_latency(&self, latency: Duration) {
        let us = latency.as_micros().min(u64::MAX as u128) as u64;
        let bucket = LATENCY_BUCKETS_US.iter().position(|&b| us <= b).unwrap_or(LATENCY_BUCKETS_US.len());
        Counters::add(&self.latency[bucket], 1);
        Counters::add(&self.latency_sum_us, us);
    }
}

/// What one message became: the readings accepted (for the store) and the windows decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Processed {
    /// The message's sequence number (acknowledged once this is stored).
    pub seq: u64,
    /// Accepted readings, when the service stores readings.
    pub readings: Vec<ReadingRow>,
    /// Decisions, anomalous or not.
    pub decisions: Vec<Decision>,
}

/// The detection stage's settings.
#[derive(Debug, Clone)]
pub struct DetectStage {
    /// Which topic level names the device.
    pub pattern: TopicPattern,
    /// Whether accepted readings go to the store.
    pub store_readings: bool,
    /// Receives every decision as it is made (live views; nobody listening is fine).
    pub decisions: Option<broadcast::Sender<Decision>>,
    /// The dashboard's memory: every accepted reading and decision.
    pub live: Option<Arc<Live>>,
}

impl DetectStage {
    /// Runs detection until `rx` closes (or `out` does); returns the detector.
    ///
    /// Runs on a blocking thread: call it through [`DetectStage::spawn`].
    pub fn run(
        &self,
        mut rx: mpsc::Receiver<Message>,
        mut detector: Detector,
        out: &mpsc::Sender<Processed>,
        counters: &Counters,
    ) -> Detector {
        while let Some(m) = rx.blocking_recv() {
            let processed = self.process(&m, &mut detector, counters);
            counters.devices.store(detector.devices() as u64, Ordering::Relaxed);
            if out.blocking_send(processed).is_err() {
                break;
            }
        }
        detector
    }

    /// One message through the detector.
    pub fn process(&self, m: &Message, detector: &mut Detector, counters: &Counters) -> Processed {
        let mut done = Processed { seq: m.seq, ..Processed::default() };
        Counters::add(&counters.messages, 1);
        if let Some(bytes) = m.oversized {
            Counters::add(&counters.oversized, 1);
            tracing::warn!("{}: payload of {bytes} bytes is over max_payload: dropped", m.topic);
            return done;
        }
        let device = match self.pattern.device(&m.topic) {
            Ok(d) => d,
            Err(e) => {
                let kind = if matches!(e, Error::Topic { .. }) { &counters.unmatched } else { &counters.malformed };
                Counters::add(kind, 1);
                tracing::warn!("{e}");
                return done;
            }
        };
        let readings = match payload::parse(&m.topic, &m.payload) {
            Ok(r) => r,
            Err(e) => {
                Counters::add(&counters.malformed, 1);
                tracing::warn!("{e}");
                return done;
            }
        };
        for reading in &readings {
            match detector.push(&m.topic, device, reading, m.received_ms) {
                Ok(decision) => {
                    Counters::add(&counters.readings, 1);
                    if let Some(live) = &self.live {
                        live.reading(device, reading.ts.unwrap_or(m.received_ms), &reading.values);
                    }
                    if self.store_readings {
                        done.readings.push(ReadingRow {
                            device: device.to_owned(),
                            ts: reading.ts.unwrap_or(m.received_ms),
                            data: values_json(&reading.values),
                        });
                    }
                    let Some(d) = decision else { continue };
                    counters.observe_latency(m.received.elapsed());
                    Counters::add(&counters.windows, 1);
                    if d.anomalous {
                        Counters::add(&counters.anomalies, 1);
                    }
                    if let Some(live) = &self.live {
                        live.decision(&d);
                    }
                    if let Some(feed) = &self.decisions {
                        let _ = feed.send(d.clone());
                    }
                    done.decisions.push(d);
                }
                Err(e @ Error::OutOfOrder { .. }) => {
                    let repeat = matches!(e, Error::OutOfOrder { ts, last, .. } if ts == last);
                    Counters::add(if repeat { &counters.duplicate } else { &counters.out_of_order }, 1);
                    tracing::warn!("{e}");
                    // Too late to score, not too late to keep: a broker redelivers what a restart interrupted
                    // after newer readings (the store skips a reading it holds already).
                    if self.store_readings && !repeat {
                        done.readings.push(ReadingRow {
                            device: device.to_owned(),
                            ts: reading.ts.unwrap_or(m.received_ms),
                            data: values_json(&reading.values),
                        });
                    }
                }
                Err(e @ Error::Conflict { .. }) => {
                    Counters::add(&counters.conflicting, 1);
                    tracing::warn!("{e}");
                }
                Err(e @ Error::Future { .. }) => {
                    Counters::add(&counters.future, 1);
                    tracing::warn!("{e}");
                }
                Err(e @ Error::UnknownDevice { .. }) => {
                    Counters::add(&counters.unknown_device, 1);
                    tracing::warn!("{e}");
                }
                Err(e) => {
                    Counters::add(&counters.malformed, 1);
                    tracing::warn!("{e}");
                }
            }
        }
        done
    }

    /// Starts [`DetectStage::run`] on a blocking thread of the current tokio runtime.
    pub fn spawn(
        self,
        rx: mpsc::Receiver<Message>,
        detector: Detector,
        out: mpsc::Sender<Processed>,
        counters: Arc<Counters>,
    ) -> tokio::task::JoinHandle<Detector> {
        tokio::task::spawn_blocking(move || self.run(rx, detector, &out, &counters))
    }
}

/// A reading's values as a JSON object.
fn values_json(values: &[(String, f64)]) -> String {
    let mut out = String::with_capacity(16 * values.len() + 2);
    out.push('{');
    for (i, (k, v)) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::String(k.clone()).to_string());
        out.push(':');
        if v.is_finite() {
            out.push_str(&v.to_string());
        } else {
            out.push_str("null");
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::tests::zero_model;
    use crate::source::{Replay, Source};
    use telltale_runtime::format::ThresholdSpec;

    fn msg(topic: &str, payload: &str) -> Message {
        Message::new(topic, payload.as_bytes().to_vec(), 0)
    }

    #[tokio::test]
    async fn bad_messages_are_counted_and_the_good_ones_still_decide() {
        let messages = vec![
            msg("sensors/d1/t", r#"{"ts": 1, "a": 0, "b": 1}"#),
            msg("sensors/d1/t", "{oops"),
            msg("elsewhere/d1", r#"{"ts": 2, "a": 0, "b": 1}"#),
            msg("sensors/d1/t", r#"{"ts": 1, "a": 0, "b": 1}"#),
            msg("sensors/d1/t", r#"{"ts": 2, "a": 0, "c": 1}"#),
            msg("sensors/d1/t", r#"[{"ts": 2, "a": 4, "b": 1}, {"ts": 3, "a": 0, "b": 1}, {"ts": 4, "a": 0, "b": 1}]"#),
            // Late (a redelivery after newer ones): stored, not scored.
            msg("sensors/d1/t", r#"{"ts": 0, "a": 9, "b": 1}"#),
        ];
        let (tx, rx) = mpsc::channel(4);
        let (out_tx, mut out_rx) = mpsc::channel(16);
        let counters = Arc::new(Counters::default());
        let detector = Detector::new(zero_model(ThresholdSpec::Static { value: 4.0 }, 1));
        let pattern = TopicPattern::new("sensors/{device}/#").expect("pattern");
        let stage = DetectStage { pattern, store_readings: true, decisions: None, live: None }.spawn(
            rx,
            detector,
            out_tx,
            counters.clone(),
        );
        Replay { messages }.run(tx).await.expect("replay");
        stage.await.expect("stage");
        let mut decisions = Vec::new();
        let mut stored = Vec::new();
        while let Some(p) = out_rx.recv().await {
            decisions.extend(p.decisions);
            stored.extend(p.readings.into_iter().map(|r| (r.ts, r.data)));
        }
        assert_eq!(stored[0], (1000, r#"{"a":0,"b":1}"#.to_owned()));
        assert_eq!(stored.len(), 5, "accepted readings and the late one, not the repeat");
        assert_eq!(stored[4], (0, r#"{"a":9,"b":1}"#.to_owned()));
        // Windows (0, 4), (4, 0), (0, 0) of `a`: scores 4, 4, 0 against 4. Timestamps are epoch seconds.
        let flags: Vec<bool> = decisions.iter().map(|d| d.anomalous).collect();
        assert_eq!(flags, [true, true, false], "{decisions:?}");
        assert_eq!((decisions[2].start_ms, decisions[2].end_ms), (3000, 4000));
        let c = |a: &AtomicU64| Counters::get(a);
        assert_eq!(c(&counters.messages), 7);
        assert_eq!((c(&counters.readings), c(&counters.windows), c(&counters.anomalies)), (4, 3, 2));
        assert_eq!((c(&counters.malformed), c(&counters.duplicate), c(&counters.unmatched)), (2, 1, 1));
        assert_eq!(c(&counters.out_of_order), 1);
    }
}
