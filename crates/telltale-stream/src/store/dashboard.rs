//! What the dashboard and its API read and record: anomalies, the alert feed, acknowledgements, threshold
//! changes, readings and row counts.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::types::{Ack, AnomalyRow, Delivery, FeedItem, ThresholdChange};
use super::{Store, finite};
use crate::error::{Error, Result};

impl Store {
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
        rows.iter().map(|r| self.threshold_change(r)).collect()
    }

    /// The `limit` latest threshold changes, oldest first, and how many are recorded in all.
    pub async fn recent_threshold_changes(&self, limit: u32) -> Result<(Vec<ThresholdChange>, u64)> {
        let rows = sqlx::query(
            "SELECT id, device, is_model, value, cleared, changed_ms, changed_by FROM threshold_changes \
             ORDER BY id DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(self.err("cannot read threshold changes"))?;
        let mut changes = rows.iter().map(|r| self.threshold_change(r)).collect::<Result<Vec<_>>>()?;
        changes.reverse();
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM threshold_changes")
            .fetch_one(&self.pool)
            .await
            .map_err(self.err("cannot count threshold changes"))?;
        Ok((changes, u64::try_from(total).unwrap_or(0)))
    }

    fn threshold_change(&self, r: &sqlx::any::AnyRow) -> Result<ThresholdChange> {
        let e = |s: sqlx::Error| Error::database(format!("{}: a threshold_changes row", self.name))(s);
        let is_model: i64 = r.try_get("is_model").map_err(e)?;
        let cleared: i64 = r.try_get("cleared").map_err(e)?;
        Ok(ThresholdChange {
            id: r.try_get("id").map_err(e)?,
            device: (is_model == 0).then(|| r.try_get("device")).transpose().map_err(e)?,
            value: (cleared == 0).then(|| r.try_get("value")).transpose().map_err(e)?,
            changed_ms: r.try_get("changed_ms").map_err(e)?,
            by: r.try_get("changed_by").map_err(e)?,
        })
    }
}
