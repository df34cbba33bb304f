//! Topic patterns: `sensors/{device}/#` names which level holds the device
//! id; `+` matches one level and a final `#` any number (MQTT's wildcards).

use crate::error::{Error, Result};

/// Longest device name (bytes): what every database's key column holds.
pub const MAX_DEVICE_BYTES: usize = 191;

/// A parsed topic pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPattern {
    text: String,
    levels: Vec<Level>,
    device: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Level {
    Exact(String),
    One,
    Device,
    Rest,
}

impl TopicPattern {
    /// Parses `pattern`, which must hold `{device}` once as a whole level.
    pub fn new(pattern: &str) -> Result<TopicPattern> {
        let bad = |reason: &str| Error::config(format!("topic pattern {pattern:?}"), reason);
        let parts: Vec<&str> = pattern.split('/').collect();
        let mut levels = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            levels.push(match *part {
                "{device}" => Level::Device,
                "+" => Level::One,
                "#" if i + 1 == parts.len() => Level::Rest,
                "#" => return Err(bad("'#' may only be the last level")),
                p if p.contains(['+', '#', '{', '}']) => {
                    return Err(bad("wildcards and {device} must be whole levels"));
                }
                p => Level::Exact(p.to_owned()),
            });
        }
        let mut devices = levels.iter().enumerate().filter(|(_, l)| **l == Level::Device);
        let device = devices.next().map(|(i, _)| i).ok_or_else(|| bad("needs a {device} level"))?;
        if devices.next().is_some() {
            return Err(bad("holds {device} more than once"));
        }
        Ok(TopicPattern { text: pattern.to_owned(), levels, device })
    }

    /// The MQTT subscription filter (`{device}` becomes `+`).
    pub fn filter(&self) -> String {
        self.levels
            .iter()
            .map(|l| match l {
                Level::Exact(s) => s.as_str(),
                Level::One | Level::Device => "+",
                Level::Rest => "#",
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The device id in `topic`.
    pub fn device<'t>(&self, topic: &'t str) -> Result<&'t str> {
        let parts: Vec<&str> = topic.split('/').collect();
        let fits = match self.levels.last() {
            Some(Level::Rest) => parts.len() + 1 >= self.levels.len(),
            _ => parts.len() == self.levels.len(),
        };
        let matches = fits
            && self.levels.iter().zip(&parts).all(|(l, p)| match l {
                Level::Exact(s) => s == p,
                Level::Device => !p.is_empty(),
                Level::One | Level::Rest => true,
            });
        if !matches {
            return Err(Error::Topic { topic: topic.to_owned(), pattern: self.text.clone() });
        }
        let device = parts[self.device];
        if device.len() > MAX_DEVICE_BYTES {
            return Err(Error::malformed(topic, format!("device name longer than {MAX_DEVICE_BYTES} bytes")));
        }
        Ok(device)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_is_read_from_its_level() {
        let p = TopicPattern::new("sensors/{device}/#").expect("pattern");
        assert_eq!(p.filter(), "sensors/+/#");
        assert_eq!(p.device("sensors/esp32-1/telemetry").expect("match"), "esp32-1");
        assert_eq!(p.device("sensors/esp32-1").expect("# matches no level too"), "esp32-1");
        assert!(p.device("other/esp32-1/x").is_err());
        assert!(p.device("sensors//x").is_err(), "an empty device id");
        let q = TopicPattern::new("site/+/{device}/data").expect("pattern");
        assert_eq!(q.filter(), "site/+/+/data");
        assert_eq!(q.device("site/a/m7/data").expect("match"), "m7");
        assert!(q.device("site/a/m7/data/more").is_err());
        let long = format!("sensors/{}/x", "d".repeat(MAX_DEVICE_BYTES + 1));
        assert!(p.device(&long).expect_err("too long").to_string().contains("longer than 191 bytes"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in ["sensors/#/x", "sensors/+", "a/{device}/{device}", "a/dev{device}"] {
            assert!(TopicPattern::new(bad).is_err(), "{bad}");
        }
    }
}
