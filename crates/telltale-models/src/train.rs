//! Training: Adam, mini-batches, early stopping on the validation loss with
//! restore-best, class weights or oversampling, augmentation, fixed seeds.
//!
//! Losses by task: binary cross-entropy on logits for classifiers (plus the
//! weighted reconstruction MSE for `anomalynet`), MSE for forecasters and
//! autoencoders. Forecasters and autoencoders learn from clean windows only
//! (no anomalous row), when the data is labelled.

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::layers::dropout;
use crate::presets::{Net, NetConfig, NetDims, NetOutput, Task};
use crate::samples::{Augment, Randomness, WindowData};

/// How to weigh the classes of a classifier's loss.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClassWeight {
    /// Every window counts the same.
    #[default]
    None,
    /// Each class weighs `n / (2·n_class)`, as scikit-learn's `"balanced"`.
    Balanced,
}

/// Training hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Windows per mini-batch.
    pub batch_size: usize,
    /// Most epochs.
    pub epochs: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Adam's ε (Keras: 1e-7).
    pub adam_epsilon: f64,
    /// Epochs without a better validation loss before stopping (0: never stop early).
    pub patience: usize,
    /// Smallest decrease of the validation loss that counts as better.
    pub min_delta: f64,
    /// Keep the weights of the best validation epoch.
    pub restore_best: bool,
    /// Class weights of the classification loss.
    pub class_weight: ClassWeight,
    /// Repeat windows of the smaller class until both classes are as many (classifiers).
    pub oversample: bool,
    /// Augmentation of training batches.
    pub augment: Augment,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            batch_size: 64,
            epochs: 20,
            learning_rate: 1e-3,
            adam_epsilon: 1e-7,
            patience: 3,
            min_delta: 0.0,
            restore_best: true,
            class_weight: ClassWeight::None,
            oversample: false,
            augment: Augment::default(),
        }
    }
}

impl TrainConfig {
    /// Checks the values; errors name the field (`train.…`).
    pub fn validate(&self) -> Result<()> {
        crate::error::positive("train.batch_size", self.batch_size)?;
        crate::error::positive("train.epochs", self.epochs)?;
        for (field, v) in [("train.learning_rate", self.learning_rate), ("train.adam_epsilon", self.adam_epsilon)] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(Error::config(field, format!("{v} must be positive")));
            }
        }
        for (field, v) in [
            ("train.min_delta", self.min_delta),
            ("train.augment.jitter", self.augment.jitter),
            ("train.augment.scale", self.augment.scale),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(Error::config(field, format!("{v} must be at least 0")));
            }
        }
        Ok(())
    }
}

/// One epoch of the training history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation loss, when there are validation windows.
    pub val_loss: Option<f64>,
    /// Validation accuracy at threshold 0.5 (classifiers).
    pub val_accuracy: Option<f64>,
    /// Wall-clock seconds of the epoch's training pass.
    pub seconds: f64,
}

