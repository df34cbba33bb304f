//! Column moments: what a site tells the coordinator about its data, and how the global scaler is formed
//! from them. Counts, sums of values and of squares, minima and maxima per column combine exactly (Chan et
//! al.'s pooled variance); no row leaves the site.

use serde::{Deserialize, Serialize};
use telltale_core::{Scaler, ScalerKind};

use crate::error::{Error, Result};

/// Moments of some rows, per column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Rows.
    pub n: u64,
    /// Mean per column.
    pub mean: Vec<f64>,
    /// Sum of squared deviations from the mean, per column.
    pub m2: Vec<f64>,
    /// Smallest value per column.
    pub min: Vec<f64>,
    /// Largest value per column.
    pub max: Vec<f64>,
}

impl Moments {
    /// Moments of the rows of `values` (`n_features` columns) where `use_row` is true.
    pub fn of(values: &[f32], n_features: usize, use_row: &[bool]) -> Moments {
        let f = n_features;
        let mut m = Moments {
            n: 0,
            mean: vec![0.0; f],
            m2: vec![0.0; f],
            min: vec![f64::INFINITY; f],
            max: vec![f64::NEG_INFINITY; f],
        };
        for (row, _) in values.chunks_exact(f.max(1)).zip(use_row).filter(|(_, u)| **u) {
            m.n += 1;
            for (j, &v) in row.iter().enumerate() {
                let v = f64::from(v);
                let d = v - m.mean[j];
                m.mean[j] += d / m.n as f64;
                m.m2[j] += d * (v - m.mean[j]);
                m.min[j] = m.min[j].min(v);
                m.max[j] = m.max[j].max(v);
            }
        }
        m
    }

    /// The moments of the union of the rows behind `parts`.
    pub fn combine(parts: &[Moments]) -> Result<Moments> {
        let first = parts.first().ok_or_else(|| Error::Sites("no site's moments to combine".into()))?;
        let f = first.mean.len();
        let mut out = Moments {
            n: 0,
            mean: vec![0.0; f],
            m2: vec![0.0; f],
            min: vec![f64::INFINITY; f],
            max: vec![f64::NEG_INFINITY; f],
        };
        for p in parts {
            if [p.mean.len(), p.m2.len(), p.min.len(), p.max.len()].iter().any(|&l| l != f) {
                return Err(Error::Update(format!("moments of {} columns beside {f}", p.mean.len())));
            }
            if p.n == 0 {
                continue;
            }
            let n = out.n + p.n;
            for j in 0..f {
                let d = p.mean[j] - out.mean[j];
                out.mean[j] += d * p.n as f64 / n as f64;
                out.m2[j] += p.m2[j] + d * d * out.n as f64 * p.n as f64 / n as f64;
                out.min[j] = out.min[j].min(p.min[j]);
                out.max[j] = out.max[j].max(p.max[j]);
            }
            out.n = n;
        }
        Ok(out)
    }

    /// The scaler of `kind` these moments make (the standard scaler uses the population deviation, as
    /// [`Scaler::fit`] does).
    pub fn scaler(&self, kind: ScalerKind) -> Result<Scaler> {
        let f = self.mean.len();
        if self.n == 0 && kind != ScalerKind::None {
            return Err(Error::Sites("the sites hold no training rows".into()));
        }
        if self.mean.iter().chain(&self.m2).chain(&self.min).chain(&self.max).any(|v| !v.is_finite()) {
            return Err(Error::Update("moments that are not finite".into()));
        }
        let fix = |s: f64| if s > 10.0 * f64::EPSILON { s } else { 1.0 };
        Ok(match kind {
            ScalerKind::None => Scaler::Identity { n: f },
            ScalerKind::Standard => Scaler::Standard {
                mean: self.mean.clone(),
                scale: self.m2.iter().map(|m2| fix((m2 / self.n as f64).sqrt())).collect(),
            },
            ScalerKind::MinMax => Scaler::MinMax {
                min: self.min.clone(),
                scale: self.min.iter().zip(&self.max).map(|(lo, hi)| fix(hi - lo)).collect(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_moments_give_the_scaler_of_the_pooled_rows() {
        let values: Vec<f32> = (0..300).map(|i| ((i * 7919) % 113) as f32 / 3.0 - (i % 3) as f32 * 5.0).collect();
        let all = vec![true; 100];
        let pooled = Scaler::fit(ScalerKind::Standard, &values, 3, &all).expect("fit");
        let parts: Vec<Moments> = [0..30usize, 30..31, 31..100]
            .into_iter()
            .map(|r| Moments::of(&values[r.start * 3..r.end * 3], 3, &vec![true; r.len()]))
            .collect();
        let combined = Moments::combine(&parts).expect("combine").scaler(ScalerKind::Standard).expect("scaler");
        let (Scaler::Standard { mean: a, scale: s }, Scaler::Standard { mean: b, scale: t }) = (&pooled, &combined)
        else {
            panic!("standard scalers")
        };
        for (x, y) in a.iter().zip(b).chain(s.iter().zip(t)) {
            assert!((x - y).abs() < 1e-9, "{x} vs {y}");
        }
    }
}
