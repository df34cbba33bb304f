//! Real servers for the in-crate tests: telltale-testing's harness (Mosquitto, PostgreSQL, MariaDB on loopback,
//! stopped when dropped), under the names the tests have always used.

pub(crate) use telltale_testing::{free_port, mariadb, mosquitto, mosquitto_tls, postgres};
