//! The alert outbox: alerts wait here until a channel confirms them, retried until then.

use sqlx::{AssertSqlSafe, Row};

use super::Store;
use super::types::{AlertCounts, AlertRow};
use crate::error::{Error, Result};

impl Store {
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
}
