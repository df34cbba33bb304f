//! The outbox: alerts queued in the store (in the same transaction as their
//! anomaly) are delivered through the channels and retried with back-off
//! until one confirms.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::plan::backoff_ms;
use super::sinks::Sinks;
use crate::error::Result;
use crate::pipeline::Counters;
use crate::source::now_ms;
use crate::store::Store;

/// Alerts a channel confirmed whose confirmation the store has not recorded yet (a full disk, a database
/// restarting): row id → when it was confirmed. They are recorded on the next pass, never sent again.
pub type Unrecorded = HashMap<i64, i64>;

/// Sends every due alert once; returns how many were delivered.
pub async fn deliver_due(store: &Store, sinks: &Sinks, counters: &Counters) -> Result<usize> {
    deliver_due_keeping(store, sinks, counters, &mut Unrecorded::new()).await
}

/// [`deliver_due`], first recording the confirmations `unrecorded` holds; a confirmation that cannot be recorded
/// now is kept there, so that alert is not sent twice.
pub async fn deliver_due_keeping(
    store: &Store,
    sinks: &Sinks,
    counters: &Counters,
    unrecorded: &mut Unrecorded,
) -> Result<usize> {
    let waiting: Vec<(i64, i64)> = unrecorded.iter().map(|(id, at)| (*id, *at)).collect();
    for (id, at) in waiting {
        store.alert_sent(id, at).await?;
        unrecorded.remove(&id);
    }
    let mut delivered = 0;
    for alert in store.due_alerts(now_ms(), 100).await? {
        match sinks.send(&alert).await {
            Ok(()) => {
                let at = now_ms();
                Counters::add(&counters.alerts_sent, 1);
                delivered += 1;
                if let Err(e) = store.alert_sent(alert.id, at).await {
                    unrecorded.insert(alert.id, at);
                    return Err(e);
                }
            }
            Err(e) => {
                let next = now_ms() + backoff_ms(alert.attempts);
                tracing::warn!("{e} (device {}; attempt {}; kept, retried later)", alert.device, alert.attempts + 1);
                store.alert_failed(alert.id, next, &e.to_string()).await?;
                Counters::add(&counters.alert_failures, 1);
            }
        }
    }
    Ok(delivered)
}

/// Delivers queued alerts until `stop` turns true, then makes one last pass; wakes every `every` or when
/// `wake` is notified (a commit queued alerts).
pub async fn deliver(
    store: Store,
    sinks: Arc<Sinks>,
    counters: Arc<Counters>,
    wake: Arc<tokio::sync::Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    every: Duration,
) {
    let mut unrecorded = Unrecorded::new();
    loop {
        if let Err(e) = deliver_due_keeping(&store, &sinks, &counters, &mut unrecorded).await {
            tracing::error!("alert outbox: {e}");
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(every) => {}
            changed = stop.changed() => {
                // Stopping (or nobody left to say so): one last pass, then out.
                if changed.is_err() {
                    if let Err(e) = deliver_due_keeping(&store, &sinks, &counters, &mut unrecorded).await {
                        tracing::error!("alert outbox: {e}");
                    }
                    return;
                }
            }
        }
    }
}
