//! The coordinator: forms the global scaler from the sites' moments, then each round publishes the global
//! model, gathers updates until every site asked has answered or the deadline passes, refuses what it cannot
//! trust (counted), aggregates (FedAvg, weighted by windows), judges the result on its validation and test
//! windows, and stores the round so that a restart resumes after it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use burn::tensor::Device;
use telltale_models::NetConfig;
use telltale_models::config::ModelConfig;

use crate::bus::Bus;
use crate::codec;
use crate::config::ValidFederated;
use crate::data::Holdout;
use crate::error::{Error, Result};
use crate::judge::{Figures, judge};
use crate::message::{self, Global, Join, Update};
use crate::moments::Moments;
use crate::params::{self, Flat};
use crate::server::{Accepted, aggregate};
use crate::state::{Refused, RoundRecord, State};

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The state after the last round.
    pub state: State,
    /// The final global model's figures.
    pub last: Figures,
}

/// Runs (or resumes, from the state under `out`) the federated run `fed` over `bus`; writes each round's
/// global model as a model directory `out/model`, the best by validation loss as `out/best`. `on_round` sees
/// each completed round.
pub fn coordinate(
    fed: &ValidFederated,
    bus: &mut dyn Bus,
    out: &Path,
    device: &Device,
    on_round: &mut dyn FnMut(&RoundRecord),
) -> Result<Finished> {
    let ModelConfig::Neural(net_cfg) = &fed.experiment.model else {
        return Err(Error::config("model.preset", "federated training needs a neural preset"));
    };
    let mut holdout = Holdout::load(&fed.experiment)?;
    let dims = holdout.windowed.dims();
    net_cfg.validate(&dims)?;
    let shape = shape_of(net_cfg, &dims, fed.experiment.seed, device);
    let run = fed.run.clone();
    let mut state = match State::load(out)? {
        Some(s) if s.run == run && s.weights.len() == shape.values.len() => s,
        Some(s) => {
            return Err(Error::State {
                path: out.join("state.json"),
                message: format!(
                    "holds run '{}' of {} weights, not '{run}' of {}",
                    s.run,
                    s.weights.len(),
                    shape.values.len()
                ),
            });
        }
        None => State {
            run: run.clone(),
            instance: fresh_instance(),
            round: 0,
            scaler: None,
            joined: BTreeMap::new(),
            history: Vec::new(),
            starts: 0,
            momentum: false,
            weights: shape.values.clone(),
            velocity: Vec::new(),
            second_moment: false,
            second: Vec::new(),
            server_steps: 0,
        },
    };
    state.starts += 1;
    let announce_base = state.starts << 32;
    let instance = state.instance.clone();
    let spec = message::frame(&message::Spec { run: run.clone(), instance: instance.clone() }, fed.text.as_bytes());
    bus.publish(&message::spec_topic(&run), spec, true)?;
    bus.subscribe(&message::join_topic(&run, "+"))?;
    bus.subscribe(&message::update_topic(&run, "+"))?;
    bus.subscribe(&message::left_topic(&run, "+"))?;
    let features = holdout.windowed.data.n_features();
    gather_joins(fed, bus, &mut state, features)?;
    let scaler = match &state.scaler {
        Some(s) => s.clone(),
        None => {
            let parts: Vec<Moments> = state.joined.values().map(|j| j.moments.clone()).collect();
            let s = Moments::combine(&parts)?.scaler(fed.experiment.scaler)?;
            state.scaler = Some(s.clone());
            s
        }
    };
    state.save(out)?;
    holdout.windowed.scale(&scaler)?;
    let mut best = state.history.iter().map(|r| r.val_loss).fold(f64::INFINITY, f64::min);
    let mut last = None;
    for round in state.round + 1..=fed.federated.rounds {
        let started = Instant::now();
        let joined: Vec<String> = state.joined.keys().cloned().collect();
        let selected = fed.selected(&joined, round);
        let hash = params::hash(&state.weights);
        let mut announce = announce_base;
        let mut global = Global {
            run: run.clone(),
            instance: instance.clone(),
            round,
            hash: hash.clone(),
            segments: shape.segments.clone(),
            scaler: scaler.clone(),
            selected: selected.clone(),
            codec: fed.federated.codec,
            mu: fed.federated.mu,
            local_epochs: fed.federated.local_epochs,
            done: false,
            announce,
        };
        let body: Vec<u8> = state.weights.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut bytes_down = 0u64;
        let mut publish = |bus: &mut dyn Bus, g: &Global, sites: usize| -> Result<()> {
            let payload = message::frame(g, &body);
            bytes_down += ((message::global_topic(&run).len() + payload.len()) * sites) as u64;
            bus.publish(&message::global_topic(&run), payload, true)
        };
        publish(bus, &global, joined.len())?;
        let mut connects = bus.traffic().connects.load(Ordering::Relaxed);
        let deadline = started + Duration::from_secs_f64(fed.federated.deadline_s);
        let mut refused = Refused::default();
        let mut accepted: Vec<Accepted> = Vec::new();
        let mut bytes_up_by_site: BTreeMap<String, u64> = BTreeMap::new();
        while accepted.len() < selected.len() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            // After a reconnect the broker may have lost the retained model and updates in flight: announce again.
            let c = bus.traffic().connects.load(Ordering::Relaxed);
            if c != connects {
                connects = c;
                announce += 1;
                global.announce = announce;
                publish(bus, &global, joined.len())?;
            }
            let Some(msg) = bus.recv((deadline - now).min(Duration::from_millis(500))) else { continue };
            if let Some(site) = msg.topic.rsplit('/').next().filter(|_| msg.topic.contains("/join/")) {
                if let Ok((join, _)) = message::unframe::<Join>(&msg.payload, &msg.topic)
                    && join.run == run
                    && join.instance == instance
                    && join.site == site
                    && join.moments.mean.len() == features
                    && !state.joined.contains_key(site)
                {
                    tracing::info!("site {site} joined during round {round}");
                    state.joined.insert(site.to_owned(), join);
                }
                continue;
            }
            let site = msg.topic.rsplit('/').next().unwrap_or_default().to_owned();
            let size = msg.payload.len() + msg.topic.len();
            match check(&msg.payload, &msg.topic, &site, &global, &selected, &accepted) {
                Ok(a) => {
                    *bytes_up_by_site.entry(site).or_default() += size as u64;
                    accepted.push(a);
                }
                Err(reason) => {
                    tracing::warn!("update on {}: refused ({reason:?})", msg.topic);
                    count(&mut refused, reason);
                }
            }
        }
        screen(&mut accepted, &mut refused, fed.federated.outlier_factor, fed.federated.clip_norm);
        // Summed in the sites' order, not their arrival's: the same updates give the same model.
        accepted.sort_by(|a, b| a.site.cmp(&b.site));
        let train_loss = aggregate(&mut state, &accepted, &fed.federated);
        let net = params::assign(net_cfg.init(&dims, device), &state.weights)?;
        let figures = judge(fed, &holdout, &net, device)?;
        let record = RoundRecord {
            round,
            asked: selected.len(),
            used: accepted.len(),
            refused,
            train_loss,
            val_loss: figures.val_loss,
            val_accuracy: figures.val_accuracy,
            test_accuracy: figures.test.as_ref().map(|t| t.accuracy),
            test_roc_auc: figures.test.as_ref().and_then(|t| t.roc_auc),
            test_f1: figures.test.as_ref().map(|t| t.f1),
            bytes_up: bytes_up_by_site.values().sum(),
            bytes_down,
            bytes_up_by_site,
            seconds: started.elapsed().as_secs_f64(),
        };
        state.round = round;
        state.history.push(record.clone());
        state.save(out)?;
        let model = crate::judge::model_dir(fed, &state, &scaler, &holdout, net, &figures)?;
        model.save(&out.join("model"))?;
        if figures.val_loss < best {
            best = figures.val_loss;
            model.save(&out.join("best"))?;
        }
        on_round(&record);
        last = Some(figures);
    }
    let hash = params::hash(&state.weights);
    let done = Global {
        run: run.clone(),
        instance: instance.clone(),
        round: state.round,
        hash,
        segments: shape.segments.clone(),
        scaler: scaler.clone(),
        selected: Vec::new(),
        codec: fed.federated.codec,
        mu: fed.federated.mu,
        local_epochs: fed.federated.local_epochs,
        done: true,
        announce: announce_base + (1 << 31),
    };
    // Not retained: a site that joins a later run of this name must not read this end as its own.
    bus.publish(&message::global_topic(&run), message::frame(&done, &[]), false)?;
    wait_for_leaving(bus, state.joined.len(), Duration::from_secs(10));
    // Retained messages are gone with the run (an empty retained payload clears them): a later run on this
    // broker starts clean, and its sites do not read this run's end as theirs.
    bus.publish(&message::global_topic(&run), Vec::new(), true)?;
    bus.publish(&message::spec_topic(&run), Vec::new(), true)?;
    std::thread::sleep(Duration::from_millis(300));
    let last = match last {
        Some(f) => f,
        None => {
            let net = params::assign(net_cfg.init(&dims, device), &state.weights)?;
            judge(fed, &holdout, &net, device)?
        }
    };
    Ok(Finished { state, last })
}

