//! A coordinator and sites on threads through a real (embedded) broker: a run ends with an ordinary model
//! directory, bad updates are refused and counted without touching the global model, and a restarted
//! coordinator resumes after its last stored round.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use burn::tensor::Device;
use telltale_federated::bus::{Bus, Incoming, Mqtt, Traffic};
use telltale_federated::coordinator::coordinate;
use telltale_federated::message::{self, Global, Join, Update};
use telltale_federated::moments::Moments;
use telltale_federated::site::{fetch_spec, run_site};
use telltale_federated::state::State;
use telltale_federated::{Codec, ValidFederated};
use telltale_models::artifact::Model;
use telltale_stream::BrokerUrl;
use telltale_stream::broker::Embedded;
use telltale_testing::{Scratch, free_port};

/// Blocks of 40 rows per (kind, part): kind 2 (anomalous) vibrates twice as hard.
fn data(parts: &[u32]) -> String {
    let mut s = String::from("kind,part,x,y\n");
    for &part in parts {
        for kind in [1u32, 2] {
            for t in 0..40u32 {
                let a = if kind == 2 { 2.0 } else { 1.0 };
                let phase = f64::from(t) * 0.7 + f64::from(part);
                s.push_str(&format!("{kind},{part},{:.4},{:.4}\n", a * phase.sin(), 0.3 * (phase * 1.3).cos()));
            }
        }
    }
    s
}

fn run_file(dir: &Scratch, rounds: usize, clients: usize, codec: &str) -> String {
    let all = dir.write("all.csv", data(&[1, 2, 3, 4, 5, 6]));
    dir.write(
        "run.toml",
        format!(
            r#"seed = 7
[data]
path = "{all}"
features = ["x", "y"]
label = "kind != 1"
groups = ["kind", "part"]
[window]
size = 10
step = 10
label = "majority"
[split]
kind = "group-holdout"
column = "part"
val = ["5"]
test = ["6"]
[model]
preset = "cnn-lstm"
filters = 4
lstm_units = [4]
[train]
batch_size = 8
[federated]
rounds = {rounds}
clients = {clients}
local_epochs = 2
deadline_s = 20
join_deadline_s = 30
codec = "{codec}"
"#
        ),
    )
}

/// burn's random generator is one per process: a network initialised on one thread while another test seeds
/// and initialises its own draws from the same stream. The tests of this file take turns, so a run's initial
/// weights are its seed's.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn broker() -> BrokerUrl {
    let listen: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    Embedded { max_payload: 4 << 20, ..Embedded::open(listen) }.start().expect("embedded broker")
}

fn site_thread(url: BrokerUrl, name: &'static str, file: String) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut bus = Mqtt::connect(&url, &format!("test-site-{name}")).expect("connect");
        let fed = fetch_spec(&mut bus, None, Duration::from_secs(30)).expect("spec");
        run_site(&fed, name, Path::new(&file), &mut bus, &Device::flex(), Duration::from_secs(60)).expect("site").rounds
    })
}

