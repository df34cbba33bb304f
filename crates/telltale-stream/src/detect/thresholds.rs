//! Thresholds set while the service runs (on the dashboard, through the
//! API), in place of the model file's: read by the detector for every
//! window it judges.

use std::collections::HashMap;
use std::sync::RwLock;

use serde::Serialize;

/// Thresholds set while the service runs: one for the model (every device)
/// and one per device; a device's own wins. Unset: the model file's rule.
#[derive(Debug, Default)]
pub struct Thresholds {
    inner: RwLock<Overrides>,
}

/// The thresholds in force beside the model file's.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Overrides {
    /// For every device without its own.
    pub model: Option<f64>,
    /// Per device.
    pub devices: HashMap<String, f64>,
}

impl Thresholds {
    /// The threshold set for `device` (its own, else the model's), if any.
    pub fn get(&self, device: &str) -> Option<f64> {
        let o = self.inner.read().unwrap_or_else(|e| e.into_inner());
        o.devices.get(device).copied().or(o.model)
    }

    /// Sets (`Some`) or clears (`None`) the threshold of `device`, or the model's when `device` is `None`.
    pub fn set(&self, device: Option<&str>, value: Option<f64>) {
        let mut o = self.inner.write().unwrap_or_else(|e| e.into_inner());
        match (device, value) {
            (None, v) => o.model = v,
            (Some(d), Some(v)) => {
                o.devices.insert(d.to_owned(), v);
            }
            (Some(d), None) => {
                o.devices.remove(d);
            }
        }
    }

    /// A copy of what is set.
    pub fn snapshot(&self) -> Overrides {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_threshold_wins_over_the_model_one() {
        let t = Thresholds::default();
        assert_eq!(t.get("a"), None);
        t.set(None, Some(2.0));
        t.set(Some("a"), Some(5.0));
        assert_eq!((t.get("a"), t.get("b")), (Some(5.0), Some(2.0)));
        t.set(Some("a"), None);
        assert_eq!(t.get("a"), Some(2.0));
        t.set(None, None);
        assert_eq!(t.snapshot(), Overrides::default());
    }
}
