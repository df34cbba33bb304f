//! Storage: readings, anomalies and the alert outbox, in SQLite (the
//! default, WAL), PostgreSQL or MySQL/MariaDB, chosen by URL.
//!
//! One [`Store::commit`] writes a batch in one transaction: the readings,
//! the anomalies and the alerts they raise. Readings are keyed by
//! `(device, ts)` and anomalies by `(device, end_ms)`, so a batch delivered
//! twice (an MQTT redelivery after a crash) stores nothing twice and queues
//! no alert twice. Alerts wait in the `alerts` table until a sink confirms
//! them: nothing is dropped when a sink is down.

use serde::Serialize;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row};

use crate::detect::Decision;
use crate::error::{Error, Result};

/// Which SQL the database speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (a file).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

/// A reading to store: its device, time (epoch ms) and values as a JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingRow {
    /// The device.
    pub device: String,
    /// Epoch ms.
    pub ts: i64,
    /// The values, a JSON object `{"feature": value, …}`.
    pub data: String,
}

/// An anomaly to store, with the alerts to queue if it is new.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAnomaly {
    /// The decision that flagged it.
    pub decision: Decision,
    /// When it was detected (epoch ms).
    pub detected_ms: i64,
    /// One alert per sink to notify: (sink name, payload).
    pub alerts: Vec<(String, String)>,
}

/// One write: everything a stretch of messages produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Readings (stored only when the service stores readings).
    pub readings: Vec<ReadingRow>,
    /// Anomalies.
    pub anomalies: Vec<NewAnomaly>,
}

/// What a commit added (duplicates are not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Committed {
    /// New readings.
    pub readings: u64,
    /// New anomalies.
    pub anomalies: u64,
    /// Alerts queued.
    pub alerts: u64,
}

/// A sensor's part of an anomaly score.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct TopSensor {
    /// The sensor (feature) name.
    pub sensor: String,
    /// Its part of the score.
    pub part: f64,
}

impl TopSensor {
    /// The top sensors of `d`, largest first.
    pub fn of(d: &Decision) -> Vec<TopSensor> {
        d.top.iter().map(|(s, p)| TopSensor { sensor: s.clone(), part: *p }).collect()
    }
}

/// A stored anomaly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnomalyRow {
    /// Row id.
    pub id: i64,
    /// The device.
    pub device: String,
    /// First reading of the window (epoch ms).
    pub start_ms: i64,
    /// Last reading of the window (epoch ms).
    pub end_ms: i64,
    /// The score.
    pub score: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// The sensors contributing most.
    pub top: Vec<TopSensor>,
    /// When it was detected (epoch ms).
    pub detected_ms: i64,
}

/// A queued alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    /// Row id.
    pub id: i64,
    /// The sink to send it through.
    pub sink: String,
    /// The device.
    pub device: String,
    /// The anomaly's last reading (epoch ms).
    pub end_ms: i64,
    /// What to send (JSON).
    pub payload: String,
    /// Attempts so far.
    pub attempts: i64,
}

/// Alerts by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AlertCounts {
    /// Waiting to be sent (including retries).
    pub pending: u64,
    /// Delivered.
    pub sent: u64,
}

/// One delivery of an anomaly's alert, as the feed shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// The sink.
    pub sink: String,
    /// `sent`, `pending` (not tried yet) or `failed` (tried, failing; retried).
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The last failure's message (empty once sent).
    pub last_error: String,
}

/// An acknowledgement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ack {
    /// When (epoch ms).
    pub acked_ms: i64,
    /// By whom (as given).
    pub by: String,
}

/// An anomaly with its alerts' deliveries and its acknowledgement: one line of the alert feed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedItem {
    /// The anomaly.
    #[serde(flatten)]
    pub anomaly: AnomalyRow,
    /// Its alerts, one per sink.
    pub deliveries: Vec<Delivery>,
    /// Its acknowledgement, if any.
    pub ack: Option<Ack>,
}

