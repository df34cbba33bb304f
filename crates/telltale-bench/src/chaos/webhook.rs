//! The alerts' receiver: a webhook on loopback that counts every delivery per anomaly (device, end of its
//! window), and that can be told to hang: take requests and never answer them (nor count them).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

use super::load::Key;
use crate::error::{Context, Result};

#[derive(Debug, Default)]
struct Inner {
    hanging: AtomicBool,
    deliveries: Mutex<HashMap<Key, u32>>,
    times: Mutex<Vec<Instant>>,
}

/// A running receiver (stopped when dropped).
#[derive(Debug)]
pub struct Receiver {
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
    /// Where it listens.
    pub url: String,
}

async fn alert(State(inner): State<Arc<Inner>>, body: String) -> StatusCode {
    if inner.hanging.load(Ordering::SeqCst) {
        // The sender's timeout ends this request; what it carried was never taken.
        std::future::pending::<()>().await;
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let (Some(device), Some(end)) = (v["device"].as_str(), v["end_ms"].as_i64()) else {
        return StatusCode::BAD_REQUEST;
    };
    *inner.deliveries.lock().unwrap_or_else(|e| e.into_inner()).entry((device.to_owned(), end)).or_default() += 1;
    inner.times.lock().unwrap_or_else(|e| e.into_inner()).push(Instant::now());
    StatusCode::OK
}

impl Receiver {
    /// Starts one on a free loopback port.
    pub async fn start() -> Result<Receiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context_with(|| "the webhook receiver cannot listen".into())?;
        let url = format!("http://{}/alert", listener.local_addr()?);
        let inner = Arc::new(Inner::default());
        let app = Router::new().route("/alert", post(alert)).with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Receiver { inner, task, url })
    }

    /// Hangs (or answers again).
    pub fn hang(&self, hanging: bool) {
        self.inner.hanging.store(hanging, Ordering::SeqCst);
    }

    /// Deliveries so far, per anomaly.
    pub fn deliveries(&self) -> HashMap<Key, u32> {
        self.inner.deliveries.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// When the first delivery after `at` came.
    pub fn first_after(&self, at: Instant) -> Option<Instant> {
        self.inner.times.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().find(|t| *t >= at)
    }

    /// When the last delivery came.
    pub fn last(&self) -> Option<Instant> {
        self.inner.times.lock().unwrap_or_else(|e| e.into_inner()).last().copied()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
