//! Labels from a JSON file of labelled time intervals, such as NAB's
//! `combined_windows.json`: a row is anomalous when its timestamp lies inside
//! an interval (bounds inclusive).

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::timestamp;

/// Labelled time intervals, inclusive at both ends, in epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intervals {
    /// The key of the series in the file (empty for a plain list).
    pub key: String,
    /// `[start, end]` pairs.
    pub spans: Vec<(i64, i64)>,
}

impl Intervals {
    /// Reads the intervals of one series from a JSON file: either an object
    /// mapping series keys to lists of `[start, end]` (NAB's
    /// `combined_windows.json`) or a plain list of `[start, end]`.
    ///
    /// With an object and no `key`, the series is the one key equal to
    /// `data_file`'s name or ending in `/` + that name.
    pub fn read(path: &Path, key: Option<&str>, data_file: &Path) -> Result<Intervals> {
        let err = |message: String| Error::Intervals { path: path.to_owned(), message };
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| Error::Json { path: path.to_owned(), source })?;
        let (key, list) = match &json {
            serde_json::Value::Array(_) => (String::new(), &json),
            serde_json::Value::Object(map) => {
                let map: BTreeMap<&String, &serde_json::Value> = map.iter().collect();
                let chosen = match key {
                    Some(k) => k.to_owned(),
                    None => {
                        let name = data_file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                        let hits: Vec<&&String> =
                            map.keys().filter(|k| **k == &name || k.ends_with(&format!("/{name}"))).collect();
                        match hits.as_slice() {
                            [one] => (**one).clone(),
                            [] => {
                                return Err(err(format!(
                                    "no key for '{name}'; pass the key (keys: {})",
                                    join_keys(&map)
                                )));
                            }
                            _ => {
                                return Err(err(format!("several keys match '{name}'; pass one of them")));
                            }
                        }
                    }
                };
                let list =
                    map.get(&chosen).ok_or_else(|| err(format!("no key '{chosen}' (keys: {})", join_keys(&map))))?;
                (chosen, *list)
            }
            _ => return Err(err("expected a JSON object or list".into())),
        };
        parse_spans(path, key, list)
    }

    /// Reads every series of a JSON object mapping series keys to lists of
    /// `[start, end]` (NAB's `combined_windows.json`), in key order.
    pub fn read_all(path: &Path) -> Result<Vec<Intervals>> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
        Intervals::parse_all(path, &text)
    }

    /// [`Intervals::read_all`] on the file's text; `path` names it in errors.
    pub fn parse_all(path: &Path, text: &str) -> Result<Vec<Intervals>> {
        let err = |message: String| Error::Intervals { path: path.to_owned(), message };
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|source| Error::Json { path: path.to_owned(), source })?;
        let map = json.as_object().ok_or_else(|| err("expected a JSON object of series keys".into()))?;
        let map: BTreeMap<&String, &serde_json::Value> = map.iter().collect();
        map.into_iter().map(|(key, list)| parse_spans(path, key.clone(), list)).collect()
    }

    /// 1 for every timestamp inside an interval (bounds inclusive), else 0.
    pub fn label(&self, timestamps: &[i64]) -> Vec<u8> {
        timestamps.iter().map(|t| u8::from(self.spans.iter().any(|&(a, b)| a <= *t && *t <= b))).collect()
    }
}

/// The `[start, end]` list of one series.
fn parse_spans(path: &Path, key: String, list: &serde_json::Value) -> Result<Intervals> {
    let err = |message: String| Error::Intervals { path: path.to_owned(), message };
    let items = list.as_array().ok_or_else(|| err(format!("'{key}': expected a list of [start, end]")))?;
    let mut spans = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let pair = item
            .as_array()
            .filter(|p| p.len() == 2)
            .ok_or_else(|| err(format!("'{key}', interval {}: expected [start, end]", i + 1)))?;
        let mut ends = [0i64; 2];
        for (end, v) in ends.iter_mut().zip(pair) {
            *end = match v {
                serde_json::Value::String(s) => timestamp::parse_text(s),
                serde_json::Value::Number(n) => n.as_f64().and_then(|f| timestamp::from_epoch(f, Default::default())),
                _ => None,
            }
            .ok_or_else(|| err(format!("'{key}', interval {}: cannot read {v} as a timestamp", i + 1)))?;
        }
        if ends[0] > ends[1] {
            return Err(err(format!("'{key}', interval {}: start is after end", i + 1)));
        }
        spans.push((ends[0], ends[1]));
    }
    Ok(Intervals { key, spans })
}

fn join_keys(map: &BTreeMap<&String, &serde_json::Value>) -> String {
    map.keys().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nab_windows() {
        let dir = std::env::temp_dir().join(format!("telltale-label-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("windows.json");
        std::fs::write(
            &path,
            r#"{"realKnownCause/nyc_taxi.csv": [["2014-11-02 00:00:00.000000", "2014-11-02 12:00:00.000000"]],
                "realKnownCause/other.csv": []}"#,
        )
        .unwrap();
        let iv = Intervals::read(&path, None, Path::new("data/nyc_taxi.csv")).unwrap();
        assert_eq!(iv.key, "realKnownCause/nyc_taxi.csv");
        let ts: Vec<i64> = ["2014-11-01 23:30:00", "2014-11-02 00:00:00", "2014-11-02 12:00:00", "2014-11-02 12:30:00"]
            .iter()
            .map(|s| timestamp::parse_text(s).unwrap())
            .collect();
        assert_eq!(iv.label(&ts), vec![0, 1, 1, 0]);
        let err = Intervals::read(&path, None, Path::new("x.csv")).unwrap_err().to_string();
        assert!(err.contains("no key for 'x.csv'"), "{err}");
        std::fs::write(&path, r#"[["2014-11-02", "oops"]]"#).unwrap();
        let err = Intervals::read(&path, None, Path::new("x.csv")).unwrap_err().to_string();
        assert!(err.contains("interval 1: cannot read \"oops\""), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
