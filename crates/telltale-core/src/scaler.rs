//! Feature scalers, fitted on training rows only and saved with the model.
//!
//! Both follow scikit-learn: [`Scaler::Standard`] is `StandardScaler`
//! (population standard deviation; a constant feature gets scale 1) and
//! [`Scaler::MinMax`] is `MinMaxScaler` (a constant feature gets range 1).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which scaler to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScalerKind {
    /// Zero mean, unit variance.
    #[default]
    Standard,
    /// Into `[0, 1]`.
    MinMax,
    /// Leave the values as they are.
    None,
}

impl std::str::FromStr for ScalerKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "standard" => Ok(ScalerKind::Standard),
            "min-max" | "minmax" => Ok(ScalerKind::MinMax),
            "none" => Ok(ScalerKind::None),
            _ => Err(Error::invalid("scaler", format!("'{s}' (expected standard, min-max or none)"))),
        }
    }
}

/// A fitted per-feature affine transform `x' = (x - offset) / scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Scaler {
    /// `(x - mean) / std`.
    Standard {
        /// Mean per feature.
        mean: Vec<f64>,
        /// Standard deviation per feature (1 where it is 0).
        scale: Vec<f64>,
    },
    /// `(x - min) / (max - min)`.
    MinMax {
        /// Minimum per feature.
        min: Vec<f64>,
        /// `max - min` per feature (1 where it is 0).
        scale: Vec<f64>,
    },
    /// Identity over `n` features.
    Identity {
        /// Number of features.
        n: usize,
    },
}

impl Scaler {
    /// Fits `kind` on the rows of row-major `values` (`n_features` columns)
    /// for which `use_row` is true.
    pub fn fit(kind: ScalerKind, values: &[f32], n_features: usize, use_row: &[bool]) -> Result<Scaler> {
        let f = n_features;
        if f == 0 || values.len() != use_row.len() * f {
            return Err(Error::invalid("scaler", "values and row mask do not match"));
        }
        let rows = || values.chunks_exact(f).zip(use_row).filter(|(_, u)| **u).map(|(r, _)| r);
        let n = rows().count();
        if n == 0 && kind != ScalerKind::None {
            return Err(Error::invalid("scaler", "no training rows to fit on"));
        }
        let fix = |s: f64| if s > 10.0 * f64::EPSILON { s } else { 1.0 };
        Ok(match kind {
            ScalerKind::None => Scaler::Identity { n: f },
            ScalerKind::Standard => {
                let mut mean = vec![0.0f64; f];
                for row in rows() {
                    for (m, &v) in mean.iter_mut().zip(row) {
                        *m += f64::from(v);
                    }
                }
                mean.iter_mut().for_each(|m| *m /= n as f64);
                let mut var = vec![0.0f64; f];
                for row in rows() {
                    for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
                        let d = f64::from(v) - m;
                        *s += d * d;
                    }
                }
                let scale = var.iter().map(|s| fix((s / n as f64).sqrt())).collect();
                Scaler::Standard { mean, scale }
            }
            ScalerKind::MinMax => {
                let mut min = vec![f64::INFINITY; f];
                let mut max = vec![f64::NEG_INFINITY; f];
                for row in rows() {
                    for j in 0..f {
                        let v = f64::from(row[j]);
                        min[j] = min[j].min(v);
                        max[j] = max[j].max(v);
                    }
                }
                let scale = min.iter().zip(&max).map(|(lo, hi)| fix(hi - lo)).collect();
                Scaler::MinMax { min, scale }
            }
        })
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        match self {
            Scaler::Standard { mean, .. } => mean.len(),
            Scaler::MinMax { min, .. } => min.len(),
            Scaler::Identity { n } => *n,
        }
    }

    fn parts(&self) -> Option<(&[f64], &[f64])> {
        match self {
            Scaler::Standard { mean, scale } => Some((mean, scale)),
            Scaler::MinMax { min, scale } => Some((min, scale)),
            Scaler::Identity { .. } => None,
        }
    }

    /// Scales row-major `values` in place.
    pub fn transform(&self, values: &mut [f32]) {
        if let Some((offset, scale)) = self.parts() {
            for row in values.chunks_exact_mut(offset.len()) {
                for ((v, o), s) in row.iter_mut().zip(offset).zip(scale) {
                    *v = ((f64::from(*v) - o) / s) as f32;
                }
            }
        }
    }

    /// Undoes [`Scaler::transform`] in place.
    pub fn inverse_transform(&self, values: &mut [f32]) {
        if let Some((offset, scale)) = self.parts() {
            for row in values.chunks_exact_mut(offset.len()) {
                for ((v, o), s) in row.iter_mut().zip(offset).zip(scale) {
                    *v = (f64::from(*v) * s + o) as f32;
                }
            }
        }
    }

    /// Writes the scaler as JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text =
            serde_json::to_string_pretty(self).map_err(|source| Error::Json { path: path.to_owned(), source })?;
        std::fs::write(path, text).map_err(|source| Error::Io { path: path.to_owned(), source })
    }

    /// Reads a scaler written by [`Scaler::save`].
    pub fn load(path: &Path) -> Result<Scaler> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
        serde_json::from_str(&text).map_err(|source| Error::Json { path: path.to_owned(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_on_training_rows_only() {
        let values = [1.0f32, 10.0, 3.0, 10.0, 100.0, -5.0];
        let s = Scaler::fit(ScalerKind::Standard, &values, 2, &[true, true, false]).unwrap();
        assert_eq!(s, Scaler::Standard { mean: vec![2.0, 10.0], scale: vec![1.0, 1.0] });
        let mut v = values;
        s.transform(&mut v);
        assert_eq!(v, [-1.0, 0.0, 1.0, 0.0, 98.0, -15.0]);
        s.inverse_transform(&mut v);
        assert_eq!(v, values);
        let m = Scaler::fit(ScalerKind::MinMax, &values, 2, &[true, true, true]).unwrap();
        assert_eq!(m, Scaler::MinMax { min: vec![1.0, -5.0], scale: vec![99.0, 15.0] });
    }

    #[test]
    fn no_rows_is_an_error() {
        assert!(Scaler::fit(ScalerKind::Standard, &[1.0], 1, &[false]).is_err());
        assert!(Scaler::fit(ScalerKind::Standard, &[1.0], 1, &[true, true]).is_err());
    }

    #[test]
    fn saves_and_loads() {
        let s = Scaler::fit(ScalerKind::MinMax, &[0.5, 2.0, 1.5, 4.0], 2, &[true, true]).unwrap();
        let path = std::env::temp_dir().join(format!("telltale-scaler-{}.json", std::process::id()));
        s.save(&path).unwrap();
        assert_eq!(Scaler::load(&path).unwrap(), s);
        std::fs::remove_file(&path).unwrap();
    }
}
