//! Performance runs, each beside peers run in the same invocation (the
//! machine is shared and noisy: compare ratios, not times).
//!
//! - [`train`]: seconds per epoch (`telltale bench train`).
//! - [`compare`]: experiments side by side over weight seeds (`telltale compare`).
//! - [`latency`]: one window and batched through telltale-runtime, against burn (`telltale bench latency`).
//! - [`stream`]: the live service through real brokers, against the broker alone (`telltale bench stream`).
//! - [`reference`](mod@reference): a peer's command run and its `NAME NUMBER` figures read back.

pub mod compare;
pub mod latency;
pub mod reference;
pub mod stream;
pub mod train;
