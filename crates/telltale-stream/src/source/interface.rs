//! What every transport shares: the [`Message`] it forwards, the [`Source`]
//! interface it implements, and the [`Link`] the service hands it (where to
//! report, when to stop, what has been committed).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, mpsc, watch};

use crate::error::Result;

/// One message: its topic, payload and arrival time.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The topic it was published on.
    pub topic: String,
    /// The raw payload.
    pub payload: Vec<u8>,
    /// When it arrived (epoch ms): the time of a reading that carries none.
    pub received_ms: i64,
    /// When it arrived (monotonic): the start of its decision latency.
    pub received: Instant,
    /// Set (to the payload's size) when the payload was over the service's limit: it is then left out, and the
    /// message only counted and acknowledged.
    pub oversized: Option<usize>,
    /// Its place in the source's order, counted from 1: the store reports the last one it committed, and the
    /// source acknowledges everything up to it.
    pub seq: u64,
}

impl Message {
    /// A message arriving now, numbered `seq`.
    pub fn new(topic: impl Into<String>, payload: Vec<u8>, seq: u64) -> Message {
        Message { topic: topic.into(), payload, received_ms: now_ms(), received: Instant::now(), oversized: None, seq }
    }

    /// A message whose payload of `bytes` was over the limit, arriving now: counted, never read.
    pub fn oversized(topic: impl Into<String>, bytes: usize, seq: u64) -> Message {
        Message { oversized: Some(bytes), ..Message::new(topic, Vec::new(), seq) }
    }
}

/// Epoch milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A source of messages: runs until its input ends (or forever), sending every message to `tx`, whose bound
/// is the back-pressure.
pub trait Source: Send + 'static {
    /// Runs the source.
    fn run(self, tx: mpsc::Sender<Message>) -> impl Future<Output = Result<()>> + Send;
}

/// A running source's future, boxed.
pub type SourceFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

/// A [`Source`] behind a box: what the transport registry (`source::open`) returns. Every `Source` is one.
pub trait DynSource: Send {
    /// Runs the source (see [`Source::run`]).
    fn run_boxed(self: Box<Self>, tx: mpsc::Sender<Message>) -> SourceFuture;
}

impl<S: Source> DynSource for S {
    fn run_boxed(self: Box<Self>, tx: mpsc::Sender<Message>) -> SourceFuture {
        Box::pin((*self).run(tx))
    }
}

/// What the service hands the transport it opens: what to subscribe to, and its ends of the service's
/// signals.
#[derive(Debug, Clone)]
pub struct Link {
    /// The subscription filter (the topic pattern's).
    pub filter: String,
    /// The client id: the name of a persistent session.
    pub client_id: String,
    /// With TLS: trust this CA certificate (PEM) instead of the system's.
    pub tls_ca: Option<PathBuf>,
    /// Whether the broker outlives the service (an external one): messages are then taken at QoS 1 and
    /// acknowledged only once committed, so a message the service took but had not stored when it stopped is
    /// redelivered. The embedded broker lives and dies with the service: messages are acknowledged on arrival.
    pub durable: bool,
    /// The last committed [`Message::seq`].
    pub committed: watch::Receiver<u64>,
    /// Turns true to stop.
    pub stop: watch::Receiver<bool>,
    /// Notified each time the subscription is confirmed.
    pub subscribed: Arc<Notify>,
    /// The largest payload read ([`Message::oversized`] beyond).
    pub max_payload: usize,
    /// The service's counters (the transport counts its lost connections).
    pub counters: Arc<crate::pipeline::Counters>,
}
