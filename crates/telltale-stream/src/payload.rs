//! Reading payloads: JSON, one reading or a batch.
//!
//! ```text
//! {"ts": 1718000000123, "values": {"x": 0.12, "y": -0.5}}     named values
//! {"ts": "2024-06-10T06:13:20Z", "x": 0.12, "y": -0.5}       flat
//! [{"ts": …, "x": …}, …]   or   {"readings": [ … ]}           a batch
//! ```
//!
//! The timestamp is `ts`, `time` or `timestamp`: epoch seconds or
//! milliseconds, or text in the formats `telltale-core` reads; without one
//! the reading takes the time it arrived. Values are numbers or numeric
//! strings; in the flat form, text fields named like metadata (`device`,
//! `id`, `name`, `unit`, `type`, `sensor`) are ignored, any other
//! non-numeric field is an error.

use serde_json::{Map, Value};
use telltale_core::timestamp::{EpochUnit, from_epoch, parse_text};

use crate::error::{Error, Result};

/// Keys that hold the timestamp.
pub const TIME_KEYS: &[&str] = &["ts", "time", "timestamp"];

/// Text fields of a flat payload that are not readings.
pub const METADATA_KEYS: &[&str] = &["device", "id", "name", "unit", "type", "sensor"];

/// One reading of one device.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Epoch milliseconds, `None` when the payload gave none.
    pub ts: Option<i64>,
    /// Named values, in the payload's order.
    pub values: Vec<(String, f64)>,
}

/// Parses `payload` (received on `topic`, named in errors) into readings.
pub fn parse(topic: &str, payload: &[u8]) -> Result<Vec<Reading>> {
    let value: Value =
        serde_json::from_slice(payload).map_err(|e| Error::malformed(topic, format!("not JSON: {e}")))?;
    match value {
        Value::Array(items) => items.iter().enumerate().map(|(i, v)| one(topic, v, Some(i))).collect(),
        Value::Object(ref map) => match map.get("readings") {
            Some(Value::Array(items)) => items.iter().enumerate().map(|(i, v)| one(topic, v, Some(i))).collect(),
            Some(_) => Err(Error::malformed(topic, "\"readings\" must be an array")),
            None => Ok(vec![one(topic, &value, None)?]),
        },
        _ => Err(Error::malformed(topic, "expected a JSON object or an array of objects")),
    }
}

fn one(topic: &str, value: &Value, index: Option<usize>) -> Result<Reading> {
    let at = |reason: String| match index {
        Some(i) => Error::malformed(topic, format!("reading {i}: {reason}")),
        None => Error::malformed(topic, reason),
    };
    let Value::Object(map) = value else {
        return Err(at("expected a JSON object".into()));
    };
    let mut ts = None;
    for key in TIME_KEYS {
        if let Some(v) = map.get(*key) {
            ts = Some(timestamp(v).ok_or_else(|| at(format!("{key}: {v} is not a timestamp")))?);
        }
    }
    let values = match map.get("values") {
        Some(Value::Object(named)) => fields(named, false).map_err(at)?,
        Some(_) => return Err(at("\"values\" must be an object of named numbers".into())),
        None => fields(map, true).map_err(at)?,
    };
    if values.is_empty() {
        return Err(at("no values".into()));
    }
    Ok(Reading { ts, values })
}

fn fields(map: &Map<String, Value>, flat: bool) -> std::result::Result<Vec<(String, f64)>, String> {
    let mut out = Vec::with_capacity(map.len());
    for (key, v) in map {
        if flat && TIME_KEYS.contains(&key.as_str()) {
            continue;
        }
        let number = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match number {
            Some(x) if x.is_finite() => out.push((key.clone(), x)),
            _ if flat && v.is_string() && METADATA_KEYS.contains(&key.as_str()) => {}
            _ => return Err(format!("field {key:?}: {v} is not a number")),
        }
    }
    Ok(out)
}

fn timestamp(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => from_epoch(n.as_f64()?, EpochUnit::Auto),
        Value::String(s) => parse_text(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Vec<Reading> {
        parse("sensors/d1/x", text.as_bytes()).expect(text)
    }

    fn err(text: &str) -> String {
        parse("sensors/d1/x", text.as_bytes()).expect_err(text).to_string()
    }

    #[test]
    fn the_three_shapes_are_read() {
        let named = ok(r#"{"ts": 1718000000123, "values": {"x": 0.5, "y": "-1.25"}}"#);
        assert_eq!(
            named,
            vec![Reading { ts: Some(1_718_000_000_123), values: vec![("x".into(), 0.5), ("y".into(), -1.25)] }]
        );
        let flat = ok(r#"{"time": "2024-06-10T06:13:20Z", "device": "esp32", "x": 1}"#);
        assert_eq!(flat[0].ts, Some(1_718_000_000_000));
        assert_eq!(flat[0].values, vec![("x".into(), 1.0)]);
        let seconds = ok(r#"{"ts": 1718000000, "x": 1}"#);
        assert_eq!(seconds[0].ts, Some(1_718_000_000_000));
        let batch = ok(r#"[{"ts": 1, "x": 1}, {"ts": 2, "x": 2}]"#);
        assert_eq!(batch.len(), 2);
        let wrapped = ok(r#"{"readings": [{"x": 1}, {"x": 2}, {"x": 3}]}"#);
        assert_eq!(wrapped.len(), 3);
        assert_eq!(wrapped[0].ts, None, "no timestamp: the arrival time is used later");
    }

    #[test]
    fn bad_payloads_name_the_topic_and_the_field() {
        assert!(err("{not json").starts_with("sensors/d1/x: not JSON"));
        assert_eq!(err(r#"{"x": "high"}"#), r#"sensors/d1/x: field "x": "high" is not a number"#);
        assert_eq!(err(r#"{"x": null}"#), r#"sensors/d1/x: field "x": null is not a number"#);
        assert_eq!(err(r#"{"ts": "yesterday", "x": 1}"#), r#"sensors/d1/x: ts: "yesterday" is not a timestamp"#);
        assert_eq!(err(r#"[{"x": 1}, 5]"#), "sensors/d1/x: reading 1: expected a JSON object");
        assert_eq!(err(r#"{"ts": 5}"#), "sensors/d1/x: no values");
        assert_eq!(err("42"), "sensors/d1/x: expected a JSON object or an array of objects");
        assert_eq!(err(r#"{"values": [1, 2]}"#), "sensors/d1/x: \"values\" must be an object of named numbers");
    }
}
