//! The service's HTTP face (axum): `GET /health`, Prometheus `GET /metrics`
//! and `GET /api/anomalies` (JSON, newest first).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::pipeline::{Counters, LATENCY_BUCKETS_US};
use crate::store::Store;

/// What the handlers read.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The service's counters.
    pub counters: Arc<Counters>,
    /// When the service started.
    pub started: Instant,
    /// The model's name.
    pub model: String,
}

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/anomalies", get(anomalies))
        .with_state(state)
}

/// Binds `addr` now (so a clash is reported at start-up) and serves until `shutdown` completes.
pub async fn serve(
    addr: SocketAddr,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Io { what: format!("HTTP server on {addr}"), source })?;
    let bound = listener.local_addr().map_err(|source| Error::Io { what: "HTTP server".into(), source })?;
    let app = router(state);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!("HTTP server: {e}");
        }
    });
    Ok((bound, task))
}

async fn health(State(s): State<AppState>) -> Response {
    let c = &s.counters;
    let db = s.store.ping().await;
    let body = serde_json::json!({
        "status": if db.is_ok() { "ok" } else { "degraded" },
        "database": match &db { Ok(()) => "ok".to_owned(), Err(e) => e.to_string() },
        "model": s.model,
        "uptime_s": s.started.elapsed().as_secs_f64(),
        "devices": Counters::get(&c.devices),
        "readings": Counters::get(&c.readings),
        "windows": Counters::get(&c.windows),
        "anomalies": Counters::get(&c.anomalies),
    });
    let status = if db.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

/// Prometheus' text format, version 0.0.4.
async fn metrics(State(s): State<AppState>) -> Response {
    let c = &s.counters;
    let g = Counters::get;
    let mut out = String::with_capacity(4096);
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
        let _ = writeln!(out, "# HELP telltale_{name} {help}\n# TYPE telltale_{name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "telltale_{name}{labels} {value}");
        }
    };
    metric("messages_total", "counter", "Messages taken from the broker.", &[("", g(&c.messages))]);
    metric("readings_total", "counter", "Readings accepted.", &[("", g(&c.readings))]);
    metric("windows_total", "counter", "Windows scored.", &[("", g(&c.windows))]);
    metric("anomalies_total", "counter", "Windows judged anomalous.", &[("", g(&c.anomalies))]);
    metric(
        "dropped_total",
        "counter",
        "Messages or readings refused, by reason.",
        &[
            ("{reason=\"malformed\"}", g(&c.malformed)),
            ("{reason=\"out_of_order\"}", g(&c.out_of_order)),
            ("{reason=\"duplicate\"}", g(&c.duplicate)),
            ("{reason=\"unknown_device\"}", g(&c.unknown_device)),
            ("{reason=\"unmatched_topic\"}", g(&c.unmatched)),
        ],
    );
    metric("stored_readings_total", "counter", "Readings written to the database.", &[("", g(&c.stored_readings))]);
    metric("stored_anomalies_total", "counter", "Anomalies written to the database.", &[("", g(&c.stored_anomalies))]);
    metric("store_failures_total", "counter", "Failed commits (each retried).", &[("", g(&c.store_failures))]);
    metric(
        "alerts_total",
        "counter",
        "Alerts by outcome: queued, sent, and failed attempts (each retried).",
        &[
            ("{outcome=\"queued\"}", g(&c.alerts_queued)),
            ("{outcome=\"sent\"}", g(&c.alerts_sent)),
            ("{outcome=\"failed_attempt\"}", g(&c.alert_failures)),
        ],
    );
    if let Ok(counts) = s.store.alert_counts().await {
        metric("alerts_pending", "gauge", "Alerts waiting in the outbox.", &[("", counts.pending)]);
    }
    metric("devices", "gauge", "Devices seen since start.", &[("", g(&c.devices))]);
    let name = "telltale_decision_latency_seconds";
    let _ = writeln!(out, "# HELP {name} From a message's arrival to its window's decision.\n# TYPE {name} histogram");
    let mut cumulative = 0;
    for (i, bound) in LATENCY_BUCKETS_US.iter().enumerate() {
        cumulative += g(&c.latency[i]);
        let _ = writeln!(out, "{name}_bucket{{le=\"{}\"}} {cumulative}", *bound as f64 / 1e6);
    }
    cumulative += g(&c.latency[LATENCY_BUCKETS_US.len()]);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(out, "{name}_sum {}", g(&c.latency_sum_us) as f64 / 1e6);
    let _ = writeln!(out, "{name}_count {cumulative}");
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}

/// `GET /api/anomalies?limit=N&device=D`.
#[derive(Debug, Deserialize)]
struct AnomalyQuery {
    limit: Option<i64>,
    device: Option<String>,
}

async fn anomalies(State(s): State<AppState>, Query(q): Query<AnomalyQuery>) -> Response {
    let limit = q.limit.unwrap_or(100).clamp(1, 10_000);
    match s.store.anomalies(q.device.as_deref(), limit).await {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => {
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "error": e.to_string() }))).into_response()
        }
    }
}
