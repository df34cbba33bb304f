//! Seeded sensor-like signals with labelled anomalies of the three kinds
//! seed 002 names, for tests, demos and the simulator.
//!
//! Each channel is `level + amplitude·sin(2πt / period + phase) + noise`,
//! with its own level, amplitude, period and phase. Anomalies, placed
//! without overlap after the first fifth of the series:
//! - **point**: one reading jumps 6–10 amplitudes away;
//! - **contextual**: for half a period the periodic part is mirrored — every
//!   value stays inside the channel's normal range but is wrong for its time;
//! - **collective**: for a whole period the channel freezes near its level
//!   (a stuck sensor), no single reading being extreme.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// The three kinds of anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnomalyKind {
    /// A single extreme reading.
    Point,
    /// Readings in range, wrong for their time.
    Contextual,
    /// A run of readings abnormal together.
    Collective,
}

/// One injected anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Injected {
    /// Its kind.
    pub kind: AnomalyKind,
    /// First row.
    pub start: usize,
    /// Rows it spans.
    pub len: usize,
    /// The channel it affects.
    pub channel: usize,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Rows.
    pub rows: usize,
    /// Channels.
    pub channels: usize,
    /// Typical period in rows (each channel's differs by up to ±30 %).
    pub period: f64,
    /// Noise as a share of the amplitude.
    pub noise: f64,
    /// Anomalies, cycling through `kinds`.
    pub anomalies: usize,
    /// Kinds of anomaly to inject (default all three).
    pub kinds: Vec<AnomalyKind>,
    /// Seed.
    pub seed: u64,
    /// First timestamp, epoch milliseconds.
    pub start_ms: i64,
    /// Milliseconds between readings.
    pub interval_ms: i64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            rows: 2000,
            channels: 3,
            period: 50.0,
            noise: 0.05,
            anomalies: 6,
            kinds: vec![AnomalyKind::Point, AnomalyKind::Contextual, AnomalyKind::Collective],
            seed: 0,
            start_ms: 1_767_225_600_000, // 2026-01-01 00:00:00 UTC
            interval_ms: 1000,
        }
    }
}

/// A generated series.
#[derive(Debug, Clone)]
pub struct Synthetic {
    /// Channel names `s0`, `s1`, …
    pub features: Vec<String>,
    /// Row-major values.
    pub values: Vec<f32>,
    /// Epoch milliseconds per row.
    pub timestamps: Vec<i64>,
    /// 1 inside an anomaly, else 0.
    pub labels: Vec<u8>,
    /// The anomalies, in time order.
    pub injected: Vec<Injected>,
}

