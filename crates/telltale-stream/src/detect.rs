//! Per-device detection: each device keeps its last readings (scaled as in
//! training) in a rolling window sized and strided by the model; every
//! `step` readings once the window is full, the window is scored through
//! telltale-runtime and judged by the model's threshold.
//!
//! A reading must carry every feature the model reads (other fields are
//! ignored) and be later than the device's last one; a reading that breaks
//! either is refused with an error naming its topic, and the device's state
//! is left as it was.

mod thresholds;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use telltale_core::SlidingKSigma;
use telltale_runtime::format::ThresholdSpec;
use telltale_runtime::model::{Batch, Scores};
use telltale_runtime::{Model, Session};

pub use self::thresholds::{Overrides, Thresholds};
use crate::error::{Error, Result};
use crate::payload::Reading;

/// A scored window.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The device.
    pub device: String,
    /// First reading of the window (epoch ms).
    pub start_ms: i64,
    /// Last reading of the window (epoch ms).
    pub end_ms: i64,
    /// The anomaly score (higher = more anomalous).
    pub score: f64,
    /// The threshold it was judged by (sliding: the band's upper edge).
    pub threshold: f64,
    /// Whether it is an anomaly.
    pub anomalous: bool,
    /// The sensors contributing most, largest first, with their parts of the
    /// score (empty for classifiers, whose probability has no parts).
    pub top: Vec<(String, f64)>,
}

/// How many sensors a decision names.
pub const TOP_SENSORS: usize = 3;

/// One device's rolling state.
#[derive(Debug, Clone, Default)]
struct DeviceState {
    /// Scaled rows, oldest first (`window · channels` once full).
    rows: VecDeque<f32>,
    /// Their timestamps.
    ts: VecDeque<i64>,
    /// Readings since the last scored window.
    since: usize,
    /// The last accepted timestamp.
    last: Option<i64>,
    /// A digest of the last accepted reading's values (a repeat at its time must carry the same).
    last_digest: u64,
    /// Recent scores for a sliding threshold.
    scores: VecDeque<f64>,
}

/// Detection for every device, on one model.
#[derive(Debug)]
pub struct Detector {
    model: Model,
    session: Session,
    devices: HashMap<String, DeviceState>,
    /// Rows a device keeps: the input steps, and the predicted ones for a forecaster.
    window: usize,
    /// Buffers reused for every window.
    input: Vec<f32>,
    row: Vec<f32>,
    /// The devices monitored, when only some are.
    allowed: Option<std::collections::HashSet<String>>,
    /// Most devices kept (a flood of new names cannot exhaust memory).
    max_devices: usize,
    /// Thresholds set while the service runs, in place of the model's.
    thresholds: Option<Arc<Thresholds>>,
    /// How far ahead of its arrival a reading may be dated (ms); `None`: any time.
    max_future_ms: Option<i64>,
}

impl Detector {
    /// A detector for `model`.
    pub fn new(model: Model) -> Detector {
        let session = model.network.session(1);
        let h = &model.header;
        let window = h.steps + h.horizon;
        let c = model.channels();
        Detector {
            session,
            devices: HashMap::new(),
            window,
            input: vec![0.0; h.steps * c],
            row: vec![0.0; c],
            model,
            allowed: None,
            max_devices: usize::MAX,
            thresholds: None,
            max_future_ms: None,
        }
    }

    /// Refuses readings dated more than `seconds` after their arrival ([`Error::Future`]): one bad clock must
    /// not become the device's clock.
    pub fn max_future(mut self, seconds: f64) -> Detector {
        self.max_future_ms = Some((seconds * 1000.0).min(i64::MAX as f64 / 2.0) as i64);
        self
    }

    /// Judges windows by the thresholds set in `thresholds` where one is set (a device's own, else the
    /// model's), by the model file's rule elsewhere.
    pub fn with_thresholds(mut self, thresholds: Arc<Thresholds>) -> Detector {
        self.thresholds = Some(thresholds);
        self
    }

