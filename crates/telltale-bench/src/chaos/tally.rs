//! The audit: what was sent against what the broker acknowledged, what the database holds and what the
//! webhook received; `/health` watched throughout; the report's rows.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde::Serialize;
use telltale_stream::source::now_ms;
use telltale_stream::store::Store;

use super::ChaosReport;
use super::deploy::{BrokerKind, DbKind, Deployment, metric};
use super::load::{Key, Message, Published};
use super::scenarios::Scenario;
use super::webhook::Receiver;
use crate::error::{Error, Result};

/// `/health` over the run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Health {
    /// Times asked (every 100 ms).
    pub polls: u64,
    /// Answered 200.
    pub ok: u64,
    /// Answered otherwise (503 while the database fails).
    pub red: u64,
    /// Not answered (the service down, or no answer within 5 s).
    pub unanswered: u64,
    /// The slowest answer (ms).
    pub slowest_ms: f64,
}

/// The service's memory in `many-devices`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Memory {
    /// New device names sent.
    pub devices: usize,
    /// Resident memory before the load (bytes).
    pub rss_before: u64,
    /// Resident memory after it (bytes).
    pub rss_after: u64,
    /// Growth per device (bytes).
    pub rss_per_device_bytes: f64,
    /// The configured bound on devices (`max_devices`).
    pub max_devices: usize,
}

impl Memory {
    /// From the two readings of the service's resident memory.
    pub fn of(devices: usize, before: Option<u64>, after: Option<u64>, max_devices: usize) -> Memory {
        let (rss_before, rss_after) = (before.unwrap_or(0), after.unwrap_or(0));
        let growth = rss_after.saturating_sub(rss_before) as f64;
        Memory { devices, rss_before, rss_after, rss_per_device_bytes: growth / devices.max(1) as f64, max_devices }
    }
}

/// One scenario's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The scenario.
    pub name: String,
    /// What it does.
    pub about: String,
    /// `embedded` or `mosquitto`.
    pub broker: BrokerKind,
    /// The database.
    pub db: DbKind,
    /// Whether this deployment promises that nothing acknowledged is lost and no alert is doubled.
    pub promise: bool,
    /// Why it did not run, if it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Readings sent.
    pub sent: u64,
    /// Readings in messages the broker acknowledged (PUBACK).
    pub acknowledged: u64,
    /// Readings of this run in the database.
    pub stored: u64,
    /// Acknowledged readings (within the payload limit) not in the database.
    pub lost: u64,
    /// Readings held twice by the database.
    pub stored_twice: u64,
    /// Acknowledged readings of messages over the payload limit: refused by design.
    pub refused: u64,
    /// Messages the service counted as oversized.
    pub oversized_counted: u64,
    /// Alerts due: one per acknowledged spike.
    pub alerts_expected: u64,
    /// Alerts due that reached the webhook.
    pub alerts_delivered: u64,
    /// Alerts due that never reached it.
    pub alerts_lost: u64,
    /// Deliveries beyond the first of one alert.
    pub alerts_doubled: u64,
    /// Seconds from the repair (restart, database back, space back, webhook answering) until the service stored
    /// readings again (for the webhook: until the next alert arrived).
    pub recovery_s: Option<f64>,
    /// Seconds `serve` took to stop on SIGTERM at the end (`None`: it had to be killed).
    pub stop_s: Option<f64>,
    /// Seconds the scenario ran.
    pub seconds: f64,
    /// Counters of the service's `/metrics` at the end (since its last start).
    pub counters: HashMap<String, u64>,
    /// `/health` throughout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Memory (`many-devices`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    /// What else happened.
    pub notes: Vec<String>,
}

