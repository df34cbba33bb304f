//! What an audit of the database reads (the chaos bench): every stored reading's key, and keys stored twice.

use sqlx::Row;

use super::Store;
use crate::error::Result;

impl Store {
    /// The key (device, epoch ms) of every stored reading, in no particular order.
    pub async fn reading_keys(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT device, ts FROM readings")
            .fetch_all(&self.pool)
            .await
            .map_err(self.err("cannot read the readings' keys"))?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("device").map_err(self.err("a readings row"))?,
                    r.try_get("ts").map_err(self.err("a readings row"))?,
                ))
            })
            .collect()
    }

    /// Keys (device, ts) held by more than one row of `readings`: readings stored twice. The table's key makes
    /// this 0 unless the schema was changed by hand; an audit counts it rather than assume it.
    pub async fn readings_stored_twice(&self) -> Result<u64> {
        let sql = "SELECT COUNT(*) AS n FROM (SELECT device, ts FROM readings GROUP BY device, ts \
                   HAVING COUNT(*) > 1) twice";
        let row = sqlx::query(sql).fetch_one(&self.pool).await.map_err(self.err("cannot audit the readings"))?;
        let n: i64 = row.try_get("n").map_err(self.err("a count"))?;
        Ok(n.max(0) as u64)
    }
}
