//! The tables, in each dialect's words (created if missing when a store opens).

use super::types::Dialect;

/// The tables, in the dialect's words.
pub(super) fn schema(dialect: Dialect) -> Vec<String> {
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
    statements
        .push(format!("CREATE TABLE IF NOT EXISTS instance (name {key} NOT NULL PRIMARY KEY, value TEXT NOT NULL)"));
    if dialect != Dialect::MySql {
        statements.push("CREATE INDEX IF NOT EXISTS alerts_due ON alerts (status, next_ms)".into());
        statements.push("CREATE INDEX IF NOT EXISTS anomalies_end ON anomalies (end_ms)".into());
    }
    statements
}
