//! The HTTP side: any request (a first line `METHOD TARGET`, header lines, a blank line, a body) sent through the
//! service's router, with its token, a SQLite store and one device in the live view. Nothing may panic, no
//! request may end in a 500 (the store works), and every answer that is not a stream is read to its end.
#![no_main]
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use telltale_stream::http::{self, AppState};
use tower::ServiceExt;

struct World {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    _closing: tokio::sync::watch::Sender<bool>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        // In memory where the machine has it: the target is about the requests, not the disk.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
        let file = dir.join(format!("telltale-fuzz-http-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&file);
        let store = runtime
            .block_on(telltale_stream::store::Store::open(&format!("sqlite://{}", file.display())))
            .expect("store");
        let live = telltale_stream::live::Live::new(vec!["x".into(), "y".into()], 30, 1);
        for t in 0..40 {
            live.reading("pump-1", 1_700_000_000_000 + t * 1000, &[("x".into(), t as f64), ("y".into(), 1.0)]);
        }
        let (closing, watch) = tokio::sync::watch::channel(false);
        let state = AppState {
            store,
            counters: Arc::default(),
            started: Instant::now(),
            model: "fuzz".into(),
            model_info: serde_json::json!({"name": "fuzz"}),
            live: Arc::new(live),
            token: Some("secret-token".into()),
            closing: watch,
            alerting: false,
            changes: Arc::default(),
            streams: Arc::new(http::Streams::new(4)),
        };
        World { runtime, router: http::router(state), _closing: closing }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let Some((method, target)) = lines.next().and_then(|l| l.split_once(' ')) else { return };
    let mut request = Request::builder().method(method).uri(target);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            request = request.header(name.trim(), value.trim());
        }
    }
    let Ok(request) = request.body(Body::from(body.to_owned())) else { return };
    let w = world();
    w.runtime.block_on(async {
        let response = w.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{method} {target}");
        let streaming = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        if !streaming {
            axum::body::to_bytes(response.into_body(), 64 << 20).await.expect("body");
        }
    });
});
