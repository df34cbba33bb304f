//! The webhook channel: each alert's JSON payload POSTed to a URL, with an `Idempotency-Key` header that is the
//! same on every retry of one alert.

use futures_util::future::BoxFuture;

use super::sinks::{AlertSink, Setup, check_response};
use crate::error::{Error, Result};
use crate::store::AlertRow;

/// POSTs each alert's JSON payload to `url`.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The URL.
    pub url: String,
    /// The HTTP client.
    pub http: reqwest::Client,
}

/// The webhook of `alerts.webhook`, if set.
pub fn build(setup: &Setup<'_>) -> Result<Option<Box<dyn AlertSink>>> {
    let url = &setup.alerts.webhook;
    if url.is_empty() {
        return Ok(None);
    }
    Ok(Some(Box::new(Webhook { url: url.clone(), http: setup.http.clone() })))
}

impl AlertSink for Webhook {
    fn name(&self) -> &str {
        "webhook"
    }

    fn send<'a>(&'a self, alert: &'a AlertRow) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let sink = alert.sink.as_str();
            let response = self
                .http
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                // The same on every retry of this alert: a receiver that saw it already can drop the repeat
                // (delivery is at least once: a crash between the answer and its record sends it again).
                .header("Idempotency-Key", format!("telltale-alert-{}", alert.id))
                .body(alert.payload.clone())
                .send()
                .await
                .map_err(|e| Error::alert(sink, format!("{}: {e}", self.url)))?;
            check_response(sink, response).await
        })
    }
}
