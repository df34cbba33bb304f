//! A federated run's file: an ordinary experiment (data spec, windows, split, model, train) plus a
//! `[federated]` table. Checked once into [`ValidFederated`].
//!
//! ```toml
//! [federated]
//! rounds = 20          # global rounds
//! clients = 5          # sites expected to join
//! fraction = 1.0       # share of joined sites asked each round (FedAvg's C)
//! local_epochs = 1     # epochs each site trains per round (E); the batch size is train.batch_size
//! local_steps = 4      # or: mini-batches each site trains per round (instead of local_epochs)
//! local_optimizer = "adam"  # adam (fresh each round) | sgd; local_lr its rate (default train.learning_rate)
//! mu = 0.0             # FedProx's proximal term (0: FedAvg)
//! server_optimizer = "sgd"  # sgd: FedAvg / FedAvgM | adam: FedAdam
//! server_momentum = 0  # FedAvgM's β, or FedAdam's β1; server_lr its step (default 1 for sgd, 0.001 adam)
//! batch_size = 64      # local mini-batch (default train.batch_size)
//! deadline_s = 120     # a round closes with the updates that arrived by then
//! codec = "topk:0.01"  # f32 | int8 | topk:FRACTION | sign
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use telltale_models::config::{ExperimentConfig, ModelConfig, ValidExperimentConfig};
use telltale_models::train::LocalOptimizer;

use crate::codec::Codec;
use crate::error::{Error, Result};

/// The `[federated]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FederatedConfig {
    /// The run's name: its topics are `tt/fl/{run}/…` (default: the experiment's name).
    pub run: Option<String>,
    /// Global rounds.
    pub rounds: usize,
    /// Sites expected to join.
    pub clients: usize,
    /// Sites that must have joined when `join_deadline_s` passes (default: `clients`).
    pub min_clients: Option<usize>,
    /// Share of the joined sites asked to train each round, in (0, 1].
    pub fraction: f64,
    /// Epochs a site trains per round.
    pub local_epochs: usize,
    /// Mini-batches a site trains per round, instead of `local_epochs` epochs.
    pub local_steps: Option<usize>,
    /// The sites' optimizer.
    pub local_optimizer: LocalOptimizer,
    /// The sites' learning rate (default: train.learning_rate).
    pub local_lr: Option<f64>,
    /// FedProx's μ: each step pulls a site's weights toward the global ones by `lr·μ·(w − w_global)`.
    pub mu: f64,
    /// How the server applies the mean update.
    pub server_optimizer: ServerOptimizer,
    /// The server's step (default 1 with `sgd`, 0.001 with `adam`).
    pub server_lr: Option<f64>,
    /// With `sgd`, the momentum β (FedAvgM, Hsu et al. 2019): `v ← β·v + mean update`, `w ← w + server_lr·v`; 0
    /// with `server_lr` 1 is plain FedAvg. With `adam`, β1.
    pub server_momentum: f64,
    /// With `adam`, β2.
    pub server_beta2: f64,
    /// With `adam`, the ε (Reddi et al.'s τ) added to the root of the second moment.
    pub server_epsilon: f64,
    /// Windows per local mini-batch (default: train.batch_size).
    pub batch_size: Option<usize>,
    /// Seconds after which a round closes with the updates that arrived.
    pub deadline_s: f64,
    /// Seconds the coordinator waits for sites to join.
    pub join_deadline_s: f64,
    /// How sites encode their updates.
    pub codec: Codec,
    /// Updates with a larger Euclidean norm are scaled down to it (none: no clipping).
    pub clip_norm: Option<f64>,
    /// An update whose norm exceeds this many times the round's median is refused (with 3 or more updates).
    pub outlier_factor: f64,
    /// For `bench federated`: the column whose values split the training rows into sites.
    pub shard_by: Option<String>,
    /// For `bench federated`: the values of `shard_by` each site holds, one list a site.
    pub sites: Vec<Vec<String>>,
}

impl Default for FederatedConfig {
    fn default() -> Self {
        FederatedConfig {
            run: None,
            rounds: 20,
            clients: 1,
            min_clients: None,
            fraction: 1.0,
            local_epochs: 1,
            local_steps: None,
            local_optimizer: LocalOptimizer::Adam,
            local_lr: None,
            mu: 0.0,
            server_optimizer: ServerOptimizer::Sgd,
            server_lr: None,
            server_momentum: 0.0,
            server_beta2: 0.999,
            server_epsilon: 1e-8,
            batch_size: None,
            deadline_s: 120.0,
            join_deadline_s: 300.0,
            codec: Codec::F32,
            clip_norm: None,
            outlier_factor: 10.0,
            shard_by: None,
            sites: Vec::new(),
        }
    }
}