/// Generates a series from `cfg`.
pub fn synthesize(cfg: &SyntheticConfig) -> Result<Synthetic> {
    if cfg.channels == 0 || cfg.rows < 10 || cfg.period.is_nan() || cfg.period < 2.0 {
        return Err(Error::invalid("synthetic", "needs at least 1 channel, 10 rows and a period of at least 2"));
    }
    if cfg.anomalies > 0 && cfg.kinds.is_empty() {
        return Err(Error::invalid("synthetic kinds", "name at least one kind of anomaly"));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let (n, c) = (cfg.rows, cfg.channels);
    let level: Vec<f64> = (0..c).map(|_| rng.random_range(10.0..30.0)).collect();
    let amp: Vec<f64> = (0..c).map(|_| rng.random_range(1.0..5.0)).collect();
    let period: Vec<f64> = (0..c).map(|_| cfg.period * rng.random_range(0.7..1.3)).collect();
    let phase: Vec<f64> = (0..c).map(|_| rng.random_range(0.0..std::f64::consts::TAU)).collect();
    let seasonal = |k: usize, t: usize| amp[k] * (std::f64::consts::TAU * t as f64 / period[k] + phase[k]).sin();
    let normal = |rng: &mut ChaCha8Rng| {
        let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    };
    let mut values = vec![0f32; n * c];
    for t in 0..n {
        for k in 0..c {
            values[t * c + k] = (level[k] + seasonal(k, t) + cfg.noise * amp[k] * normal(&mut rng)) as f32;
        }
    }
    let mut labels = vec![0u8; n];
    let mut injected = Vec::new();
    let first = n / 5;
    for a in 0..cfg.anomalies {
        let kind = cfg.kinds[a % cfg.kinds.len()];
        let k = rng.random_range(0..c);
        let len = match kind {
            AnomalyKind::Point => 1,
            AnomalyKind::Contextual => (period[k] / 2.0).round() as usize,
            AnomalyKind::Collective => period[k].round() as usize,
        }
        .max(1);
        // A free place, with a gap of a period around other anomalies.
        let gap = cfg.period as usize;
        let place = (0..200)
            .map(|_| rng.random_range(first..n.saturating_sub(len).max(first + 1)))
            .find(|&s| injected.iter().all(|o: &Injected| s + len + gap <= o.start || o.start + o.len + gap <= s));
        let Some(start) = place else { continue };
        for t in start..start + len {
            let v = &mut values[t * c + k];
            *v = match kind {
                AnomalyKind::Point => {
                    let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
                    (f64::from(*v) + sign * rng.random_range(6.0..10.0) * amp[k]) as f32
                }
                AnomalyKind::Contextual => (f64::from(*v) - 2.0 * seasonal(k, t)) as f32,
                AnomalyKind::Collective => (level[k] + 0.02 * amp[k] * normal(&mut rng)) as f32,
            };
            labels[t] = 1;
        }
        injected.push(Injected { kind, start, len, channel: k });
    }
    injected.sort_by_key(|i| i.start);
    Ok(Synthetic {
        features: (0..c).map(|k| format!("s{k}")).collect(),
        values,
        timestamps: (0..n as i64).map(|t| cfg.start_ms + t * cfg.interval_ms).collect(),
        labels,
        injected,
    })
}

impl Synthetic {
    /// The series as a dataset (timestamps and labels included).
    pub fn dataset(&self) -> Result<Dataset> {
        Dataset::from_parts(
            self.features.clone(),
            self.values.clone(),
            Some(self.timestamps.clone()),
            Some(self.labels.clone()),
        )
    }

    /// The series as CSV: `timestamp,s0,…,anomaly`.
    pub fn to_csv(&self) -> String {
        let c = self.features.len();
        let mut out = format!("timestamp,{},anomaly\n", self.features.join(","));
        for (t, row) in self.values.chunks_exact(c).enumerate() {
            out.push_str(&crate::timestamp::format_millis(self.timestamps[t]));
            for v in row {
                out.push(',');
                out.push_str(&v.to_string());
            }
            out.push(',');
            out.push_str(&self.labels[t].to_string());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_from_a_seed_and_labels_what_it_injects() {
        let cfg = SyntheticConfig { anomalies: 9, ..Default::default() };
        let a = synthesize(&cfg).unwrap();
        let b = synthesize(&cfg).unwrap();
        assert_eq!(a.values, b.values);
        assert_eq!(a.injected.len(), 9);
        let labelled: usize = a.labels.iter().map(|&l| usize::from(l)).sum();
        assert_eq!(labelled, a.injected.iter().map(|i| i.len).sum::<usize>());
        assert!(a.injected.iter().all(|i| i.start >= cfg.rows / 5));
        for kind in [AnomalyKind::Point, AnomalyKind::Contextual, AnomalyKind::Collective] {
            assert_eq!(a.injected.iter().filter(|i| i.kind == kind).count(), 3);
        }
        let other = synthesize(&SyntheticConfig { seed: 1, ..cfg.clone() }).unwrap();
        assert_ne!(a.values, other.values);
    }

    #[test]
    fn csv_reads_back() {
        let s = synthesize(&SyntheticConfig { rows: 50, anomalies: 1, ..Default::default() }).unwrap();
        let text = s.to_csv();
        let table = crate::Table::from_reader(std::path::Path::new("s.csv"), b',', text.as_bytes()).unwrap();
        let spec =
            crate::DataSpec { label: Some(crate::LabelSource::Rule("anomaly == 1".into())), ..Default::default() };
        let d = Dataset::from_table(&table, &spec).unwrap();
        assert_eq!(d.features(), &["s0", "s1", "s2"]);
        assert_eq!(d.labels().unwrap(), &s.labels[..]);
        assert_eq!(d.timestamps().unwrap(), &s.timestamps[..]);
    }
}
