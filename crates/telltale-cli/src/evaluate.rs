//! `telltale evaluate`: a trained model's figures on a data file, or on a
//! part of its own split (recomputed from its seed, so `--split test`
//! reproduces the test figures written at training time).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use burn::tensor::Device;
use telltale_core::{Dataset, Windows};
use telltale_models::artifact::Model;
use telltale_models::eval::{Evaluation, evaluate};
use telltale_models::score::Scores;

use crate::cli::{EvaluateArgs, PartArg};
use crate::device::device;
use crate::output::print_json;
use crate::train::{figures, render_evaluation};

/// A part of a data file scored by a model and judged against its labels.
pub(crate) struct ScoredPart {
    /// The data file.
    pub(crate) path: PathBuf,
    /// The part scored: `all`, `train`, `validation` or `test`.
    pub(crate) part: String,
    /// Its readings (unscaled).
    pub(crate) data: Dataset,
    /// Its windows.
    pub(crate) windows: Windows,
    /// The windows scored.
    pub(crate) idx: Vec<usize>,
    /// Their scores.
    pub(crate) scores: Scores,
    /// The figures.
    pub(crate) evaluation: Evaluation,
}

/// Scores `part` of `path` (every window when `None`) with `model` and judges it.
pub(crate) fn score_part(
    model: &Model,
    model_dir: &Path,
    path: &Path,
    part: Option<PartArg>,
    dev: &Device,
) -> Result<ScoredPart> {
    let (data, windows) = model.read_data(path)?;
    if windows.labels().is_none() {
        bail!(
            "{}: no labels to evaluate against (the model's label is {:?}); use `telltale detect`",
            path.display(),
            model.manifest.experiment.data.spec.label
        );
    }
    let (name, idx) = match part {
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
        bail!("{}: no {name} windows to evaluate", path.display());
    }
    let scores = model.score(&data, &windows, &idx, dev)?;
    let decision = &model.manifest.decision;
    let group = model.manifest.experiment.evaluate.by_group.as_deref().and_then(|g| data.group(g));
    let protocol = format!(
        "{} {name} windows of {} scored by {} (threshold from training)",
        idx.len(),
        path.display(),
        model_dir.display()
    );
    let Some(evaluation) = evaluate(protocol, &scores, &windows, &idx, &decision.threshold, group) else {
        bail!("{}: the windows carry no labels", path.display());
    };
    Ok(ScoredPart { path: path.to_path_buf(), part: name, data, windows, idx, scores, evaluation })
}

/// Runs the command.
pub(crate) fn run_evaluate(args: &EvaluateArgs) -> Result<()> {
    let dev = device(args.device)?;
    let model = Model::load(&args.model, &dev)?;
    let path = args.data.clone().unwrap_or_else(|| model.data_path());
    let part = score_part(&model, &args.model, &path, args.split, &dev)?;
    if let Some(dir) = &args.report {
        crate::report::model_record(&model, &part, "evaluate").write(dir)?;
    }
    if args.json {
        return print_json(&figures(&part.evaluation));
    }
    crate::output::emit(&render_evaluation(&part.part, &part.evaluation))
}
