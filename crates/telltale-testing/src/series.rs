//! Seeded synthetic series for tests, reproducible to the bit on every platform.
//!
//! [`Noise`] is the 64-bit linear congruential generator (Knuth's MMIX constants) that tests across the
//! workspace wrote by hand; [`Series`] builds a labelled series from a level, a sine, noise and anomalies
//! (level shifts, stuck values, spikes). telltale-core's `synthetic` module (multichannel signals with the three
//! kinds of anomaly, used by the simulator and the demo too) stays where it is; this is for short, hand-shaped
//! series whose every value a test can reason about.

use std::ops::Range;

/// Uniform noise in [-0.5, 0.5) from a seed: `x ← x · 6364136223846793005 + 1442695040888963407`, the top 53
/// bits of `x` as a fraction, minus one half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Noise(u64);

impl Noise {
    /// The generator started at `seed`.
    pub fn new(seed: u64) -> Noise {
        Noise(seed)
    }

    /// The next value in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The next value in [-0.5, 0.5).
    pub fn centred(&mut self) -> f64 {
        self.unit() - 0.5
    }
}

impl Iterator for Noise {
    type Item = f64;

    /// The next value in [-0.5, 0.5) (never ends).
    fn next(&mut self) -> Option<f64> {
        Some(self.centred())
    }
}

/// A series of `len` values with a label per value (1 where an anomaly was put), built step by step.
///
/// Steps add to what is there, so `Series::level(n, 10.0).sine(1.0, 0.3)` is `10 + sin(0.3·i)` exactly.
/// Ranges past the end are cut at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    values: Vec<f64>,
    labels: Vec<u8>,
}

impl Series {
    /// `len` values at `level`, none anomalous.
    pub fn level(len: usize, level: f64) -> Series {
        Series { values: vec![level; len], labels: vec![0; len] }
    }

    /// Adds `amplitude · sin(step · i)` to value `i`.
    pub fn sine(mut self, amplitude: f64, step: f64) -> Series {
        for (i, v) in self.values.iter_mut().enumerate() {
            *v += amplitude * (i as f64 * step).sin();
        }
        self
    }

    /// Adds `scale ·` [`Noise`] from `seed` (one draw per value, in order).
    pub fn noise(mut self, scale: f64, seed: u64) -> Series {
        for (v, n) in self.values.iter_mut().zip(Noise::new(seed)) {
            *v += scale * n;
        }
        self
    }

    fn cut(&self, rows: Range<usize>) -> Range<usize> {
        rows.start.min(self.values.len())..rows.end.min(self.values.len())
    }

    /// Anomalous rows `rows` shifted by `by` (a level shift).
    pub fn shift(mut self, rows: Range<usize>, by: f64) -> Series {
        for i in self.cut(rows) {
            self.values[i] += by;
            self.labels[i] = 1;
        }
        self
    }

    /// Anomalous rows `rows` replaced by `value` (a stuck sensor, or a plateau).
    pub fn set(mut self, rows: Range<usize>, value: f64) -> Series {
        for i in self.cut(rows) {
            self.values[i] = value;
            self.labels[i] = 1;
        }
        self
    }

    /// Row `at` raised by `by` (a point anomaly).
    pub fn spike(self, at: usize, by: f64) -> Series {
        self.shift(at..at + 1, by)
    }

    /// The values.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// 1 for each anomalous value, 0 otherwise.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The values, taken.
    pub fn into_values(self) -> Vec<f64> {
        self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::close::assert_all_close;

    #[test]
    fn noise_is_the_hand_written_generator() {
        // The closure tests wrote by hand (SKAB files, the hotelling baseline's levels).
        let mut x: u64 = 11;
        let mut by_hand = move || {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let want: Vec<f64> = (0..1000).map(|_| by_hand()).collect();
        let got: Vec<f64> = Noise::new(11).take(1000).collect();
        assert_eq!(got, want);
        assert!(got.iter().all(|v| (-0.5..0.5).contains(v)));
        let mean = got.iter().sum::<f64>() / 1000.0;
        assert!(mean.abs() < 0.05, "uniform around 0: mean {mean}");
        assert_ne!(Noise::new(1).next(), Noise::new(2).next(), "seeds differ");
    }

    #[test]
    fn series_steps_add_up_and_label_their_rows() {
        let s = Series::level(8, 10.0).sine(1.0, 0.3).shift(2..4, 5.0).set(6..20, -1.0).spike(0, 3.0);
        let want: Vec<f64> = (0..8)
            .map(|i| match i {
                0 => 10.0 + 3.0,
                2 | 3 => 10.0 + (i as f64 * 0.3).sin() + 5.0,
                6 | 7 => -1.0,
                _ => 10.0 + (i as f64 * 0.3).sin(),
            })
            .collect();
        assert_all_close(s.values(), &want, 0.0);
        assert_eq!(s.labels(), [1, 0, 1, 1, 0, 0, 1, 1]);
        let noisy = Series::level(100, 0.0).noise(2.0, 5).into_values();
        let want: Vec<f64> = Noise::new(5).take(100).map(|n| 2.0 * n).collect();
        assert_eq!(noisy, want);
    }
}
