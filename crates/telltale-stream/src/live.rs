//! What the live dashboard shows, kept in memory: per device its recent
//! readings and scores (rings of `history` entries each), counts and state,
//! and the thresholds changed while the service runs ([`Thresholds`], owned
//! by the detector, which reads them for every window it judges).
//!
//! The detection stage writes here once per reading and once per decision;
//! the HTTP handlers read snapshots. Nothing here is stored: the database
//! keeps readings, anomalies, alerts, acknowledgements and threshold changes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;

use crate::detect::Decision;
pub use crate::detect::{Overrides, Thresholds};

/// One scored window, as the charts draw it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScorePoint {
    /// Its sequence number for the device (for incremental updates).
    pub seq: u64,
    /// First reading of the window (epoch ms).
    pub start_ms: i64,
    /// Last reading (epoch ms).
    pub end_ms: i64,
    /// The score.
    pub score: f64,
    /// The threshold it was judged by (`null` in JSON while a sliding band fills).
    pub threshold: Option<f64>,
    /// Whether it was judged anomalous.
    pub anomalous: bool,
}

/// A run of `stride` consecutive readings, as the charts draw it: each feature's lowest and highest value
/// (the same for a stride of 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadingPoint {
    /// Its sequence number for the device.
    pub seq: u64,
    /// Its first reading's time (epoch ms).
    pub ts: i64,
    /// The model's features in order: lowest values.
    pub lo: Vec<f32>,
    /// Highest values.
    pub hi: Vec<f32>,
}

/// A device's line in the fleet table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceSummary {
    /// The device.
    pub device: String,
    /// Readings accepted.
    pub readings: u64,
    /// Windows scored.
    pub windows: u64,
    /// Windows judged anomalous.
    pub anomalies: u64,
    /// Its last reading's time (epoch ms).
    pub last_ms: i64,
    /// Its last reading.
    pub last: Vec<f32>,
    /// Readings per second over the last few seconds (wall clock).
    pub rate: f64,
    /// The last window's score and threshold.
    pub score: Option<f64>,
    /// The threshold the last window was judged by.
    pub threshold: Option<f64>,
    /// Whether the last window was anomalous.
    pub anomalous: bool,
    /// The sensors behind its last anomaly, largest part first.
    pub top: Vec<(String, f64)>,
}

/// A device's recent history: readings and scores after the given sequence numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceHistory {
    /// The device's line.
    pub summary: DeviceSummary,
    /// Readings, oldest first.
    pub readings: Vec<ReadingPoint>,
    /// Scores, oldest first.
    pub scores: Vec<ScorePoint>,
}

#[derive(Debug)]
struct DeviceLive {
    readings: u64,
    windows: u64,
    anomalies: u64,
    last_ms: i64,
    /// Runs of readings: first times, and per run `features` lows then `features` highs; oldest first.
    ts: VecDeque<i64>,
    values: VecDeque<f32>,
    /// Runs completed so far.
    runs: u64,
    /// The run being filled: readings in it, its first time, lows then highs.
    open: (usize, i64, Vec<f32>),
    /// The last reading.
    latest: Vec<f32>,
    scores: VecDeque<ScorePoint>,
    last: Option<ScorePoint>,
    top: Vec<(String, f64)>,
    /// `(readings, when)` at the last rate sample, and the rate then.
    sampled: (u64, Instant),
    rate: f64,
}

impl DeviceLive {
    /// Empty rings: they grow with what the device sends, up to `history` entries (a device that sent one
    /// reading holds one, not a full history's room).
    fn new() -> DeviceLive {
        DeviceLive {
            readings: 0,
            windows: 0,
            anomalies: 0,
            last_ms: 0,
            ts: VecDeque::new(),
            values: VecDeque::new(),
            runs: 0,
            open: (0, 0, Vec::new()),
            latest: Vec::new(),
            scores: VecDeque::new(),
            last: None,
            top: Vec::new(),
            sampled: (0, Instant::now()),
            rate: 0.0,
        }
    }
}

