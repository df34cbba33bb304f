//! One-Class SVM (seed 004's baseline) on linfa: ν-SVM with an RBF kernel,
//! `γ = 1 / (features · variance)` as scikit-learn's `gamma="scale"`,
//! trained on (a sample of) normal windows. The score is the negated
//! decision value `ρ − Σ αᵢ k(xᵢ, x)`: above 0 means outside the support.

use linfa::dataset::DatasetBase;
use linfa::prelude::Fit;
use linfa_svm::Svm;
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A fitted One-Class SVM.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OneClassSvm {
    svm: Svm<f64, bool>,
}

impl OneClassSvm {
    /// Fits on the rows of `x` with the given ν.
    pub fn fit(x: Array2<f64>, nu: f64) -> Result<OneClassSvm> {
        let n_features = x.ncols().max(1) as f64;
        let var = x.var(0.0).max(1e-12);
        let width = n_features * var;
        let targets = Array2::<()>::from_elem((x.nrows(), 0), ());
        let data = DatasetBase::new(x, targets);
        let svm = Svm::<f64, linfa::dataset::Pr>::params()
            .nu_weight(nu)
            .eps(1e-3)
            .gaussian_kernel(width)
            .fit(&data)
            .map_err(|e| Error::Data(format!("one-class SVM: {e}")))?;
        Ok(OneClassSvm { svm })
    }

    /// Scores (higher = more anomalous), one per row of `x`.
    pub fn score(&self, x: &Array2<f64>) -> Vec<f64> {
        x.axis_iter(Axis(0)).map(|row| self.svm.rho - self.svm.weighted_sum(&row)).collect()
    }
}
