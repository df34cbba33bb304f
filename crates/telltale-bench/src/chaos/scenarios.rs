//! The scenarios, one line each: a deployment (broker, database), a load and a fault.
//!
//! Adding one = a line in [`SCENARIOS`] (and, for a new kind of fault, its variant in [`Fault`] and its steps in
//! `fault.rs`).

use super::deploy::{BrokerKind, DbKind};

/// What the devices send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// `--readings` readings over `--devices` devices, one a message, a spike in fifty.
    Stream,
    /// One reading from each of `--ids` new device names.
    Ids,
    /// Batches exactly at the payload limit, each followed by one a byte over it.
    Payloads,
}

/// What goes wrong, once a third of the load is out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing.
    None,
    /// `serve` killed with SIGKILL, started again a second later.
    KillServe,
    /// Mosquitto restarted (SIGTERM, start) at a third and again at two thirds of the load.
    RestartBroker,
    /// The database server stopped for `--outage-s`, then started again.
    StopDatabase,
    /// The SQLite file's filesystem is small: it fills, then it is grown again.
    FillDisk,
    /// The webhook takes requests and never answers, for `--outage-s`.
    HangWebhook,
}

/// One scenario.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Its name (`--scenarios`).
    pub name: &'static str,
    /// What it does, in words.
    pub about: &'static str,
    /// The broker.
    pub broker: BrokerKind,
    /// The database; `None`: the run's `--db`.
    pub db: Option<DbKind>,
    /// What the devices send.
    pub load: Load,
    /// What goes wrong.
    pub fault: Fault,
    /// Whether the deployment promises that nothing acknowledged is lost and no alert is sent twice (the
    /// embedded broker dies with the service: what it acknowledged and had not handed over is lost).
    pub promise: bool,
}

const fn scenario(
    name: &'static str,
    about: &'static str,
    broker: BrokerKind,
    db: Option<DbKind>,
    load: Load,
    fault: Fault,
) -> Scenario {
    let promise = matches!(broker, BrokerKind::Mosquitto);
    Scenario { name, about, broker, db, load, fault, promise }
}

use BrokerKind::{Embedded, Mosquitto};

/// Every scenario, in the order they run.
pub const SCENARIOS: &[Scenario] = &[
    scenario(
        "kill-serve",
        "serve killed (SIGKILL) mid-stream and restarted",
        Mosquitto,
        None,
        Load::Stream,
        Fault::KillServe,
    ),
    scenario(
        "kill-serve-embedded",
        "serve and its embedded broker killed (SIGKILL) mid-stream and restarted",
        Embedded,
        None,
        Load::Stream,
        Fault::KillServe,
    ),
    scenario(
        "broker-restarts",
        "Mosquitto restarted twice mid-stream",
        Mosquitto,
        None,
        Load::Stream,
        Fault::RestartBroker,
    ),
    scenario(
        "postgres-stopped",
        "PostgreSQL stopped for --outage-s mid-stream, then started",
        Mosquitto,
        Some(DbKind::Postgres),
        Load::Stream,
        Fault::StopDatabase,
    ),
    scenario(
        "mariadb-stopped",
        "MariaDB stopped for --outage-s mid-stream, then started",
        Mosquitto,
        Some(DbKind::Mariadb),
        Load::Stream,
        Fault::StopDatabase,
    ),
    scenario(
        "disk-full",
        "the SQLite file's filesystem fills mid-stream, then grows",
        Mosquitto,
        Some(DbKind::Sqlite),
        Load::Stream,
        Fault::FillDisk,
    ),
    scenario("webhook-hangs", "the webhook hangs for --outage-s", Mosquitto, None, Load::Stream, Fault::HangWebhook),
    scenario(
        "many-devices",
        "--ids new device names, one reading each (memory per device, /health throughout)",
        Embedded,
        Some(DbKind::Sqlite),
        Load::Ids,
        Fault::None,
    ),
    scenario(
        "payload-limit",
        "batches at the payload limit (stored) and a byte over it (refused, counted)",
        Mosquitto,
        None,
        Load::Payloads,
        Fault::None,
    ),
];

/// The scenarios named (every one when `names` is empty); an unknown name is an error listing the known ones.
pub fn select(names: &[String]) -> Result<Vec<Scenario>, String> {
    if names.is_empty() {
        return Ok(SCENARIOS.to_vec());
    }
    names
        .iter()
        .map(|n| {
            SCENARIOS.iter().find(|s| s.name == n).copied().ok_or_else(|| {
                let known: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
                format!("unknown scenario {n:?}; known: {}", known.join(", "))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_are_chosen_by_name() {
        assert_eq!(select(&[]).expect("all").len(), SCENARIOS.len());
        let two = select(&["disk-full".into(), "kill-serve".into()]).expect("known");
        assert_eq!(two.iter().map(|s| s.name).collect::<Vec<_>>(), ["disk-full", "kill-serve"]);
        let e = select(&["meteor".into()]).expect_err("unknown");
        assert!(e.contains("meteor") && e.contains("kill-serve-embedded"), "{e}");
    }

    #[test]
    fn only_the_mosquitto_scenarios_promise_no_loss() {
        for s in SCENARIOS {
            assert_eq!(s.promise, s.broker == Mosquitto, "{}", s.name);
        }
    }
}
