//! Statistics shared by the thresholds ([`crate::threshold`], [`crate::evt`],
//! [`crate::telemanom`]) and the detectors of other crates: one home, so none
//! of them reaches into another for a mean or a percentile.

use crate::error::{Error, Result};

/// Mean and population standard deviation (both 0 for no values).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    (mean, (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt())
}

/// The q-th percentile (`0..=100`) with linear interpolation between the
/// closest ranks, as `numpy.percentile`'s default.
pub fn percentile(values: &[f64], q: f64) -> Result<f64> {
    if values.is_empty() {
        return Err(Error::Undefined("a percentile of no values is undefined".into()));
    }
    if !(0.0..=100.0).contains(&q) {
        return Err(Error::invalid("percentile", format!("{q} is not in [0, 100]")));
    }
    if let Some(v) = values.iter().find(|v| !v.is_finite()) {
        return Err(Error::invalid("scores", format!("{v} is not finite")));
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let (a, b, t) = (sorted[lo], sorted[hi], pos - lo as f64);
    // numpy's `_lerp`: the form that is exact at the nearer end.
    Ok(if t >= 0.5 { b - (b - a) * (1.0 - t) } else { a + (b - a) * t })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn percentiles() {
        let v = [3.0, 1.0, 2.0, 4.0];
        assert_eq!(percentile(&v, 0.0).unwrap(), 1.0);
        assert_eq!(percentile(&v, 100.0).unwrap(), 4.0);
        assert_eq!(percentile(&v, 50.0).unwrap(), 2.5);
        assert!((percentile(&v, 90.0).unwrap() - 3.7).abs() < 1e-12);
        assert!(percentile(&[], 50.0).is_err());
        assert!(percentile(&v, 101.0).is_err());
    }

    #[test]
    fn mean_and_population_std() {
        assert_eq!(mean_std(&[]), (0.0, 0.0));
        let (mean, std) = mean_std(&[20.0, 21.0, 22.0]);
        assert_eq!(mean, 21.0);
        assert!((std - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn percentile_is_monotone_and_bounded(v in proptest::collection::vec(-1e6f64..1e6, 1..50), a in 0f64..100.0, b in 0f64..100.0) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let (pl, ph) = (percentile(&v, lo).unwrap(), percentile(&v, hi).unwrap());
            prop_assert!(pl <= ph);
            let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
            let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(min <= pl && ph <= max);
        }
    }
}
