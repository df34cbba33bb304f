//! `telltale bench chaos`: scripted faults against a real deployment on loopback — `telltale serve` as its own
//! process, Mosquitto or its embedded broker, SQLite, PostgreSQL or MariaDB, a webhook for alerts — each
//! scenario reporting readings sent, acknowledged by the broker, stored, lost and stored twice, alerts lost or
//! doubled, and the time to recover.
//!
//! Layout: [`scenarios`] (the list: deployment, load, fault), `deploy.rs` (the processes), `load.rs` (the
//! devices: messages and a publisher that tracks each PUBACK), `fault.rs` (the faults' steps), `webhook.rs` (the
//! alerts' receiver), `model.rs` (a model whose anomalies are known in advance), `tally.rs` (the audit).

pub mod deploy;
pub mod fault;
pub mod load;
pub mod model;
pub mod scenarios;
pub mod tally;
pub mod webhook;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use self::deploy::{BrokerKind, DbKind};
use self::deploy::{Deployment, Settings};
use self::fault::{Progress, inject};
use self::scenarios::{Load, Scenario};
pub use self::tally::{Health, Memory, Outcome};
use crate::error::{Error, Result};

/// The small filesystem of `disk-full` (KiB): SQLite fills it within a few thousand readings.
const SMALL_DISK_KB: u64 = 640;

/// What `disk-full` grows it to (KiB).
const GROWN_DISK_KB: u64 = 256 << 10;

/// `payload-limit`'s `max_payload` (bytes).
const PAYLOAD_LIMIT: usize = 4096;

/// What `telltale bench chaos` runs.
#[derive(Debug, Clone)]
pub struct ChaosOptions {
    /// The telltale binary whose `serve` is deployed.
    pub exe: PathBuf,
    /// Scenarios to run (by name); empty: all.
    pub scenarios: Vec<String>,
    /// Readings published per streaming scenario.
    pub readings: usize,
    /// Devices they are dealt to.
    pub devices: usize,
    /// Messages per second offered.
    pub rate: f64,
    /// How long a database stays stopped, or the webhook hangs.
    pub outage: Duration,
    /// New device names in `many-devices`.
    pub ids: usize,
    /// The database of scenarios that do not name their own.
    pub db: DbKind,
}

/// Every scenario's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ChaosReport {
    /// Readings per streaming scenario.
    pub readings: usize,
    /// The outage (seconds).
    pub outage_s: f64,
    /// The scenarios, in the order run.
    pub scenarios: Vec<Outcome>,
}

impl ChaosReport {
    /// The report as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The report as a table.
    pub fn render(&self) -> String {
        tally::render(self)
    }

    /// The scenarios whose deployment broke its promise (an acknowledged reading lost, an alert lost or sent
    /// twice), in words.
    pub fn broken(&self) -> Vec<String> {
        self.scenarios.iter().filter_map(Outcome::broken).collect()
    }
}

/// Runs the scenarios `options` names, one after another.
pub fn run(options: &ChaosOptions) -> Result<ChaosReport> {
    let chosen = scenarios::select(&options.scenarios).map_err(Error::Failed)?;
    if !options.exe.is_file() {
        return Err(Error::Failed(format!("{} is not the telltale binary", options.exe.display())));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut outcomes = Vec::new();
    for s in chosen {
        tracing::info!("chaos: {} ({})", s.name, s.about);
        let outcome = runtime.block_on(run_one(&s, options))?;
        outcomes.push(outcome);
    }
    Ok(ChaosReport { readings: options.readings, outage_s: options.outage.as_secs_f64(), scenarios: outcomes })
}

/// One scenario, start to end.
async fn run_one(s: &Scenario, o: &ChaosOptions) -> Result<Outcome> {
    let db = s.db.unwrap_or(o.db);
    let mut outcome = Outcome::new(s, db);
    let tmpfs = if s.fault == fault_disk() {
        match telltale_testing::Tmpfs::mount(s.name, SMALL_DISK_KB) {
            Ok(fs) => Some(fs),
            Err(e) => {
                outcome.skipped = Some(format!("no small filesystem here: {e}"));
                return Ok(outcome);
            }
        }
    } else {
        None
    };
    let webhook = webhook::Receiver::start().await?;
    let messages = match s.load {
        Load::Stream => load::stream(o.readings, o.devices),
        Load::Ids => load::ids(o.ids),
        Load::Payloads => load::payloads((o.readings / 200).max(5), PAYLOAD_LIMIT),
    };
    let settings = Settings {
        webhook: webhook.url.clone(),
        max_payload: if s.load == Load::Payloads { PAYLOAD_LIMIT } else { 1 << 20 },
        max_devices: o.ids.max(100_000) + 100,
    };
    let dir = std::env::temp_dir().join(format!("telltale-chaos-{}-{}", std::process::id(), s.name));
    let exe = o.exe.clone();
    let mut d = match tokio::task::block_in_place(|| Deployment::start(&exe, &dir, s.broker, db, tmpfs, &settings)) {
        Ok(d) => d,
        Err(e @ Error::Server(telltale_testing::Error::NotInstalled { .. })) => {
            outcome.skipped = Some(e.to_string());
            return Ok(outcome);
        }
        Err(e) => return Err(e),
    };
    tally::probe(&d).await?;
    let health = tally::HealthWatch::start(d.http_port);
    let rss_before = d.rss_bytes();
    let progress = Progress { sent: Arc::new(AtomicUsize::new(0)), total: messages.len() };
    let started = Instant::now();
    let rate = if s.load == Load::Ids { 0.0 } else { o.rate };
    let client = format!("chaos-{}-{}", s.name, std::process::id());
    let publisher = tokio::spawn(load::publish(
        d.broker_port,
        client,
        messages.clone(),
        rate,
        progress.sent.clone(),
        Duration::from_secs(30),
    ));
    let (repaired, notes) = inject(s.fault, &mut d, &webhook, &progress, o.outage).await?;
    outcome.notes.extend(notes);
    let published = publisher.await.map_err(|e| Error::Failed(format!("the publisher failed: {e}")))??;
    let audit = tally::settle(&d, &published, &webhook).await?;
    outcome.seconds = started.elapsed().as_secs_f64();
    if s.load == Load::Ids {
        outcome.memory = Some(Memory::of(o.ids, rss_before, d.rss_bytes(), settings.max_devices));
    }
    let metrics = d.metrics();
    // The watch ends before the stop: a poll made while the service stops is no answer to count.
    let (summary, samples) = health.finish();
    outcome.stop_s = tokio::task::block_in_place(|| d.stop_serve());
    outcome.health = Some(summary);
    outcome.fill(&messages, &published, &audit, &metrics);
    outcome.recovery_s = repaired.and_then(|at| {
        let back = match s.fault {
            scenarios::Fault::HangWebhook => webhook.first_after(at),
            _ => tally::taking_readings_after(&samples, at),
        };
        back.map(|t| (t - at).as_secs_f64())
    });
    if let (Some(at), None) = (repaired, outcome.recovery_s) {
        let before = samples.iter().filter(|(t, _, _)| *t < at).filter_map(|(_, _, n)| *n).max().unwrap_or(0);
        let stored = outcome.counters.get("stored_readings_total").copied().unwrap_or(0);
        outcome.notes.push(if stored > 0 && before >= stored {
            "everything had been stored before the repair: no recovery to time".into()
        } else {
            "did not recover before the end of the run".into()
        });
    }
    Ok(outcome)
}

const fn fault_disk() -> scenarios::Fault {
    scenarios::Fault::FillDisk
}
