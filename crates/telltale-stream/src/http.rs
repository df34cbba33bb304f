//! The service's HTTP face (axum): the live dashboard (`GET /`, embedded in
//! the binary), its JSON API under `/api/` with server-sent events
//! (`/api/events`), `GET /health` and Prometheus `GET /metrics`.
//!
//! With a token configured, the page and the API require it: as
//! `Authorization: Bearer TOKEN`, or once as `/?token=TOKEN`, after which the
//! page keeps it in a cookie (`HttpOnly`, `SameSite=Strict`) and the token
//! leaves the address bar. `/health` and `/metrics` stay open for probes and
//! scrapers.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

mod guard;

pub use self::guard::{MAX_BODY, MAX_URI, Streams};
use crate::error::{Error, Result};
use crate::live::Live;
use crate::pipeline::{Counters, LATENCY_BUCKETS_US};
use crate::source::now_ms;
use crate::store::Store;

/// The dashboard page.
const PAGE: &str = include_str!("dashboard.html");
/// The cookie that keeps the page's token.
const COOKIE: &str = "telltale_token";
/// How often the event stream sends the fleet's state.
pub const TICK: Duration = Duration::from_millis(500);

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
    /// The model as the page shows it: preset, window, threshold rule, test figures.
    pub model_info: serde_json::Value,
    /// The dashboard's memory (and the thresholds set while running).
    pub live: Arc<Live>,
    /// The token the page and the API require; `None`: open (the server listens on loopback only).
    pub token: Option<Arc<str>>,
    /// Turns true when the service stops: event streams end then.
    pub closing: tokio::sync::watch::Receiver<bool>,
    /// Whether alerts go anywhere: the feed then lists the anomalies that raised one.
    pub alerting: bool,
    /// Bumped by every acknowledgement and threshold change (the event stream re-sends the feed).
    pub changes: Arc<AtomicU64>,
    /// The event streams open, and their cap (`max_event_streams`).
    pub streams: Arc<Streams>,
}

/// The routes.
pub fn router(state: AppState) -> Router {
    let guarded = Router::new()
        .route("/", get(page))
        .route("/api/anomalies", get(anomalies))
        .route("/api/anomalies/{id}/ack", post(acknowledge))
        .route("/api/devices", get(devices))
        .route("/api/devices/{device}", get(device))
        .route("/api/feed", get(feed))
        .route("/api/model", get(model))
        .route("/api/thresholds", get(thresholds).put(set_threshold))
        .route("/api/events", get(events))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .merge(guarded)
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(guard::explain_too_large))
        .layer(middleware::from_fn(guard::harden))
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

/// Whether `a` and `b` are equal, in time independent of their contents and lengths (their digests are compared,
/// in constant time).
fn same(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    Sha256::digest(a.as_bytes()).ct_eq(&Sha256::digest(b.as_bytes())).into()
}

/// The token a request carries: bearer header, else the page's cookie.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|kv| kv.trim().strip_prefix(COOKIE)?.strip_prefix('='))
    })
}

async fn auth(State(s): State<AppState>, request: Request, next: Next) -> Response {
    let Some(token) = s.token.as_deref() else { return next.run(request).await };
    if presented(request.headers()).is_some_and(|t| same(t, token)) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    if path == "/" {
        let query = request.uri().query().unwrap_or("");
        let given = query.split('&').find_map(|kv| kv.strip_prefix("token="));
        if given.is_some_and(|t| same(t, token)) {
            // Kept in a cookie from now on; the address bar loses the token and keeps the rest (`?device=`).
            let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
            let rest: Vec<&str> = query.split('&').filter(|kv| !kv.starts_with("token=") && !kv.is_empty()).collect();
            let location = if rest.is_empty() { "/".to_owned() } else { format!("/?{}", rest.join("&")) };
            return (StatusCode::SEE_OTHER, [(header::SET_COOKIE, cookie), (header::LOCATION, location)])
                .into_response();
        }
        let body = "<!doctype html><meta charset=utf-8><title>telltale: token required</title>\
                    <p>This telltale service requires a token: open <code>/?token=YOUR_TOKEN</code> once.</p>";
        return (StatusCode::UNAUTHORIZED, Html(body)).into_response();
    }
    let error = serde_json::json!({ "error": "a token is required: send Authorization: Bearer TOKEN" });
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], Json(error)).into_response()
}

async fn page() -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Html(PAGE)).into_response()
}

