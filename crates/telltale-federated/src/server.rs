//! The server's step: the windows-weighted mean of the accepted updates, applied to the global weights by
//! the run's server optimizer (Reddi et al., "Adaptive Federated Optimization", ICLR 2021, treat the negated
//! mean update as a pseudo-gradient):
//!
//! - `sgd`: FedAvg, `w ← w + lr·Δ`; with momentum β, FedAvgM (Hsu et al. 2019): `v ← β·v + Δ`, `w ← w + lr·v`.
//! - `adam`: FedAdam with Adam's bias correction, `g = −Δ`, `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`,
//!   `w ← w − lr·m̂/(√v̂ + ε)`. With sites that take one SGD step each (`local_steps = 1`, `local_optimizer =
//!   "sgd"`) this is Adam on the mean gradient of all the sites' batches: centralised training's optimizer,
//!   the batch spread over the sites.
//!
//! The moments live in the coordinator's [`State`], on disk with the weights, so a restart resumes them.

use crate::config::{FederatedConfig, ServerOptimizer};
use crate::state::State;

/// An update accepted for aggregation.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The site.
    pub site: String,
    /// Its training windows (the weight of its update).
    pub samples: usize,
    /// Its local training loss.
    pub loss: f64,
    /// Its weights minus the base model's, decoded.
    pub delta: Vec<f32>,
}

/// Applies the mean of `accepted` to `state`'s weights with `cfg`'s server optimizer; gives the windows-weighted
/// mean local loss (none, and nothing changed, without updates).
pub fn aggregate(state: &mut State, accepted: &[Accepted], cfg: &FederatedConfig) -> Option<f64> {
    let total: usize = accepted.iter().map(|a| a.samples).sum();
    if total == 0 {
        return None;
    }
    let mut mean = vec![0f64; state.weights.len()];
    for a in accepted {
        let w = a.samples as f64 / total as f64;
        for (s, d) in mean.iter_mut().zip(&a.delta) {
            *s += w * f64::from(*d);
        }
    }
    match cfg.server_optimizer {
        ServerOptimizer::Sgd => momentum_step(state, mean, cfg.server_lr(), cfg.server_momentum),
        ServerOptimizer::Adam => adam_step(state, &mean, cfg),
    }
    Some(accepted.iter().map(|a| a.loss * a.samples as f64).sum::<f64>() / total as f64)
}

fn momentum_step(state: &mut State, mut step: Vec<f64>, lr: f64, beta: f64) {
    if beta > 0.0 {
        if state.velocity.len() != step.len() {
            state.velocity = vec![0.0; step.len()];
        }
        state.momentum = true;
        for (v, s) in state.velocity.iter_mut().zip(step.iter_mut()) {
            *v = (beta * f64::from(*v) + *s) as f32;
            *s = f64::from(*v);
        }
    }
    for (x, s) in state.weights.iter_mut().zip(step) {
        *x = (f64::from(*x) + lr * s) as f32;
    }
    state.server_steps += 1;
}

fn adam_step(state: &mut State, mean: &[f64], cfg: &FederatedConfig) {
    let n = mean.len();
    if state.velocity.len() != n || state.second.len() != n {
        state.velocity = vec![0.0; n];
        state.second = vec![0.0; n];
        state.server_steps = 0;
    }
    state.momentum = true;
    state.second_moment = true;
    state.server_steps += 1;
    let (b1, b2) = (cfg.server_momentum, cfg.server_beta2);
    let t = state.server_steps as i32;
    let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
    let lr = cfg.server_lr();
    for (((x, m), v), d) in state.weights.iter_mut().zip(&mut state.velocity).zip(&mut state.second).zip(mean) {
        let g = -d;
        let m1 = b1 * f64::from(*m) + (1.0 - b1) * g;
        let v1 = b2 * f64::from(*v) + (1.0 - b2) * g * g;
        *m = m1 as f32;
        *v = v1 as f32;
        *x = (f64::from(*x) - lr * (m1 / c1) / ((v1 / c2).sqrt() + cfg.server_epsilon)) as f32;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn acc(site: &str, samples: usize, delta: Vec<f32>) -> Accepted {
        Accepted { site: site.into(), samples, loss: 1.0, delta }
    }

    fn state(weights: Vec<f32>) -> State {
        State {
            run: "r".into(),
            instance: "i".into(),
            round: 0,
            scaler: None,
            joined: BTreeMap::new(),
            history: Vec::new(),
            starts: 1,
            momentum: false,
            weights,
            velocity: Vec::new(),
            second_moment: false,
            second: Vec::new(),
            server_steps: 0,
        }
    }

    fn sgd(lr: f64, beta: f64) -> FederatedConfig {
        FederatedConfig { server_lr: Some(lr), server_momentum: beta, ..FederatedConfig::default() }
    }

    #[test]
    fn fedavg_weighs_updates_by_windows() {
        let mut s = state(vec![1.0, 1.0]);
        let loss = aggregate(&mut s, &[acc("a", 1, vec![4.0, 0.0]), acc("b", 3, vec![0.0, 4.0])], &sgd(1.0, 0.0));
        assert_eq!(s.weights, vec![2.0, 4.0]);
        assert_eq!(loss, Some(1.0));
        assert_eq!(aggregate(&mut s, &[], &sgd(1.0, 0.0)), None);
        assert_eq!(s.weights, vec![2.0, 4.0]);
    }

    #[test]
    fn server_momentum_carries_the_last_rounds_mean() {
        let mut s = state(vec![0.0]);
        aggregate(&mut s, &[acc("a", 1, vec![1.0])], &sgd(1.0, 0.5));
        aggregate(&mut s, &[acc("a", 1, vec![1.0])], &sgd(1.0, 0.5));
        // v = 1, then 0.5 + 1: the weights move 1 + 1.5.
        assert_eq!(s.weights, vec![2.5]);
        assert_eq!(s.velocity, vec![1.5]);
    }

    #[test]
    fn fedadam_takes_adams_bias_corrected_steps_on_the_negated_mean() {
        let cfg = FederatedConfig {
            server_optimizer: ServerOptimizer::Adam,
            server_lr: Some(0.1),
            server_momentum: 0.9,
            ..FederatedConfig::default()
        };
        let mut s = state(vec![0.0, 0.0]);
        // The mean update is (+2, −0.5): the pseudo-gradient (−2, +0.5). Adam's first step is lr·sign(−g).
        aggregate(&mut s, &[acc("a", 1, vec![4.0, -1.0]), acc("b", 1, vec![0.0, 0.0])], &cfg);
        assert!((s.weights[0] - 0.1).abs() < 1e-6 && (s.weights[1] + 0.1).abs() < 1e-6, "{:?}", s.weights);
        assert_eq!(s.server_steps, 1);
        // A second identical mean: the bias-corrected moments are the gradient's, the step lr again.
        aggregate(&mut s, &[acc("a", 1, vec![4.0, -1.0]), acc("b", 1, vec![0.0, 0.0])], &cfg);
        assert!((s.weights[0] - 0.2).abs() < 1e-5 && (s.weights[1] + 0.2).abs() < 1e-5, "{:?}", s.weights);
        // Scaling every update leaves Adam's step as it is (ε aside).
        let mut t = state(vec![0.0, 0.0]);
        aggregate(&mut t, &[acc("a", 1, vec![400.0, -100.0]), acc("b", 1, vec![0.0, 0.0])], &cfg);
        assert!((t.weights[0] - 0.1).abs() < 1e-6, "{:?}", t.weights);
    }
}
