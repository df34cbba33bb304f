//! Random Forest classifier (seed 000's baseline) on linfa: bagged CART
//! trees (Gini), each on a bootstrap sample and a random share of the
//! features (linfa draws the features per tree, scikit-learn per split).
//! The probability of the anomalous class is the share of trees voting for it.

use linfa::dataset::DatasetBase;
use linfa::prelude::{Fit, Predict};
use linfa_ensemble::{EnsembleLearner, EnsembleLearnerParams};
use linfa_trees::DecisionTree;
use ndarray::{Array1, Array2, Axis};
use rand_08::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A fitted forest: its trees and the features each one reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Forest {
    trees: Vec<DecisionTree<f64, usize>>,
    features: Vec<Vec<usize>>,
}

impl Forest {
    /// Fits `trees` trees on `x` with labels `y` (0/1).
    pub fn fit(
        x: Array2<f64>,
        y: &[u8],
        trees: usize,
        max_depth: Option<usize>,
        feature_share: f64,
        seed: u64,
    ) -> Result<Forest> {
        let targets = Array1::from_iter(y.iter().map(|&v| usize::from(v != 0)));
        let data = DatasetBase::new(x, targets);
        let rng = rand_08::rngs::StdRng::seed_from_u64(seed);
        let fitted: EnsembleLearner<DecisionTree<f64, usize>> =
            EnsembleLearnerParams::new_fixed_rng(DecisionTree::params().max_depth(max_depth), rng)
                .ensemble_size(trees)
                .bootstrap_proportion(1.0)
                .feature_proportion(feature_share)
                .fit(&data)
                .map_err(|e| Error::Data(format!("random forest: {e}")))?;
        Ok(Forest { trees: fitted.models, features: fitted.model_features })
    }

    /// Share of trees voting "anomalous", per row of `x`.
    pub fn probability(&self, x: &Array2<f64>) -> Vec<f64> {
        let mut votes = vec![0usize; x.nrows()];
        for (tree, feats) in self.trees.iter().zip(&self.features) {
            let sub = x.select(Axis(1), feats);
            let pred: Array1<usize> = tree.predict(&sub);
            votes.iter_mut().zip(pred.iter()).for_each(|(v, &p)| *v += p);
        }
        let n = self.trees.len().max(1) as f64;
        votes.iter().map(|&v| v as f64 / n).collect()
    }
}