/// Receives progress while a model trains.
pub trait Observer {
    /// After each mini-batch.
    fn on_batch(&mut self, _epoch: usize, _done: usize, _total: usize) {}
    /// After each epoch.
    fn on_epoch(&mut self, _record: &EpochRecord) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {}

/// A trained network and how it got there.
#[derive(Debug)]
pub struct Trained {
    /// The network in inference mode (best epoch's weights with `restore_best`).
    pub net: Net,
    /// Per-epoch history.
    pub history: Vec<EpochRecord>,
    /// The epoch whose weights `net` holds.
    pub best_epoch: usize,
    /// True when early stopping ended training.
    pub stopped_early: bool,
}

/// The windows a preset learns from: all training windows for classifiers,
/// the clean ones for forecasters and autoencoders.
pub fn fit_windows(task: Task, data: &WindowData, idx: &[usize]) -> Result<Vec<usize>> {
    match task {
        Task::Classify => {
            if data.windows.labels().is_none() {
                return Err(Error::Data("a classifier needs labels: set data.label".into()));
            }
            Ok(idx.to_vec())
        }
        Task::Forecast | Task::Novelty => Ok(idx.iter().copied().filter(|&i| data.is_clean(i)).collect()),
    }
}

struct Batch {
    x: Tensor<3>,
    /// Labels `[b, 1]` (classify), targets `[b, horizon, c]` (forecast) or nothing.
    y: Option<Tensor<3>>,
    weights: Option<Tensor<2>>,
}

fn make_batch(
    data: &WindowData,
    idx: &[usize],
    task: Task,
    weights: Option<[f32; 2]>,
    augment: Option<(&mut Randomness, &Augment)>,
    device: &Device,
) -> Batch {
    let (b, t, c) = (idx.len(), data.steps(), data.channels);
    let clean = data.inputs(idx);
    let mut x = clean.clone();
    if let Some((rng, aug)) = augment {
        rng.augment(&mut x, t, c, aug);
    }
    let x = Tensor::<3>::from_data(TensorData::new(x, [b, t, c]), device);
    let labels = data.labels(idx);
    let (y, weights) = match task {
        Task::Classify => {
            let l = labels.unwrap_or_default();
            let w = weights.map(|w| {
                let v: Vec<f32> = l.iter().map(|&y| w[usize::from(y > 0.5)]).collect();
                Tensor::<2>::from_data(TensorData::new(v, [b, 1]), device)
            });
            (Some(Tensor::<3>::from_data(TensorData::new(l, [b, 1, 1]), device)), w)
        }
        Task::Forecast => {
            let h = data.horizon();
            (Some(Tensor::<3>::from_data(TensorData::new(data.targets(idx), [b, h, c]), device)), None)
        }
        Task::Novelty => (Some(Tensor::<3>::from_data(TensorData::new(clean, [b, t, c]), device)), None),
    };
    Batch { x, y, weights }
}

/// Binary cross-entropy on logits, numerically stable: `max(z,0) − z·y + ln(1 + e^−|z|)`.
fn bce_with_logits(z: Tensor<2>, y: Tensor<2>, weights: Option<Tensor<2>>) -> Tensor<1> {
    let per = z.clone().clamp_min(0.0) - z.clone() * y + (z.abs().neg().exp() + 1.0).log();
    match weights {
        Some(w) => (per * w).mean(),
        None => per.mean(),
    }
}

/// The loss of a network's output on `batch`.
fn loss(out: NetOutput, batch: Batch, recon_weight: f64) -> Tensor<1> {
    let y = batch.y.expect("every task has targets");
    match out {
        NetOutput::Logit(z, recon) => {
            let [b, _, _] = y.dims();
            let base = bce_with_logits(z, y.reshape([b, 1]), batch.weights);
            match recon {
                Some(r) if recon_weight > 0.0 => base + (r - batch.x).powi_scalar(2).mean() * recon_weight,
                _ => base,
            }
        }
        NetOutput::Forecast(p) | NetOutput::Reconstruction(p) => (p - y).powi_scalar(2).mean(),
    }
}

fn class_weights(cfg: &TrainConfig, data: &WindowData, idx: &[usize]) -> Option<[f32; 2]> {
    if cfg.class_weight != ClassWeight::Balanced {
        return None;
    }
    let labels = data.windows.labels()?;
    let pos = idx.iter().filter(|&&i| labels[i] != 0).count().max(1);
    let neg = (idx.len() - pos.min(idx.len())).max(1);
    let n = idx.len() as f32;
    Some([n / (2.0 * neg as f32), n / (2.0 * pos as f32)])
}

fn epoch_order(cfg: &TrainConfig, data: &WindowData, idx: &[usize], rng: &mut Randomness) -> Vec<usize> {
    let mut order = idx.to_vec();
    if cfg.oversample
        && let Some(labels) = data.windows.labels()
    {
        let (pos, neg): (Vec<usize>, Vec<usize>) = idx.iter().partition(|&&i| labels[i] != 0);
        let (small, big) = if pos.len() < neg.len() { (pos, neg) } else { (neg, pos) };
        if !small.is_empty() {
            let mut extra = Vec::with_capacity(big.len() - small.len());
            while extra.len() + small.len() < big.len() {
                let mut s = small.clone();
                rng.shuffle(&mut s);
                extra.extend(s.into_iter().take(big.len() - small.len() - extra.len()));
            }
            order.extend(extra);
        }
    }
    rng.shuffle(&mut order);
    order
}

/// What every mini-batch of a training pass shares.
struct Pass<'a> {
    task: Task,
    weights: Option<[f32; 2]>,
    recon_weight: f64,
    cfg: &'a TrainConfig,
    device: &'a Device,
}