/// Makes room in `ring` for `extra` more entries: doubling, but never past `most` entries (the ring's bound),
/// so a full ring holds its history and little more.
fn room_for<T>(ring: &mut VecDeque<T>, extra: usize, most: usize) {
    let need = ring.len() + extra;
    if need > ring.capacity() {
        let target = (ring.capacity() * 2).max(need).max(4 * extra).min(most.max(need));
        ring.reserve_exact(target - ring.len());
    }
}

/// Rates are re-sampled when their last sample is at least this old (seconds).
const RATE_PERIOD_S: f64 = 1.0;

/// The live view's memory.
#[derive(Debug)]
pub struct Live {
    features: Vec<String>,
    history: usize,
    stride: usize,
    fleet: Mutex<HashMap<String, DeviceLive>>,
    /// Thresholds set while running (the detector holds them too).
    pub thresholds: Arc<Thresholds>,
}

impl Live {
    /// Keeps the last `history` scores of each device, whose readings carry `features`, and the last `history`
    /// runs of `stride` readings (give the model's step: both then span the same time). A history of 0 keeps
    /// the fleet's lines only (no charts).
    pub fn new(features: Vec<String>, history: usize, stride: usize) -> Live {
        Live { features, history, stride: stride.max(1), fleet: Mutex::new(HashMap::new()), thresholds: Arc::default() }
    }