#[test]
fn two_sites_train_a_model_that_evaluate_reads() {
    let _turn = one_at_a_time();
    let dir = Scratch::new("fl-two-sites");
    let fed = ValidFederated::load(Path::new(&run_file(&dir, 3, 2, "topk:0.2"))).expect("run file");
    let url = broker();
    let a = site_thread(url.clone(), "a", dir.write("a.csv", data(&[1, 2])));
    let b = site_thread(url.clone(), "b", dir.write("b.csv", data(&[3, 4])));
    let mut bus = Mqtt::connect(&url, "test-coordinator").expect("connect");
    let out = dir.dir().join("out");
    let mut seen = Vec::new();
    let done = coordinate(&fed, &mut bus, &out, &Device::flex(), &mut |r| seen.push(r.clone())).expect("run");
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|r| r.used == 2 && r.refused.total() == 0), "{seen:?}");
    assert_eq!((a.join().expect("a"), b.join().expect("b")), (3, 3));
    // Top-k at 20 %: header and all, each update is smaller than the dense weights alone.
    let n = done.state.weights.len() as u64;
    for r in &seen {
        for bytes in r.bytes_up_by_site.values() {
            assert!(*bytes < n * 4, "{bytes} bytes for {n} weights");
        }
    }
    // The global scaler is the one `train` would fit on the rows both sites' windows cover, pooled.
    let pooled = {
        let (mut values, mut rows) = (Vec::new(), Vec::new());
        for f in ["a.csv", "b.csv"] {
            let d = telltale_core::Dataset::load(dir.path(f), &fed.experiment.data.spec).expect("data");
            let w = fed.experiment.window_plan().windows(&d).expect("windows");
            let all: Vec<usize> = (0..w.len()).collect();
            rows.extend(w.covered_rows(&all, d.n_rows()));
            values.extend_from_slice(d.values());
        }
        telltale_core::Scaler::fit(telltale_core::ScalerKind::Standard, &values, 2, &rows).expect("fit")
    };
    let (Some(telltale_core::Scaler::Standard { mean: m1, .. }), telltale_core::Scaler::Standard { mean: m2, .. }) =
        (&done.state.scaler, &pooled)
    else {
        panic!("standard scalers")
    };
    telltale_testing::assert_all_close(m1, m2, 1e-6);
    // The global model is an ordinary model directory; its test figure is the one the coordinator printed.
    let model = Model::load(&out.join("model"), &Device::flex()).expect("model dir");
    let test = model.manifest.report.test.as_ref().expect("test figures");
    assert_eq!(Some(test.accuracy), seen.last().and_then(|r| r.test_accuracy));
}

/// A bus in memory: a site "good" joins; each global model it is handed is answered with every kind of bad
/// update, then with the good site's (zero) update.
struct Scripted {
    run: String,
    queue: std::collections::VecDeque<Incoming>,
    traffic: Traffic,
    globals: Vec<Global>,
    /// The good site's join, sent once the coordinator has published its spec (the join names its instance).
    join: Option<Join>,
}

impl Bus for Scripted {
    fn subscribe(&mut self, _: &str) -> telltale_federated::Result<()> {
        Ok(())
    }

    fn publish(&mut self, topic: &str, payload: Vec<u8>, _: bool) -> telltale_federated::Result<()> {
        if topic == message::spec_topic(&self.run)
            && let Ok((spec, _)) = message::unframe::<message::Spec>(&payload, topic)
            && let Some(mut join) = self.join.take()
        {
            join.instance = spec.instance;
            let payload = message::frame(&join, &[]);
            self.queue.push_back(Incoming { topic: message::join_topic(&self.run, "good"), payload });
            return Ok(());
        }
        let Ok((g, _)) = message::unframe::<Global>(&payload, topic) else { return Ok(()) };
        if topic != message::global_topic(&self.run) || g.done {
            self.globals.push(g);
            return Ok(());
        }
        let n: usize = g.segments.iter().sum();
        let update = |round, base: &str, site: &str| Update {
            run: self.run.clone(),
            round,
            site: site.into(),
            base: base.into(),
            samples: 10,
            codec: Codec::F32,
            loss: 0.1,
        };
        let dense = |v: f32| -> Vec<u8> { (0..n).flat_map(|_| v.to_le_bytes()).collect() };
        let good = message::update_topic(&self.run, "good");
        let stranger = message::update_topic(&self.run, "stranger");
        let mut push = |topic: &str, payload: Vec<u8>| self.queue.push_back(Incoming { topic: topic.into(), payload });
        push(&good, message::frame(&update(g.round, &g.hash, "good"), &dense(f32::NAN)));
        push(&good, message::frame(&update(g.round, "0000", "good"), &dense(0.0)));
        push(&good, message::frame(&update(g.round + 5, &g.hash, "good"), &dense(0.0)));
        push(&good, message::frame(&update(g.round.saturating_sub(1), &g.hash, "good"), &dense(0.0)));
        push(&good, message::frame(&update(g.round, &g.hash, "good"), &dense(0.0)[..n]));
        push(&good, b"not a header".to_vec());
        push(&stranger, message::frame(&update(g.round, &g.hash, "stranger"), &dense(0.0)));
        push(&good, message::frame(&update(g.round, &g.hash, "other"), &dense(0.0)));
        push(&good, message::frame(&update(g.round, &g.hash, "good"), &dense(0.0)));
        self.globals.push(g);
        Ok(())
    }

