//! `bench federated`: a whole fleet on loopback. The run's file is split into one data file per site
//! ([`shards`]); the coordinator (`telltale federate`) and every site (`telltale train --federated`) run as
//! processes of their own through one broker (embedded here, or one named); beside them, in the same run, the
//! same model is trained centrally on the union of the sites' rows with as many epochs in all. With `chaos`,
//! one site is killed mid-round and started again later, and the coordinator is killed once and restarted
//! (it resumes from its stored round).

pub mod fleet;
pub mod shards;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use telltale_core::{GroupPick, SplitSpec};
use telltale_federated::state::RoundRecord;
use telltale_federated::{Codec, ValidFederated};
use telltale_models::pipeline::run_checked;
use telltale_models::train::Quiet;

use crate::error::{Error, Result};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The run's file.
    pub config: PathBuf,
    /// The telltale binary the processes run.
    pub exe: PathBuf,
    /// Sites (the first N of `federated.sites`; default all).
    pub clients: Option<usize>,
    /// The codec (default the file's).
    pub codec: Option<Codec>,
    /// Rounds (default the file's).
    pub rounds: Option<usize>,
    /// Kill a site mid-round and the coordinator once.
    pub chaos: bool,
    /// A broker to use instead of an embedded one.
    pub broker: Option<String>,
    /// A scratch folder for shards, state and logs.
    pub work: PathBuf,
}

/// Figures of a model on the test windows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TestFigures {
    /// The round (federated) or epoch (centralised) whose model these are.
    pub at: usize,
    /// Accuracy.
    pub accuracy: Option<f64>,
    /// ROC-AUC.
    pub roc_auc: Option<f64>,
    /// F1.
    pub f1: Option<f64>,
}

/// What the faults were.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Chaos {
    /// Site processes killed (each started again later).
    pub sites_killed: usize,
    /// Coordinator processes killed and restarted.
    pub coordinator_restarts: usize,
}

/// The bench's result.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The codec.
    pub codec: String,
    /// Sites.
    pub clients: usize,
    /// Every round, as the coordinator recorded it.
    pub rounds: Vec<RoundRecord>,
    /// Update bytes over all rounds.
    pub bytes_up: u64,
    /// Global-model bytes over all rounds.
    pub bytes_down: u64,
    /// The last round's global model.
    #[serde(rename = "final")]
    pub last: TestFigures,
    /// The round with the lowest validation loss (what `restore_best` keeps centrally).
    pub best: TestFigures,
    /// The same model trained centrally on the union of the sites' rows, best epoch by validation loss.
    pub centralised: TestFigures,
    /// Update bytes until the first round whose test accuracy reached 99 % of the centralised one.
    pub bytes_up_to_99: Option<u64>,
    /// Faults made (with `chaos`).
    pub chaos: Option<Chaos>,
    /// Seconds of the federated run.
    pub federated_seconds: f64,
    /// Seconds of the centralised training.
    pub centralised_seconds: f64,
}