/// Who made a change, as recorded: the name given (trimmed, at most 64 characters), else `dashboard`.
fn who(by: &str) -> String {
    let by = by.trim();
    if by.is_empty() { "dashboard".to_owned() } else { by.chars().take(64).collect() }
}

fn unavailable(e: &Error) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "error": e.to_string() }))).into_response()
}

fn totals(s: &AppState) -> serde_json::Value {
    let c = &s.counters;
    let g = Counters::get;
    serde_json::json!({
        "uptime_s": s.started.elapsed().as_secs_f64(),
        "devices": g(&c.devices),
        "messages": g(&c.messages),
        "readings": g(&c.readings),
        "windows": g(&c.windows),
        "anomalies": g(&c.anomalies),
        "refused": c.refused(),
        "alerts_sent": g(&c.alerts_sent),
        "alert_failures": g(&c.alert_failures),
    })
}

/// How long `/metrics` waits for the outbox's count.
const METRICS_QUERY: std::time::Duration = std::time::Duration::from_millis(500);

/// How long `/health` waits for the database's answer.
const HEALTH_PING: std::time::Duration = std::time::Duration::from_secs(2);

async fn health(State(s): State<AppState>) -> Response {
    let c = &s.counters;
    // The database must answer and take writes: a full disk still answers a query.
    // A database that is down can hold a query for the pool's whole connect timeout: /health answers sooner.
    let ping = match tokio::time::timeout(HEALTH_PING, s.store.ping()).await {
        Ok(answer) => answer.map_err(|e| e.to_string()),
        Err(_) => Err(format!("{}: no answer within {} s", s.store.name(), HEALTH_PING.as_secs())),
    };
    let db = match (ping, c.store_error()) {
        (Err(e), _) => Err(e),
        (Ok(()), Some(failing)) => Err(format!("commits failing (readings wait, unacknowledged): {failing}")),
        (Ok(()), None) => Ok(()),
    };
    let body = serde_json::json!({
        "status": if db.is_ok() { "ok" } else { "degraded" },
        "database": match &db { Ok(()) => "ok".to_owned(), Err(e) => e.clone() },
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
            ("{reason=\"conflicting\"}", g(&c.conflicting)),
            ("{reason=\"future\"}", g(&c.future)),
            ("{reason=\"oversized\"}", g(&c.oversized)),
            ("{reason=\"unknown_device\"}", g(&c.unknown_device)),
            ("{reason=\"unmatched_topic\"}", g(&c.unmatched)),
        ],
    );
    metric("stored_readings_total", "counter", "Readings written to the database.", &[("", g(&c.stored_readings))]);
    metric(
        "already_stored_total",
        "counter",
        "Readings handed to the database that it held already (redeliveries, late repeats).",
        &[("", g(&c.already_stored))],
    );
    metric(
        "broker_disconnects_total",
        "counter",
        "Connections to the broker lost or refused (each retried).",
        &[("", g(&c.broker_disconnects))],
    );
    metric(
        "broker_backlog_overflows_total",
        "counter",
        "Times the embedded broker's backlog outgrew broker_backlog_mb and its oldest readings were dropped.",
        &[("", g(&c.broker_backlog_overflows))],
    );
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
    // A database that is down must not hold the scrape (found by `telltale bench chaos`: 5 s and more while
    // PostgreSQL was stopped): the outbox's gauge is left out when it does not answer at once.
    if let Ok(Ok(counts)) = tokio::time::timeout(METRICS_QUERY, s.store.alert_counts()).await {
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
        Err(e) => unavailable(&e),
    }
}

/// `GET /api/devices`: every device's line, and the service's totals.
async fn devices(State(s): State<AppState>) -> Response {
    Json(serde_json::json!({ "totals": totals(&s), "devices": s.live.devices() })).into_response()
}

/// `GET /api/devices/{device}?readings_from=N&scores_from=M`.
#[derive(Debug, Default, Deserialize)]
struct HistoryQuery {
    readings_from: Option<u64>,
    scores_from: Option<u64>,
}

async fn device(State(s): State<AppState>, Path(name): Path<String>, Query(q): Query<HistoryQuery>) -> Response {
    let Some(history) = s.live.history(&name, q.readings_from.unwrap_or(0), q.scores_from.unwrap_or(0)) else {
        let error = serde_json::json!({ "error": format!("no device {name:?} has sent a reading") });
        return (StatusCode::NOT_FOUND, Json(error)).into_response();
    };
    match s.store.anomalies(Some(&name), 50).await {
        Ok(stored) => Json(serde_json::json!({
            "features": s.live.features(),
            "threshold_set": s.live.thresholds.get(&name),
            "history": history,
            "anomalies": stored,
        }))
        .into_response(),
        Err(e) => unavailable(&e),
    }
}