/// Waits (at most `wait`) until `sites` sites said they saw the end, so that an embedded broker is not stopped
/// before they read it.
fn wait_for_leaving(bus: &mut dyn Bus, sites: usize, wait: Duration) {
    let deadline = Instant::now() + wait;
    let mut left = std::collections::BTreeSet::new();
    while left.len() < sites {
        let now = Instant::now();
        if now >= deadline {
            tracing::warn!("{} of {sites} sites confirmed the end of training", left.len());
            return;
        }
        if let Some(msg) = bus.recv(deadline - now)
            && msg.topic.contains("/left/")
        {
            left.insert(msg.topic);
        }
    }
}

/// A name for a fresh run's state: the time and the process.
fn fresh_instance() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{:x}", std::process::id())
}

/// The tensor sizes of `cfg`'s network, and its initial weights.
fn shape_of(cfg: &NetConfig, dims: &telltale_models::NetDims, seed: u64, device: &Device) -> Flat {
    device.seed(seed);
    params::flatten(&cfg.init(dims, device))
}

/// Waits for the sites: all `clients`, or at least `min_clients` once the join deadline passed.
fn gather_joins(fed: &ValidFederated, bus: &mut dyn Bus, state: &mut State, features: usize) -> Result<()> {
    let f = &fed.federated;
    let need = f.min_clients.unwrap_or(f.clients);
    let deadline = Instant::now() + Duration::from_secs_f64(f.join_deadline_s);
    while state.joined.len() < f.clients {
        let now = Instant::now();
        if now >= deadline {
            if state.joined.len() >= need {
                break;
            }
            return Err(Error::Sites(format!(
                "{} of {need} sites joined run '{}' in {} s",
                state.joined.len(),
                fed.run,
                f.join_deadline_s
            )));
        }
        let Some(msg) = bus.recv((deadline - now).min(Duration::from_millis(500))) else { continue };
        let Some(site) = msg.topic.rsplit('/').next().filter(|_| msg.topic.contains("/join/")) else { continue };
        if msg.payload.is_empty() {
            continue; // a join cleared when its run ended
        }
        match message::unframe::<Join>(&msg.payload, &msg.topic) {
            Ok((join, _))
                if join.run == fed.run
                    && join.instance == state.instance
                    && join.site == site
                    && join.moments.mean.len() == features =>
            {
                state.joined.insert(site.to_owned(), join);
            }
            Ok(_) => tracing::warn!("{}: a join for another run, site or column count: ignored", msg.topic),
            Err(e) => tracing::warn!("{e}: ignored"),
        }
    }
    Ok(())
}