    fn recv(&mut self, _: Duration) -> Option<Incoming> {
        self.queue.pop_front()
    }

    fn traffic(&self) -> &Traffic {
        &self.traffic
    }
}

#[test]
fn bad_updates_are_refused_and_counted_and_leave_the_model_as_it_was() {
    let _turn = one_at_a_time();
    let dir = Scratch::new("fl-faults");
    let fed = ValidFederated::load(Path::new(&run_file(&dir, 2, 1, "f32"))).expect("run file");
    let values: Vec<f32> = (0..200).map(|i| (i % 7) as f32).collect();
    let moments = Moments::of(&values, 2, &[true; 100]);
    let join = Join { run: fed.run.clone(), instance: String::new(), site: "good".into(), moments, windows: 10 };
    // A join kept by the broker from another run of the name: not taken (the run would wait for that site).
    let stale = Join { instance: "an-older-run".into(), site: "gone".into(), ..join.clone() };
    let mut bus = Scripted {
        run: fed.run.clone(),
        queue: Default::default(),
        traffic: Traffic::default(),
        globals: Vec::new(),
        join: Some(join),
    };
    bus.queue
        .push_back(Incoming { topic: message::join_topic(&fed.run, "gone"), payload: message::frame(&stale, &[]) });
    let out = dir.dir().join("out");
    let mut seen = Vec::new();
    let done = coordinate(&fed, &mut bus, &out, &Device::flex(), &mut |r| seen.push(r.clone())).expect("run");
    assert_eq!(done.state.joined.keys().collect::<Vec<_>>(), ["good"]);
    for r in &seen {
        let f = &r.refused;
        assert_eq!(r.used, 1, "{r:?}");
        assert_eq!((f.not_finite, f.wrong_base, f.wrong_round, f.malformed, f.not_asked), (1, 1, 1, 2, 2), "{r:?}");
        assert_eq!(f.late, 1, "{r:?}");
    }
    // Only zero updates were used: the global weights are the initial ones, and finite.
    let first = &bus.globals[0];
    assert!(done.state.weights.iter().all(|v| v.is_finite()));
    assert_eq!(telltale_federated::params::hash(&done.state.weights), first.hash);
    assert!(bus.globals.last().is_some_and(|g| g.done));
}

#[test]
fn a_restarted_coordinator_resumes_after_its_last_round() {
    let _turn = one_at_a_time();
    let dir = Scratch::new("fl-resume");
    let out = dir.dir().join("out");
    let file = run_file(&dir, 2, 1, "int8");
    let url = broker();
    let fed = ValidFederated::load(Path::new(&file)).expect("run file");
    let site = site_thread(url.clone(), "only", dir.write("only.csv", data(&[1, 2, 3])));
    {
        let mut bus = Mqtt::connect(&url, "test-coordinator").expect("connect");
        let done = coordinate(&fed, &mut bus, &out, &Device::flex(), &mut |_| {}).expect("run");
        assert_eq!(done.state.round, 2);
    }
    assert_eq!(site.join().expect("site"), 2);
    // Two more rounds asked of the same state: only rounds 3 and 4 run, with the stored weights as the start.
    let before = State::load(&out).expect("state").expect("stored");
    let more = ValidFederated::from_toml(&fed.text.replace("rounds = 2", "rounds = 4"), Path::new(&file)).expect("run");
    let site = site_thread(url.clone(), "only", dir.path("only.csv"));
    let mut bus = Mqtt::connect(&url, "test-coordinator").expect("connect");
    let mut rounds = Vec::new();
    let done = coordinate(&more, &mut bus, &out, &Device::flex(), &mut |r| rounds.push(r.round)).expect("resume");
    assert_eq!(rounds, vec![3, 4]);
    assert_eq!(done.state.starts, before.starts + 1);
    assert_eq!(done.state.history.len(), 4);
    assert_eq!(site.join().expect("site"), 2);
}