impl Outcome {
    /// An empty outcome of `s` on `db`.
    pub fn new(s: &Scenario, db: DbKind) -> Outcome {
        Outcome {
            name: s.name.into(),
            about: s.about.into(),
            broker: s.broker,
            db,
            promise: s.promise,
            skipped: None,
            sent: 0,
            acknowledged: 0,
            stored: 0,
            lost: 0,
            stored_twice: 0,
            refused: 0,
            oversized_counted: 0,
            alerts_expected: 0,
            alerts_delivered: 0,
            alerts_lost: 0,
            alerts_doubled: 0,
            recovery_s: None,
            stop_s: None,
            seconds: 0.0,
            counters: HashMap::new(),
            health: None,
            memory: None,
            notes: Vec::new(),
        }
    }

    /// The figures from what was sent, acknowledged, stored and delivered.
    pub fn fill(&mut self, messages: &[Message], published: &Published, audit: &Audit, metrics: &str) {
        let n = |m: &Message| m.keys.len() as u64;
        self.sent = messages.iter().map(n).sum();
        self.acknowledged = published.acked.iter().map(n).sum();
        self.refused = published.acked.iter().filter(|m| m.over_limit).map(n).sum();
        let sent: HashSet<&Key> = messages.iter().flat_map(|m| &m.keys).collect();
        self.stored = audit.stored.iter().filter(|k| sent.contains(k)).count() as u64;
        let due = published.acked.iter().filter(|m| !m.over_limit);
        self.lost = due.clone().flat_map(|m| &m.keys).filter(|k| !audit.stored.contains(*k)).count() as u64;
        let over_stored = messages
            .iter()
            .filter(|m| m.over_limit)
            .flat_map(|m| &m.keys)
            .filter(|k| audit.stored.contains(*k))
            .count();
        if over_stored > 0 {
            self.notes.push(format!("{over_stored} readings of messages over the payload limit were stored"));
        }
        self.stored_twice = audit.stored_twice;
        let spikes: Vec<&Key> = due.flat_map(|m| &m.spikes).collect();
        self.alerts_expected = spikes.len() as u64;
        self.alerts_delivered = spikes.iter().filter(|k| audit.deliveries.contains_key(**k)).count() as u64;
        self.alerts_lost = self.alerts_expected - self.alerts_delivered;
        self.alerts_doubled = audit.deliveries.values().map(|c| u64::from(c.saturating_sub(1))).sum();
        self.oversized_counted = metric(metrics, "telltale_dropped_total{reason=\"oversized\"}");
        for name in [
            "readings_total",
            "stored_readings_total",
            "already_stored_total",
            "broker_disconnects_total",
            "store_failures_total",
        ] {
            self.counters.insert(name.into(), metric(metrics, &format!("telltale_{name}")));
        }
        for reason in ["out_of_order", "duplicate", "conflicting", "future", "malformed"] {
            let value = metric(metrics, &format!("telltale_dropped_total{{reason=\"{reason}\"}}"));
            self.counters.insert(format!("dropped_{reason}"), value);
        }
    }

    /// What this outcome breaks of its deployment's promise, in words (`None`: nothing).
    pub fn broken(&self) -> Option<String> {
        if !self.promise || self.skipped.is_some() {
            return None;
        }
        let mut wrong = Vec::new();
        for (n, what) in [
            (self.lost, "acknowledged readings lost"),
            (self.stored_twice, "readings stored twice"),
            (self.alerts_lost, "alerts lost"),
            (self.alerts_doubled, "alerts doubled"),
        ] {
            if n > 0 {
                wrong.push(format!("{n} {what}"));
            }
        }
        if self.refused > 0 && self.oversized_counted == 0 {
            wrong.push("messages over the payload limit were not counted".into());
        }
        (!wrong.is_empty()).then(|| format!("{}: {}", self.name, wrong.join(", ")))
    }
}

/// What the database and the webhook hold at the end.
#[derive(Debug, Clone, Default)]
pub struct Audit {
    /// Every stored reading's key.
    pub stored: HashSet<Key>,
    /// Keys stored twice.
    pub stored_twice: u64,
    /// Deliveries per alert.
    pub deliveries: HashMap<Key, u32>,
}