/// How the server applies the mean of the sites' updates (Reddi et al., "Adaptive Federated Optimization",
/// ICLR 2021: the negated mean update is a pseudo-gradient for a server optimizer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerOptimizer {
    /// FedAvg, or FedAvgM with `server_momentum`.
    #[default]
    Sgd,
    /// FedAdam: Adam on the pseudo-gradient, its moments kept by the coordinator (and on disk).
    Adam,
}

/// A checked run: the experiment and its federated settings.
#[derive(Debug, Clone)]
pub struct ValidFederated {
    /// The experiment (a neural preset).
    pub experiment: ValidExperimentConfig,
    /// The federated settings.
    pub federated: FederatedConfig,
    /// The run's name.
    pub run: String,
    /// The file it came from.
    pub path: PathBuf,
    /// Its text, as the coordinator hands it to the sites.
    pub text: String,
    /// For a site: the coordinator state whose spec it read (empty for the coordinator itself).
    pub instance: String,
}

#[derive(Deserialize)]
struct Outer {
    federated: Option<FederatedConfig>,
    #[serde(flatten)]
    _rest: toml::Table,
}

impl FederatedConfig {
    /// Checks the values; errors name the key.
    pub fn check(&self) -> Result<()> {
        let positive = |key: &str, v: usize| {
            if v == 0 { Err(Error::config(format!("federated.{key}"), "must be at least 1")) } else { Ok(()) }
        };
        positive("rounds", self.rounds)?;
        positive("clients", self.clients)?;
        positive("local_epochs", self.local_epochs)?;
        if self.local_steps == Some(0) {
            return Err(Error::config("federated.local_steps", "must be at least 1"));
        }
        if let Some(m) = self.min_clients
            && (m == 0 || m > self.clients)
        {
            return Err(Error::config("federated.min_clients", format!("{m} is not in 1..={}", self.clients)));
        }
        if !(self.fraction > 0.0 && self.fraction <= 1.0) {
            return Err(Error::config("federated.fraction", format!("{} is not in (0, 1]", self.fraction)));
        }
        if !(0.0..1.0).contains(&self.server_momentum) {
            return Err(Error::config(
                "federated.server_momentum",
                format!("{} is not in [0, 1)", self.server_momentum),
            ));
        }
        if self.batch_size == Some(0) {
            return Err(Error::config("federated.batch_size", "must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.server_beta2) {
            return Err(Error::config("federated.server_beta2", format!("{} is not in [0, 1)", self.server_beta2)));
        }
        for (key, v) in [("mu", self.mu)] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(Error::config(format!("federated.{key}"), format!("{v} must be at least 0")));
            }
        }
        for (key, v) in [
            ("deadline_s", self.deadline_s),
            ("join_deadline_s", self.join_deadline_s),
            ("outlier_factor", self.outlier_factor),
            ("server_lr", self.server_lr.unwrap_or(1.0)),
            ("server_epsilon", self.server_epsilon),
            ("local_lr", self.local_lr.unwrap_or(1.0)),
            ("clip_norm", self.clip_norm.unwrap_or(1.0)),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(Error::config(format!("federated.{key}"), format!("{v} must be positive")));
            }
        }
        if let Some(run) = &self.run
            && (run.is_empty() || run.contains(['/', '+', '#']))
        {
            return Err(Error::config("federated.run", format!("'{run}' must be a topic level (no / + #)")));
        }
        if !self.sites.is_empty() && self.shard_by.is_none() {
            return Err(Error::config("federated.shard_by", "federated.sites needs the column it splits"));
        }
        Ok(())
    }

    /// The server's step, its default by optimizer.
    pub fn server_lr(&self) -> f64 {
        self.server_lr.unwrap_or(match self.server_optimizer {
            ServerOptimizer::Sgd => 1.0,
            ServerOptimizer::Adam => 1e-3,
        })
    }
}