/// Why an update was not used.
#[derive(Debug, Clone, Copy)]
enum Reason {
    Late,
    Duplicate,
    WrongRound,
    WrongBase,
    NotAsked,
    Malformed,
    NotFinite,
}

fn count(r: &mut Refused, reason: Reason) {
    match reason {
        Reason::Late => r.late += 1,
        Reason::Duplicate => r.duplicate += 1,
        Reason::WrongRound => r.wrong_round += 1,
        Reason::WrongBase => r.wrong_base += 1,
        Reason::NotAsked => r.not_asked += 1,
        Reason::Malformed => r.malformed += 1,
        Reason::NotFinite => r.not_finite += 1,
    }
}

/// Reads and checks one update against the round's global model.
fn check(
    payload: &[u8],
    topic: &str,
    site: &str,
    global: &Global,
    selected: &[String],
    accepted: &[Accepted],
) -> std::result::Result<Accepted, Reason> {
    let (u, body) = message::unframe::<Update>(payload, topic).map_err(|_| Reason::Malformed)?;
    if u.run != global.run {
        return Err(Reason::WrongRound);
    }
    if u.round < global.round {
        return Err(Reason::Late);
    }
    if u.round != global.round {
        return Err(Reason::WrongRound);
    }
    if u.base != global.hash {
        return Err(Reason::WrongBase);
    }
    if u.site != site || !selected.iter().any(|s| s == site) {
        return Err(Reason::NotAsked);
    }
    if accepted.iter().any(|a| a.site == site) {
        return Err(Reason::Duplicate);
    }
    if u.codec != global.codec || u.samples == 0 {
        return Err(Reason::Malformed);
    }
    let delta = codec::decode(u.codec, body, &global.segments).map_err(|_| Reason::Malformed)?;
    if delta.iter().any(|v| !v.is_finite()) || !u.loss.is_finite() {
        return Err(Reason::NotFinite);
    }
    Ok(Accepted { site: site.to_owned(), samples: u.samples, loss: u.loss, delta })
}