    /// The model's features, in the order readings' values are given.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    fn fleet(&self) -> MutexGuard<'_, HashMap<String, DeviceLive>> {
        self.fleet.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `name`'s state, made on its first appearance.
    fn device<'a>(&self, fleet: &'a mut HashMap<String, DeviceLive>, name: &str) -> Option<&'a mut DeviceLive> {
        if !fleet.contains_key(name) {
            fleet.insert(name.to_owned(), DeviceLive::new());
        }
        fleet.get_mut(name)
    }

    /// Records an accepted reading of `device` at `ts` with `values` (looked up by feature name).
    pub fn reading(&self, device: &str, ts: i64, values: &[(String, f64)]) {
        let mut fleet = self.fleet();
        let Some(d) = self.device(&mut fleet, device) else { return };
        d.readings += 1;
        d.last_ms = d.last_ms.max(ts);
        let c = self.features.len();
        d.latest.clear();
        d.latest.extend(
            self.features
                .iter()
                .map(|name| values.iter().find(|(k, _)| k == name).map_or(f32::NAN, |(_, v)| *v as f32)),
        );
        if self.history == 0 {
            return;
        }
        let (n, first, bounds) = &mut d.open;
        if *n == 0 {
            *first = ts;
            bounds.clear();
            bounds.resize(2 * c, f32::NAN);
        }
        for (k, &v) in d.latest.iter().enumerate() {
            // NaN (a new run, or a missing feature) gives way to any number: `min` and `max` return the number.
            bounds[k] = bounds[k].min(v);
            bounds[c + k] = bounds[c + k].max(v);
        }
        *n += 1;
        if *n < self.stride {
            return;
        }
        *n = 0;
        room_for(&mut d.ts, 1, self.history + 1);
        room_for(&mut d.values, 2 * c, (self.history + 1) * 2 * c);
        d.ts.push_back(*first);
        d.values.extend(bounds.iter().copied());
        d.runs += 1;
        if d.ts.len() > self.history {
            d.ts.pop_front();
            d.values.drain(..2 * c);
        }
    }

    /// Records a decision.
    pub fn decision(&self, decision: &Decision) {
        let mut fleet = self.fleet();
        let Some(d) = self.device(&mut fleet, &decision.device) else { return };
        let point = ScorePoint {
            seq: d.windows,
            start_ms: decision.start_ms,
            end_ms: decision.end_ms,
            score: decision.score,
            threshold: decision.threshold.is_finite().then_some(decision.threshold),
            anomalous: decision.anomalous,
        };
        d.windows += 1;
        if decision.anomalous {
            d.anomalies += 1;
            d.top.clone_from(&decision.top);
        }
        d.last = Some(point);
        if self.history == 0 {
            return;
        }
        room_for(&mut d.scores, 1, self.history + 1);
        d.scores.push_back(point);
        if d.scores.len() > self.history {
            d.scores.pop_front();
        }
    }

    fn summary(&self, name: &str, d: &mut DeviceLive, now: Instant) -> DeviceSummary {
        let elapsed = now.duration_since(d.sampled.1).as_secs_f64();
        if elapsed >= RATE_PERIOD_S {
            d.rate = (d.readings - d.sampled.0) as f64 / elapsed;
            d.sampled = (d.readings, now);
        }
        let last = d.latest.clone();
        DeviceSummary {
            device: name.to_owned(),
            readings: d.readings,
            windows: d.windows,
            anomalies: d.anomalies,
            last_ms: d.last_ms,
            last,
            rate: d.rate,
            score: d.last.map(|p| p.score),
            threshold: d.last.and_then(|p| p.threshold),
            anomalous: d.last.is_some_and(|p| p.anomalous),
            top: d.top.clone(),
        }
    }

    /// Bytes held for the devices: their rings, names and lines (from capacities).
    pub fn state_bytes(&self) -> usize {
        let fleet = self.fleet();
        let held: usize = fleet
            .iter()
            .map(|(name, d)| {
                name.capacity()
                    + d.ts.capacity() * std::mem::size_of::<i64>()
                    + (d.values.capacity() + d.open.2.capacity() + d.latest.capacity()) * std::mem::size_of::<f32>()
                    + d.scores.capacity() * std::mem::size_of::<ScorePoint>()
                    + d.top.iter().map(|(s, _)| s.capacity() + std::mem::size_of::<(String, f64)>()).sum::<usize>()
            })
            .sum();
        held + fleet.capacity() * (std::mem::size_of::<String>() + std::mem::size_of::<DeviceLive>() + 1)
    }

    /// True when `device` has sent readings since the service started.
    pub fn knows(&self, device: &str) -> bool {
        self.fleet().contains_key(device)
    }

    /// Every device's line, by name.
    pub fn devices(&self) -> Vec<DeviceSummary> {
        let now = Instant::now();
        let mut fleet = self.fleet();
        let mut out: Vec<DeviceSummary> = fleet.iter_mut().map(|(name, d)| self.summary(name, d, now)).collect();
        out.sort_by(|a, b| a.device.cmp(&b.device));
        out
    }

    /// `device`'s line and its runs of readings and scores with sequence numbers from `readings_from` and
    /// `scores_from` on (0: all kept); `None` for a device never seen.
    pub fn history(&self, device: &str, readings_from: u64, scores_from: u64) -> Option<DeviceHistory> {
        let now = Instant::now();
        let mut fleet = self.fleet();
        let d = fleet.get_mut(device)?;
        let summary = self.summary(device, d, now);
        let c = self.features.len();
        let first = d.runs - d.ts.len() as u64;
        let values = d.values.make_contiguous();
        let readings =
            d.ts.iter()
                .enumerate()
                .map(|(i, &ts)| (first + i as u64, ts, &values[2 * c * i..2 * c * (i + 1)]))
                .filter(|(seq, _, _)| *seq >= readings_from)
                .map(|(seq, ts, v)| ReadingPoint { seq, ts, lo: v[..c].to_vec(), hi: v[c..].to_vec() })
                .collect();
        let scores = d.scores.iter().filter(|p| p.seq >= scores_from).copied().collect();
        Some(DeviceHistory { summary, readings, scores })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(device: &str, end_ms: i64, score: f64, anomalous: bool) -> Decision {
        Decision {
            device: device.into(),
            start_ms: end_ms - 2,
            end_ms,
            score,
            threshold: 0.5,
            anomalous,
            top: vec![("x".into(), 0.8)],
        }
    }

    #[test]
    fn rings_keep_the_last_readings_and_scores_with_their_sequence_numbers() {
        let live = Live::new(vec!["x".into(), "y".into()], 3, 1);
        for t in 0..5 {
            live.reading("d", t, &[("y".into(), t as f64 * 10.0), ("x".into(), t as f64)]);
        }
        live.decision(&decision("d", 3, 0.2, false));
        live.decision(&decision("d", 4, 0.9, true));
        let h = live.history("d", 0, 0).expect("device");
        assert_eq!(h.readings.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!((&h.readings[2].lo, &h.readings[2].hi), (&vec![4.0, 40.0], &vec![4.0, 40.0]), "feature order");
        assert_eq!(h.summary.last, [4.0, 40.0]);
        assert_eq!((h.summary.readings, h.summary.windows, h.summary.anomalies), (5, 2, 1));
        assert!(h.summary.anomalous && h.summary.top[0].0 == "x");
        // Incremental: only what came after.
        let later = live.history("d", 4, 1).expect("device");
        assert_eq!((later.readings.len(), later.scores.len()), (1, 1));
        assert_eq!(later.scores[0].score, 0.9);
        assert!(live.history("nobody", 0, 0).is_none());
        // A reading without one of the features keeps its place (NaN: JSON null).
        live.reading("e", 1, &[("x".into(), 1.0)]);
        assert!(live.history("e", 0, 0).expect("e").readings[0].lo[1].is_nan());
        assert_eq!(live.devices().iter().map(|d| d.device.as_str()).collect::<Vec<_>>(), ["d", "e"]);
    }

    #[test]
    fn runs_of_readings_keep_their_lowest_and_highest_values() {
        // Runs of 3 (the model's step): the charts span the scores' time with 3 times fewer points.
        let live = Live::new(vec!["x".into()], 2, 3);
        for (t, x) in [5.0, -1.0, 2.0, 7.0, 3.0, 4.0, 9.0].into_iter().enumerate() {
            live.reading("d", t as i64 * 10, &[("x".into(), x)]);
        }
        let h = live.history("d", 0, 0).expect("device");
        let runs: Vec<(u64, i64, f32, f32)> = h.readings.iter().map(|r| (r.seq, r.ts, r.lo[0], r.hi[0])).collect();
        assert_eq!(runs, [(0, 0, -1.0, 5.0), (1, 30, 3.0, 7.0)], "the seventh reading's run is not complete");
        assert_eq!(h.summary.last, [9.0]);
        let missing = Live::new(vec!["x".into()], 2, 2);
        missing.reading("d", 0, &[]);
        missing.reading("d", 1, &[("x".into(), 3.0)]);
        let run = &missing.history("d", 0, 0).expect("device").readings[0];
        assert_eq!((run.lo[0], run.hi[0]), (3.0, 3.0), "a missing value gives way");
    }

    #[test]
    fn memory_per_device_is_bounded_by_the_history() {
        // The default history (300) of three sensors: rings of 301 runs and 301 scores, whatever the stream's length.
        let live = Live::new(vec!["x".into(), "y".into(), "z".into()], 300, 30);
        let values = [("x".to_owned(), 1.0), ("y".to_owned(), 2.0), ("z".to_owned(), 3.0)];
        for t in 0..30_000 {
            live.reading("fan-a", t, &values);
            if t % 30 == 29 {
                live.decision(&decision("fan-a", t, 0.9, true));
            }
        }
        let bytes = live.state_bytes();
        let rings = 301 * (8 + 6 * 4 + std::mem::size_of::<ScorePoint>());
        assert!(bytes >= rings && bytes < rings + 2_000, "{bytes} bytes, rings {rings}");
        assert!(bytes < 28_000, "{bytes}");
        // No history: the fleet's line only.
        let lean = Live::new(vec!["x".into(), "y".into(), "z".into()], 0, 30);
        for t in 0..1_000 {
            lean.reading("fan-a", t, &values);
            lean.decision(&decision("fan-a", t, 0.9, true));
        }
        assert!(lean.state_bytes() < 2_000, "{}", lean.state_bytes());
        let h = lean.history("fan-a", 0, 0).expect("device");
        assert!(h.readings.is_empty() && h.scores.is_empty());
        assert_eq!((h.summary.readings, h.summary.windows), (1_000, 1_000));
    }

    #[test]
    fn a_device_that_sent_little_holds_little() {
        // A flood of new names, one reading each: rings grow with what is kept, not to a full history's room.
        let live = Live::new(vec!["x".into(), "y".into(), "z".into()], 300, 1);
        let values = [("x".to_owned(), 1.0), ("y".to_owned(), 2.0), ("z".to_owned(), 3.0)];
        for i in 0..1_000 {
            live.reading(&format!("spoof-{i:05}"), 1, &values);
        }
        let per_device = live.state_bytes() / 1_000;
        assert!(per_device < 1_024, "{per_device} bytes per device");
    }
}