/// Runs the bench; `say` receives progress lines.
pub fn run(opts: &Options, say: &mut dyn FnMut(&str)) -> Result<Outcome> {
    let mut fed = ValidFederated::load(&opts.config)?;
    let column = fed.federated.shard_by.clone().ok_or_else(|| Error::Config {
        field: "federated.shard_by".into(),
        message: "bench federated splits the data by this column".into(),
    })?;
    let mut sites = fed.federated.sites.clone();
    if let Some(n) = opts.clients {
        if n == 0 || n > sites.len() {
            return Err(Error::Config {
                field: "--clients".into(),
                message: format!("{n}: the file lists {} sites", sites.len()),
            });
        }
        sites.truncate(n);
    }
    if sites.is_empty() {
        return Err(Error::Config { field: "federated.sites".into(), message: "no sites listed".into() });
    }
    let holdout = holdout_levels(&fed, &column)?;
    let shards = shards::write_shards(&fed.experiment.data.path, &column, &sites, &holdout, &opts.work.join("shards"))?;
    for (path, rows) in &shards {
        say(&format!("{}: {rows} rows", path.display()));
    }
    if let Some(c) = opts.codec {
        fed.federated.codec = c;
    }
    if let Some(r) = opts.rounds {
        fed.federated.rounds = r;
    }
    fed.federated.clients = sites.len();
    let run_file = write_run_file(&fed, &opts.work)?;
    let fleet = fleet::Fleet { opts, run_file: &run_file, fed: &fed, shards: &shards };
    let flown = fleet.fly(say)?;
    // The centralised peer: the union of the sites' rows and the holdout, the same split, as many epochs.
    let mut union: Vec<String> = sites.concat();
    union.extend(holdout.iter().cloned());
    let central_file = shards::write_shards(
        &fed.experiment.data.path,
        &column,
        &[union],
        &BTreeSet::new(),
        &opts.work.join("central"),
    )?;
    let mut exp = fed.experiment.clone().into_inner();
    exp.data.path = central_file[0].0.clone();
    exp.train.epochs = central_epochs(&fed, &shards)?;
    exp.train.patience = 0;
    exp.train.restore_best = true;
    say(&format!("centralised: {} epochs on the union of the sites' rows", exp.train.epochs));
    let started = std::time::Instant::now();
    let device = burn::tensor::Device::flex();
    let central = run_checked(&exp.check()?, &device, &mut Quiet)?;
    let centralised_seconds = started.elapsed().as_secs_f64();
    let test = central.report.test.as_ref();
    let centralised = TestFigures {
        at: central.report.best_epoch,
        accuracy: test.map(|t| t.accuracy),
        roc_auc: test.and_then(|t| t.roc_auc),
        f1: test.map(|t| t.f1),
    };
    let rounds = flown.rounds;
    let figures = |r: &RoundRecord| TestFigures {
        at: r.round,
        accuracy: r.test_accuracy,
        roc_auc: r.test_roc_auc,
        f1: r.test_f1,
    };
    let last = rounds.last().map(figures).unwrap_or_default();
    let best = rounds.iter().min_by(|a, b| a.val_loss.total_cmp(&b.val_loss)).map(figures).unwrap_or_default();
    let bytes_up_to_99 = centralised.accuracy.and_then(|c| {
        let mut sum = 0;
        rounds.iter().find_map(|r| {
            sum += r.bytes_up;
            r.test_accuracy.filter(|a| *a >= 0.99 * c).map(|_| sum)
        })
    });
    Ok(Outcome {
        codec: fed.federated.codec.to_string(),
        clients: sites.len(),
        bytes_up: rounds.iter().map(|r| r.bytes_up).sum(),
        bytes_down: rounds.iter().map(|r| r.bytes_down).sum(),
        rounds,
        last,
        best,
        centralised,
        bytes_up_to_99,
        chaos: opts.chaos.then_some(flown.chaos),
        federated_seconds: flown.seconds,
        centralised_seconds,
    })
}

/// The centralised peer's epochs: `rounds × local_epochs`; with a step budget, the epochs that pass as many
/// windows as all the sites' steps did (at least one).
fn central_epochs(fed: &ValidFederated, shards: &[(PathBuf, usize)]) -> Result<usize> {
    let f = &fed.federated;
    let Some(steps) = f.local_steps else { return Ok(f.rounds * f.local_epochs) };
    let batch = f.batch_size.unwrap_or(fed.experiment.train.batch_size);
    let mut windows = 0usize;
    for (path, _) in shards {
        windows += telltale_federated::data::Windowed::load(&fed.experiment, path)?.windows.len();
    }
    let seen = f.rounds * steps * batch * shards.len();
    Ok(seen.div_ceil(windows.max(1)).max(1))
}

/// The validation and test levels of a group-holdout split on `column` (never given to a site).
fn holdout_levels(fed: &ValidFederated, column: &str) -> Result<BTreeSet<String>> {
    match &fed.experiment.split {
        SplitSpec::GroupHoldout { column: c, val: GroupPick::Levels(v), test: GroupPick::Levels(t), .. }
            if c == column =>
        {
            Ok(v.iter().chain(t).cloned().collect())
        }
        _ => Err(Error::Config {
            field: "split".into(),
            message: format!("bench federated needs a group-holdout split on '{column}' with levels named"),
        }),
    }
}

/// The run's file as the coordinator reads it: data path absolute, the bench's overrides written in.
fn write_run_file(fed: &ValidFederated, work: &Path) -> Result<PathBuf> {
    let mut table: toml::Table = toml::from_str(&fed.text)?;
    let path = std::fs::canonicalize(&fed.experiment.data.path)?;
    if let Some(toml::Value::Table(data)) = table.get_mut("data") {
        data.insert("path".into(), toml::Value::String(path.display().to_string()));
    }
    let f = &fed.federated;
    let federated = table.entry("federated").or_insert_with(|| toml::Value::Table(Default::default()));
    if let toml::Value::Table(t) = federated {
        t.insert("run".into(), toml::Value::String(fed.run.clone()));
        t.insert("clients".into(), toml::Value::Integer(f.clients as i64));
        t.insert("rounds".into(), toml::Value::Integer(f.rounds as i64));
        t.insert("codec".into(), toml::Value::String(f.codec.to_string()));
        t.remove("sites");
        t.remove("shard_by");
    }
    std::fs::create_dir_all(work)?;
    let out = work.join("run.toml");
    std::fs::write(&out, toml::to_string(&table).map_err(|e| Error::Failed(e.to_string()))?)?;
    Ok(out)
}
