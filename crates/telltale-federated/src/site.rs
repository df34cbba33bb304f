//! A site: announces its data's moments, then for each round it is asked, trains the global model on its
//! own windows for the local epochs (FedProx's pull when μ > 0) and sends back only the encoded difference.
//! Its rows never leave it. Stops when the coordinator says training is done.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, Tensor, TensorData};
use telltale_models::config::ModelConfig;
use telltale_models::train::{Budget, train_epochs};

use crate::bus::Bus;
use crate::codec::Encoder;
use crate::config::ValidFederated;
use crate::data::Windowed;
use crate::error::{Error, Result};
use crate::message::{self, Global, Join, Update};
use crate::params;

/// What a site did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SiteSummary {
    /// Rounds it trained.
    pub rounds: usize,
    /// Update bytes it sent (topic and payload).
    pub bytes_up: u64,
    /// Bytes it received.
    pub bytes_down: u64,
    /// True when it stopped because a coordinator published a new run of the name: read the spec again.
    pub new_run: bool,
}

/// Runs site `name` of the run in `fed` on `file` over `bus` until the coordinator ends training, or `give_up`
/// passes without a global model.
pub fn run_site(
    fed: &ValidFederated,
    name: &str,
    file: &Path,
    bus: &mut dyn Bus,
    device: &Device,
    give_up: Duration,
) -> Result<SiteSummary> {
    if name.is_empty() || name.contains(['/', '+', '#']) {
        return Err(Error::config("--client", format!("'{name}' must be a topic level (no / + #)")));
    }
    let ModelConfig::Neural(net_cfg) = &fed.experiment.model else {
        return Err(Error::config("model.preset", "federated training needs a neural preset"));
    };
    let cfg = &fed.experiment;
    let run = &fed.run;
    let raw = Windowed::load(cfg, file)?;
    let all = raw.all();
    let task = cfg.task();
    let fit = telltale_models::train::fit_windows(task, &raw.window_data(), &all)?;
    let join = Join {
        run: run.clone(),
        instance: fed.instance.clone(),
        site: name.to_owned(),
        moments: raw.moments(&all),
        windows: fit.len(),
    };
    let join_payload = message::frame(&join, &[]);
    bus.subscribe(&message::global_topic(run))?;
    bus.publish(&message::join_topic(run, name), join_payload.clone(), true)?;
    let mut connects = bus.traffic().connects.load(Ordering::Relaxed);
    let dims = raw.dims();
    let mut scaled: Option<(String, Windowed)> = None;
    let mut encoder = Encoder::new(fed.federated.codec);
    let mut answered: Option<(usize, String, u64, Vec<u8>)> = None;
    let mut summary = SiteSummary::default();
    let mut heard = Instant::now();
    loop {
        let c = bus.traffic().connects.load(Ordering::Relaxed);
        if c != connects {
            connects = c;
            bus.publish(&message::join_topic(run, name), join_payload.clone(), true)?;
        }
        let Some(msg) = bus.recv(Duration::from_millis(500)) else {
            if heard.elapsed() > give_up {
                return Err(Error::Sites(format!("site {name}: no global model from the coordinator in {give_up:?}")));
            }
            continue;
        };
        heard = Instant::now();
        if msg.topic == message::spec_topic(run) && !msg.payload.is_empty() {
            match message::unframe::<message::Spec>(&msg.payload, &msg.topic) {
                Ok((spec, _)) if spec.instance != fed.instance => {
                    tracing::info!("site {name}: the coordinator started a new run '{run}'; joining it");
                    summary.new_run = true;
                    return Ok(summary);
                }
                _ => continue,
            }
        }
        if msg.topic != message::global_topic(run) {
            continue;
        }
        // Rounds announced while this site was away wait in its session: only the newest counts.
        let mut msg = msg;
        while let Some(next) = bus.recv(Duration::ZERO) {
            if next.topic == msg.topic {
                msg = next;
            }
        }
        if msg.payload.is_empty() {
            continue; // a cleared retained message
        }
        let (global, body) = match message::unframe::<Global>(&msg.payload, &msg.topic) {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!("site {name}: {e}");
                continue;
            }
        };
        if global.run != *run || global.instance != fed.instance {
            continue;
        }
        if global.done {
            bus.publish(&message::left_topic(run, name), message::frame(&global.round, &[]), false)?;
            // The run is over: no later run on this broker should take this site's join for its own.
            bus.publish(&message::join_topic(run, name), Vec::new(), true)?;
            std::thread::sleep(Duration::from_millis(200));
            let t = bus.traffic();
            summary.bytes_up = t.sent.load(Ordering::Relaxed);
            summary.bytes_down = t.received.load(Ordering::Relaxed);
            return Ok(summary);
        }
        if !global.selected.iter().any(|s| s == name) {
            continue;
        }
        if let Some((round, hash, announce, payload)) = &answered
            && *round == global.round
            && *hash == global.hash
        {
            // Announced again: the update may have been lost with the broker or the coordinator; send it again.
            if *announce != global.announce {
                let payload = payload.clone();
                answered = Some((global.round, global.hash.clone(), global.announce, payload.clone()));
                bus.publish(&message::update_topic(run, name), payload, false)?;
            }
            continue;
        }
        let weights = match message::weights(body, &global.segments) {
            Ok(w) if params::hash(&w) == global.hash => w,
            _ => {
                tracing::warn!("site {name}: a global model whose weights do not match its hash: ignored");
                continue;
            }
        };
        let scaler_key = serde_json::to_string(&global.scaler).unwrap_or_default();
        if scaled.as_ref().is_none_or(|(k, _)| *k != scaler_key) {
            let mut w = raw.clone();
            w.scale(&global.scaler)?;
            scaled = Some((scaler_key, w));
        }
        let Some((_, data)) = &scaled else { continue };
        let ad = device.clone().autodiff();
        let net = params::assign(net_cfg.init(&dims, &ad), &weights)?;
        let mut pull = Pull { global: &weights, at: 0, factor: 0.0 };
        let mu = global.mu;
        let mut train_cfg = cfg.train.clone();
        if let Some(b) = fed.federated.batch_size {
            train_cfg.batch_size = b;
        }
        if let Some(lr) = fed.federated.local_lr {
            train_cfg.learning_rate = lr;
        }
        let budget = match fed.federated.local_steps {
            Some(n) => Budget::Steps(n),
            None => Budget::Epochs(global.local_epochs),
        };
        let (trained, loss) = train_epochs(
            net,
            task,
            net_cfg.recon_weight(),
            &data.window_data(),
            &all,
            &train_cfg,
            budget,
            fed.federated.local_optimizer,
            round_seed(cfg.seed, name, global.round),
            &ad,
            &mut |net, lr| {
                if mu > 0.0 {
                    pull.at = 0;
                    pull.factor = (lr * mu) as f32;
                    net.map(&mut pull)
                } else {
                    net
                }
            },
        )?;
        let local = params::flatten(&trained).values;
        let delta: Vec<f32> = local.iter().zip(&weights).map(|(a, b)| a - b).collect();
        let body = encoder.encode(&delta, &global.segments);
        let update = Update {
            run: run.clone(),
            round: global.round,
            site: name.to_owned(),
            base: global.hash.clone(),
            samples: fit.len(),
            codec: global.codec,
            loss,
        };
        let payload = message::frame(&update, &body);
        bus.publish(&message::update_topic(run, name), payload.clone(), false)?;
        answered = Some((global.round, global.hash.clone(), global.announce, payload));
        summary.rounds += 1;
        tracing::info!("site {name}: round {} sent ({} bytes, loss {loss:.4})", global.round, body.len());
    }
}

