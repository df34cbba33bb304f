//! The whole service, assembled from the stages (`stages`: one small
//! builder each): broker (embedded or external) → source (the transport its
//! URL names) → detection → storing stage → alert outbox, with the HTTP
//! server beside them. [`Service::start`] brings it up;
//! [`Service::stop`] takes it down in order, so everything acknowledged is
//! stored and every queued alert gets a last attempt.

mod stages;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use telltale_runtime::Model;
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use self::stages::{app_state, detect_stage, http_stage, live_view, sink_stage, source_stage, start_broker};
use crate::alert::{self, Sinks, deliver};
use crate::config::ValidServeConfig;
use crate::detect::{Decision, Detector};
use crate::error::{Error, Result};
use crate::live::Live;
use crate::pipeline::Counters;
use crate::source::BrokerUrl;
use crate::store::Store;

/// How long a stop waits for the database to take what was taken.
const STOP_STORE_WAIT: Duration = Duration::from_secs(15);

/// A running service.
#[derive(Debug)]
pub struct Service {
    /// Its counters.
    pub counters: Arc<Counters>,
    /// Every decision as it is made (subscribe for live views); storage and alerts follow.
    pub decisions: broadcast::Sender<Decision>,
    /// The broker it reads from.
    pub broker: BrokerUrl,
    /// Where its HTTP server listens, if it runs one.
    pub http: Option<SocketAddr>,
    /// Its database.
    pub store: Store,
    /// What its dashboard shows, and the thresholds set while it runs.
    pub live: Arc<Live>,
    stop: watch::Sender<bool>,
    outbox_stop: watch::Sender<bool>,
    http_stop: watch::Sender<bool>,
    source: JoinHandle<Result<()>>,
    detect: JoinHandle<Detector>,
    sink: JoinHandle<()>,
    outbox: JoinHandle<()>,
    http_task: Option<JoinHandle<()>>,
    sinks: Arc<Sinks>,
}

/// What a service did, read when it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Messages taken.
    pub messages: u64,
    /// Readings accepted.
    pub readings: u64,
    /// Windows scored.
    pub windows: u64,
    /// Anomalies.
    pub anomalies: u64,
    /// Devices seen.
    pub devices: u64,
    /// Messages or readings refused.
    pub refused: u64,
    /// Alerts delivered.
    pub alerts_sent: u64,
    /// Bytes of per-device detection state when it stopped (0 before).
    pub state_bytes: u64,
}

impl Summary {
    /// The summary of `c` now.
    pub fn of(c: &Counters) -> Summary {
        let g = Counters::get;
        Summary {
            messages: g(&c.messages),
            readings: g(&c.readings),
            windows: g(&c.windows),
            anomalies: g(&c.anomalies),
            devices: g(&c.devices),
            refused: c.refused(),
            alerts_sent: g(&c.alerts_sent),
            state_bytes: 0,
        }
    }
}

impl Service {
    /// Starts everything `config` asks for around `model`, stage by stage.
    pub async fn start(config: &ValidServeConfig, model: Model) -> Result<Service> {
        let counters = Arc::new(Counters::default());
        let broker = start_broker(config, &counters)?;
        let store = Store::open(&config.settings().db).await?;
        tracing::info!("storing in {}", store.name());
        let s = config.settings();
        let client_id = match s.client_id.as_str() {
            "" => format!("telltale-{}", store.instance_id().await?),
            given => given.to_owned(),
        };
        let sinks = Arc::new(alert::channels(&s.alerts, config.alert_timeout(), &broker, &client_id)?);
        let live = live_view(config, &model, &store).await?;
        let (decisions, _) = broadcast::channel(4096);
        let (messages_tx, messages_rx) = mpsc::channel(config.queue());
        let (processed_tx, processed_rx) = mpsc::channel(config.queue());
        let detect = detect_stage(config, &model, &live, &decisions, &counters, messages_rx, processed_tx);
        let (committed_tx, committed_rx) = watch::channel(0);
        let wake = Arc::new(Notify::new());
        let sink = sink_stage(config, &store, &sinks, &counters, &wake, committed_tx, processed_rx);
        let (outbox_stop, outbox_stop_rx) = watch::channel(false);
        let outbox = tokio::spawn(deliver(
            store.clone(),
            sinks.clone(),
            counters.clone(),
            wake,
            outbox_stop_rx,
            Duration::from_millis(500),
        ));
        let (stop, stop_rx) = watch::channel(false);
        tracing::info!("MQTT client id {client_id}");
        let source = source_stage(config, &broker, &client_id, &counters, committed_rx, stop_rx, messages_tx).await?;
        let (http_stop, closing) = watch::channel(false);
        let alerting = !sinks.names().is_empty();
        let (http_addr, http_task) = match config.http() {
            None => (None, None),
            Some(addr) => {
                let state = app_state(config, &model, &store, &counters, &live, alerting, &closing);
                let (bound, task) = http_stage(config, addr, state, closing).await?;
                (Some(bound), Some(task))
            }
        };
        Ok(Service {
            counters,
            decisions,
            broker,
            http: http_addr,
            store,
            live,
            stop,
            outbox_stop,
            http_stop,
            source,
            detect,
            sink,
            outbox,
            http_task,
            sinks,
        })
    }

    /// What the service has done so far.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.counters)
    }

    /// Stops in order: no more messages in; what was taken is scored, stored and acknowledged; queued alerts get
    /// a last attempt; the HTTP server and the database close.
    pub async fn stop(self) -> Result<Summary> {
        self.stop.send_replace(true);
        let source = self.source.await.map_err(|e| Error::config("MQTT source", e.to_string()))?;
        let state_bytes = self.detect.await.map_or(0, |d| d.state_bytes() as u64);
        // What was taken is stored, unless the database keeps failing: then the stop is not held up for ever
        // (an external broker redelivers what was not acknowledged; the embedded one loses it, as said in the log).
        let mut sink = self.sink;
        if tokio::time::timeout(STOP_STORE_WAIT, &mut sink).await.is_err() {
            sink.abort();
            let failing = self.counters.store_error().unwrap_or_default();
            tracing::error!(
                "stopped before everything taken was stored ({failing}): readings not acknowledged to an external \
                 broker are redelivered to the next run; with the embedded broker they are lost"
            );
        }
        self.outbox_stop.send_replace(true);
        let _ = self.outbox.await;
        // Queued alerts leave (MQTT: a moment before disconnecting).
        self.sinks.close().await;
        // Event streams end first (an open dashboard would hold a graceful shutdown forever).
        self.http_stop.send_replace(true);
        if let Some(task) = self.http_task {
            let _ = task.await;
        }
        let summary = Summary { state_bytes, ..Summary::of(&self.counters) };
        self.store.close().await;
        source.map(|()| summary)
    }
}

#[cfg(test)]
mod hostile;
#[cfg(test)]
mod tests;
