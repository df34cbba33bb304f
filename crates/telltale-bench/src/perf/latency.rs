//! `telltale bench latency`: how long telltale-runtime takes to score the
//! test windows of a trained model, one window on one thread and batched on
//! every core, beside burn and any peer run in the same invocation.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;
use telltale_core::threshold::percentile;
use telltale_models::Net;
use telltale_models::artifact::Model;
use telltale_models::eval::evaluate;
use telltale_models::pipeline::Detector;
use telltale_models::samples::WindowData;
use telltale_models::score::Scores;
use telltale_runtime::{Batch, Isa, Model as Runtime, Pool};

use crate::error::{Error, Result};
use crate::perf::reference::reference_figures;

/// What `telltale bench latency` times.
#[derive(Debug, Clone, Default)]
pub struct LatencyOptions {
    /// A trained model directory (its test windows are scored).
    pub model: PathBuf,
    /// One-window calls timed.
    pub calls: usize,
    /// Batched rounds timed.
    pub rounds: usize,
    /// Also quantise to int8 and compare size, outputs and accuracy.
    pub int8: bool,
    /// Windows per tile of a batched run.
    pub tile: usize,
    /// Threads of a batched run (0: every core).
    pub threads: usize,
    /// Peers' commands, each printing `*_batch1_us`, `*_batched_us_per_window` or `*_bytes` figures.
    pub references: Vec<String>,
}

/// A peer's figures and telltale's ratio to each (below 1: telltale is faster or smaller).
#[derive(Debug, Serialize)]
pub struct Reference {
    /// The command.
    pub command: String,
    /// The figures it printed.
    pub figures: BTreeMap<String, f64>,
    /// telltale's figure over the peer's, by name.
    pub ratios: BTreeMap<String, f64>,
}

/// Times `calls` one-window calls on one thread; microseconds each.
fn one_window(rt: &Runtime, isa: Isa, x: &[f32], windows: usize, calls: usize) -> Result<Vec<f64>> {
    let per = x.len() / windows;
    let mut session = rt.network.session_with(1, isa);
    let mut sink = 0f32;
    for w in 0..windows.min(200) {
        sink += rt.network.forward(&mut session, &x[w * per..(w + 1) * per], 1)?[0];
    }
    let mut times = Vec::with_capacity(calls);
    for i in 0..calls {
        let w = i % windows;
        let started = Instant::now();
        let out = rt.network.forward(&mut session, &x[w * per..(w + 1) * per], 1)?;
        sink += out[0];
        times.push(started.elapsed().as_secs_f64() * 1e6);
    }
    std::hint::black_box(sink);
    Ok(times)
}

fn burn_outputs(net: &Net, x: &[f32], b: usize, t: usize, c: usize) -> Vec<f32> {
    net.forward(Tensor::<3>::from_data(TensorData::new(x.to_vec(), [b, t, c]), &Device::flex())).into_values()
}

fn run_reference(command: &str) -> Result<BTreeMap<String, f64>> {
    let figures: BTreeMap<String, f64> = reference_figures(command)?
        .into_iter()
        .filter(|(k, _)| k.ends_with("_batch1_us") || k.ends_with("_batched_us_per_window") || k.ends_with("_bytes"))
        .collect();
    if figures.is_empty() {
        return Err(Error::Failed(format!(
            "{command} printed no *_batch1_us, *_batched_us_per_window or *_bytes figure"
        )));
    }
    Ok(figures)
}

/// The int8 model beside the f32 one: size, output change, and test accuracy of both at the model's
/// threshold, scored and judged as `evaluate` does, where the windows carry labels.
fn int8_report(
    model: &Model,
    rt: &Runtime,
    wd: &WindowData<'_>,
    idx: &[usize],
    f32_out: &[f32],
) -> Result<serde_json::Value> {
    let bytes = model.export_bytes(true)?;
    let q = Runtime::from_bytes(&bytes)?;
    let x = wd.inputs(idx);
    let mut out = vec![0.0; f32_out.len()];
    Pool::new(&q.network, 0, 32).run(&q.network, &x, idx.len(), &mut out)?;
    let max_abs_diff = out.iter().zip(f32_out).map(|(a, b)| f64::from((a - b).abs())).fold(0.0, f64::max);
    let targets = if rt.header.horizon > 0 { wd.targets(idx) } else { Vec::new() };
    let accuracy = |outputs: &[f32]| -> Option<f64> {
        let mut s = telltale_runtime::Scores::default();
        let batch = Batch {
            windows: idx.len(),
            steps: wd.steps(),
            channels: wd.channels,
            inputs: &x,
            outputs,
            targets: &targets,
        };
        s.push(rt.header.score, &rt.header.scaler, batch);
        let scores = Scores { score: s.score, ..Default::default() };
        evaluate(String::new(), &scores, wd.windows, idx, &model.manifest.decision.threshold, None).map(|e| e.accuracy)
    };
    Ok(serde_json::json!({
        "model_bytes": bytes.len(), "max_abs_diff_vs_f32": max_abs_diff,
        "accuracy_f32": accuracy(f32_out), "accuracy_int8": accuracy(&out),
    }))
}

