//! telltale's real-time path, one stage per module, data flowing one way:
//!
//! - [`topic`]: which MQTT topic level names the device.
//! - [`payload`]: JSON readings, single or batched.
//! - [`source`]: where messages come from, one module per transport (an
//!   MQTT broker, a replay) chosen by URL scheme, and [`broker`]: the
//!   embedded MQTT broker.
//! - [`detect`]: per-device rolling windows scored by telltale-runtime and
//!   judged by the model's threshold or one set while running, run by the
//!   [`pipeline`] stage between bounded channels.
//! - [`sink`]: the storing stage: batches committed to the [`store`]
//!   (SQLite, PostgreSQL, MySQL/MariaDB) with the alerts they raise; MQTT
//!   messages are acknowledged only after their commit.
//! - [`alert`]: cooldown, and delivery through the alert channels (one
//!   module each: a webhook, Twilio, MQTT) from the store's outbox, retried
//!   until confirmed.
//! - [`live`]: what the dashboard shows (recent readings and scores per
//!   device).
//! - [`http`]: the dashboard and its API (server-sent events), `/health`,
//!   `/metrics`.
//! - [`config`] and [`service`]: the settings (checked once, into a
//!   [`ValidServeConfig`]), and the whole service put together stage by
//!   stage and taken down in order.
//!
//! Every reading that cannot be used is an [`Error`] naming its topic; the
//! caller counts and logs it, nothing crashes.

pub mod alert;
pub mod broker;
pub mod config;
pub mod detect;
pub mod error;
pub mod http;
pub mod live;
pub mod payload;
pub mod pipeline;
pub mod service;
pub mod simulate;
pub mod sink;
pub mod source;
pub mod store;
#[cfg(test)]
mod testing;
pub mod topic;

pub use config::{ServeConfig, ValidServeConfig};
pub use detect::{Decision, Detector};
pub use error::{Error, Result};
pub use payload::Reading;
pub use pipeline::{Counters, DetectStage, Processed};
pub use service::{Service, Summary};
pub use source::{BrokerUrl, Message, Mqtt, Replay, Source};
pub use topic::TopicPattern;