    /// Monitors only the devices in `allowed` (all when empty), at most `max_devices` of them; readings of
    /// any other device are refused with [`Error::UnknownDevice`].
    pub fn limit_devices(mut self, allowed: &[String], max_devices: usize) -> Detector {
        self.allowed = (!allowed.is_empty()).then(|| allowed.iter().cloned().collect());
        self.max_devices = max_devices;
        self
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Devices seen so far.
    pub fn devices(&self) -> usize {
        self.devices.len()
    }

    /// Bytes held for the devices' state: their windows, timestamps, score histories, names and the map's slots.
    pub fn state_bytes(&self) -> usize {
        let slot = std::mem::size_of::<String>() + std::mem::size_of::<DeviceState>() + 1;
        let held: usize = self
            .devices
            .iter()
            .map(|(name, s)| {
                name.capacity()
                    + s.rows.capacity() * std::mem::size_of::<f32>()
                    + s.ts.capacity() * std::mem::size_of::<i64>()
                    + s.scores.capacity() * std::mem::size_of::<f64>()
            })
            .sum();
        held + self.devices.capacity() * slot
    }

    /// Takes one reading of `device` (from `topic`); `received_ms` stands in for a missing timestamp.
    /// Returns the decision when the reading completes a window to score.
    pub fn push(&mut self, topic: &str, device: &str, reading: &Reading, received_ms: i64) -> Result<Option<Decision>> {
        let ts = reading.ts.unwrap_or(received_ms);
        let features = &self.model.header.features;
        for (slot, name) in self.row.iter_mut().zip(features) {
            let value = reading.values.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
            *slot = value.ok_or_else(|| {
                Error::malformed(topic, format!("no field {name:?} (the model reads {})", features.join(", ")))
            })? as f32;
        }
        if let Some(max) = self.max_future_ms
            && ts.saturating_sub(received_ms) > max
        {
            let ahead_s = ts.saturating_sub(received_ms) / 1000;
            return Err(Error::Future { topic: topic.to_owned(), ts, ahead_s, max_s: max / 1000 });
        }
        let digest = digest(&self.row);
        if !self.devices.contains_key(device) {
            let unknown = |reason: String| Err(Error::UnknownDevice { topic: topic.to_owned(), reason });
            if self.allowed.as_ref().is_some_and(|a| !a.contains(device)) {
                return unknown(format!("device {device:?} is not in the configured devices"));
            }
            if self.devices.len() >= self.max_devices {
                return unknown(format!(
                    "device {device:?} refused: already {} devices (max_devices)",
                    self.max_devices
                ));
            }
            self.devices.insert(device.to_owned(), DeviceState::default());
        }
        let Some(state) = self.devices.get_mut(device) else {
            return Err(Error::config("device", "state vanished"));
        };
        if let Some(last) = state.last
            && ts <= last
        {
            if ts == last && digest != state.last_digest {
                return Err(Error::Conflict { topic: topic.to_owned(), ts });
            }
            return Err(Error::OutOfOrder { topic: topic.to_owned(), ts, last });
        }
        self.model.scale(&mut self.row);
        let c = self.row.len();
        state.last = Some(ts);
        state.last_digest = digest;
        state.rows.extend(self.row.iter().copied());
        state.ts.push_back(ts);
        if state.ts.len() > self.window {
            state.rows.drain(..c);
            state.ts.pop_front();
        }
        state.since += 1;
        let h = &self.model.header;
        if state.ts.len() < self.window || state.since < h.step.max(1) {
            return Ok(None);
        }
        state.since = 0;

        // Score the window: the first `steps` rows are the input, any further ones the forecast's targets.
        // Rotated in place (no allocation) when the ring has wrapped.
        let rows: &[f32] = state.rows.make_contiguous();
        let steps = h.steps;
        self.input.copy_from_slice(&rows[..steps * c]);
        let outputs = self.model.network.forward(&mut self.session, &self.input, 1)?;
        let mut scores = Scores::default();
        let batch = Batch { windows: 1, steps, channels: c, inputs: &self.input, outputs, targets: &rows[steps * c..] };
        scores.push(h.score, &h.scaler, batch);
        let score = scores.score[0];
        let (anomalous, threshold) = match self.thresholds.as_ref().and_then(|t| t.get(device)) {
            Some(value) => {
                // The model's sliding band keeps its history meanwhile: clearing the threshold resumes it up to date.
                judge(h.threshold, &mut state.scores, score);
                (score >= value, value)
            }
            None => judge(h.threshold, &mut state.scores, score),
        };
        let mut top: Vec<(String, f64)> = features.iter().cloned().zip(scores.per_channel.iter().copied()).collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1));
        top.truncate(TOP_SENSORS);
        Ok(Some(Decision {
            device: device.to_owned(),
            start_ms: state.ts[0],
            end_ms: ts,
            score,
            threshold,
            anomalous,
            top,
        }))
    }
}