/// `GET /api/feed?limit=N`: anomalies that raised an alert (every anomaly when no alert sink is set), newest
/// first, with their alerts' deliveries and acknowledgements.
async fn feed(State(s): State<AppState>, Query(q): Query<AnomalyQuery>) -> Response {
    match s.store.feed(q.limit.unwrap_or(50).clamp(1, 1_000), s.alerting).await {
        Ok(items) => Json(items).into_response(),
        Err(e) => unavailable(&e),
    }
}

/// `POST /api/anomalies/{id}/ack` with an optional JSON body `{"by": "name"}`.
#[derive(Debug, Default, Deserialize)]
struct AckBody {
    #[serde(default)]
    by: String,
}

async fn acknowledge(State(s): State<AppState>, Path(id): Path<i64>, body: Option<Json<AckBody>>) -> Response {
    let by = who(&body.map(|Json(b)| b.by).unwrap_or_default());
    match s.store.acknowledge(id, now_ms(), &by).await {
        Ok(true) => {
            s.changes.fetch_add(1, Ordering::Relaxed);
            Json(serde_json::json!({ "acknowledged": id, "by": by })).into_response()
        }
        Ok(false) => {
            (StatusCode::NOT_FOUND, Json(serde_json::json!({ "error": format!("no anomaly {id}") }))).into_response()
        }
        Err(e) => unavailable(&e),
    }
}

/// `GET /api/model`.
async fn model(State(s): State<AppState>) -> Response {
    let mut info = s.model_info.clone();
    if let Some(o) = info.as_object_mut() {
        o.insert("access".into(), access(&s).into());
    }
    Json(info).into_response()
}

fn access(s: &AppState) -> &'static str {
    if s.token.is_some() { "token required" } else { "no token: served on loopback only" }
}

/// Threshold changes `GET /api/thresholds` lists (the latest; `changes_total` counts them all).
pub const THRESHOLD_CHANGES_LISTED: u32 = 500;

/// `GET /api/thresholds`: in force, and the latest recorded changes, oldest first.
async fn thresholds(State(s): State<AppState>) -> Response {
    match s.store.recent_threshold_changes(THRESHOLD_CHANGES_LISTED).await {
        Ok((changes, total)) => Json(serde_json::json!({
            "in_force": s.live.thresholds.snapshot(),
            "changes": changes,
            "changes_total": total,
        }))
        .into_response(),
        Err(e) => unavailable(&e),
    }
}

/// `PUT /api/thresholds` with `{"device": "name" | null, "value": number | null, "by": "name"}`: `device` null
/// sets the model's (every device without its own); `value` null clears it.
#[derive(Debug, Deserialize)]
struct SetThreshold {
    #[serde(default)]
    device: Option<String>,
    value: Option<f64>,
    #[serde(default)]
    by: String,
}

async fn set_threshold(State(s): State<AppState>, Json(body): Json<SetThreshold>) -> Response {
    let bad = |why: String| (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": why }))).into_response();
    if let Some(v) = body.value {
        if !v.is_finite() {
            return bad(format!("value: {v} is not a finite number"));
        }
        if v < 0.0 {
            return bad(format!("value: {v} is below 0, where no score is: every window would be an anomaly"));
        }
    }
    let device = body.device.as_deref().map(str::trim).filter(|d| !d.is_empty());
    if let Some(d) = device
        && d.len() > 191
    {
        return bad("device: a name of at most 191 bytes".into());
    }
    // Found by fuzzing: thresholds for names no device sent were kept, and every answer listed them, so a
    // stream of made-up names grew memory and answers without bound. A threshold is set for a device that
    // has sent readings (or cleared for any name, to undo an old one).
    if let Some(d) = device
        && body.value.is_some()
        && !s.live.knows(d)
        && !s.live.thresholds.snapshot().devices.contains_key(d)
    {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": format!("device: no readings from {d:?}") })),
        )
            .into_response();
    }
    let by = who(&body.by);
    // Recorded first: a change the database did not take is not made.
    if let Err(e) = s.store.record_threshold(device, body.value, now_ms(), &by).await {
        return unavailable(&e);
    }
    s.live.thresholds.set(device, body.value);
    s.changes.fetch_add(1, Ordering::Relaxed);
    tracing::info!(
        "threshold of {} {} by {by}",
        device.map_or("the model".to_owned(), |d| format!("device {d:?}")),
        body.value.map_or("cleared".to_owned(), |v| format!("set to {v}"))
    );
    Json(serde_json::json!({ "in_force": s.live.thresholds.snapshot() })).into_response()
}

