//! telltale's real-time path, one stage per module, data flowing one way:
//!
//! - [`topic`]: which MQTT topic level names the device.
//! - [`payload`]: JSON readings, single or batched.
//! - [`detect`]: per-device rolling windows scored by telltale-runtime.
//!
//! Every reading that cannot be used is an [`Error`] naming its topic; the
//! caller counts and logs it, nothing crashes.

pub mod detect;
pub mod error;
pub mod payload;
pub mod topic;

pub use detect::{Decision, Detector};
pub use error::{Error, Result};
pub use payload::Reading;
pub use topic::TopicPattern;