/// A digest of a reading's values (FNV-1a over their bits): equal readings, equal digests.
fn digest(values: &[f32]) -> u64 {
    values.iter().fold(0xcbf2_9ce4_8422_2325, |h, v| (h ^ u64::from(v.to_bits())).wrapping_mul(0x0100_0000_01b3))
}

/// Judges `score` by `spec`, keeping the device's recent scores for a sliding band.
fn judge(spec: ThresholdSpec, history: &mut VecDeque<f64>, score: f64) -> (bool, f64) {
    match spec {
        ThresholdSpec::Static { value } => (score >= value, value),
        ThresholdSpec::Sliding { window, k, eps } => {
            let band = SlidingKSigma { window, k, eps };
            let verdict = if history.len() >= window {
                let b = band.band(history.make_contiguous(), None);
                (!b.contains(score), b.hi)
            } else {
                (false, f64::INFINITY)
            };
            history.push_back(score);
            if history.len() > window {
                history.pop_front();
            }
            verdict
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use telltale_runtime::format::{Affine, DenseSpec, Header, LayerSpec, ScoreSpec, to_bytes};

    /// Two features, windows of 2 steps, reconstructing zeros: the score is the mean squared input.
    pub(crate) fn zero_model(threshold: ThresholdSpec, step: usize) -> Model {
        let header = Header {
            format: telltale_runtime::format::FORMAT.into(),
            version: telltale_runtime::format::VERSION,
            producer: "test".into(),
            name: "zeros".into(),
            preset: "dense-ae".into(),
            features: vec!["a".into(), "b".into()],
            steps: 2,
            step,
            horizon: 0,
            scaler: Affine { offset: vec![0.0, 1.0], scale: vec![1.0, 2.0] },
            score: ScoreSpec::Reconstruction,
            threshold,
            layers: vec![LayerSpec::Dense(DenseSpec { weight: "w".into(), bias: "b".into(), relu: false })],
            info: serde_json::Value::Null,
        };
        let tensors = vec![("w".into(), vec![2, 2], vec![0.0; 4]), ("b".into(), vec![2], vec![0.0; 2])];
        Model::from_bytes(&to_bytes(&header, &tensors).expect("bytes")).expect("model")
    }

    fn reading(ts: i64, a: f64, b: f64) -> Reading {
        Reading { ts: Some(ts), values: vec![("b".into(), b), ("a".into(), a), ("rssi".into(), -70.0)] }
    }

    #[test]
    fn windows_are_scored_every_step_once_full() {
        let mut d = Detector::new(zero_model(ThresholdSpec::Static { value: 4.0 }, 1));
        assert_eq!(d.push("t", "d1", &reading(1, 0.0, 1.0), 0).expect("ok"), None, "window not full yet");
        let first = d.push("t", "d1", &reading(2, 2.0, 1.0), 0).expect("ok").expect("scored");
        // Scaled: a as is, b = (b − 1) / 2 → rows (0, 0) and (2, 0): a's MSE 2, b's 0, score 1.
        assert_eq!((first.start_ms, first.end_ms), (1, 2));
        assert!((first.score - 1.0).abs() < 1e-12, "{first:?}");
        assert!(!first.anomalous);
        assert_eq!(first.top[0].0, "a");
        let second = d.push("t", "d1", &reading(3, 4.0, 1.0), 0).expect("ok").expect("scored");
        // Rows (2, 0), (4, 0): a's MSE 10, score 5 ≥ 4.
        assert!((second.score - 5.0).abs() < 1e-12 && second.anomalous && second.start_ms == 2);
        // Another device has its own window.
        assert_eq!(d.push("t", "d2", &reading(1, 9.0, 9.0), 0).expect("ok"), None);
        assert_eq!(d.devices(), 2);
        // Two rows of two features (f32) and two timestamps at least, per device.
        assert!(d.state_bytes() >= 2 * (2 * 2 * 4 + 2 * 8), "{}", d.state_bytes());
    }

    #[test]
    fn devices_beyond_the_allow_list_or_the_limit_are_refused() {
        let model = zero_model(ThresholdSpec::Static { value: 4.0 }, 1);
        let mut d = Detector::new(model.clone()).limit_devices(&["d1".into(), "d2".into()], 100);
        assert!(d.push("t", "d1", &reading(1, 0.0, 1.0), 0).is_ok());
        let e = d.push("sensors/x9", "x9", &reading(1, 0.0, 1.0), 0).expect_err("not allowed");
        assert_eq!(e.to_string(), "sensors/x9: device \"x9\" is not in the configured devices");
        let mut d = Detector::new(model).limit_devices(&[], 2);
        for name in ["a", "b"] {
            assert!(d.push("t", name, &reading(1, 0.0, 1.0), 0).is_ok());
        }
        assert!(matches!(d.push("t", "c", &reading(1, 0.0, 1.0), 0), Err(Error::UnknownDevice { .. })));
        assert!(d.push("t", "a", &reading(2, 0.0, 1.0), 0).is_ok(), "known devices go on");
        assert_eq!(d.devices(), 2);
    }

    #[test]
    fn thresholds_set_while_running_judge_the_next_windows() {
        let thresholds = Arc::new(Thresholds::default());
        let model = zero_model(ThresholdSpec::Static { value: 4.0 }, 1);
        let mut d = Detector::new(model).with_thresholds(thresholds.clone());
        let mut next = |t: i64, device: &str| d.push("t", device, &reading(t, 2.0, 1.0), 0).expect("ok");
        for device in ["d1", "d2"] {
            assert!(next(1, device).is_none(), "window not full yet");
        }
        // Score 2 (rows (2, 0) twice): under the model's 4.
        assert!(!next(2, "d1").expect("scored").anomalous);
        thresholds.set(None, Some(1.5));
        let judged = next(3, "d1").expect("scored");
        assert!(judged.anomalous && judged.threshold == 1.5, "{judged:?}");
        thresholds.set(Some("d1"), Some(3.0));
        assert!(!next(4, "d1").expect("scored").anomalous, "the device's own wins");
        assert!(next(2, "d2").expect("scored").anomalous, "other devices keep the model-wide one");
    }

    #[test]
    fn the_model_step_strides_the_windows() {
        let mut d = Detector::new(zero_model(ThresholdSpec::Static { value: 4.0 }, 2));
        let scored: Vec<bool> =
            (1..=7).map(|t| d.push("t", "d", &reading(t, 0.0, 1.0), 0).expect("ok").is_some()).collect();
        assert_eq!(scored, [false, true, false, true, false, true, false]);
    }

    #[test]
    fn bad_readings_are_refused_and_change_nothing() {
        let mut d = Detector::new(zero_model(ThresholdSpec::Static { value: 4.0 }, 1));
        d.push("t", "d1", &reading(5, 0.0, 1.0), 0).expect("ok");
        let late = d.push("sensors/d1", "d1", &reading(5, 0.0, 1.0), 0).expect_err("duplicate time");
        assert_eq!(late.to_string(), "sensors/d1: reading at 5 ms is not after the device's last one at 5 ms");
        let missing = Reading { ts: Some(6), values: vec![("a".into(), 1.0), ("B".into(), 1.0)] };
        let e = d.push("sensors/d1", "d1", &missing, 0).expect_err("wrong field name");
        assert_eq!(e.to_string(), "sensors/d1: no field \"b\" (the model reads a, b)");
        // The window still holds the one good reading: the next one completes it.
        assert!(d.push("t", "d1", &reading(6, 0.0, 1.0), 0).expect("ok").is_some());
    }

    #[test]
    fn a_reading_dated_far_ahead_is_refused_and_does_not_silence_the_device() {
        let now = 1_700_000_000_000;
        let mut d = Detector::new(zero_model(ThresholdSpec::Static { value: 4.0 }, 1)).max_future(600.0);
        d.push("t", "d1", &reading(now, 0.0, 1.0), now).expect("ok");
        // 2100-01-01: refused, named, and not the device's clock.
        let e = d.push("sensors/d1", "d1", &reading(4_102_444_800_000, 0.0, 1.0), now).expect_err("future");
        assert!(matches!(e, Error::Future { .. }), "{e}");
        assert!(e.to_string().starts_with("sensors/d1: reading at 4102444800000 ms is "), "{e}");
        assert!(d.push("t", "d1", &reading(now + 1000, 0.0, 1.0), now + 1000).expect("ok").is_some());
        // Within the allowance is fine (a device clock a few minutes fast).
        assert!(d.push("t", "d1", &reading(now + 300_000, 0.0, 1.0), now + 2000).is_ok());
    }

    #[test]
    fn a_repeat_with_other_values_is_a_conflict_not_a_duplicate() {
        let mut d = Detector::new(zero_model(ThresholdSpec::Static { value: 4.0 }, 1));
        d.push("t", "d1", &reading(5, 1.0, 2.0), 0).expect("ok");
        let same = d.push("t", "d1", &reading(5, 1.0, 2.0), 0).expect_err("repeat");
        assert!(matches!(same, Error::OutOfOrder { ts: 5, last: 5, .. }), "{same}");
        let other = d.push("t", "d1", &reading(5, 1.0, 2.5), 0).expect_err("conflict");
        assert!(matches!(other, Error::Conflict { ts: 5, .. }), "{other}");
        let earlier = d.push("t", "d1", &reading(4, 9.0, 9.0), 0).expect_err("late");
        assert!(matches!(earlier, Error::OutOfOrder { ts: 4, .. }), "{earlier}");
    }

    #[test]
    fn a_sliding_threshold_judges_against_the_device_history() {
        let spec = ThresholdSpec::Sliding { window: 3, k: 3.0, eps: 0.01 };
        let mut d = Detector::new(zero_model(spec, 1));
        let mut flags = Vec::new();
        for (t, a) in [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 6.0].iter().enumerate() {
            if let Some(dec) = d.push("t", "d", &reading(t as i64 + 1, *a, 1.0), 0).expect("ok") {
                flags.push(dec.anomalous);
            }
        }
        // Scores 0.25, 0.5, 0.5, 0.5, 0.5, 9.25: the first three build the history, the jump leaves the band.
        assert_eq!(flags, [false, false, false, false, false, true]);
    }

    #[test]
    fn a_sliding_band_keeps_its_history_while_a_set_threshold_judges() {
        let spec = ThresholdSpec::Sliding { window: 3, k: 3.0, eps: 0.01 };
        let thresholds = Arc::new(Thresholds::default());
        let mut d = Detector::new(zero_model(spec, 1)).with_thresholds(thresholds.clone());
        let mut next = |t: i64, a: f64| d.push("t", "d", &reading(t, a, 1.0), 0).expect("ok");
        assert!(next(1, 0.0).is_none());
        thresholds.set(Some("d"), Some(100.0));
        // Scores 0.25, 0.5, 0.5, 0.5 under the set threshold: judged by it, and still the band's history.
        for (t, a) in [(2, 1.0), (3, 1.0), (4, 1.0), (5, 1.0)] {
            let judged = next(t, a).expect("scored");
            assert!(!judged.anomalous && judged.threshold == 100.0, "{judged:?}");
        }
        thresholds.set(Some("d"), None);
        // Cleared: the band is judged from the history it kept (mean 0.5, std 0): the jump leaves it at once.
        let judged = next(6, 6.0).expect("scored");
        assert!(judged.anomalous && judged.threshold.is_finite(), "{judged:?}");
    }
}