/// Waits until the service is subscribed and taking readings (a probe device's readings are counted).
pub async fn probe(d: &Deployment) -> Result<()> {
    let (client, mut events) = AsyncClient::new(MqttOptions::new("chaos-probe", "127.0.0.1", d.broker_port), 16);
    let pump = tokio::spawn(async move {
        loop {
            if events.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let start = Instant::now();
    let port = d.http_port;
    let taken = || {
        let text = telltale_testing::http(port, "GET", "/metrics", None).map(|(_, b)| b).unwrap_or_default();
        metric(&text, "telltale_readings_total") > 0
    };
    while !tokio::task::block_in_place(taken) {
        if start.elapsed() > Duration::from_secs(30) {
            pump.abort();
            return Err(Error::Failed(format!("serve took no probe reading in 30 s; its log:\n{}", d.log())));
        }
        let payload = format!(r#"{{"ts":{},"a":0,"b":1}}"#, now_ms());
        let _ = client.try_publish("sensors/probe/data", QoS::AtLeastOnce, false, payload);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = client.try_disconnect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    pump.abort();
    Ok(())
}

/// Waits for the database to hold every acknowledged reading and the webhook every alert due (or for them to
/// stop coming), then reads both.
pub async fn settle(d: &Deployment, published: &Published, webhook: &Receiver) -> Result<Audit> {
    let store = Store::open(&d.db_url).await?;
    let due: Vec<&Key> = published.acked.iter().filter(|m| !m.over_limit).flat_map(|m| &m.keys).collect();
    let spikes: Vec<&Key> = published.acked.iter().filter(|m| !m.over_limit).flat_map(|m| &m.spikes).collect();
    let start = Instant::now();
    let (mut best, mut since) = (0, Instant::now());
    let mut stored: HashSet<Key> = HashSet::new();
    while start.elapsed() < Duration::from_secs(300) {
        stored = store.reading_keys().await.unwrap_or_default().into_iter().collect();
        let have = due.iter().filter(|k| stored.contains(**k)).count();
        if have == due.len() {
            break;
        }
        if have > best {
            (best, since) = (have, Instant::now());
        } else if since.elapsed() > Duration::from_secs(15) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(300) {
        let deliveries = webhook.deliveries();
        if spikes.iter().all(|k| deliveries.contains_key(*k)) {
            break;
        }
        let pending = store.alert_counts().await.map(|c| c.pending).unwrap_or(1);
        let quiet = webhook.last().is_none_or(|t| t.elapsed() > Duration::from_secs(5));
        if pending == 0 && quiet {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A delivery in flight at the end lands within a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stored_twice = store.readings_stored_twice().await?;
    store.close().await;
    Ok(Audit { stored, stored_twice, deliveries: webhook.deliveries() })
}

/// `/health` asked every 100 ms on its own thread: (when, its status, the readings stored by then per
/// `/metrics`).
pub type Sample = (Instant, Option<u16>, Option<u64>);

/// The watch on `/health`.
#[derive(Debug)]
pub struct HealthWatch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(Health, Vec<Sample>)>,
}

impl HealthWatch {
    /// Starts asking 127.0.0.1:`port`.
    pub fn start(port: u16) -> HealthWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut h, mut samples) = (Health::default(), Vec::new());
            while !flag.load(Ordering::Relaxed) {
                let asked = Instant::now();
                let answer = telltale_testing::http(port, "GET", "/health", None);
                let ms = asked.elapsed().as_secs_f64() * 1e3;
                h.polls += 1;
                let (status, readings) = match &answer {
                    Some((status, _)) => {
                        h.slowest_ms = h.slowest_ms.max(ms);
                        if *status == 200 {
                            h.ok += 1
                        } else {
                            h.red += 1
                        }
                        let metrics = telltale_testing::http(port, "GET", "/metrics", None);
                        let stored = metrics.map(|(_, text)| metric(&text, "telltale_stored_readings_total"));
                        (Some(*status), stored)
                    }
                    None => {
                        h.unanswered += 1;
                        (None, None)
                    }
                };
                samples.push((asked, status, readings));
                std::thread::sleep(Duration::from_millis(100).saturating_sub(asked.elapsed()));
            }
            (h, samples)
        });
        HealthWatch { stop, thread }
    }

    /// Stops it: the summary and every sample.
    pub fn finish(self) -> (Health, Vec<Sample>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// The first sample at or after `at` where the service is healthy and its count of readings stored has moved
/// since the sample before (a restarted service counts from 0).
pub fn taking_readings_after(samples: &[Sample], at: Instant) -> Option<Instant> {
    samples.windows(2).find_map(|w| {
        let ((_, _, before), (t, status, now)) = (w[0], w[1]);
        (t >= at && status == Some(200) && now.is_some_and(|n| n > 0) && now != before).then_some(t)
    })
}

/// The report as a table.
pub fn render(report: &ChaosReport) -> String {
    let mut out = format!(
        "telltale bench chaos: {} readings a scenario, outages of {:.0} s; real processes on 127.0.0.1\n\n",
        report.readings, report.outage_s
    );
    let _ = writeln!(
        out,
        "{:<20} {:<9} {:<8} {:>7} {:>7} {:>7} {:>5} {:>5} {:>13} {:>9}",
        "scenario", "broker", "db", "sent", "acked", "stored", "lost", "twice", "alerts l/d/n", "recovery"
    );
    for o in &report.scenarios {
        let broker = format!("{:?}", o.broker).to_lowercase();
        let db = format!("{:?}", o.db).to_lowercase();
        if let Some(why) = &o.skipped {
            let _ = writeln!(out, "{:<20} {broker:<9} {db:<8} skipped: {why}", o.name);
            continue;
        }
        let alerts = format!("{}/{}/{}", o.alerts_lost, o.alerts_doubled, o.alerts_expected);
        let recovery = o.recovery_s.map_or("-".into(), |s| format!("{s:.1} s"));
        let _ = writeln!(
            out,
            "{:<20} {broker:<9} {db:<8} {:>7} {:>7} {:>7} {:>5} {:>5} {:>13} {:>9}",
            o.name, o.sent, o.acknowledged, o.stored, o.lost, o.stored_twice, alerts, recovery
        );
    }
    out.push_str("\nalerts l/d/n: lost / doubled / due (one per acknowledged spike)\n");
    for o in report.scenarios.iter().filter(|o| o.skipped.is_none()) {
        let mut extra = o.notes.clone();
        if o.refused > 0 {
            extra.push(format!(
                "{} readings over the limit refused, {} messages counted oversized",
                o.refused, o.oversized_counted
            ));
        }
        if let Some(m) = &o.memory {
            extra.push(format!(
                "{} devices: RSS {:.1} → {:.1} MB, {:.0} bytes per device (max_devices {})",
                m.devices,
                m.rss_before as f64 / 1e6,
                m.rss_after as f64 / 1e6,
                m.rss_per_device_bytes,
                m.max_devices
            ));
        }
        if let Some(h) = &o.health {
            extra.push(format!(
                "/health: {} polls, {} ok, {} red, {} unanswered, slowest {:.0} ms",
                h.polls, h.ok, h.red, h.unanswered, h.slowest_ms
            ));
        }
        if !o.promise {
            extra.push("no promise: the embedded broker dies with the service".into());
        }
        let _ = writeln!(out, "{}: {}", o.name, extra.join("; "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_is_when_a_healthy_service_takes_readings_again() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let samples = vec![
            (at(0), Some(200), Some(50)),
            (at(100), None, None),
            (at(200), Some(200), Some(0)),
            (at(300), Some(200), Some(0)),
            (at(400), Some(200), Some(8)),
        ];
        assert_eq!(taking_readings_after(&samples, at(150)), Some(at(400)));
        assert_eq!(taking_readings_after(&samples, at(450)), None, "nothing after");
    }
}
