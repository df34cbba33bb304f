//! The batch commit: readings, anomalies and the alerts they raise, in one transaction.

use sqlx::AssertSqlSafe;

use super::types::{Batch, Committed, TopSensor};
use super::{Store, finite};
use crate::error::Result;

/// Rows of a bulk insert per statement (3 parameters each: under every server's limit; fewer, larger statements
/// store faster).
const CHUNK: usize = 1024;

impl Store {
    /// Writes `batch` in one transaction; returns what was new.
    ///
    /// A connection whose transaction failed is closed, never reused: a rollback that could not be written (SQLite
    /// on a full disk) leaves it inside the transaction, holding the write lock, and a later "transaction" on it
    /// would only be a savepoint of that one, reported committed and never written.
    pub async fn commit(&self, batch: &Batch) -> Result<Committed> {
        let mut conn = self.pool.acquire().await.map_err(self.err("cannot reach the database"))?;
        let result = self.commit_on(&mut conn, batch).await;
        if result.is_err() {
            conn.close_on_drop();
        }
        result
    }

    async fn commit_on(&self, conn: &mut sqlx::pool::PoolConnection<sqlx::Any>, batch: &Batch) -> Result<Committed> {
        let mut done = Committed::default();
        let mut tx = sqlx::Connection::begin(&mut **conn).await.map_err(self.err("cannot begin a transaction"))?;
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
}