/// Refuses updates whose norm is over `factor` times the median (with three or more), and clips the rest to
/// `clip` when set.
fn screen(accepted: &mut Vec<Accepted>, refused: &mut Refused, factor: f64, clip: Option<f64>) {
    let norms: Vec<f64> = accepted.iter().map(|a| params::norm(&a.delta)).collect();
    if accepted.len() >= 3 {
        let mut sorted = norms.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let mut keep = norms.iter().map(|&n| median == 0.0 || n <= factor * median);
        let before = accepted.len();
        accepted.retain(|_| keep.next().unwrap_or(true));
        refused.outlier += (before - accepted.len()) as u64;
    }
    if let Some(clip) = clip {
        for a in accepted.iter_mut() {
            let n = params::norm(&a.delta);
            if n > clip {
                let s = (clip / n) as f32;
                a.delta.iter_mut().for_each(|v| *v *= s);
                refused.clipped += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(site: &str, samples: usize, delta: Vec<f32>) -> Accepted {
        Accepted { site: site.into(), samples, loss: 1.0, delta }
    }

    #[test]
    fn an_absurd_update_is_refused_and_a_large_one_clipped() {
        let mut a = vec![acc("a", 1, vec![1.0, 0.0]), acc("b", 1, vec![0.0, 2.0]), acc("c", 1, vec![1e6, 0.0])];
        let mut r = Refused::default();
        screen(&mut a, &mut r, 10.0, Some(1.5));
        assert_eq!((r.outlier, r.clipped), (1, 1));
        assert_eq!(a.len(), 2);
        assert!((params::norm(&a[1].delta) - 1.5).abs() < 1e-6);
    }
}
