//! What keeps the HTTP side safe to expose: security headers on every
//! response (a Content-Security-Policy that lets the page run only its own
//! script and talk only to its own origin), refusals of oversized addresses
//! (414) and bodies (413), and a cap on concurrent event streams (429), each
//! a clear answer rather than exhaustion.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

/// Longest request target (path and query) taken, in bytes.
pub const MAX_URI: usize = 2048;

/// Largest request body taken, in bytes (a threshold change or an acknowledgement is well under 1 KB).
pub const MAX_BODY: usize = 16 << 10;

/// The page's Content-Security-Policy: its one inline script by hash, nothing from other origins.
static CSP: LazyLock<String> = LazyLock::new(|| {
    let script = inline(super::PAGE, "<script>", "</script>");
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()));
    format!(
        "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; connect-src 'self'; \
         img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
});

/// The text between the first `open` and the next `close` in `page` (empty if absent).
fn inline<'a>(page: &'a str, open: &str, close: &str) -> &'a str {
    let Some(start) = page.find(open).map(|i| i + open.len()) else { return "" };
    page[start..].find(close).map_or("", |end| &page[start..start + end])
}

/// Refuses an oversized request target, and adds the security headers to every answer.
pub(super) async fn harden(request: Request, next: Next) -> Response {
    let target = request.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    let mut response = if target > MAX_URI {
        refuse(StatusCode::URI_TOO_LONG, format!("the address is {target} bytes; at most {MAX_URI} are taken"))
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&CSP) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// A JSON error answer.
pub(super) fn refuse(status: StatusCode, why: String) -> Response {
    (status, Json(serde_json::json!({ "error": why }))).into_response()
}

/// Turns axum's bare 413 (a body over [`MAX_BODY`]) into a JSON answer that says why.
pub(super) async fn explain_too_large(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, format!("the body is over {MAX_BODY} bytes"));
    }
    response
}

/// Concurrent event streams: taken slots, and the most there may be.
#[derive(Debug)]
pub struct Streams {
    open: AtomicUsize,
    max: usize,
}

impl Streams {
    /// Room for `max` streams at once.
    pub fn new(max: usize) -> Streams {
        Streams { open: AtomicUsize::new(0), max }
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// A slot for one more stream, released when dropped; `None` when all are taken.
    pub fn take(self: &std::sync::Arc<Self>) -> Option<Slot> {
        let taken = self.open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.max).then_some(n + 1));
        taken.ok().map(|_| Slot(self.clone()))
    }
}

/// One event stream's place among [`Streams`].
#[derive(Debug)]
pub struct Slot(std::sync::Arc<Streams>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_page_script_by_its_hash() {
        let script = inline(super::super::PAGE, "<script>", "</script>");
        assert!(script.len() > 1000, "the page's script is found");
        assert!(CSP.starts_with("default-src 'none'; script-src 'sha256-"), "{}", *CSP);
        assert_eq!(inline("a<b>c</b>", "<b>", "</b>"), "c");
        assert_eq!(inline("abc", "<b>", "</b>"), "");
    }

    #[test]
    fn stream_slots_are_capped_and_given_back() {
        let streams = std::sync::Arc::new(Streams::new(2));
        let a = streams.take().expect("one");
        let b = streams.take().expect("two");
        assert!(streams.take().is_none(), "the cap");
        drop(a);
        assert_eq!(streams.open(), 1);
        let _c = streams.take().expect("a freed slot");
        drop(b);
        assert_eq!(streams.open(), 1);
    }
}