/// The run a site takes part in, as the coordinator publishes it: the run named `run`, or with none named the
/// only one on the broker. Waits at most `wait`.
pub fn fetch_spec(bus: &mut dyn Bus, run: Option<&str>, wait: Duration) -> Result<ValidFederated> {
    bus.subscribe(&message::spec_topic(run.unwrap_or("+")))?;
    let deadline = Instant::now() + wait;
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::Sites(match run {
                Some(r) => format!("no coordinator published run '{r}' in {wait:?}"),
                None => format!("no coordinator published a run in {wait:?}"),
            }));
        }
        let Some(msg) = bus.recv(deadline - now) else { continue };
        if msg.payload.is_empty() {
            continue;
        }
        let Ok((spec, body)) = message::unframe::<message::Spec>(&msg.payload, &msg.topic) else { continue };
        if run.is_some_and(|r| r != spec.run) || msg.topic != message::spec_topic(&spec.run) {
            continue;
        }
        let text = std::str::from_utf8(body).map_err(|e| Error::Update(format!("{}: {e}", msg.topic)))?;
        let name = format!("{}.toml", spec.run);
        let mut fed = ValidFederated::from_toml(text, Path::new(&name))?;
        fed.run = spec.run;
        fed.instance = spec.instance;
        return Ok(fed);
    }
}

/// The seed of a site's training in a round, from the run's seed, the site's name and the round: a site that
/// restarts trains a round exactly as it would have without the stop.
fn round_seed(seed: u64, name: &str, round: usize) -> u64 {
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    (seed ^ h ^ (round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0xBF58_476D_1CE4_E5B9)
}

/// FedProx's proximal step, decoupled from Adam as AdamW decouples weight decay: `w ← w − lr·μ·(w − w_global)`.
struct Pull<'a> {
    global: &'a [f32],
    at: usize,
    factor: f32,
}

impl ModuleMapper for Pull<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| {
            let shape = t.shape();
            let n = shape.num_elements();
            let Some(g) = self.global.get(self.at..self.at + n) else { return t };
            self.at += n;
            let device = t.device();
            let g = Tensor::<D>::from_data(TensorData::new(g.to_vec(), shape), &device);
            let pulled = t.clone().detach() - (t.detach() - g) * self.factor;
            pulled.require_grad()
        })
    }
}