/// Times the model's test windows through telltale-runtime (one window, batched, every instruction set) and burn,
/// then runs the peers.
pub fn run(args: &LatencyOptions) -> Result<LatencyReport> {
    let device = Device::flex();
    let model = Model::load(&args.model, &device)?;
    // burn runs beside the runtime for networks trained here; an imported network has no burn twin.
    let net = match &model.detector {
        Detector::Neural(net) => Some(net),
        Detector::Runtime(_) => None,
        Detector::Baseline(_) => {
            return Err(Error::Failed(format!(
                "{}: a classic baseline; `bench latency` times the neural runtime",
                args.model.display()
            )));
        }
    };
    let bytes = model.export_bytes(false)?;
    let rt = Runtime::from_bytes(&bytes)?;
    let (data, windows) = model.read_data(&model.data_path())?;
    let split = model.manifest.experiment.split.split(&data, &windows)?;
    let idx = if split.test.is_empty() { (0..windows.len()).collect() } else { split.test };
    let wd = WindowData::of(&data, &windows);
    let x = wd.inputs(&idx);
    let (n, (t, c)) = (idx.len(), rt.network.input_shape());
    if n == 0 {
        return Err(Error::Failed(format!("{}: no windows to time", args.model.display())));
    }

    // Exactness on these windows, against burn.
    let mut pool = Pool::new(&rt.network, args.threads, args.tile);
    let mut ours = vec![0.0; n * rt.network.output_len()];
    pool.run(&rt.network, &x, n, &mut ours)?;
    let max_abs_output = ours.iter().map(|a| f64::from(a.abs())).fold(0.0, f64::max);
    let burn = net.map(|net| {
        let theirs = burn_outputs(net, &x, n, t, c);
        let max_abs_diff = ours.iter().zip(&theirs).map(|(a, b)| f64::from((a - b).abs())).fold(0.0, f64::max);
        // A classifier's output is its probability (seed 000's Dense(1, sigmoid)); compare that too.
        let prob = |z: f32| 1.0 / (1.0 + (-f64::from(z)).exp());
        let max_abs_diff_probability = (rt.header.score == telltale_runtime::ScoreSpec::Probability)
            .then(|| ours.iter().zip(&theirs).map(|(&a, &b)| (prob(a) - prob(b)).abs()).fold(0.0, f64::max));
        (max_abs_diff, max_abs_diff_probability)
    });

    let best = Isa::detect();
    let times = one_window(&rt, best, &x, n, args.calls)?;
    let batch1_us = percentile(&times, 50.0)?;
    let mut isa_batch1_us = BTreeMap::new();
    for isa in Isa::available() {
        let t = if isa == best { times.clone() } else { one_window(&rt, isa, &x, n, args.calls.min(1000))? };
        isa_batch1_us.insert(isa.to_string(), percentile(&t, 50.0)?);
    }
    let per = t * c;
    let burn_batch1_us = match net {
        Some(net) => {
            let mut burn_times = Vec::new();
            for i in 0..200.min(args.calls) {
                let w = i % n;
                let started = Instant::now();
                std::hint::black_box(burn_outputs(net, &x[w * per..(w + 1) * per], 1, t, c));
                burn_times.push(started.elapsed().as_secs_f64() * 1e6);
            }
            Some(percentile(&burn_times, 50.0)?)
        }
        None => None,
    };

    let mut rounds = Vec::with_capacity(args.rounds);
    for _ in 0..args.rounds.max(1) {
        let started = Instant::now();
        pool.run(&rt.network, &x, n, &mut ours)?;
        rounds.push(started.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
    let batched_us_per_window = percentile(&rounds, 50.0)?;

    let ours_by_suffix = |key: &str| -> Option<f64> {
        if key.ends_with("_batch1_us") {
            Some(batch1_us)
        } else if key.ends_with("_batched_us_per_window") {
            Some(batched_us_per_window)
        } else if key.ends_with("_bytes") {
            Some(bytes.len() as f64)
        } else {
            None
        }
    };
    let mut references = Vec::new();
    for command in &args.references {
        let figures = run_reference(command)?;
        let ratios = figures.iter().filter_map(|(k, v)| Some((k.clone(), ours_by_suffix(k)? / v))).collect();
        references.push(Reference { command: command.clone(), figures, ratios });
    }

    let int8 = if args.int8 { Some(int8_report(&model, &rt, &wd, &idx, &ours)?) } else { None };
    let (p10, p90) = (percentile(&times, 10.0)?, percentile(&times, 90.0)?);
    Ok(LatencyReport {
        preset: rt.header.preset.clone(),
        isa: best,
        threads: pool.threads(),
        windows: n,
        calls: times.len(),
        batch1_us,
        batch1_p10_us: p10,
        batch1_p90_us: p90,
        batched_us_per_window,
        batch_tile: args.tile,
        model_bytes: bytes.len(),
        isa_batch1_us,
        burn_batch1_us,
        max_abs_diff_vs_burn: burn.map(|b| b.0),
        max_abs_output,
        max_abs_diff_probability_vs_burn: burn.and_then(|b| b.1),
        int8,
        references,
    })
}

/// The timings of one `bench latency` run.
#[derive(Debug)]
pub struct LatencyReport {
    /// The model's preset.
    pub preset: String,
    /// The best instruction set of this CPU (one-window timings use it).
    pub isa: Isa,
    /// Threads of the batched runs.
    pub threads: usize,
    /// Test windows timed.
    pub windows: usize,
    /// One-window calls timed.
    pub calls: usize,
    /// Median one-window call, µs.
    pub batch1_us: f64,
    /// Its 10th percentile, µs.
    pub batch1_p10_us: f64,
    /// Its 90th percentile, µs.
    pub batch1_p90_us: f64,
    /// Median batched round, µs per window.
    pub batched_us_per_window: f64,
    /// Windows per tile of the batched runs.
    pub batch_tile: usize,
    /// The exported model file, bytes.
    pub model_bytes: usize,
    /// Median one-window call per instruction set, µs.
    pub isa_batch1_us: BTreeMap<String, f64>,
    /// Median one-window call through burn, µs (networks trained here; none for an imported one).
    pub burn_batch1_us: Option<f64>,
    /// Largest output difference against burn.
    pub max_abs_diff_vs_burn: Option<f64>,
    /// Largest output magnitude.
    pub max_abs_output: f64,
    /// Largest difference against burn as probabilities (classifiers).
    pub max_abs_diff_probability_vs_burn: Option<f64>,
    /// The int8 model beside the f32 one, when asked.
    pub int8: Option<serde_json::Value>,
    /// The peers, in the order given.
    pub references: Vec<Reference>,
}

impl LatencyReport {
    /// The `--json` output.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "preset": self.preset, "isa": self.isa.to_string(), "threads": self.threads, "windows": self.windows,
            "batch1_us": self.batch1_us, "batch1_p10_us": self.batch1_p10_us, "batch1_p90_us": self.batch1_p90_us,
            "batched_us_per_window": self.batched_us_per_window, "batch_tile": self.batch_tile,
            "model_bytes": self.model_bytes, "isa_batch1_us": self.isa_batch1_us,
            "burn_batch1_us": self.burn_batch1_us, "max_abs_diff_vs_burn": self.max_abs_diff_vs_burn,
            "max_abs_output": self.max_abs_output,
            "max_abs_diff_probability_vs_burn": self.max_abs_diff_probability_vs_burn, "int8": self.int8,
            "references": self.references,
        })
    }

    /// The text output.
    pub fn render(&self) -> String {
        let (best, batch1_us, batched_us_per_window) = (self.isa, self.batch1_us, self.batched_us_per_window);
        let max_abs_output = self.max_abs_output;
        let mut s = format!(
            "{} on {best}: one window {batch1_us:.1} µs (median of {} calls, p10 {:.1}, p90 {:.1}); batched {batched_us_per_window:.2} µs/window ({} threads, {} test windows, tile {}); file {} bytes\n",
            self.preset,
            self.calls,
            self.batch1_p10_us,
            self.batch1_p90_us,
            self.threads,
            self.windows,
            self.batch_tile,
            self.model_bytes
        );
        match (self.burn_batch1_us, self.max_abs_diff_vs_burn) {
            (Some(burn_batch1_us), Some(max_abs_diff)) => {
                s += &format!(
                    "  burn (same weights, one window): {burn_batch1_us:.1} µs; max |runtime − burn| = {max_abs_diff:.2e} (outputs up to {max_abs_output:.1})\n"
                )
            }
            _ => s += &format!("  an imported network (no burn twin); outputs up to {max_abs_output:.1}\n"),
        }
        if let Some(d) = self.max_abs_diff_probability_vs_burn {
            s += &format!("  as probabilities: max |runtime − burn| = {d:.2e}\n");
        }
        for (isa, us) in &self.isa_batch1_us {
            s += &format!("  {isa}: {us:.1} µs/window\n");
        }
        if let Some(q) = &self.int8 {
            s += &format!("  int8 weights: {q}\n");
        }
        for r in &self.references {
            for (k, v) in &r.figures {
                s += &format!("  {k} {v} (telltale ratio {:.2})\n", r.ratios.get(k).copied().unwrap_or(f64::NAN));
            }
        }
        s
    }
}