impl Pass<'_> {
    /// One pass of `optim` over `order` in mini-batches; `after_batch` sees the network after each step (and the
    /// batch's number). Gives the network and the loss summed over the windows.
    #[allow(clippy::too_many_arguments)]
    fn epoch(
        &self,
        mut net: Net,
        optim: &mut ModuleOptimizer,
        data: &WindowData,
        order: &[usize],
        epoch: usize,
        rng: &mut Randomness,
        after_batch: &mut dyn FnMut(Net, usize) -> Net,
    ) -> Result<(Net, f64)> {
        let cfg = self.cfg;
        let mut total = 0.0;
        for (k, chunk) in order.chunks(cfg.batch_size).enumerate() {
            let batch = make_batch(data, chunk, self.task, self.weights, Some((&mut *rng, &cfg.augment)), self.device);
            let l = loss(net.forward(batch.x.clone()), batch, self.recon_weight);
            let value = f64::from(l.clone().into_scalar::<f32>());
            if !value.is_finite() {
                return Err(Error::Diverged { epoch, loss: value });
            }
            total += value * chunk.len() as f64;
            let grads = GradientsParams::from_grads(l.backward(), &net);
            net = after_batch(optim.step(cfg.learning_rate, net, grads), k);
        }
        Ok((net, total))
    }
}

/// Mean loss and (classifiers) accuracy of `net` in inference mode over `idx`.
pub fn evaluate_loss(
    net: &Net,
    task: Task,
    recon_weight: f64,
    data: &WindowData,
    idx: &[usize],
    device: &Device,
) -> (f64, Option<f64>) {
    let mut total = 0.0;
    let mut correct = 0usize;
    for chunk in idx.chunks(512) {
        let batch = make_batch(data, chunk, task, None, None, device);
        let out = net.forward(batch.x.clone());
        if let (NetOutput::Logit(z, _), Some(y)) = (&out, &batch.y) {
            let z = z.clone().into_data().try_to_vec::<f32>().unwrap_or_default();
            let y = y.clone().into_data().try_to_vec::<f32>().unwrap_or_default();
            correct += z.iter().zip(&y).filter(|(z, y)| (**z >= 0.0) == (**y > 0.5)).count();
        }
        total += f64::from(loss(out, batch, recon_weight).into_scalar::<f32>()) * chunk.len() as f64;
    }
    let n = idx.len().max(1) as f64;
    (total / n, (task == Task::Classify).then(|| correct as f64 / n))
}

/// Trains `config` on `train` windows, validating on `val`, on `device`
/// (plain; autodiff is added here).
#[allow(clippy::too_many_arguments)]
pub fn train(
    config: &NetConfig,
    dims: &NetDims,
    data: &WindowData,
    train: &[usize],
    val: &[usize],
    cfg: &TrainConfig,
    seed: u64,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    cfg.validate()?;
    config.validate(dims)?;
    let task = config.task();
    let train_idx = fit_windows(task, data, train)?;
    let val_idx = fit_windows(task, data, val)?;
    if train_idx.is_empty() {
        return Err(Error::Data(format!("no windows to train {} on", config.name())));
    }
    let ad = device.clone().autodiff();
    ad.seed(seed);
    dropout::seed(seed);
    let mut rng = Randomness::new(seed);
    let mut net = config.init(dims, &ad);
    let mut optim = AdamConfig::new().with_epsilon(cfg.adam_epsilon as f32).init();
    let weights = class_weights(cfg, data, &train_idx);
    let recon_weight = config.recon_weight();
    let mut history = Vec::new();
    let mut best: Option<(f64, usize, Net)> = None;
    let mut waited = 0;
    let mut stopped_early = false;
    for epoch in 1..=cfg.epochs {
        let started = Instant::now();
        let order = epoch_order(cfg, data, &train_idx, &mut rng);
        let batches = order.len().div_ceil(cfg.batch_size);
        let pass = Pass { task, weights, recon_weight, cfg, device: &ad };
        let total;
        (net, total) = pass.epoch(net, &mut optim, data, &order, epoch, &mut rng, &mut |net, k| {
            observer.on_batch(epoch, k + 1, batches);
            net
        })?;
        let seconds = started.elapsed().as_secs_f64();
        let (val_loss, val_accuracy) = if val_idx.is_empty() {
            (None, None)
        } else {
            let (l, a) = evaluate_loss(&net.valid(), task, recon_weight, data, &val_idx, device);
            (Some(l), a)
        };
        let record = EpochRecord { epoch, train_loss: total / order.len() as f64, val_loss, val_accuracy, seconds };
        observer.on_epoch(&record);
        history.push(record);
        if let Some(v) = val_loss {
            if best.as_ref().is_none_or(|(b, _, _)| v < b - cfg.min_delta) {
                best = Some((v, epoch, net.valid()));
                waited = 0;
            } else {
                waited += 1;
                if cfg.patience > 0 && waited >= cfg.patience {
                    stopped_early = true;
                    break;
                }
            }
        }
    }
    let last = history.len();
    let (net, best_epoch) = match best {
        Some((_, epoch, best_net)) if cfg.restore_best => (best_net, epoch),
        _ => (net.valid(), last),
    };
    Ok(Trained { net, history, best_epoch, stopped_early })
}

