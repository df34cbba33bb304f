//! The service's stages, one small builder each, in the order
//! `Service::start` brings them up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use telltale_runtime::Model;
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::alert::{Planner, Sinks};
use crate::config::ValidServeConfig;
use crate::detect::{Decision, Detector};
use crate::error::Result;
use crate::http;
use crate::live::Live;
use crate::pipeline::{Counters, DetectStage, Processed};
use crate::sink::SinkStage;
use crate::source::{self, BrokerUrl, Link, Message};
use crate::store::Store;

/// The broker stage: the embedded broker started when no external one is given; the broker to use.
pub(super) fn start_broker(config: &ValidServeConfig, counters: &Arc<Counters>) -> Result<BrokerUrl> {
    let Some(embedded) = config.embedded() else {
        return Ok(config.broker().clone());
    };
    let own = embedded.start_counted(counters)?;
    let tls = if embedded.tls.is_some() { "TLS" } else { "plain TCP" };
    let who = match &embedded.passwords {
        Some(p) => format!("{} user(s) of the password file", p.len()),
        None => "anyone on this machine (no passwords)".to_owned(),
    };
    tracing::info!("embedded MQTT broker on {} ({tls}): lets in {who}", embedded.listen);
    Ok(own)
}

/// The dashboard's memory, with the thresholds changed on the dashboard before: their record is replayed, so
/// they stay changed across restarts.
pub(super) async fn live_view(config: &ValidServeConfig, model: &Model, store: &Store) -> Result<Arc<Live>> {
    let h = &model.header;
    let live = Arc::new(Live::new(h.features.clone(), config.settings().live_history, h.step));
    for change in store.threshold_changes().await? {
        live.thresholds.set(change.device.as_deref(), change.value);
    }
    let in_force = live.thresholds.snapshot();
    if in_force != Default::default() {
        tracing::info!("thresholds set on the dashboard: model {:?}, devices {:?}", in_force.model, in_force.devices);
    }
    Ok(live)
}

/// The detection stage: messages in, scored and judged per device, processed out.
pub(super) fn detect_stage(
    config: &ValidServeConfig,
    model: &Model,
    live: &Arc<Live>,
    decisions: &broadcast::Sender<Decision>,
    counters: &Arc<Counters>,
    rx: mpsc::Receiver<Message>,
    tx: mpsc::Sender<Processed>,
) -> JoinHandle<Detector> {
    let s = config.settings();
    let stage = DetectStage {
        pattern: config.pattern().clone(),
        store_readings: s.store_readings,
        decisions: Some(decisions.clone()),
        live: Some(live.clone()),
    };
    let detector = Detector::new(model.clone())
        .limit_devices(&s.devices, s.max_devices)
        .max_future(s.max_future_s)
        .with_thresholds(live.thresholds.clone());
    stage.spawn(rx, detector, tx, counters.clone())
}

/// The storing stage: batches committed with the alerts they raise (planned for the configured channels).
pub(super) fn sink_stage(
    config: &ValidServeConfig,
    store: &Store,
    sinks: &Sinks,
    counters: &Arc<Counters>,
    wake: &Arc<Notify>,
    committed: watch::Sender<u64>,
    rx: mpsc::Receiver<Processed>,
) -> JoinHandle<()> {
    let sink = SinkStage {
        store: store.clone(),
        planner: Planner::new(sinks.names(), config.cooldown_ms()),
        committed,
        wake: wake.clone(),
        counters: counters.clone(),
    };
    tokio::spawn(sink.run(rx))
}

/// The source stage: the transport the URL's scheme names, running; returns once it holds its subscription.
/// `broker` is where the service's client connects (the embedded broker's own listener, or the configured URL).
pub(super) async fn source_stage(
    config: &ValidServeConfig,
    broker: &BrokerUrl,
    client_id: &str,
    counters: &Arc<Counters>,
    committed: watch::Receiver<u64>,
    stop: watch::Receiver<bool>,
    tx: mpsc::Sender<Message>,
) -> Result<JoinHandle<Result<()>>> {
    let subscribed = Arc::new(Notify::new());
    let link = Link {
        filter: config.pattern().filter(),
        client_id: client_id.to_owned(),
        tls_ca: broker.ca_file.clone(),
        durable: config.durable(),
        committed,
        stop,
        subscribed: subscribed.clone(),
        max_payload: config.settings().max_payload,
        counters: counters.clone(),
    };
    let url = if config.embedded().is_some() { broker.to_url() } else { config.source_url().to_owned() };
    let source = tokio::spawn(source::open(&url, link)?.run_boxed(tx));
    // Readings published before the broker holds the subscription find no subscriber: start serving once it
    // does (a broker that cannot be reached yet is retried in the background; the wait is bounded).
    if tokio::time::timeout(Duration::from_secs(10), subscribed.notified()).await.is_err() {
        tracing::warn!("not subscribed after 10 s; serving anyway, the subscription follows the connection");
    }
    Ok(source)
}

/// What the HTTP handlers share.
pub(super) fn app_state(
    config: &ValidServeConfig,
    model: &Model,
    store: &Store,
    counters: &Arc<Counters>,
    live: &Arc<Live>,
    alerting: bool,
    closing: &watch::Receiver<bool>,
) -> http::AppState {
    let h = &model.header;
    http::AppState {
        store: store.clone(),
        counters: counters.clone(),
        started: Instant::now(),
        model: h.name.clone(),
        model_info: serde_json::json!({
            "name": h.name,
            "preset": h.preset,
            "features": h.features,
            "window": h.steps,
            "step": h.step,
            "horizon": h.horizon,
            "score": h.score,
            "threshold": h.threshold,
            "test": h.info.get("test").cloned().unwrap_or_default(),
        }),
        live: live.clone(),
        token: config.token().cloned(),
        closing: closing.clone(),
        alerting,
        changes: Arc::default(),
        streams: Arc::new(http::Streams::new(config.settings().max_event_streams)),
    }
}

/// The HTTP stage on `addr` (loopback only without a token), until `closing` turns true.
pub(super) async fn http_stage(
    config: &ValidServeConfig,
    mut addr: SocketAddr,
    state: http::AppState,
    mut closing: watch::Receiver<bool>,
) -> Result<(SocketAddr, JoinHandle<()>)> {
    if config.token().is_none() && !addr.ip().is_loopback() {
        addr = SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port());
        tracing::warn!(
            "no token set: the dashboard and API listen on loopback only ({addr}); set --token to serve {}",
            config.settings().http
        );
    }
    let (bound, task) = http::serve(addr, state, async move {
        let _ = closing.wait_for(|c| *c).await;
    })
    .await?;
    tracing::info!("HTTP on http://{bound}: dashboard /, API /api/…, /health, /metrics");
    Ok((bound, task))
}
