//! A deployment on loopback: `telltale serve` as its own process (so it can be killed), its broker (its own
//! embedded one, or Mosquitto) and its database (SQLite, PostgreSQL, MariaDB), each a real process the
//! scenarios can kill, stop and start again.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use telltale_stream::ServeConfig;
use telltale_stream::config::AlertsConfig;
use telltale_testing::{Server, Tmpfs, free_port, http};

use crate::error::{Context, Error, Result};

/// The broker a scenario runs through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BrokerKind {
    /// `serve`'s own (rumqttd), which lives and dies with the service.
    Embedded,
    /// Debian's Mosquitto with persistence, a process of its own.
    Mosquitto,
}

/// The database a scenario stores into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DbKind {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
    /// A MariaDB server.
    Mariadb,
}

impl DbKind {
    /// The kind named `name` (`sqlite`, `postgres`, `mariadb`).
    pub fn parse(name: &str) -> Result<DbKind> {
        match name {
            "sqlite" => Ok(DbKind::Sqlite),
            "postgres" | "postgresql" => Ok(DbKind::Postgres),
            "mariadb" | "mysql" => Ok(DbKind::Mariadb),
            other => Err(Error::Failed(format!("--db {other:?}: expected sqlite, postgres or mariadb"))),
        }
    }
}

/// What the service is configured with, beyond where its parts are.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The webhook alerts are POSTed to.
    pub webhook: String,
    /// `max_payload`.
    pub max_payload: usize,
    /// `max_devices`.
    pub max_devices: usize,
}

/// A running deployment; everything it started is stopped when it is dropped.
#[derive(Debug)]
pub struct Deployment {
    exe: PathBuf,
    dir: PathBuf,
    config: PathBuf,
    serve: Option<Child>,
    /// Mosquitto, when the scenario runs through it.
    pub mosquitto: Option<Server>,
    /// PostgreSQL or MariaDB, when the scenario stores there.
    pub database: Option<Server>,
    /// The small filesystem holding the SQLite file, when the scenario fills it.
    pub tmpfs: Option<Tmpfs>,
    /// The database's URL.
    pub db_url: String,
    /// Where devices publish (127.0.0.1).
    pub broker_port: u16,
    /// The service's HTTP port (127.0.0.1).
    pub http_port: u16,
}

impl Deployment {
    /// Starts the broker and database of `broker` and `db` in `dir` (SQLite on `tmpfs` when given), writes the
    /// service's configuration and starts `exe serve` on it, returning once `/health` answers.
    pub fn start(
        exe: &Path,
        dir: &Path,
        broker: BrokerKind,
        db: DbKind,
        tmpfs: Option<Tmpfs>,
        settings: &Settings,
    ) -> Result<Deployment> {
        std::fs::create_dir_all(dir).context_with(|| format!("cannot create {}", dir.display()))?;
        let model = dir.join("model.ttm");
        std::fs::write(&model, super::model::bytes()?).context_with(|| format!("cannot write {}", model.display()))?;
        let mosquitto = match broker {
            BrokerKind::Mosquitto => Some(Server::start(telltale_testing::mosquitto::launch()?)?),
            BrokerKind::Embedded => None,
        };
        let (database, db_url) = match db {
            DbKind::Sqlite => {
                let folder = tmpfs.as_ref().map_or(dir, |t| t.dir());
                (None, format!("sqlite://{}", folder.join("chaos.db").display()))
            }
            DbKind::Postgres => {
                let server = Server::start(telltale_testing::postgres::launch()?)?;
                let url = server.url.clone();
                (Some(server), url)
            }
            DbKind::Mariadb => {
                let server = Server::start(telltale_testing::mariadb::launch()?)?;
                telltale_testing::create_database(&server, "telltale")?;
                let url = server.url.clone();
                (Some(server), url)
            }
        };
        let broker_port = mosquitto.as_ref().map_or_else(free_port, |m| m.port);
        let http_port = free_port();
        let config = ServeConfig {
            model: model.display().to_string(),
            broker: mosquitto.as_ref().map(|m| m.url.clone()).unwrap_or_default(),
            listen: format!("127.0.0.1:{broker_port}"),
            db: db_url.clone(),
            http: format!("127.0.0.1:{http_port}"),
            store_readings: true,
            max_payload: settings.max_payload,
            max_devices: settings.max_devices,
            alerts: AlertsConfig {
                cooldown_s: 0.0,
                webhook: settings.webhook.clone(),
                mqtt_topic: String::new(),
                timeout_s: 2.0,
                ..AlertsConfig::default()
            },
            ..ServeConfig::default()
        };
        config.check()?;
        let path = dir.join("serve.toml");
        std::fs::write(&path, config.to_toml()).context_with(|| format!("cannot write {}", path.display()))?;
        let mut deployment = Deployment {
            exe: exe.to_owned(),
            dir: dir.to_owned(),
            config: path,
            serve: None,
            mosquitto,
            database,
            tmpfs,
            db_url,
            broker_port,
            http_port,
        };
        deployment.start_serve()?;
        Ok(deployment)
    }

