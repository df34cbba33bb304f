//! What telltale's tests share, and the chaos bench (`telltale bench chaos`) uses to deploy real servers (never
//! published):
//!
//! - [`server`]: a real server process on 127.0.0.1 in a scratch folder, stopped and cleaned up when dropped,
//!   one file per kind: [`mosquitto()`] and [`mosquitto_tls()`], [`postgres()`], [`mariadb()`] (Debian's
//!   packages; `scripts/test.sh` installs them). Another kind (nats-server, say) is one more file returning a
//!   [`Launch`] plus its line in this list of modules.
//! - [`net`]: [`free_port`], [`wait_port`] and a bare HTTP/1.0 client ([`http`], [`http_get`]).
//! - [`scratch`]: [`Scratch`], a temporary folder removed when dropped.
//! - [`series`]: seeded synthetic series ([`Noise`], [`Series`]) reproducible to the bit.
//! - [`close`]: [`assert_all_close`] and [`assert_all_close_rel`], naming every value out of tolerance.
//!
//! It depends on no telltale crate, so every crate of the workspace can dev-depend on it without a cycle.
//! Helpers panic with a message saying what failed: that is how a test fails.

pub mod close;
pub mod error;
pub mod mariadb;
pub mod mosquitto;
pub mod net;
pub mod postgres;
pub mod scratch;
pub mod series;
pub mod server;
pub mod tls;
pub mod tmpfs;

pub use close::{assert_all_close, assert_all_close_rel};
pub use error::{Error, Result};
pub use mariadb::{create_database, mariadb};
pub use mosquitto::{mosquitto, mosquitto_acl, mosquitto_tls};
pub use net::{free_port, http, http_get, wait_port};
pub use postgres::postgres;
pub use scratch::Scratch;
pub use series::{Noise, Series};
pub use server::{Launch, Server};
pub use tls::{Certificates, certificates};
pub use tmpfs::Tmpfs;
