//! A part of a data file scored by a trained model and judged against its
//! labels: what `train` (its test windows), `evaluate` and the run records
//! of `report` share.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use burn::tensor::Device;
use telltale_core::{Dataset, Windows};
use telltale_models::artifact::Model;
use telltale_models::eval::{Evaluation, evaluate};
use telltale_models::score::Scores;

use crate::cli::PartArg;

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
    // An imported network's threshold was given at import, not fitted here.
    let origin = match &model.manifest.experiment.model {
        telltale_models::config::ModelConfig::Imported(_) => "threshold given at import",
        _ => "threshold from training",
    };
    let protocol =
        format!("{} {name} windows of {} scored by {} ({origin})", idx.len(), path.display(), model_dir.display());
    let Some(evaluation) = evaluate(protocol, &scores, &windows, &idx, &decision.threshold, group) else {
        bail!("{}: the windows carry no labels", path.display());
    };
    Ok(ScoredPart { path: path.to_path_buf(), part: name, data, windows, idx, scores, evaluation })
}
