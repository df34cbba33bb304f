//! PCA monitoring with Hotelling's T² and the Q statistic (squared
//! prediction error), as SKAB's "T-squared+Q" baseline.
//!
//! Fitted on normal windows: the mean, the covariance (n − 1), and the
//! principal components that explain `variance` of it. For a window,
//! `T² = Σ tᵢ² / λᵢ` over the kept components and `Q = ‖x − x̂‖²`, the part
//! the components do not explain. Each is divided by its `quantile` over
//! the training windows, and the score is the larger: above 1 means beyond
//! the normal range on either statistic.

use linfa_linalg::eigh::Eigh;
use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A fitted PCA monitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcaMonitor {
    mean: Vec<f64>,
    /// Kept components, one per row `[k, features]`.
    components: Vec<Vec<f64>>,
    /// Their eigenvalues (variances).
    eigenvalues: Vec<f64>,
    /// T² at the training quantile.
    pub t2_limit: f64,
    /// Q at the training quantile.
    pub q_limit: f64,
}

/// T², Q and the per-feature squared residuals of some rows.
pub struct PcaStats {
    /// Hotelling's T² per row.
    pub t2: Vec<f64>,
    /// Q per row.
    pub q: Vec<f64>,
    /// Squared residual of every feature `[rows, features]`.
    pub residual2: Array2<f64>,
}

fn quantile(values: &[f64], q: f64) -> f64 {
    telltale_core::threshold::percentile(values, 100.0 * q).unwrap_or(1.0).max(f64::MIN_POSITIVE)
}

impl PcaMonitor {
    /// Fits on the rows of `x`, keeping the components that explain `variance`
    /// (in (0, 1]); the limits are the `quantile` of T² and Q over `x`.
    pub fn fit(x: &Array2<f64>, variance: f64, quantile_at: f64) -> Result<PcaMonitor> {
        let (n, d) = x.dim();
        if n < 2 {
            return Err(Error::Data(format!("PCA needs at least 2 normal windows, got {n}")));
        }
        let mean = x.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(d));
        let centred = x - &mean;
        let cov = centred.t().dot(&centred) / (n as f64 - 1.0);
        let (vals, vecs) = cov.eigh().map_err(|e| Error::Data(format!("PCA eigendecomposition failed: {e}")))?;
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| vals[b].total_cmp(&vals[a]));
        let total: f64 = vals.iter().map(|v| v.max(0.0)).sum::<f64>().max(f64::MIN_POSITIVE);
        let mut kept = Vec::new();
        let mut acc = 0.0;
        for &i in &order {
            if vals[i] <= 1e-12 * total {
                break;
            }
            kept.push(i);
            acc += vals[i].max(0.0);
            if acc / total >= variance {
                break;
            }
        }
        let mut model = PcaMonitor {
            mean: mean.to_vec(),
            components: kept.iter().map(|&i| vecs.column(i).to_vec()).collect(),
            eigenvalues: kept.iter().map(|&i| vals[i]).collect(),
            t2_limit: 1.0,
            q_limit: 1.0,
        };
        let stats = model.stats(x);
        model.t2_limit = quantile(&stats.t2, quantile_at);
        model.q_limit = quantile(&stats.q, quantile_at);
        Ok(model)
    }

    /// Components kept.
    pub fn components(&self) -> usize {
        self.components.len()
    }

    /// T², Q and squared residuals of the rows of `x`.
    pub fn stats(&self, x: &Array2<f64>) -> PcaStats {
        let mean = Array1::from(self.mean.clone());
        let centred = x - &mean;
        let (n, d) = centred.dim();
        let k = self.components.len();
        let p = Array2::from_shape_fn((d, k), |(j, c)| self.components[c][j]);
        let scores = centred.dot(&p);
        let recon = scores.dot(&p.t());
        let residual2 = (&centred - &recon).mapv(|v| v * v);
        let t2 = (0..n)
            .map(|r| (0..k).map(|c| scores[[r, c]] * scores[[r, c]] / self.eigenvalues[c].max(f64::MIN_POSITIVE)).sum())
            .collect();
        let q = residual2.sum_axis(Axis(1)).to_vec();
        PcaStats { t2, q, residual2 }
    }
}
