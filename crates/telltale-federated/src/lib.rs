//! # telltale-federated
//!
//! Federated training over a message bus, after seed 004 (Liu et al., GLOBECOM 2020 and IEEE IoT-J 2021):
//! one detector trained across sites whose rows never leave them, with compressed uploads.
//!
//! - [`coordinator`]: rounds, the deadline, refusals, figures, a state on disk to resume from; [`server`] the
//!   server's step (FedAvg, FedAvgM, FedAdam).
//! - [`site`]: local training from the global weights (FedProx's pull when μ > 0), encoded updates.
//! - [`codec`]: dense f32, int8 per tensor, top-k and scaled sign with error feedback.
//! - [`bus`]: the transport interface and its MQTT implementation; [`message`] the payloads and topics.
//! - [`moments`]: the global scaler from the sites' column moments (no row leaves a site).
//! - [`params`]: a network's weights as one vector; [`config`] the run's file; [`data`] what each side loads;
//!   [`judge`] the figures and the model directory; [`state`] what a restart resumes from.

pub mod bus;
pub mod codec;
pub mod config;
pub mod coordinator;
pub mod data;
pub mod error;
pub mod judge;
pub mod message;
pub mod moments;
pub mod params;
pub mod server;
pub mod site;
pub mod state;

pub use codec::Codec;
pub use config::{FederatedConfig, ServerOptimizer, ValidFederated};
pub use error::{Error, Result};
