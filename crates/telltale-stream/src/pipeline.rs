//! The detection stage: messages in, decisions out, on a thread of its own
//! (scoring is CPU work), joined to its neighbours by bounded channels.
//! Every message that cannot be used is counted by kind and logged with its
//! topic; the stage never stops for bad input.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use crate::detect::{Decision, Detector};
use crate::error::Error;
use crate::payload;
use crate::source::Message;
use crate::topic::TopicPattern;

/// What the stage has seen.
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
    /// Readings at or before their device's last one.
    pub out_of_order: AtomicU64,
    /// Messages on topics the pattern does not match.
    pub unmatched: AtomicU64,
}

impl Counters {
    /// A counter's value.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Runs detection until `rx` closes (or `out` does); returns the detector.
///
/// Runs on a blocking thread: call it through [`spawn`].
pub fn run(
    mut rx: mpsc::Receiver<Message>,
    mut detector: Detector,
    pattern: &TopicPattern,
    out: &mpsc::Sender<Decision>,
    counters: &Counters,
) -> Detector {
    while let Some(m) = rx.blocking_recv() {
        Counters::add(&counters.messages, 1);
        let device = match pattern.device(&m.topic) {
            Ok(d) => d,
            Err(e) => {
                Counters::add(&counters.unmatched, 1);
                tracing::warn!("{e}");
                continue;
            }
        };
        let readings = match payload::parse(&m.topic, &m.payload) {
            Ok(r) => r,
            Err(e) => {
                Counters::add(&counters.malformed, 1);
                tracing::warn!("{e}");
                continue;
            }
        };
        for reading in &readings {
            match detector.push(&m.topic, device, reading, m.received_ms) {
                Ok(decision) => {
                    Counters::add(&counters.readings, 1);
                    let Some(d) = decision else { continue };
                    Counters::add(&counters.windows, 1);
                    if d.anomalous {
                        Counters::add(&counters.anomalies, 1);
                    }
                    if out.blocking_send(d).is_err() {
                        return detector;
                    }
                }
                Err(e @ Error::OutOfOrder { .. }) => {
                    Counters::add(&counters.out_of_order, 1);
                    tracing::warn!("{e}");
                }
                Err(e) => {
                    Counters::add(&counters.malformed, 1);
                    tracing::warn!("{e}");
                }
            }
        }
    }
    detector
}

/// Starts [`run`] on a blocking thread of the current tokio runtime.
pub fn spawn(
    rx: mpsc::Receiver<Message>,
    detector: Detector,
    pattern: TopicPattern,
    out: mpsc::Sender<Decision>,
    counters: Arc<Counters>,
) -> tokio::task::JoinHandle<Detector> {
    tokio::task::spawn_blocking(move || run(rx, detector, &pattern, &out, &counters))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::tests::zero_model;
    use crate::source::{Replay, Source};
    use telltale_runtime::format::ThresholdSpec;

    fn msg(topic: &str, payload: &str) -> Message {
        Message { topic: topic.into(), payload: payload.as_bytes().to_vec(), received_ms: 0 }
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
        ];
        let (tx, rx) = mpsc::channel(4);
        let (out_tx, mut out_rx) = mpsc::channel(16);
        let counters = Arc::new(Counters::default());
        let detector = Detector::new(zero_model(ThresholdSpec::Static { value: 4.0 }, 1));
        let pattern = TopicPattern::new("sensors/{device}/#").expect("pattern");
        let stage = spawn(rx, detector, pattern, out_tx, counters.clone());
        Replay { messages }.run(tx).await.expect("replay");
        stage.await.expect("stage");
        let mut decisions = Vec::new();
        while let Some(d) = out_rx.recv().await {
            decisions.push(d);
        }
        // Windows (0, 4), (4, 0), (0, 0) of `a`: scores 4, 4, 0 against 4. Timestamps are epoch seconds.
        let flags: Vec<bool> = decisions.iter().map(|d| d.anomalous).collect();
        assert_eq!(flags, [true, true, false], "{decisions:?}");
        assert_eq!((decisions[2].start_ms, decisions[2].end_ms), (3000, 4000));
        let c = |a: &AtomicU64| Counters::get(a);
        assert_eq!(c(&counters.messages), 6);
        assert_eq!((c(&counters.readings), c(&counters.windows), c(&counters.anomalies)), (4, 3, 2));
        assert_eq!((c(&counters.malformed), c(&counters.out_of_order), c(&counters.unmatched)), (2, 1, 1));
    }
}