/// The optimizer of a federated site's local training.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocalOptimizer {
    /// Adam, its state fresh each round (FedAvg as most implementations run it).
    #[default]
    Adam,
    /// Plain SGD: a site's update is the learning rate times its summed gradients, which suits a server that
    /// applies its own optimizer (FedAdam) to them.
    Sgd,
}

/// How much a federated site trains per round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Whole passes over the site's windows.
    Epochs(usize),
    /// Mini-batches (the shuffled windows taken in turn, reshuffled when they run out).
    Steps(usize),
}

/// The local step of federated training: `budget` of `optimizer` (fresh state) on `net`, which lives on an
/// autodiff device (`device`, as [`NetConfig::init`] on `device.autodiff()` gives it), over the windows `idx`
/// a model of `task` fits on, with `cfg`'s batch size and learning rate. No validation and no early stopping:
/// the coordinator judges the global model. `after_step` receives the network and the learning rate after each
/// optimizer step (FedProx pulls the weights toward the global model there). Gives the network in inference
/// mode and the mean loss of the last epoch (of all steps, with a step budget). `seed` fixes the shuffles,
/// augmentation and dropout masks: the same seed, weights and data give the same result.
#[allow(clippy::too_many_arguments)]
pub fn train_epochs(
    mut net: Net,
    task: Task,
    recon_weight: f64,
    data: &WindowData,
    idx: &[usize],
    cfg: &TrainConfig,
    budget: Budget,
    optimizer: LocalOptimizer,
    seed: u64,
    device: &Device,
    after_step: &mut dyn FnMut(Net, f64) -> Net,
) -> Result<(Net, f64)> {
    cfg.validate()?;
    dropout::seed(seed);
    let rng = &mut Randomness::new(seed);
    let fit = fit_windows(task, data, idx)?;
    if fit.is_empty() {
        return Err(Error::Data("no windows to train on".into()));
    }
    let mut optim = match optimizer {
        LocalOptimizer::Adam => AdamConfig::new().with_epsilon(cfg.adam_epsilon as f32).init(),
        LocalOptimizer::Sgd => SgdConfig::new().init(),
    };
    let weights = class_weights(cfg, data, &fit);
    let pass = Pass { task, weights, recon_weight, cfg, device };
    let passes = match budget {
        Budget::Epochs(n) => n,
        Budget::Steps(_) => 1,
    };
    let mut last = f64::NAN;
    for epoch in 1..=passes {
        let order = match budget {
            Budget::Epochs(_) => epoch_order(cfg, data, &fit, rng),
            Budget::Steps(n) => {
                let want = n.saturating_mul(cfg.batch_size);
                let mut order = Vec::with_capacity(want);
                while order.len() < want {
                    order.extend(epoch_order(cfg, data, &fit, rng));
                }
                // Whole batches only: a short last batch would weigh its few windows as much as a full one.
                order.truncate(want);
                order
            }
        };
        let total;
        (net, total) =
            pass.epoch(net, &mut optim, data, &order, epoch, rng, &mut |net, _| after_step(net, cfg.learning_rate))?;
        last = total / order.len() as f64;
    }
    Ok((net.valid(), last))
}

/// Median of the epochs' training seconds.
pub fn median_epoch_seconds(history: &[EpochRecord]) -> f64 {
    let mut s: Vec<f64> = history.iter().map(|r| r.seconds).collect();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => 0.0,
        _ if n.is_multiple_of(2) => (s[n / 2 - 1] + s[n / 2]) / 2.0,
        _ => s[n / 2],
    }
}

#[cfg(test)]
mod tests {
    use telltale_core::{Dataset, WindowSpec, Windows};

    use super::*;

    fn windows(labels: Vec<u8>) -> (Dataset, Windows) {
        let n = labels.len();
        let d = Dataset::from_parts(vec!["v".into()], vec![0.0; n], None, Some(labels)).expect("dataset");
        let w = Windows::classify(&d, &WindowSpec { include_last: true, ..WindowSpec::new(1, 1) }).expect("windows");
        (d, w)
    }