/// `GET /api/events?device=NAME`: server-sent events, one `tick` every [`TICK`] with the totals, every device's
/// line, the selected device's readings and scores since the last tick, and the feed when it changed.
#[derive(Debug, Default, Deserialize)]
struct EventsQuery {
    device: Option<String>,
}

/// What one event stream remembers between ticks.
struct Cursor {
    /// Its place among the open streams, given back when the stream ends.
    _slot: guard::Slot,
    state: AppState,
    device: Option<String>,
    readings_from: u64,
    scores_from: u64,
    /// The counts the last feed was sent at.
    feed_at: Option<(u64, u64, u64, u64)>,
    first: bool,
    /// Each device's line as last sent (a digest): later ticks send only the lines that changed.
    sent: std::collections::HashMap<String, u64>,
}

impl Cursor {
    /// The next tick; `None` once the service stops.
    async fn tick(&mut self) -> Option<serde_json::Value> {
        let mut closing = self.state.closing.clone();
        if *closing.borrow() {
            return None;
        }
        if !self.first {
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                _ = closing.wait_for(|c| *c) => return None,
            }
        }
        self.first = false;
        let s = &self.state;
        let history = self.device.as_deref().and_then(|d| s.live.history(d, self.readings_from, self.scores_from));
        if let Some(h) = &history {
            if let Some(last) = h.readings.last() {
                self.readings_from = last.seq + 1;
            }
            if let Some(last) = h.scores.last() {
                self.scores_from = last.seq + 1;
            }
        }
        let c = &s.counters;
        let at = (
            Counters::get(&c.stored_anomalies),
            Counters::get(&c.alerts_sent),
            Counters::get(&c.alert_failures),
            s.changes.load(Ordering::Relaxed),
        );
        let feed = if self.feed_at != Some(at) {
            match s.store.feed(50, s.alerting).await {
                Ok(items) => {
                    self.feed_at = Some(at);
                    Some(items)
                }
                Err(e) => {
                    tracing::warn!("dashboard feed: {e}");
                    None
                }
            }
        } else {
            None
        };
        let device_anomalies = match (&self.device, &feed) {
            (Some(d), Some(_)) => s.store.anomalies(Some(d), 50).await.ok(),
            _ => None,
        };
        // The first tick sends every device's line; later ones only the lines that changed since (the page
        // merges them): an idle fleet of thousands costs a few bytes a tick, not its whole table.
        let whole = self.sent.is_empty();
        let mut changed = Vec::new();
        for line in s.live.devices() {
            let digest = digest(&serde_json::to_string(&line).unwrap_or_default());
            if self.sent.insert(line.device.clone(), digest) != Some(digest) {
                changed.push(line);
            }
        }
        let (devices, devices_changed) = if whole { (Some(changed), None) } else { (None, Some(changed)) };
        Some(serde_json::json!({
            "now_ms": now_ms(),
            "totals": totals(s),
            "devices": devices,
            "devices_changed": devices_changed,
            "thresholds": s.live.thresholds.snapshot(),
            "history": history,
            "device_anomalies": device_anomalies,
            "feed": feed,
        }))
    }
}

/// A digest of `text` (for change detection, not security).
fn digest(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

async fn events(State(s): State<AppState>, Query(q): Query<EventsQuery>) -> Response {
    let Some(slot) = s.streams.take() else {
        let why = format!("{} event streams are open, the most allowed (max_event_streams)", s.streams.open());
        return guard::refuse(StatusCode::TOO_MANY_REQUESTS, why);
    };
    let cursor = Cursor {
        _slot: slot,
        state: s,
        device: q.device.filter(|d| !d.is_empty()),
        readings_from: 0,
        scores_from: 0,
        feed_at: None,
        first: true,
        sent: std::collections::HashMap::new(),
    };
    let stream = futures_util::stream::unfold(cursor, |mut cursor| async move {
        let body = cursor.tick().await?;
        let event = Event::default().event("tick").json_data(body).unwrap_or_else(|_| Event::default());
        Some((Ok::<_, std::convert::Infallible>(event), cursor))
    });
    ([(header::CACHE_CONTROL, "no-store")], Sse::new(stream)).into_response()
}