/// A recorded threshold change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdChange {
    /// Row id.
    pub id: i64,
    /// The device, or `None` for the model (every device without its own).
    pub device: Option<String>,
    /// The new threshold; `None`: cleared (back to the model's rule).
    pub value: Option<f64>,
    /// When (epoch ms).
    pub changed_ms: i64,
    /// By whom (as given).
    pub by: String,
}

/// Rows of a bulk insert per statement (3 parameters each: under every server's limit; fewer, larger statements
/// store faster).
const CHUNK: usize = 1024;

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
        let (dialect, url) = normalise(url)?;
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
        for statement in schema(dialect) {
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

    /// Writes `batch` in one transaction; returns what was new.
    pub async fn commit(&self, batch: &Batch) -> Result<Committed> {
        let mut done = Committed::default();
        let mut tx = self.pool.begin().await.map_err(self.err("cannot begin a transaction"))?;
        for chunk in batch.readings.chunks(CHUNK) {
            let sql = self.insert_ignore("readings", &["device", "ts", "data"], chunk.len());
            let mut q = sqlx::query(AssertSqlSafe(sql.clone()));
            for r in chunk {
                q = q.bind(r.device.as_str()).bind(r.ts).bind(r.data.as_str());
            }
            let result = q.execute(&mut *tx).await.map_err(self.err("cannot store readings"))?;
            done.readings += result.rows_affected();
        }
        let anomaly_sql = self.insert_ignore(
            "anomalies",
            &["device", "start_ms", "end_ms", "score", "threshold", "top", "detected_ms"],
            1,
        );
        let alert_sql = self.sql(
            "INSERT INTO alerts (sink, device, end_ms, payload, status, attempts, next_ms, last_error, sent_ms) \
             VALUES (?, ?, ?, ?, 'pending', 0, ?, '', 0)",
        );
        for a in &batch.anomalies {
            let d = &a.decision;
            let top = serde_json::to_string(&TopSensor::of(d)).unwrap_or_else(|_| "[]".into());
            let result = sqlx::query(AssertSqlSafe(anomaly_sql.clone()))
                .bind(d.device.as_str())
                .bind(d.start_ms)
                .bind(d.end_ms)
                .bind(finite(d.score))
                .bind(finite(d.threshold))
                .bind(top)
                .bind(a.detected_ms)
                .execute(&mut *tx)
                .await
                .map_err(self.err("cannot store an anomaly"))?;
            // A duplicate (already stored) queues nothing.
            if result.rows_affected() == 0 {
                continue;
            }
            done.anomalies += 1;
            for (sink, payload) in &a.alerts {
                sqlx::query(AssertSqlSafe(alert_sql.clone()))
                    .bind(sink.as_str())
                    .bind(d.device.as_str())
                    .bind(d.end_ms)
                    .bind(payload.as_str())
                    .bind(a.detected_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.err("cannot queue an alert"))?;
                done.alerts += 1;
            }
        }
        tx.commit().await.map_err(self.err("cannot commit"))?;
        Ok(done)
    }

    /// Stored anomalies, newest first (by the end of their window), at most `limit`, of one device or all.
    pub async fn anomalies(&self, device: Option<&str>, limit: i64) -> Result<Vec<AnomalyRow>> {
        self.anomaly_rows(device, false, limit).await
    }

    /// Anomalies newest first; `alerted`: only those that raised an alert.
    async fn anomaly_rows(&self, device: Option<&str>, alerted: bool, limit: i64) -> Result<Vec<AnomalyRow>> {
        let mut filters = Vec::new();
        if device.is_some() {
            filters.push("device = ?");
        }
        if alerted {
            filters.push("EXISTS (SELECT 1 FROM alerts WHERE alerts.device = anomalies.device AND alerts.end_ms = anomalies.end_ms)");
        }
        let filter = if filters.is_empty() { String::new() } else { format!("WHERE {} ", filters.join(" AND ")) };
        let sql = self.sql(&format!(
            "SELECT id, device, start_ms, end_ms, score, threshold, top, detected_ms FROM anomalies {filter}\
             ORDER BY end_ms DESC, id DESC LIMIT ?"
        ));
        let mut q = sqlx::query(AssertSqlSafe(sql.clone()));
        if let Some(d) = device {
            q = q.bind(d);
        }
        let rows = q.bind(limit).fetch_all(&self.pool).await.map_err(self.err("cannot read anomalies"))?;
        rows.iter().map(|r| self.anomaly(r)).collect()
    }

    fn anomaly(&self, r: &AnyRow) -> Result<AnomalyRow> {
        let e = |s: sqlx::Error| Error::database(format!("{}: an anomalies row", self.name))(s);
        let top: String = r.try_get("top").map_err(e)?;
        Ok(AnomalyRow {
            id: r.try_get("id").map_err(e)?,
            device: r.try_get("device").map_err(e)?,
            start_ms: r.try_get("start_ms").map_err(e)?,
            end_ms: r.try_get("end_ms").map_err(e)?,
            score: r.try_get("score").map_err(e)?,
            threshold: r.try_get("threshold").map_err(e)?,
            top: serde_json::from_str(&top).unwrap_or_default(),
            detected_ms: r.try_get("detected_ms").map_err(e)?,
        })
    }

    /// Alerts due for an attempt at `now_ms`, oldest first, at most `limit`.
    pub async fn due_alerts(&self, now_ms: i64, limit: i64) -> Result<Vec<AlertRow>> {
        let sql = self.sql(
            "SELECT id, sink, device, end_ms, payload, attempts FROM alerts \
             WHERE status = 'pending' AND next_ms <= ? ORDER BY id LIMIT ?",
        );
        let rows = sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(self.err("cannot read the alert queue"))?;
        let e = |s: sqlx::Error| Error::database(format!("{}: an alerts row", self.name))(s);
        rows.iter()
            .map(|r| {
                Ok(AlertRow {
                    id: r.try_get("id").map_err(e)?,
                    sink: r.try_get("sink").map_err(e)?,
                    device: r.try_get("device").map_err(e)?,
                    end_ms: r.try_get("end_ms").map_err(e)?,
                    payload: r.try_get("payload").map_err(e)?,
                    attempts: r.try_get("attempts").map_err(e)?,
                })
            })
            .collect()
    }

    /// Marks alert `id` delivered at `now_ms`.
    pub async fn alert_sent(&self, id: i64, now_ms: i64) -> Result<()> {
        let sql = self.sql(
            "UPDATE alerts SET status = 'sent', attempts = attempts + 1, sent_ms = ?, last_error = '' WHERE id = ?",
        );
        sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(now_ms)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(self.err("cannot mark an alert"))?;
        Ok(())
    }

    /// Records a failed attempt of alert `id`: the next one is due at `next_ms`.
    pub async fn alert_failed(&self, id: i64, next_ms: i64, error: &str) -> Result<()> {
        let sql = self.sql("UPDATE alerts SET attempts = attempts + 1, next_ms = ?, last_error = ? WHERE id = ?");
        sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(next_ms)
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(self.err("cannot mark an alert"))?;
        Ok(())
    }

    /// Alerts by state.
    pub async fn alert_counts(&self) -> Result<AlertCounts> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM alerts GROUP BY status")
            .fetch_all(&self.pool)
            .await
            .map_err(self.err("cannot count alerts"))?;
        let mut counts = AlertCounts::default();
        for r in rows {
            let status: String = r.try_get("status").map_err(self.err("an alert count"))?;
            let n: i64 = r.try_get("n").map_err(self.err("an alert count"))?;
            match status.as_str() {
                "pending" => counts.pending = n as u64,
                "sent" => counts.sent = n as u64,
                _ => {}
            }
        }
        Ok(counts)
    }

    /// Stored readings of `device` with `from_ms ≤ ts ≤ to_ms`, oldest first: (ts, JSON values).
    pub async fn readings(&self, device: &str, from_ms: i64, to_ms: i64, limit: i64) -> Result<Vec<(i64, String)>> {
        let sql =
            self.sql("SELECT ts, data FROM readings WHERE device = ? AND ts >= ? AND ts <= ? ORDER BY ts LIMIT ?");
        let rows = sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(device)
            .bind(from_ms)
            .bind(to_ms)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(self.err("cannot read readings"))?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("ts").map_err(self.err("a readings row"))?,
                    r.try_get("data").map_err(self.err("a readings row"))?,
                ))
            })
            .collect()
    }

    /// Rows in `table` (`readings`, `anomalies` or `alerts`).
    pub async fn count(&self, table: &str) -> Result<u64> {
        if !["readings", "anomalies", "alerts", "acks", "threshold_changes"].contains(&table) {
            return Err(Error::config("table", format!("{table:?} is not one of telltale's")));
        }
        let row = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table}")))
            .fetch_one(&self.pool)
            .await
            .map_err(self.err("cannot count rows"))?;
        let n: i64 = row.try_get("n").map_err(self.err("a count"))?;
        Ok(n as u64)
    }

    /// The alert feed: the newest `limit` anomalies with their deliveries and acknowledgements; `alerted`: only
    /// those that raised an alert (the rest fell within a device's alert cooldown).
    pub async fn feed(&self, limit: i64, alerted: bool) -> Result<Vec<FeedItem>> {
        let anomalies = self.anomaly_rows(None, alerted, limit).await?;
        let (Some(first_end), Some(first_id)) =
            (anomalies.iter().map(|a| a.end_ms).min(), anomalies.iter().map(|a| a.id).min())
        else {
            return Ok(Vec::new());
        };
        let sql = self
            .sql("SELECT sink, device, end_ms, status, attempts, last_error FROM alerts WHERE end_ms >= ? ORDER BY id");
        let alerts = sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(first_end)
            .fetch_all(&self.pool)
            .await
            .map_err(self.err("cannot read alerts"))?;
        let e = |s: sqlx::Error| Error::database(format!("{}: an alerts row", self.name))(s);
        let mut deliveries: Vec<(String, i64, Delivery)> = Vec::with_capacity(alerts.len());
        for r in &alerts {
            let status: String = r.try_get("status").map_err(e)?;
            let attempts: i64 = r.try_get("attempts").map_err(e)?;
            let status = match (status.as_str(), attempts) {
                ("sent", _) => "sent",
                (_, 0) => "pending",
                _ => "failed",
            };
            deliveries.push((
                r.try_get("device").map_err(e)?,
                r.try_get("end_ms").map_err(e)?,
                Delivery {
                    sink: r.try_get("sink").map_err(e)?,
                    status: status.into(),
                    attempts,
                    last_error: r.try_get("last_error").map_err(e)?,
                },
            ));
        }
        let sql = self.sql("SELECT anomaly_id, acked_ms, acked_by FROM acks WHERE anomaly_id >= ?");
        let acks = sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(first_id)
            .fetch_all(&self.pool)
            .await
            .map_err(self.err("cannot read acknowledgements"))?;
        let e = |s: sqlx::Error| Error::database(format!("{}: an acks row", self.name))(s);
        let mut acked = std::collections::HashMap::new();
        for r in &acks {
            let id: i64 = r.try_get("anomaly_id").map_err(e)?;
            acked
                .insert(id, Ack { acked_ms: r.try_get("acked_ms").map_err(e)?, by: r.try_get("acked_by").map_err(e)? });
        }
        Ok(anomalies
            .into_iter()
            .map(|a| {
                let mine = deliveries.iter().filter(|(d, end, _)| *d == a.device && *end == a.end_ms);
                FeedItem { deliveries: mine.map(|(_, _, d)| d.clone()).collect(), ack: acked.remove(&a.id), anomaly: a }
            })
            .collect())
    }

    /// Acknowledges anomaly `id` at `now_ms` by `by`; `false` when there is no such anomaly. Acknowledging
    /// twice keeps the first.
    pub async fn acknowledge(&self, id: i64, now_ms: i64, by: &str) -> Result<bool> {
        let sql = self.sql("SELECT COUNT(*) AS n FROM anomalies WHERE id = ?");
        let row = sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(self.err("cannot find the anomaly"))?;
        let n: i64 = row.try_get("n").map_err(self.err("a count"))?;
        if n == 0 {
            return Ok(false);
        }
        let sql = self.insert_ignore("acks", &["anomaly_id", "acked_ms", "acked_by"], 1);
        sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(id)
            .bind(now_ms)
            .bind(by)
            .execute(&self.pool)
            .await
            .map_err(self.err("cannot store the acknowledgement"))?;
        Ok(true)
    }

    /// Records a threshold change: `device` `None` is the model's, `value` `None` clears it.
    pub async fn record_threshold(
        &self,
        device: Option<&str>,
        value: Option<f64>,
        now_ms: i64,
        by: &str,
    ) -> Result<()> {
        let sql = self.sql(
            "INSERT INTO threshold_changes (device, is_model, value, cleared, changed_ms, changed_by) \
             VALUES (?, ?, ?, ?, ?, ?)",
        );
        sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(device.unwrap_or(""))
            .bind(i64::from(device.is_none()))
            .bind(finite(value.unwrap_or(0.0)))
            .bind(i64::from(value.is_none()))
            .bind(now_ms)
            .bind(by)
            .execute(&self.pool)
            .await
            .map_err(self.err("cannot record the threshold change"))?;
        Ok(())
    }

    /// Every recorded threshold change, oldest first (replaying them gives the thresholds in force).
    pub async fn threshold_changes(&self) -> Result<Vec<ThresholdChange>> {
        let rows = sqlx::query(
            "SELECT id, device, is_model, value, cleared, changed_ms, changed_by FROM threshold_changes ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(self.err("cannot read threshold changes"))?;
        let e = |s: sqlx::Error| Error::database(format!("{}: a threshold_changes row", self.name))(s);
        rows.iter()
            .map(|r| {
                let is_model: i64 = r.try_get("is_model").map_err(e)?;
                let cleared: i64 = r.try_get("cleared").map_err(e)?;
                Ok(ThresholdChange {
                    id: r.try_get("id").map_err(e)?,
                    device: (is_model == 0).then(|| r.try_get("device")).transpose().map_err(e)?,
                    value: (cleared == 0).then(|| r.try_get("value")).transpose().map_err(e)?,
                    changed_ms: r.try_get("changed_ms").map_err(e)?,
                    by: r.try_get("changed_by").map_err(e)?,
                })
            })
            .collect()
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

/// The dialect of `url` and the URL sqlx opens.
fn normalise(url: &str) -> Result<(Dialect, String)> {
    let bad = |reason: &str| Error::config(format!("database URL {:?}", redact(url)), reason);
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    match scheme {
        "" | "sqlite" => {
            let path = rest.strip_prefix("sqlite:").unwrap_or(rest);
            if path.is_empty() {
                return Err(bad("names no file"));
            }
            let query = if path.contains('?') { "" } else { "?mode=rwc" };
            Ok((Dialect::Sqlite, format!("sqlite://{path}{query}")))
        }
        "postgres" | "postgresql" => Ok((Dialect::Postgres, format!("postgres://{rest}"))),
        "mysql" | "mariadb" => Ok((Dialect::MySql, format!("mysql://{rest}"))),
        _ => Err(bad("use sqlite://FILE, postgres://… or mysql://…")),
    }
}

/// `url` with the password replaced by `***`.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").map_or(("", url), |(s, r)| (s, r));
    let (auth, host) = match rest.rsplit_once('@') {
        Some(parts) => parts,
        None => return url.to_owned(),
    };
    let scheme = if scheme.is_empty() { String::new() } else { format!("{scheme}://") };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// The tables, in the dialect's words.
fn schema(dialect: Dialect) -> Vec<String> {
    let (id, key, double) = match dialect {
        Dialect::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT", "DOUBLE PRECISION"),
        Dialect::Postgres => ("BIGSERIAL PRIMARY KEY", "TEXT", "DOUBLE PRECISION"),
        Dialect::MySql => ("BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY", "VARCHAR(191)", "DOUBLE"),
    };
    let rowid = if dialect == Dialect::Sqlite { " WITHOUT ROWID" } else { "" };
    let due_inline = if dialect == Dialect::MySql { ", INDEX alerts_due (status, next_ms)" } else { "" };
    let mut statements = vec![
        format!(
            "CREATE TABLE IF NOT EXISTS readings (device {key} NOT NULL, ts BIGINT NOT NULL, data TEXT NOT NULL, \
             PRIMARY KEY (device, ts)){rowid}"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS anomalies (id {id}, device {key} NOT NULL, start_ms BIGINT NOT NULL, \
             end_ms BIGINT NOT NULL, score {double} NOT NULL, threshold {double} NOT NULL, top TEXT NOT NULL, \
             detected_ms BIGINT NOT NULL, UNIQUE (device, end_ms))"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS alerts (id {id}, sink {key} NOT NULL, device {key} NOT NULL, \
             end_ms BIGINT NOT NULL, payload TEXT NOT NULL, status VARCHAR(16) NOT NULL, attempts BIGINT NOT NULL, \
             next_ms BIGINT NOT NULL, last_error TEXT NOT NULL, sent_ms BIGINT NOT NULL{due_inline})"
        ),
    ];
    statements.push(
        "CREATE TABLE IF NOT EXISTS acks (anomaly_id BIGINT NOT NULL PRIMARY KEY, acked_ms BIGINT NOT NULL, \
         acked_by TEXT NOT NULL)"
            .into(),
    );
    statements.push(format!(
        "CREATE TABLE IF NOT EXISTS threshold_changes (id {id}, device {key} NOT NULL, is_model BIGINT NOT NULL, \
         value {double} NOT NULL, cleared BIGINT NOT NULL, changed_ms BIGINT NOT NULL, changed_by TEXT NOT NULL)"
    ));
    if dialect != Dialect::MySql {
        statements.push("CREATE INDEX IF NOT EXISTS alerts_due ON alerts (status, next_ms)".into());
        statements.push("CREATE INDEX IF NOT EXISTS anomalies_end ON anomalies (end_ms)".into());
    }
    statements
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An anomaly of `device` ending at `end_ms`, raising one alert per sink named.
    pub(crate) fn anomaly(device: &str, end_ms: i64, sinks: &[&str]) -> NewAnomaly {
        NewAnomaly {
            decision: Decision {
                device: device.into(),
                start_ms: end_ms - 10,
                end_ms,
                score: 0.9,
                threshold: 0.5,
                anomalous: true,
                top: vec![("x".into(), 0.7), ("y".into(), 0.2)],
            },
            detected_ms: end_ms + 1,
            alerts: sinks.iter().map(|s| (s.to_string(), format!("{{\"device\":\"{device}\"}}"))).collect(),
        }
    }

    fn reading(device: &str, ts: i64) -> ReadingRow {
        ReadingRow { device: device.into(), ts, data: format!("{{\"x\":{ts}}}") }
    }

    /// The behaviour every dialect must show; run on SQLite here and on real servers in tests/databases.rs.
    pub(crate) async fn exercise(store: &Store) {
        let batch = Batch {
            readings: (0..600).map(|t| reading(if t % 2 == 0 { "a" } else { "b" }, t)).collect(),
            anomalies: vec![anomaly("a", 100, &["webhook", "sms"]), anomaly("b", 300, &["webhook"])],
        };
        let first = store.commit(&batch).await.expect("commit");
        assert_eq!(first, Committed { readings: 600, anomalies: 2, alerts: 3 });
        // Delivered again (a redelivery): nothing new, no alert twice.
        let again = store.commit(&batch).await.expect("commit again");
        assert_eq!(again, Committed::default());
        assert_eq!(store.count("readings").await.expect("count"), 600);

        let newest = store.anomalies(None, 10).await.expect("anomalies");
        assert_eq!(newest.iter().map(|a| a.end_ms).collect::<Vec<_>>(), [300, 100]);
        assert_eq!(newest[1].top[0], TopSensor { sensor: "x".into(), part: 0.7 });
        assert_eq!(newest[1].start_ms, 90);
        assert!((newest[0].score - 0.9).abs() < 1e-12);
        let of_a = store.anomalies(Some("a"), 10).await.expect("anomalies of a");
        assert_eq!(of_a.len(), 1);

        let due = store.due_alerts(i64::MAX, 10).await.expect("due");
        assert_eq!(due.len(), 3);
        assert_eq!((due[0].sink.as_str(), due[0].device.as_str(), due[0].end_ms), ("webhook", "a", 100));
        store.alert_sent(due[0].id, 5).await.expect("sent");
        store.alert_failed(due[1].id, 1_000, "sms gateway down").await.expect("failed");
        let later = store.due_alerts(999, 10).await.expect("due");
        assert_eq!(later.iter().map(|a| a.id).collect::<Vec<_>>(), [due[2].id], "the failed one waits");
        let retry = store.due_alerts(1_000, 10).await.expect("due");
        assert_eq!(retry.len(), 2);
        assert_eq!(retry[0].attempts, 1);
        assert_eq!(store.alert_counts().await.expect("counts"), AlertCounts { pending: 2, sent: 1 });

        // The feed: newest anomaly first, its deliveries (one failed, retried) and acknowledgements.
        let feed = store.feed(10, false).await.expect("feed");
        assert_eq!(feed.iter().map(|f| f.anomaly.end_ms).collect::<Vec<_>>(), [300, 100]);
        // An anomaly in a device's cooldown raised no alert: in the whole list, not in the alerted one.
        store.commit(&Batch { readings: Vec::new(), anomalies: vec![anomaly("a", 200, &[])] }).await.expect("quiet");
        let all = store.feed(10, false).await.expect("feed");
        assert_eq!(all.iter().map(|f| f.anomaly.end_ms).collect::<Vec<_>>(), [300, 200, 100]);
        assert!(all[1].deliveries.is_empty());
        let alerted = store.feed(10, true).await.expect("alerted");
        assert_eq!(alerted.iter().map(|f| f.anomaly.end_ms).collect::<Vec<_>>(), [300, 100]);
        let states: Vec<(&str, &str)> =
            feed[1].deliveries.iter().map(|d| (d.sink.as_str(), d.status.as_str())).collect();
        assert_eq!(states, [("webhook", "sent"), ("sms", "failed")]);
        assert_eq!(feed[1].deliveries[1].last_error, "sms gateway down");
        assert_eq!(feed[0].deliveries[0].status, "pending");
        assert!(feed.iter().all(|f| f.ack.is_none()));
        assert!(store.acknowledge(feed[1].anomaly.id, 77, "ops").await.expect("ack"));
        assert!(store.acknowledge(feed[1].anomaly.id, 99, "late").await.expect("ack again"), "kept, not doubled");
        assert!(!store.acknowledge(123_456, 77, "ops").await.expect("no such anomaly"));
        let feed = store.feed(10, true).await.expect("feed");
        assert_eq!(feed[1].ack, Some(Ack { acked_ms: 77, by: "ops".into() }));
        assert_eq!(store.count("acks").await.expect("count"), 1);
        // Threshold changes, replayed in order.
        store.record_threshold(None, Some(2.5), 10, "ops").await.expect("model");
        store.record_threshold(Some("a"), Some(0.75), 11, "ops").await.expect("device");
        store.record_threshold(Some("a"), None, 12, "ops").await.expect("clear");
        let changes = store.threshold_changes().await.expect("changes");
        let seen: Vec<(Option<&str>, Option<f64>, i64)> =
            changes.iter().map(|c| (c.device.as_deref(), c.value, c.changed_ms)).collect();
        assert_eq!(seen, [(None, Some(2.5), 10), (Some("a"), Some(0.75), 11), (Some("a"), None, 12)]);

        let rows = store.readings("a", 10, 14, 100).await.expect("readings");
        assert_eq!(rows, [(10, "{\"x\":10}".to_owned()), (12, "{\"x\":12}".to_owned()), (14, "{\"x\":14}".to_owned())]);
        store.ping().await.expect("ping");
    }

    #[tokio::test]
    async fn sqlite_stores_once_and_keeps_the_alert_queue() {
        let dir = std::env::temp_dir().join(format!("telltale-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("t.db");
        let _ = std::fs::remove_file(&path);
        let store = Store::open(path.to_str().expect("utf-8")).await.expect("open");
        assert_eq!(store.dialect(), Dialect::Sqlite);
        exercise(&store).await;
        let mode: String =
            sqlx::query("PRAGMA journal_mode").fetch_one(&store.pool).await.expect("pragma").try_get(0).expect("mode");
        assert_eq!(mode, "wal");
        store.close().await;
        // Reopening finds the same rows (the tables are not recreated).
        let store = Store::open(&format!("sqlite://{}", path.display())).await.expect("reopen");
        assert_eq!(store.count("anomalies").await.expect("count"), 3);
        store.close().await;
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    /// Opens `url`, retrying while the server finishes starting (at most 30 s).
    async fn open_when_ready(url: &str) -> Store {
        let start = std::time::Instant::now();
        loop {
            match Store::open(url).await {
                Ok(s) => return s,
                Err(e) if start.elapsed() < std::time::Duration::from_secs(30) => {
                    tracing::debug!("waiting for {url}: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[tokio::test]
    async fn postgresql_behaves_like_sqlite() {
        let server = crate::testing::postgres();
        let store = open_when_ready(&server.url).await;
        assert_eq!(store.dialect(), Dialect::Postgres);
        exercise(&store).await;
        store.close().await;
    }

    #[tokio::test]
    async fn mariadb_behaves_like_sqlite() {
        let server = crate::testing::mariadb();
        let root = server.url.trim_end_matches("/telltale");
        sqlx::any::install_default_drivers();
        let start = std::time::Instant::now();
        loop {
            let created = async {
                let pool = sqlx::AnyPool::connect(root).await?;
                pool.execute("CREATE DATABASE IF NOT EXISTS telltale").await?;
                pool.close().await;
                Ok::<_, sqlx::Error>(())
            };
            match created.await {
                Ok(()) => break,
                Err(e) if start.elapsed() < std::time::Duration::from_secs(30) => {
                    tracing::debug!("waiting for mariadb: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(e) => panic!("{e}\n{}", server.log()),
            }
        }
        let store = open_when_ready(&server.url).await;
        assert_eq!(store.dialect(), Dialect::MySql);
        exercise(&store).await;
        store.close().await;
    }

    #[test]
    fn urls_pick_the_dialect_and_hide_passwords() {
        assert_eq!(normalise("telltale.db").expect("path"), (Dialect::Sqlite, "sqlite://telltale.db?mode=rwc".into()));
        assert_eq!(normalise("postgresql://u:p@h/db").expect("pg").0, Dialect::Postgres);
        assert_eq!(normalise("mariadb://u:p@h/db").expect("maria"), (Dialect::MySql, "mysql://u:p@h/db".into()));
        let e = normalise("redis://u:secret@h").expect_err("unknown");
        assert!(!e.to_string().contains("secret") && e.to_string().contains("postgres://"), "{e}");
        assert_eq!(redact("mysql://root:pw@127.0.0.1:3306/t"), "mysql://root:***@127.0.0.1:3306/t");
        assert_eq!(redact("root:pw@host"), "root:***@host", "no scheme");
    }
}
