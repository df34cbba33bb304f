//! Timestamps: text in the common formats or numeric epochs, read into
//! milliseconds since the Unix epoch (UTC; timestamps without an offset are
//! taken as UTC).

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// What [`parse_text`] accepts, for error messages.
pub const FORMATS_HINT: &str = "accepted: RFC 3339, 'YYYY-MM-DD hh:mm[:ss[.fff]]' with ' ' or 'T', \
     'YYYY/MM/DD hh:mm[:ss]', 'DD.MM.YYYY hh:mm[:ss]', a date alone, or epoch seconds/milliseconds";

/// Names recognised as the timestamp column when none is given (case-insensitive).
pub const TIMESTAMP_NAMES: &[&str] = &["timestamp", "datetime", "date_time", "time", "date", "ts"];

/// Unit of numeric (epoch) timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EpochUnit {
    /// Seconds when |value| < 10^11 (before the year 5138), else milliseconds.
    #[default]
    Auto,
    /// Seconds since 1970-01-01 UTC.
    Seconds,
    /// Milliseconds since 1970-01-01 UTC.
    Millis,
}

/// Converts an epoch number to milliseconds.
pub fn from_epoch(value: f64, unit: EpochUnit) -> Option<i64> {
    if !value.is_finite() {
        return None;
    }
    let ms = match unit {
        EpochUnit::Seconds => value * 1000.0,
        EpochUnit::Millis => value,
        EpochUnit::Auto if value.abs() < 1e11 => value * 1000.0,
        EpochUnit::Auto => value,
    };
    let ms = ms.round();
    (ms.abs() < 9.0e15).then_some(ms as i64)
}

const DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%d.%m.%Y %H:%M:%S%.f",
    "%d.%m.%Y %H:%M",
];

const DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y"];

/// Parses a textual timestamp into epoch milliseconds.
pub fn parse_text(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.timestamp_millis());
    }
    for format in DATETIME_FORMATS {
        if let Ok(dt) = NaiveDateTime::parse_from_str(text, format) {
            return Some(dt.and_utc().timestamp_millis());
        }
    }
    for format in DATE_FORMATS {
        if let Ok(date) = NaiveDate::parse_from_str(text, format) {
            return date.and_hms_opt(0, 0, 0).map(|dt| dt.and_utc().timestamp_millis());
        }
    }
    match text.parse::<f64>() {
        Ok(v) => from_epoch(v, EpochUnit::Auto),
        Err(_) => None,
    }
}

/// Formats epoch milliseconds as `YYYY-MM-DD hh:mm:ss[.fff]` (UTC).
pub fn format_millis(ms: i64) -> String {
    match DateTime::from_timestamp_millis(ms) {
        Some(dt) if ms % 1000 == 0 => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
        Some(dt) => dt.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        None => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_common_formats() {
        let base = 1_583_748_873_000; // 2020-03-09 10:14:33 UTC
        assert_eq!(parse_text("2020-03-09 10:14:33"), Some(base));
        assert_eq!(parse_text("2020-03-09T10:14:33"), Some(base));
        assert_eq!(parse_text("2020-03-09T10:14:33Z"), Some(base));
        assert_eq!(parse_text("2020-03-09T12:14:33+02:00"), Some(base));
        assert_eq!(parse_text("2020-03-09 10:14:33.250"), Some(base + 250));
        assert_eq!(parse_text("2020-03-09 10:14:33.000000"), Some(base));
        assert_eq!(parse_text("2020/03/09 10:14:33"), Some(base));
        assert_eq!(parse_text("09.03.2020 10:14:33"), Some(base));
        assert_eq!(parse_text("2020-03-09 10:14"), Some(base - 33_000));
        assert_eq!(parse_text("2020-03-09"), Some(base - 36_873_000));
        assert_eq!(parse_text("1583748873"), Some(base));
        assert_eq!(parse_text("1583748873000"), Some(base));
        assert_eq!(parse_text("1583748873.5"), Some(base + 500));
        assert_eq!(parse_text("yesterday"), None);
        assert_eq!(parse_text("2020-13-09 10:14:33"), None);
    }

    #[test]
    fn epoch_units() {
        assert_eq!(from_epoch(1.5, EpochUnit::Seconds), Some(1500));
        assert_eq!(from_epoch(1500.0, EpochUnit::Millis), Some(1500));
        assert_eq!(from_epoch(f64::NAN, EpochUnit::Auto), None);
    }

    #[test]
    fn formats_round_trip() {
        let ms = parse_text("2014-07-01 00:30:00").unwrap();
        assert_eq!(format_millis(ms), "2014-07-01 00:30:00");
        assert_eq!(format_millis(ms + 5), "2014-07-01 00:30:00.005");
    }
}
