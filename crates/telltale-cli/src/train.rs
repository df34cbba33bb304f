//! `telltale train`: an experiment configuration in, a model directory out.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use telltale_models::artifact::Model;
use telltale_models::config::ExperimentConfig;
use telltale_models::pipeline::run_checked;
use telltale_models::train::{EpochRecord, Observer};

use crate::cli::{PartArg, TrainArgs};
use crate::device::device;
use crate::evaluate::{figures, render_evaluation};
use crate::output::{emit, print_json, thousands};
use crate::report::model_record;
use crate::scored::score_part;

/// Progress: a bar per epoch on a terminal, one line per epoch on stderr.
struct Progress {
    bar: Option<ProgressBar>,
    epochs: usize,
}

impl Observer for Progress {
    fn on_batch(&mut self, epoch: usize, done: usize, total: usize) {
        if let Some(bar) = &self.bar {
            if done == 1 {
                bar.set_length(total as u64);
                bar.set_prefix(format!("epoch {epoch}/{}", self.epochs));
            }
            bar.set_position(done as u64);
        }
    }

    fn on_epoch(&mut self, r: &EpochRecord) {
        let mut line = format!("epoch {:>3}/{}  loss {:.4}", r.epoch, self.epochs, r.train_loss);
        if let Some(v) = r.val_loss {
            line.push_str(&format!("  val_loss {v:.4}"));
        }
        if let Some(a) = r.val_accuracy {
            line.push_str(&format!("  val_acc {a:.4}"));
        }
        line.push_str(&format!("  {:.2}s", r.seconds));
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }
}

/// Runs the command.
pub(crate) fn run_train(args: &TrainArgs) -> Result<()> {
    if let Some(url) = &args.federated {
        return crate::federate::site(args, url);
    }
    let Some(config) = &args.config else { anyhow::bail!("--config FILE.toml is needed (or --federated URL)") };
    let cfg = ExperimentConfig::load(config)?.check()?;
    let dev = device(args.device)?;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(cfg.name()));
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} batches")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let mut progress = Progress { bar, epochs: cfg.train.epochs };
    let outcome = run_checked(&cfg, &dev, &mut progress)?;
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    let model = Model::from_outcome(&cfg, outcome);
    model.save(&out).with_context(|| format!("saving the model to {}", out.display()))?;
    // The test windows' scores go beside the model, for `telltale report`.
    if model.manifest.report.test.is_some() {
        let part = score_part(&model, &out, &model.data_path(), Some(PartArg::Test), &dev)?;
        model_record(&model, &part, "train").write(&out)?;
    }
    let r = &model.manifest.report;
    if args.json {
        return print_json(&json!({
            "name": r.name, "preset": r.preset, "task": r.task, "params": r.params, "epochs": r.epochs,
            "best_epoch": r.best_epoch, "stopped_early": r.stopped_early,
            "median_epoch_seconds": r.median_epoch_seconds, "fit_seconds": r.fit_seconds,
            "model_dir": out, "windows": {"train": r.windows[0], "val": r.windows[1], "test": r.windows[2]},
            "leakage": r.leakage, "threshold": model.manifest.decision.threshold,
            "validation": r.validation.as_ref().map(figures), "test": r.test.as_ref().map(figures),
        }));
    }
    let mut s = format!(
        "{} ({}, {} parameters): {} epochs (best {}), median epoch {:.3} s; saved to {}\n",
        r.name,
        r.preset,
        thousands(r.params),
        r.epochs,
        r.best_epoch,
        r.median_epoch_seconds,
        out.display()
    );
    s += &format!(
        "  windows: train {}  val {}  test {}   rows shared train/test: {}\n",
        thousands(r.windows[0]),
        thousands(r.windows[1]),
        thousands(r.windows[2]),
        thousands(r.leakage.train_test_rows)
    );
    if let Some(t) = &r.test {
        s += &render_evaluation("test", t);
    }
    emit(&s)
}