    /// Starts `serve` (again) and waits until `/health` answers, at most 60 s.
    pub fn start_serve(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("serve.log"))
            .context_with(|| "cannot open the service's log".into())?;
        let child = Command::new(&self.exe)
            .args(["serve", "--config", &self.config.display().to_string(), "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context_with(|| format!("cannot start {} serve", self.exe.display()))?;
        self.serve = Some(child);
        let start = Instant::now();
        while self.health().is_none() {
            if let Some(child) = self.serve.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(Error::Failed(format!("serve exited ({status}); its log:\n{}", self.log())));
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err(Error::Failed(format!("serve's /health did not answer in 60 s; its log:\n{}", self.log())));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// The service's log (stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }

    /// The service's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.serve.as_ref().map(Child::id)
    }

    /// Kills the service without warning (SIGKILL).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.serve.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the service as a service manager does (SIGTERM); the seconds it took to exit (SIGKILL after 30).
    pub fn stop_serve(&mut self) -> Option<f64> {
        let mut child = self.serve.take()?;
        let start = Instant::now();
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        while start.elapsed() < Duration::from_secs(30) {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return Some(start.elapsed().as_secs_f64());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// `/health`'s status code, `None` when nothing answers.
    pub fn health(&self) -> Option<u16> {
        http(self.http_port, "GET", "/health", None).map(|(status, _)| status)
    }

    /// `/metrics`' text (empty when nothing answers).
    pub fn metrics(&self) -> String {
        http(self.http_port, "GET", "/metrics", None).map(|(_, body)| body).unwrap_or_default()
    }

    /// The service's resident memory (bytes), from /proc.
    pub fn rss_bytes(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let kb: u64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }
}

/// A counter of `/metrics` text (`name` with its labels as written), 0 when absent.
pub fn metric(text: &str, name: &str) -> u64 {
    text.lines().filter_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()).next().unwrap_or(0)
}

impl Drop for Deployment {
    fn drop(&mut self) {
        self.kill9();
        // The servers go with their own drops (processes killed, folders removed); the service's folder here.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_is_read_by_its_name_and_labels() {
        let text = "# HELP x\ntelltale_dropped_total{reason=\"oversized\"} 7\ntelltale_dropped_total{reason=\"future\"} 2\n\
                    telltale_readings_total 12\n";
        assert_eq!(metric(text, "telltale_dropped_total{reason=\"oversized\"}"), 7);
        assert_eq!(metric(text, "telltale_readings_total"), 12);
        assert_eq!(metric(text, "telltale_readings"), 0, "a prefix of another name is not it");
        assert_eq!(metric(text, "telltale_nothing"), 0);
    }

    #[test]
    fn database_kinds_are_named() {
        assert_eq!(DbKind::parse("postgres").ok(), Some(DbKind::Postgres));
        assert_eq!(DbKind::parse("mysql").ok(), Some(DbKind::Mariadb));
        let e = DbKind::parse("oracle").expect_err("unknown");
        assert!(e.to_string().contains("sqlite, postgres or mariadb"), "{e}");
    }
}
