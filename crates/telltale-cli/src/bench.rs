//! `telltale bench train`: seconds per epoch, beside peers run in the same
//! invocation (the machine is shared and noisy: compare ratios, not times).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use telltale_models::config::{ExperimentConfig, data_root};
use telltale_models::pipeline::run;
use telltale_models::train::Quiet;

use crate::cli::BenchTrainArgs;
use crate::device::device;
use crate::output::{emit, print_json};

/// Seed 000's protocol, exactly as the example users train with.
const SEED000: &str = include_str!("../../../examples/accelerometer.toml");

/// The accelerometer data: `$TELLTALE_DATA/accelerometer/accelerometer.csv`, else the bundled copy.
fn accelerometer() -> Result<PathBuf> {
    let shared = data_root().join("accelerometer/accelerometer.csv");
    let bundled = [
        PathBuf::from("data/accelerometer.csv"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/accelerometer.csv"),
    ];
    std::iter::once(shared)
        .chain(bundled)
        .find(|p| p.is_file())
        .context("cannot find accelerometer.csv under TELLTALE_DATA or the bundled data/")
}

/// The entries of `roster` named in `wanted` (all of them when it is empty);
/// an unknown name is an error naming `flag` and the known names.
pub(crate) fn select<T>(roster: Vec<T>, wanted: &[String], flag: &str, name: impl Fn(&T) -> &str) -> Result<Vec<T>> {
    if let Some(bad) = wanted.iter().find(|w| !roster.iter().any(|r| name(r) == w.as_str())) {
        let known: Vec<&str> = roster.iter().map(&name).collect();
        bail!("{flag}: unknown detector '{bad}' (one of: {})", known.join(", "));
    }
    Ok(roster.into_iter().filter(|r| wanted.is_empty() || wanted.iter().any(|w| w == name(r))).collect())
}

/// A peer's timing.
#[derive(Debug, Serialize)]
struct Reference {
    command: String,
    median_epoch_seconds: f64,
    /// telltale's median epoch over the peer's (below 1: telltale is faster).
    ratio: f64,
}

/// Runs a peer's command and returns every `NAME NUMBER` pair it prints on stdout.
pub(crate) fn reference_figures(command: &str) -> Result<BTreeMap<String, f64>> {
    let mut parts = command.split_whitespace();
    let program = parts.next().context("empty --reference command")?;
    let out = Command::new(program)
        .args(parts)
        .env("TF_CPP_MIN_LOG_LEVEL", "2")
        .output()
        .with_context(|| format!("running {command}"))?;
    if !out.status.success() {
        bail!("{command} failed: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or_default());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = text.split_whitespace().collect();
    Ok(words.windows(2).filter_map(|w| Some((w[0].to_owned(), w[1].parse().ok()?))).collect())
}

fn run_reference(command: &str) -> Result<f64> {
    reference_figures(command)?
        .get("median_epoch_s")
        .copied()
        .with_context(|| format!("{command} printed no `median_epoch_s`"))
}

/// Runs the command.
pub(crate) fn run_bench_train(args: &BenchTrainArgs) -> Result<()> {
    let mut cfg = match &args.config {
        Some(path) => ExperimentConfig::load(path)?,
        None => {
            let mut cfg = ExperimentConfig::from_toml(SEED000, Path::new("examples/accelerometer.toml"))?;
            cfg.data.path = accelerometer()?;
            cfg
        }
    };
    cfg.train.epochs = args.epochs;
    cfg.train.patience = 0;
    let dev = device(args.device)?;
    let outcome = run(&cfg, &dev, &mut Quiet)?;
    let r = &outcome.report;
    let seconds: Vec<f64> = r.history.iter().map(|e| e.seconds).collect();
    let windows_per_second = r.windows[0] as f64 / r.median_epoch_seconds.max(f64::MIN_POSITIVE);
    let mut references = Vec::new();
    for command in &args.reference {
        let theirs = run_reference(command)?;
        references.push(Reference {
            command: command.clone(),
            median_epoch_seconds: theirs,
            ratio: r.median_epoch_seconds / theirs,
        });
    }
    if args.json {
        return print_json(&serde_json::json!({
            "preset": r.preset, "params": r.params, "epochs": r.epochs, "train_windows": r.windows[0],
            "median_epoch_seconds": r.median_epoch_seconds, "epoch_seconds": seconds,
            "windows_per_second": windows_per_second, "references": references,
        }));
    }
    let (lo, hi) = seconds.iter().fold((f64::INFINITY, 0f64), |(lo, hi), &s| (lo.min(s), hi.max(s)));
    let mut s = format!(
        "{} ({} parameters), {} training windows, batch {}: median epoch {:.3} s (min {:.3}, max {:.3} over {} epochs), {:.0} windows/s\n",
        r.preset,
        r.params,
        r.windows[0],
        cfg.train.batch_size,
        r.median_epoch_seconds,
        lo,
        hi,
        r.epochs,
        windows_per_second
    );
    for reference in &references {
        s += &format!(
            "  vs {}: median epoch {:.3} s, ratio {:.2}\n",
            reference.command, reference.median_epoch_seconds, reference.ratio
        );
    }
    emit(&s)
}
