//! `telltale evaluate`: a trained model's figures on a data file, or on a
//! part of its own split (recomputed from its seed, so `--split test`
//! reproduces the test figures written at training time).

use anyhow::{Result, bail};
use telltale_models::artifact::Model;
use telltale_models::eval::evaluate;

use crate::cli::{EvaluateArgs, PartArg};
use crate::device::device;
use crate::output::print_json;
use crate::train::{figures, render_evaluation};

/// Runs the command.
pub(crate) fn run_evaluate(args: &EvaluateArgs) -> Result<()> {
    let dev = device(args.device)?;
    let model = Model::load(&args.model, &dev)?;
    let path = args.data.clone().unwrap_or_else(|| model.data_path());
    let (data, windows) = model.read_data(&path)?;
    if windows.labels().is_none() {
        bail!(
            "{}: no labels to evaluate against (the model's label is {:?}); use `telltale detect`",
            path.display(),
            model.manifest.experiment.data.spec.label
        );
    }
    let (part, idx) = match args.split {
        None => ("all".to_owned(), (0..windows.len()).collect::<Vec<_>>()),
        Some(p) => {
            let split = model.manifest.experiment.split.split(&data, &windows)?;
            match p {
                PartArg::Train => ("train".into(), split.train),
                PartArg::Val => ("validation".into(), split.val),
                PartArg::Test => ("test".into(), split.test),
            }
        }
    };
    if idx.is_empty() {
        bail!("{}: no {part} windows to evaluate", path.display());
    }
    let scores = model.score(&data, &windows, &idx, &dev)?;
    let decision = &model.manifest.decision;
    let group = model.manifest.experiment.evaluate.by_group.as_deref().and_then(|g| data.group(g));
    let protocol = format!(
        "{} {part} windows of {} scored by {} (threshold from training)",
        idx.len(),
        path.display(),
        args.model.display()
    );
    let Some(e) = evaluate(protocol, &scores, &windows, &idx, &decision.threshold, group) else {
        bail!("{}: the windows carry no labels", path.display());
    };
    if args.json {
        return print_json(&figures(&e));
    }
    crate::output::emit(&render_evaluation(&part, &e))
}
