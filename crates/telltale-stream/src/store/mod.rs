//! Storage: readings, anomalies and the alert outbox, in SQLite (the
//! default, WAL), PostgreSQL or MySQL/MariaDB, chosen by URL.
//!
//! One [`Store::commit`] writes a batch in one transaction: the readings,
//! the anomalies and the alerts they raise. Readings are keyed by
//! `(device, ts)` and anomalies by `(device, end_ms)`, so a batch delivered
//! twice (an MQTT redelivery after a crash) stores nothing twice and queues
//! no alert twice. Alerts wait in the `alerts` table until a sink confirms
//! them: nothing is dropped when a sink is down.
//!
//! One file per concern: `types` (the rows), `schema` (the tables in each
//! dialect's words), `url` (which dialect a URL names, and [`redact`]),
//! `batch` ([`Store::commit`]), `outbox` (the alert queue) and `dashboard`
//! (what the dashboard and its API read and record). A new dialect is a
//! [`Dialect`] variant, its arm in `url::normalise`, its column words in
//! `schema::schema` and its `INSERT … ignore` form in [`Store`]'s
//! `insert_ignore`.

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, AssertSqlSafe, Executor};

use crate::error::{Error, Result};

mod audit;
mod batch;
mod dashboard;
mod outbox;
mod schema;
#[cfg(test)]
pub(crate) mod tests;
mod types;
mod url;

pub use types::{
    Ack, AlertCounts, AlertRow, AnomalyRow, Batch, Committed, Delivery, Dialect, FeedItem, NewAnomaly, ReadingRow,
    ThresholdChange, TopSensor,
};
pub use url::redact;

/// A database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// The URL with any password hidden, for messages.
    name: String,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and its tables.
    ///
    /// `sqlite://PATH` or a bare path is a SQLite file (created, WAL journal); `postgres://…`,
    /// `postgresql://…`, `mysql://…` and `mariadb://…` are servers.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (dialect, url) = self::url::normalise(url)?;
        let name = redact(&url);
        let options = AnyPoolOptions::new().max_connections(if dialect == Dialect::Sqlite { 4 } else { 8 });
        let options = options.after_connect(move |conn, _| {
            Box::pin(async move {
                if dialect == Dialect::Sqlite {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                }
                Ok(())
            })
        });
        let pool = options.connect(&url).await.map_err(Error::database(format!("cannot open {name}")))?;
        let store = Store { pool, dialect, name };
        for statement in schema::schema(dialect) {
            store.pool.execute(AssertSqlSafe(statement)).await.map_err(store.err("cannot create the tables"))?;
        }
        Ok(store)
    }

    /// The database's dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The URL with any password hidden.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn err(&self, what: &str) -> impl FnOnce(sqlx::Error) -> Error {
        Error::database(format!("{}: {what}", self.name))
    }

    /// `?` placeholders in the dialect's form (`$1, $2, …` for PostgreSQL).
    fn sql(&self, query: &str) -> String {
        if self.dialect != Dialect::Postgres {
            return query.to_owned();
        }
        let mut out = String::with_capacity(query.len() + 16);
        let mut n = 0;
        for ch in query.chars() {
            if ch == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(ch);
            }
        }
        out
    }

    /// `INSERT` that skips rows whose key exists.
    fn insert_ignore(&self, table: &str, columns: &[&str], rows: usize) -> String {
        let one = format!("({})", vec!["?"; columns.len()].join(", "));
        let values = vec![one.as_str(); rows].join(", ");
        let tail = format!("INTO {table} ({}) VALUES {values}", columns.join(", "));
        self.sql(&match self.dialect {
            // MySQL reports a duplicate's no-op update as a found row; IGNORE reports it as none. (Device names
            // are at most 191 bytes, the key's width, so IGNORE never hides a truncation.)
            Dialect::MySql => format!("INSERT IGNORE {tail}"),
            Dialect::Sqlite | Dialect::Postgres => format!("INSERT {tail} ON CONFLICT DO NOTHING"),
        })
    }

    /// This database's instance id: 16 random hex digits made the first time it is asked for, the same ever
    /// after (the service's MQTT client id is `telltale-` and it, unless one is configured).
    pub async fn instance_id(&self) -> Result<String> {
        let select = self.sql("SELECT value FROM instance WHERE name = ?");
        let read = || sqlx::query_scalar::<_, String>(AssertSqlSafe(select.clone())).bind("id");
        if let Some(id) = read().fetch_optional(&self.pool).await.map_err(self.err("cannot read the instance id"))? {
            return Ok(id);
        }
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes).map_err(|e| Error::config("instance id", format!("no randomness: {e}")))?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let insert = self.insert_ignore("instance", &["name", "value"], 1);
        sqlx::query(AssertSqlSafe(insert))
            .bind("id")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(self.err("cannot record the instance id"))?;
        // Another instance on the same database may have won the race: its id is the one kept.
        read().fetch_one(&self.pool).await.map_err(self.err("cannot read the instance id"))
    }

    /// A trivial query: is the database there?
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await.map_err(self.err("not answering"))?;
        Ok(())
    }

    /// Closes every connection (after the last commit).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A score a database can hold: infinities (a sliding band before its history fills) become ±f64::MAX.
fn finite(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(f64::MIN, f64::MAX) }
}
