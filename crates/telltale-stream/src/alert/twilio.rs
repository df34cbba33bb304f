//! The Twilio channel: one SMS per recipient, the alert's one-line message
//! as its body. Credentials come from the environment
//! (`TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`).

use futures_util::future::BoxFuture;

use super::plan::AlertPayload;
use super::sinks::{AlertSink, Setup, check_response};
use crate::error::{Error, Result};
use crate::store::AlertRow;

/// Twilio's SMS API.
#[derive(Debug, Clone)]
pub struct Twilio {
    /// The API's base URL (`https://api.twilio.com`; a local server in tests).
    pub base_url: String,
    /// The account SID.
    pub account_sid: String,
    /// The auth token.
    pub auth_token: String,
    /// The sending number.
    pub from: String,
    /// Recipients: one message each.
    pub to: Vec<String>,
    /// The HTTP client.
    pub http: reqwest::Client,
}

/// Twilio, when `alerts.twilio.to` names a number: the credentials must then be in the environment.
pub fn build(setup: &Setup<'_>) -> Result<Option<Box<dyn AlertSink>>> {
    let t = &setup.alerts.twilio;
    if t.to.is_empty() {
        return Ok(None);
    }
    let var = |name: &str| {
        std::env::var(name).map_err(|_| Error::config("alerts.twilio", format!("set {name} in the environment")))
    };
    Ok(Some(Box::new(Twilio {
        base_url: t.base_url.clone(),
        account_sid: var("TWILIO_ACCOUNT_SID")?,
        auth_token: var("TWILIO_AUTH_TOKEN")?,
        from: t.from.clone(),
        to: t.to.clone(),
        http: setup.http.clone(),
    })))
}

impl AlertSink for Twilio {
    fn name(&self) -> &str {
        "twilio"
    }

    /// One row per recipient: `twilio:NUMBER`.
    fn rows(&self) -> Vec<String> {
        self.to.iter().map(|n| format!("twilio:{n}")).collect()
    }

    fn send<'a>(&'a self, alert: &'a AlertRow) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let sink = alert.sink.as_str();
            let number = sink.strip_prefix("twilio:").ok_or_else(|| Error::alert(sink, "names no recipient"))?;
            let payload: AlertPayload = serde_json::from_str(&alert.payload)
                .map_err(|e| Error::alert(sink, format!("queued payload unreadable: {e}")))?;
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                self.base_url.trim_end_matches('/'),
                self.account_sid
            );
            let response = self
                .http
                .post(&url)
                .basic_auth(&self.account_sid, Some(&self.auth_token))
                .form(&[("To", number), ("From", self.from.as_str()), ("Body", payload.message.as_str())])
                .send()
                .await
                .map_err(|e| Error::alert(sink, format!("{url}: {e}")))?;
            check_response(sink, response).await
        })
    }
}