    #[test]
    fn balanced_weights_follow_sklearn() {
        let (d, w) = windows(vec![0, 0, 0, 0, 0, 0, 1, 1]);
        let wd = WindowData { values: d.values(), channels: 1, windows: &w, row_labels: d.labels() };
        let idx: Vec<usize> = (0..8).collect();
        let cfg = TrainConfig { class_weight: ClassWeight::Balanced, ..Default::default() };
        // n / (2 · n_class): 8 / 12 for the six normal windows, 8 / 4 for the two anomalous.
        assert_eq!(class_weights(&cfg, &wd, &idx), Some([8.0 / 12.0, 2.0]));
        assert_eq!(class_weights(&TrainConfig::default(), &wd, &idx), None);
    }

    #[test]
    fn oversampling_evens_the_classes() {
        let (d, w) = windows(vec![0, 0, 0, 0, 0, 0, 0, 1, 1]);
        let wd = WindowData { values: d.values(), channels: 1, windows: &w, row_labels: d.labels() };
        let idx: Vec<usize> = (0..9).collect();
        let cfg = TrainConfig { oversample: true, ..Default::default() };
        let order = epoch_order(&cfg, &wd, &idx, &mut Randomness::new(1));
        let ones = order.iter().filter(|&&i| i >= 7).count();
        assert_eq!((order.len(), ones), (14, 7), "7 normal windows, 2 anomalous repeated up to 7");
        let plain = epoch_order(&TrainConfig::default(), &wd, &idx, &mut Randomness::new(1));
        assert_eq!(plain.len(), 9);
    }

    #[test]
    fn a_step_budget_takes_that_many_batches_and_a_seed_repeats_them() {
        let n = 40;
        let labels: Vec<u8> = (0..n).map(|i| u8::from(i % 3 == 0)).collect();
        let values: Vec<f32> = (0..n).map(|i| if i % 3 == 0 { 2.0 } else { (i as f32 * 0.37).sin() }).collect();
        let d = Dataset::from_parts(vec!["v".into()], values, None, Some(labels)).expect("dataset");
        let w = Windows::classify(&d, &WindowSpec { include_last: true, ..WindowSpec::new(1, 1) }).expect("windows");
        let wd = WindowData { values: d.values(), channels: 1, windows: &w, row_labels: d.labels() };
        let idx: Vec<usize> = (0..w.len()).collect();
        let cfg = TrainConfig { batch_size: 8, ..TrainConfig::default() };
        let net_cfg = NetConfig::Lstm(crate::presets::PlainLstmConfig::new().with_units(vec![4]));
        let device = Device::flex().autodiff();
        // One initial network for every run: burn's random generator is shared by this binary's test threads.
        let start = net_cfg.init(&wd.dims(), &device);
        let run = |budget: Budget, optimizer: LocalOptimizer, seed: u64| -> (usize, f64) {
            let mut steps = 0;
            let (_, loss) = train_epochs(
                start.clone(),
                Task::Classify,
                0.0,
                &wd,
                &idx,
                &cfg,
                budget,
                optimizer,
                seed,
                &device,
                &mut |net, _| {
                    steps += 1;
                    net
                },
            )
            .expect("trains");
            (steps, loss)
        };
        // 40 windows in batches of 8: two epochs are 10 steps; a budget of 7 steps is 7, whatever the window count.
        assert_eq!(run(Budget::Epochs(2), LocalOptimizer::Adam, 1).0, 10);
        let (steps, loss) = run(Budget::Steps(7), LocalOptimizer::Sgd, 1);
        assert_eq!(steps, 7);
        assert_eq!(run(Budget::Steps(7), LocalOptimizer::Sgd, 1), (7, loss));
        assert_ne!(run(Budget::Steps(7), LocalOptimizer::Sgd, 2).1, loss, "another seed, other batches");
    }

    #[test]
    fn median_of_epoch_times() {
        let rec = |s: f64| EpochRecord { epoch: 1, train_loss: 0.0, val_loss: None, val_accuracy: None, seconds: s };
        assert_eq!(median_epoch_seconds(&[rec(3.0), rec(1.0), rec(2.0)]), 2.0);
        assert_eq!(median_epoch_seconds(&[rec(4.0), rec(1.0), rec(2.0), rec(3.0)]), 2.5);
        assert_eq!(median_epoch_seconds(&[]), 0.0);
    }
}
