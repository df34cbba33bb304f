//! Isolation Forest (Liu, Ting & Zhou 2008), as scikit-learn computes it:
//! each tree isolates a random subsample of `max_samples` rows with random
//! splits (a random non-constant feature, a uniform cut between its
//! minimum and maximum) down to depth ⌈log₂ max_samples⌉; a row's path
//! length is its depth plus `c(n)` for the `n` rows left in its leaf, and
//! its score `2^(−E[path] / c(max_samples))` (higher = more anomalous;
//! scikit-learn's `score_samples` is its negative).

use ndarray::{Array2, ArrayView1};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// Average path length of an unsuccessful search in a binary search tree
/// of `n` nodes (scikit-learn's `_average_path_length`).
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + 0.577_215_664_901_532_9) - 2.0 * (n - 1.0) / n
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Node {
    Split { feature: usize, cut: f64, left: usize, right: usize },
    Leaf { size: usize },
}

/// A fitted Isolation Forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationForest {
    trees: Vec<Vec<Node>>,
    max_samples: usize,
}

fn build(
    x: &Array2<f64>,
    rows: &mut [usize],
    depth: usize,
    limit: usize,
    rng: &mut ChaCha8Rng,
    nodes: &mut Vec<Node>,
) -> usize {
    let at = nodes.len();
    nodes.push(Node::Leaf { size: rows.len() });
    if depth >= limit || rows.len() <= 1 {
        return at;
    }
    let range = |f: usize, rows: &[usize]| {
        rows.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| (lo.min(x[[r, f]]), hi.max(x[[r, f]])))
    };
    let candidates: Vec<usize> = (0..x.ncols())
        .filter(|&f| {
            let (lo, hi) = range(f, rows);
            hi > lo
        })
        .collect();
    if candidates.is_empty() {
        return at;
    }
    let feature = candidates[rng.random_range(0..candidates.len())];
    let (lo, hi) = range(feature, rows);
    let cut = lo + (hi - lo) * rng.random::<f64>();
    let mut split = 0;
    for i in 0..rows.len() {
        if x[[rows[i], feature]] < cut {
            rows.swap(i, split);
            split += 1;
        }
    }
    let (left_rows, right_rows) = rows.split_at_mut(split);
    let left = build(x, left_rows, depth + 1, limit, rng, nodes);
    let right = build(x, right_rows, depth + 1, limit, rng, nodes);
    nodes[at] = Node::Split { feature, cut, left, right };
    at
}

impl IsolationForest {
    /// Fits `trees` trees on subsamples of `max_samples` rows of `x`.
    pub fn fit(x: &Array2<f64>, trees: usize, max_samples: usize, seed: u64) -> IsolationForest {
        let n = x.nrows();
        let m = max_samples.min(n).max(1);
        let limit = (m as f64).log2().ceil().max(0.0) as usize;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let trees = (0..trees)
            .map(|_| {
                // A subsample without replacement: a partial Fisher–Yates shuffle.
                let mut all: Vec<usize> = (0..n).collect();
                for i in 0..m {
                    let j = rng.random_range(i..n);
                    all.swap(i, j);
                }
                let mut rows = all[..m].to_vec();
                let mut nodes = Vec::new();
                build(x, &mut rows, 0, limit, &mut rng, &mut nodes);
                nodes
            })
            .collect();
        IsolationForest { trees, max_samples: m }
    }

    fn path_length(tree: &[Node], row: ArrayView1<f64>) -> f64 {
        let (mut at, mut depth) = (0, 0.0);
        loop {
            match tree[at] {
                Node::Split { feature, cut, left, right } => {
                    at = if row[feature] < cut { left } else { right };
                    depth += 1.0;
                }
                Node::Leaf { size } => return depth + average_path_length(size),
            }
        }
    }

    /// Anomaly scores in (0, 1], one per row of `x`.
    pub fn score(&self, x: &Array2<f64>) -> Vec<f64> {
        let c = average_path_length(self.max_samples).max(f64::MIN_POSITIVE);
        x.outer_iter()
            .map(|row| {
                let mean =
                    self.trees.iter().map(|t| Self::path_length(t, row)).sum::<f64>() / self.trees.len().max(1) as f64;
                2f64.powf(-mean / c)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isolates_outliers() {
        // A tight cluster and three far points.
        let mut x = Array2::<f64>::zeros((203, 2));
        for i in 0..200 {
            x[[i, 0]] = ((i * 37) % 100) as f64 / 100.0;
            x[[i, 1]] = ((i * 53) % 100) as f64 / 100.0;
        }
        for (k, (a, b)) in [(8.0, 8.0), (-7.0, 3.0), (5.0, -9.0)].iter().enumerate() {
            x[[200 + k, 0]] = *a;
            x[[200 + k, 1]] = *b;
        }
        let f = IsolationForest::fit(&x, 100, 256, 1);
        let s = f.score(&x);
        let worst_inlier = s[..200].iter().copied().fold(0.0, f64::max);
        assert!(s[200..].iter().all(|&o| o > worst_inlier), "{:?} vs {worst_inlier}", &s[200..]);
        assert_eq!(f, IsolationForest::fit(&x, 100, 256, 1), "seeded");
    }
}