impl ValidFederated {
    /// Reads and checks a run's file.
    pub fn load(path: &Path) -> Result<ValidFederated> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        ValidFederated::from_toml(&text, path)
    }

    /// Parses and checks a run's TOML text; `path` names it in errors and anchors relative paths.
    pub fn from_toml(text: &str, path: &Path) -> Result<ValidFederated> {
        let outer: Outer = toml::from_str(text)
            .map_err(|e| Error::config(path.display().to_string(), e.to_string().trim_end().to_owned()))?;
        let federated = outer.federated.ok_or_else(|| {
            Error::config(format!("{}: federated", path.display()), "a federated run needs a [federated] table")
        })?;
        federated.check()?;
        let mut table: toml::Table = toml::from_str(text)
            .map_err(|e| Error::config(path.display().to_string(), e.to_string().trim_end().to_owned()))?;
        table.remove("federated");
        let rest = toml::to_string(&table).map_err(|e| Error::config(path.display().to_string(), e.to_string()))?;
        let experiment = ExperimentConfig::from_toml(&rest, path)?.check()?;
        if !matches!(experiment.model, ModelConfig::Neural(_)) {
            return Err(Error::config("model.preset", "federated training needs a neural preset of the zoo"));
        }
        let run = federated.run.clone().unwrap_or_else(|| experiment.name().replace(['/', '+', '#'], "-"));
        Ok(ValidFederated {
            experiment,
            federated,
            run,
            path: path.to_owned(),
            text: text.to_owned(),
            instance: String::new(),
        })
    }

    /// The sites a round asks: all joined when `fraction` is 1, else `ceil(fraction·n)` of them, chosen by a
    /// hash of the seed, the round and the name (the same on every restart).
    pub fn selected(&self, joined: &[String], round: usize) -> Vec<String> {
        let n = joined.len();
        let k = ((self.federated.fraction * n as f64).ceil() as usize).clamp(1.min(n), n);
        let mut ranked: Vec<(u64, &String)> =
            joined.iter().map(|c| (mix(self.experiment.seed, round as u64, c), c)).collect();
        ranked.sort();
        let mut out: Vec<String> = ranked.into_iter().take(k).map(|(_, c)| c.clone()).collect();
        out.sort();
        out
    }
}

fn mix(seed: u64, round: u64, name: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ round.rotate_left(17);
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPERIMENT: &str = r#"
[data]
path = "x.csv"
features = ["x"]
label = "k != 1"
groups = ["k"]
[window]
size = 4
step = 4
[split]
kind = "group-holdout"
column = "k"
val = ["2"]
test = ["3"]
[model]
preset = "cnn-lstm"
"#;

    fn load(extra: &str) -> Result<ValidFederated> {
        ValidFederated::from_toml(&format!("{EXPERIMENT}{extra}"), Path::new("dir/run.toml"))
    }

    #[test]
    fn a_run_file_is_checked_once_and_errors_name_the_key() {
        let ok = load("[federated]\nclients = 3\nfraction = 0.5\ncodec = \"topk:0.05\"\n").expect("valid");
        assert_eq!(
            (ok.run.as_str(), ok.federated.clients, ok.federated.codec),
            ("run", 3, Codec::TopK { fraction: 0.05 })
        );
        assert_eq!(ok.selected(&["a".into(), "b".into(), "c".into()], 4).len(), 2);
        assert_eq!(
            ok.selected(&["a".into(), "b".into(), "c".into()], 4),
            ok.selected(&["c".into(), "b".into(), "a".into()], 4)
        );
        for (extra, key) in [
            ("", "federated"),
            ("[federated]\nrounds = 0\n", "federated.rounds"),
            ("[federated]\nfraction = 1.5\n", "federated.fraction"),
            ("[federated]\nclients = 2\nmin_clients = 3\n", "federated.min_clients"),
            ("[federated]\nserver_momentum = 1.0\n", "federated.server_momentum"),
            ("[federated]\nserver_optimizer = \"adam\"\nserver_beta2 = 1.0\n", "federated.server_beta2"),
            ("[federated]\nserver_optimizer = \"yogi\"\n", "server_optimizer"),
            ("[federated]\nlocal_steps = 0\n", "federated.local_steps"),
            ("[federated]\nlocal_lr = 0.0\n", "federated.local_lr"),
            ("[federated]\nrun = \"a/b\"\n", "federated.run"),
            ("[federated]\nsites = [[\"1\"]]\n", "federated.shard_by"),
            ("[federated]\ncodec = \"zip\"\n", "codec"),
            ("[federated]\nroundz = 3\n", "roundz"),
        ] {
            let err = load(extra).expect_err(extra).to_string();
            assert!(err.contains(key), "{extra:?}: {err}");
        }
    }
}