/// FedAdam on one SGD step a site: a run stopped after round 2 and resumed (coordinator and site both started
/// again) ends with the weights of a run that never stopped. The server's two moments and step count come back
/// from disk, and a site trains a round the same whoever asks it and whenever.
#[test]
fn a_stopped_and_resumed_fedadam_run_ends_where_an_unbroken_one_does() {
    let _turn = one_at_a_time();
    let dir = Scratch::new("fl-fedadam");
    let text = std::fs::read_to_string(run_file(&dir, 4, 1, "f32")).expect("run file").replace(
        "local_epochs = 2",
        "local_steps = 1\nlocal_optimizer = \"sgd\"\nlocal_lr = 1.0\nserver_optimizer = \"adam\"\nserver_lr = 0.01\nserver_momentum = 0.9",
    );
    let unbroken_file = dir.write("unbroken.toml", text.clone());
    let site_file = dir.write("only.csv", data(&[1, 2, 3]));
    let url = broker();
    let run = |file: &str, out: &Path, rounds: Option<usize>| -> State {
        let fed = ValidFederated::load(Path::new(file)).expect("run file");
        let fed = match rounds {
            Some(r) => {
                ValidFederated::from_toml(&fed.text.replace("rounds = 4", &format!("rounds = {r}")), Path::new(file))
                    .expect("run")
            }
            None => fed,
        };
        let site = site_thread(url.clone(), "only", site_file.clone());
        let mut bus = Mqtt::connect(&url, "test-coordinator").expect("connect");
        let done = coordinate(&fed, &mut bus, out, &Device::flex(), &mut |_| {}).expect("run");
        site.join().expect("site");
        done.state
    };
    let unbroken = run(&unbroken_file, &dir.dir().join("unbroken"), None);
    let broken_out = dir.dir().join("broken");
    let first = run(&unbroken_file, &broken_out, Some(2));
    assert_eq!((first.round, first.server_steps), (2, 2));
    let stored = State::load(&broken_out).expect("state").expect("stored");
    assert_eq!((stored.velocity.len(), stored.second.len()), (first.weights.len(), first.weights.len()));
    assert_eq!((stored.velocity.clone(), stored.second.clone()), (first.velocity, first.second));
    let resumed = run(&unbroken_file, &broken_out, None);
    assert_eq!((resumed.round, resumed.server_steps, resumed.starts), (4, 4, 2));
    assert_eq!(unbroken.server_steps, 4);
    assert!(unbroken.weights != first.weights, "rounds 3 and 4 moved the weights");
    assert_eq!(resumed.weights, unbroken.weights);
}

/// Seed 004's attention-LSTM and the autoencoders train this way too: one site, two rounds, a model directory.
#[test]
fn the_attention_lstm_and_the_autoencoders_train_federated() {
    let _turn = one_at_a_time();
    for preset in ["attention-lstm", "lstm-ae", "dense-ae"] {
        let dir = Scratch::new(&format!("fl-{preset}"));
        let text = std::fs::read_to_string(run_file(&dir, 2, 1, "sign")).expect("run file");
        let text =
            text.replace("preset = \"cnn-lstm\"\nfilters = 4\nlstm_units = [4]", &format!("preset = \"{preset}\""));
        let file = dir.write("preset.toml", text);
        let fed = ValidFederated::load(Path::new(&file)).unwrap_or_else(|e| panic!("{preset}: {e}"));
        let url = broker();
        let site = site_thread(url.clone(), "only", dir.write("only.csv", data(&[1, 2, 3, 4])));
        let mut bus = Mqtt::connect(&url, &format!("test-coordinator-{preset}")).expect("connect");
        let out = dir.dir().join("out");
        let done =
            coordinate(&fed, &mut bus, &out, &Device::flex(), &mut |_| {}).unwrap_or_else(|e| panic!("{preset}: {e}"));
        assert_eq!(site.join().expect("site"), 2, "{preset}");
        assert_eq!(done.state.history.len(), 2, "{preset}");
        assert!(done.state.history.iter().all(|r| r.used == 1 && r.val_loss.is_finite()), "{preset}");
        let model = Model::load(&out.join("model"), &Device::flex()).unwrap_or_else(|e| panic!("{preset}: {e}"));
        assert_eq!(model.manifest.report.preset, preset);
    }
}
