//! Batches of windows for the networks: inputs `[batch, steps, channels]`,
//! forecast targets `[batch, horizon, channels]` and labels, copied out of
//! the scaled series (each batch is one copy; the series itself never is).

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use telltale_core::{Dataset, Windows};

use crate::presets::NetDims;

/// Simple window augmentation for training batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Augment {
    /// Standard deviation of Gaussian noise added to every value (scaled units).
    pub jitter: f64,
    /// Standard deviation of a per-window, per-channel factor around 1.
    pub scale: f64,
}

impl Augment {
    /// True when the augmentation changes nothing.
    pub fn is_off(&self) -> bool {
        self.jitter == 0.0 && self.scale == 0.0
    }
}

/// A scaled series and its windows.
#[derive(Debug, Clone, Copy)]
pub struct WindowData<'a> {
    /// Scaled feature values, row-major `[rows, channels]`.
    pub values: &'a [f32],
    /// Features per row.
    pub channels: usize,
    /// The windows.
    pub windows: &'a Windows,
    /// Row labels (0 normal, 1 anomalous), when known.
    pub row_labels: Option<&'a [u8]>,
}

impl<'a> WindowData<'a> {
    /// The windows of `data` (its values, features and row labels) as batches read them.
    pub fn of(data: &'a Dataset, windows: &'a Windows) -> WindowData<'a> {
        WindowData { values: data.values(), channels: data.n_features(), windows, row_labels: data.labels() }
    }

    /// The sizes a network is built for.
    pub fn dims(&self) -> NetDims {
        NetDims { channels: self.channels, steps: self.steps(), horizon: self.horizon() }
    }

    /// Input steps per window.
    pub fn steps(&self) -> usize {
        self.windows.input_len()
    }

    /// Predicted steps per forecasting window (0 for classification windows).
    pub fn horizon(&self) -> usize {
        self.windows.span() - self.windows.input_len()
    }

    /// Inputs of windows `idx`, row-major `[idx.len(), steps, channels]`.
    pub fn inputs(&self, idx: &[usize]) -> Vec<f32> {
        let c = self.channels;
        let mut out = Vec::with_capacity(idx.len() * self.steps() * c);
        for &i in idx {
            let r = self.windows.input_rows(i);
            out.extend_from_slice(&self.values[r.start * c..r.end * c]);
        }
        out
    }

    /// Targets of forecasting windows `idx`, row-major `[idx.len(), horizon, channels]`.
    pub fn targets(&self, idx: &[usize]) -> Vec<f32> {
        let c = self.channels;
        let mut out = Vec::with_capacity(idx.len() * self.horizon() * c);
        for &i in idx {
            let r = self.windows.target_rows(i);
            out.extend_from_slice(&self.values[r.start * c..r.end * c]);
        }
        out
    }

    /// Window labels of `idx` as 0.0 / 1.0 (`None` without labels).
    pub fn labels(&self, idx: &[usize]) -> Option<Vec<f32>> {
        let labels = self.windows.labels()?;
        Some(idx.iter().map(|&i| f32::from(labels[i])).collect())
    }

    /// True when no row of window `i` (inputs and targets) is labelled anomalous.
    pub fn is_clean(&self, i: usize) -> bool {
        match self.row_labels {
            Some(l) => l[self.windows.rows(i)].iter().all(|&v| v == 0),
            None => true,
        }
    }
}

/// A seeded source of the randomness training needs: shuffles and augmentation.
#[derive(Debug)]
pub struct Randomness {
    rng: ChaCha8Rng,
}

impl Randomness {
    /// From a seed.
    pub fn new(seed: u64) -> Self {
        Randomness { rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// Shuffles `v` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.rng.random_range(0..=i);
            v.swap(i, j);
        }
    }

    /// A standard normal value (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1: f64 = self.rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = self.rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Applies `aug` to a batch of inputs `[n, steps, channels]`.
    pub fn augment(&mut self, x: &mut [f32], steps: usize, channels: usize, aug: &Augment) {
        if aug.is_off() {
            return;
        }
        for window in x.chunks_exact_mut(steps * channels) {
            let factors: Vec<f32> = (0..channels).map(|_| (1.0 + aug.scale * self.normal()) as f32).collect();
            for row in window.chunks_exact_mut(channels) {
                for (v, f) in row.iter_mut().zip(&factors) {
                    let noise = if aug.jitter > 0.0 { (aug.jitter * self.normal()) as f32 } else { 0.0 };
                    *v = *v * f + noise;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use telltale_core::{Dataset, ForecastSpec, WindowSpec};

    use super::*;

    fn data() -> Dataset {
        let values: Vec<f32> = (0..20).map(|v| v as f32).collect();
        Dataset::from_parts(vec!["a".into(), "b".into()], values, None, Some(vec![0, 0, 0, 0, 0, 0, 1, 0, 0, 0]))
            .unwrap()
    }

    #[test]
    fn inputs_and_targets_come_from_the_right_rows() {
        let d = data();
        let w = Windows::forecast(&d, &ForecastSpec { lookback: 3, horizon: 1, step: 1 }).unwrap();
        let wd = WindowData { values: d.values(), channels: 2, windows: &w, row_labels: d.labels() };
        assert_eq!(wd.inputs(&[1]), vec![2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(wd.targets(&[1]), vec![8.0, 9.0]);
        assert_eq!(wd.horizon(), 1);
        assert!(wd.is_clean(2));
        assert!(!wd.is_clean(3), "row 6 is anomalous");
        let wc = Windows::classify(&d, &WindowSpec::new(4, 2)).unwrap();
        let wd = WindowData { values: d.values(), channels: 2, windows: &wc, row_labels: d.labels() };
        assert_eq!(wd.labels(&[0, 2]), Some(vec![0.0, 0.0]));
    }

    #[test]
    fn seeded_randomness_repeats() {
        let mut a = Randomness::new(5);
        let mut b = Randomness::new(5);
        let (mut x, mut y) = ((0..50).collect::<Vec<_>>(), (0..50).collect::<Vec<_>>());
        a.shuffle(&mut x);
        b.shuffle(&mut y);
        assert_eq!(x, y);
        assert_ne!(x, (0..50).collect::<Vec<_>>());
        let n: Vec<f64> = (0..20000).map(|_| a.normal()).collect();
        let mean = n.iter().sum::<f64>() / n.len() as f64;
        let var = n.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n.len() as f64;
        assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "{mean} {var}");
    }

    #[test]
    fn augmentation_changes_only_when_asked() {
        let mut r = Randomness::new(1);
        let mut x = vec![1.0f32; 12];
        r.augment(&mut x, 3, 2, &Augment::default());
        assert!(x.iter().all(|&v| v == 1.0));
        r.augment(&mut x, 3, 2, &Augment { jitter: 0.1, scale: 0.0 });
        assert!(x.iter().any(|&v| v != 1.0));
    }
}
