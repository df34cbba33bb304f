//! The faults' steps, run while the devices publish: each waits for its share of the load, does its damage,
//! repairs it, and says when the repair was done (recovery is timed from then).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::deploy::Deployment;
use super::scenarios::Fault;
use super::webhook::Receiver;
use crate::error::{Error, Result};

/// The load's progress: messages handed over, of `total`.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Messages handed to the publisher's client so far.
    pub sent: Arc<AtomicUsize>,
    /// Messages in the load.
    pub total: usize,
}

impl Progress {
    /// Waits until `share` of the load is out (or 10 minutes passed).
    async fn reach(&self, share: f64) {
        let target = (self.total as f64 * share).ceil() as usize;
        let start = Instant::now();
        while self.sent.load(Ordering::Relaxed) < target && start.elapsed() < Duration::from_secs(600) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Blocking work (processes, mounts) on this runtime thread, without stalling the others.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// Does `fault` to `d`; returns when the repair was done (`None` for no fault) and notes for the report.
pub async fn inject(
    fault: Fault,
    d: &mut Deployment,
    webhook: &Receiver,
    progress: &Progress,
    outage: Duration,
) -> Result<(Option<Instant>, Vec<String>)> {
    let mut notes = Vec::new();
    let repaired = match fault {
        Fault::None => None,
        Fault::KillServe => {
            progress.reach(1.0 / 3.0).await;
            blocking(|| d.kill9());
            tokio::time::sleep(Duration::from_secs(1)).await;
            let at = Instant::now();
            blocking(|| d.start_serve())?;
            Some(at)
        }
        Fault::RestartBroker => {
            let mut at = None;
            for share in [1.0 / 3.0, 2.0 / 3.0] {
                progress.reach(share).await;
                let broker = d.mosquitto.as_mut().ok_or_else(|| Error::Failed("no Mosquitto to restart".into()))?;
                blocking(|| broker.start_again())?;
                at = Some(Instant::now());
            }
            at
        }
        Fault::StopDatabase => {
            progress.reach(1.0 / 3.0).await;
            // PostgreSQL's SIGTERM waits for the service's sessions to end: its fast shutdown ends them.
            let signal = if d.db_url.starts_with("postgres") { "INT" } else { "TERM" };
            let db = d.database.as_mut().ok_or_else(|| Error::Failed("no database server to stop".into()))?;
            blocking(|| db.stop_with(signal));
            tokio::time::sleep(outage).await;
            blocking(|| db.start_again())?;
            Some(Instant::now())
        }
        Fault::FillDisk => {
            // The filesystem was made small: wait for the service to say its commits fail.
            let start = Instant::now();
            let mut red = false;
            while start.elapsed() < Duration::from_secs(120) {
                if blocking(|| d.health()) == Some(503) {
                    red = true;
                    break;
                }
                if progress.sent.load(Ordering::Relaxed) >= progress.total {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if red {
                notes.push(format!("/health turned 503 {:.1} s into the load", start.elapsed().as_secs_f64()));
                tokio::time::sleep(outage.min(Duration::from_secs(10))).await;
            } else {
                notes.push("the disk did not fill during the load (more --readings fill it)".into());
            }
            let fs = d.tmpfs.as_ref().ok_or_else(|| Error::Failed("no small filesystem to grow".into()))?;
            fs.resize(super::GROWN_DISK_KB)?;
            Some(Instant::now())
        }
        Fault::HangWebhook => {
            progress.reach(1.0 / 3.0).await;
            webhook.hang(true);
            tokio::time::sleep(outage).await;
            webhook.hang(false);
            Some(Instant::now())
        }
    };
    Ok((repaired, notes))
}
