//! A fleet simulator: publishes rows of sensor data as many devices, in
//! JSON, through an MQTT broker, at a set rate per device or as fast as the
//! broker takes them. `telltale simulate`, the demo and `telltale bench
//! stream` all publish through it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, Packet, QoS};

use crate::error::{Error, Result};
use crate::source::BrokerUrl;

/// One device's rows.
#[derive(Debug, Clone)]
pub struct Series {
    /// The device's name (the `{device}` level of the topic).
    pub device: String,
    /// Row-major values, one row per reading.
    pub values: Arc<Vec<f32>>,
}

/// What to publish and how.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The broker.
    pub broker: BrokerUrl,
    /// Topic pattern; `{device}` is replaced by each device's name.
    pub topic: String,
    /// Names of the values in a row.
    pub features: Vec<String>,
    /// One series per device.
    pub devices: Vec<Series>,
    /// Readings per second per device; 0: as fast as the broker takes them.
    pub rate_hz: f64,
    /// Timestamp of every device's first reading (epoch ms).
    pub start_ms: i64,
    /// Milliseconds between a device's readings (their timestamps, whatever the publishing rate).
    pub interval_ms: i64,
    /// Readings per message (a JSON array when more than one).
    pub batch: usize,
    /// QoS 0 or 1.
    pub qos: QoS,
    /// The publisher's MQTT client id.
    pub client_id: String,
    /// When given, receives the time each batch of rows started publishing, indexed by row (for latency
    /// measurements: every device's row `r` left at or after `sent[r]`).
    pub sent: Option<Arc<std::sync::Mutex<Vec<Instant>>>>,
}

/// What a run published.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Published {
    /// Messages published.
    pub messages: u64,
    /// Readings in them.
    pub readings: u64,
    /// Messages the broker acknowledged (QoS 1).
    pub acked: u64,
    /// Seconds from the first publish to the last acknowledgement.
    pub seconds: f64,
}

impl Simulation {
    /// Rows in the longest series.
    pub fn rows(&self) -> usize {
        let c = self.features.len().max(1);
        self.devices.iter().map(|s| s.values.len() / c).max().unwrap_or(0)
    }

    /// The JSON payload of rows `rows` of `series`.
    pub fn payload(&self, series: &Series, rows: std::ops::Range<usize>) -> String {
        let c = self.features.len();
        let mut out = String::with_capacity(rows.len() * (24 + 16 * c) + 2);
        let many = rows.len() > 1;
        if many {
            out.push('[');
        }
        for (k, r) in rows.enumerate() {
            if k > 0 {
                out.push(',');
            }
            let ts = self.start_ms + r as i64 * self.interval_ms;
            out.push_str(&format!("{{\"ts\":{ts}"));
            for (name, v) in self.features.iter().zip(&series.values[r * c..(r + 1) * c]) {
                out.push_str(&format!(",\"{name}\":{v}"));
            }
            out.push('}');
        }
        if many {
            out.push(']');
        }
        out
    }

    /// Publishes every row of every device (devices interleaved, `batch` rows per message), paced to `rate_hz`,
    /// then waits (at most `drain`) for the broker's acknowledgements. `progress` counts readings published.
    pub async fn run(&self, progress: Option<Arc<AtomicU64>>, drain: Duration) -> Result<Published> {
        if self.features.is_empty() || self.devices.is_empty() {
            return Err(Error::config("simulation", "no features or no devices"));
        }
        let mut options = self.broker.options(&self.client_id)?;
        options.set_inflight(1000);
        let (client, mut events) = AsyncClient::new(options, 4096);
        let acked = Arc::new(AtomicU64::new(0));
        let acks = acked.clone();
        let leaving = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let left = leaving.clone();
        let where_ = format!("mqtt://{}:{}", self.broker.host, self.broker.port);
        let poller = tokio::spawn(async move {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        acks.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(rumqttc::ConnectionError::RequestsDone) => return,
                    Err(_) if left.load(Ordering::Relaxed) => return,
                    Err(e) => {
                        tracing::warn!("simulator: {where_}: {e}; retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        });

        let rows = self.rows();
        let batch = self.batch.max(1);
        let c = self.features.len();
        let started = Instant::now();
        let mut sent = Published::default();
        let mut row = 0;
        while row < rows {
            let end = (row + batch).min(rows);
            if self.rate_hz > 0.0 {
                let due = started + Duration::from_secs_f64(row as f64 / self.rate_hz);
                tokio::time::sleep_until(due.into()).await;
            }
            if let Some(log) = &self.sent {
                let now = Instant::now();
                let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                log.resize(end, now);
            }
            for series in &self.devices {
                let have = series.values.len() / c;
                if row >= have {
                    continue;
                }
                let payload = self.payload(series, row..end.min(have));
                let topic = self.topic.replace("{device}", &series.device);
                client
                    .publish(topic, self.qos, false, payload)
                    .await
                    .map_err(|e| Error::config("simulator publish", e.to_string()))?;
                sent.messages += 1;
                let n = (end.min(have) - row) as u64;
                sent.readings += n;
                if let Some(p) = &progress {
                    p.fetch_add(n, Ordering::Relaxed);
                }
            }
            row = end;
        }
        if self.qos != QoS::AtMostOnce {
            let deadline = Instant::now() + drain;
            while acked.load(Ordering::Relaxed) < sent.messages && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        } else {
            // QoS 0 has no acknowledgement: let the client's queue empty.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        sent.acked = acked.load(Ordering::Relaxed);
        sent.seconds = started.elapsed().as_secs_f64();
        leaving.store(true, Ordering::Relaxed);
        let _ = client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), poller).await;
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_carry_the_rows_timestamps_and_names() {
        let sim = Simulation {
            broker: BrokerUrl::plain("127.0.0.1", 1),
            topic: "sensors/{device}/data".into(),
            features: vec!["x".into(), "y".into()],
            devices: vec![Series { device: "d".into(), values: Arc::new(vec![1.0, 2.0, 3.5, -4.0]) }],
            rate_hz: 0.0,
            start_ms: 1_767_225_600_000,
            interval_ms: 10,
            batch: 2,
            qos: QoS::AtLeastOnce,
            client_id: "sim".into(),
            sent: None,
        };
        assert_eq!(sim.rows(), 2);
        assert_eq!(sim.payload(&sim.devices[0], 1..2), r#"{"ts":1767225600010,"x":3.5,"y":-4}"#);
        let batch = sim.payload(&sim.devices[0], 0..2);
        let parsed = crate::payload::parse("t", batch.as_bytes()).expect("the service reads what it sends");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1].ts, Some(1_767_225_600_010));
        assert_eq!(parsed[1].values, [("x".to_owned(), 3.5), ("y".to_owned(), -4.0)]);
    }
}
