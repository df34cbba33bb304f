//! Grid search with k-fold cross-validation (seed 004).
//!
//! ```toml
//! [tune]
//! folds = 5
//! kind = "stratified"        # or "blocked": contiguous folds with a purge gap
//! metric = "val-loss"        # or "roc-auc", "f1", "accuracy"
//! [tune.grid]
//! "model.dropout" = [0.1, 0.2]
//! "train.learning_rate" = [0.001, 0.003]
//! ```
//!
//! The folds are cut from the training and validation windows; the test
//! windows stay untouched. Each fold refits the scaler on its own training
//! rows. Every grid point is the experiment's configuration with the listed
//! fields replaced, checked like any configuration.

use std::collections::BTreeMap;
use std::time::Instant;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use telltale_core::split::{kfold_blocked, kfold_stratified};
use telltale_core::{Dataset, Scaler, Threshold, ThresholdSpec};

use crate::baselines::Baseline;
use crate::config::{ExperimentConfig, ModelConfig, ValidExperimentConfig};
pub use crate::config::{FoldKind, TuneConfig, TuneMetric};
use crate::error::{Error, Result};
use crate::eval::evaluate;
use crate::pipeline::{Detector, fit_decision, forecast_eps};
use crate::samples::WindowData;
use crate::train::{Quiet, train};

/// One grid point's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneRow {
    /// The values of this point.
    pub params: BTreeMap<String, serde_json::Value>,
    /// The metric on each fold.
    pub folds: Vec<f64>,
    /// Mean over folds.
    pub mean: f64,
    /// Standard deviation over folds.
    pub std: f64,
    /// Seconds for all folds.
    pub seconds: f64,
}

fn set_path(root: &mut serde_json::Value, path: &str, value: serde_json::Value) -> Result<()> {
    let mut at = root;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let object = at
            .as_object_mut()
            .ok_or_else(|| Error::config(format!("tune.grid.{path}"), "does not name a configuration field"))?;
        if i + 1 == parts.len() {
            object.insert((*part).to_owned(), value);
            return Ok(());
        }
        at = object.entry((*part).to_owned()).or_insert_with(|| serde_json::Value::Object(Default::default()));
    }
    Ok(())
}

/// Every grid point: the experiment with the grid's fields replaced, checked.
pub fn grid_points(
    cfg: &ExperimentConfig,
    tune: &TuneConfig,
) -> Result<Vec<(BTreeMap<String, serde_json::Value>, ValidExperimentConfig)>> {
    if tune.grid.is_empty() {
        return Err(Error::config("tune.grid", "lists no fields"));
    }
    let mut points = vec![BTreeMap::new()];
    for (key, values) in &tune.grid {
        if values.is_empty() {
            return Err(Error::config(format!("tune.grid.{key}"), "lists no values"));
        }
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.insert(key.clone(), v.clone());
                    q
                })
            })
            .collect();
    }
    let base = serde_json::to_value(cfg).map_err(|e| Error::config("tune", e.to_string()))?;
    points
        .into_iter()
        .map(|params| {
            let mut value = base.clone();
            for (k, v) in &params {
                set_path(&mut value, k, v.clone())?;
            }
            let point: ExperimentConfig =
                serde_json::from_value(value).map_err(|e| Error::config("tune.grid", format!("{params:?}: {e}")))?;
            Ok((params, point.check()?))
        })
        .collect()
}

fn fold_score(
    cfg: &ValidExperimentConfig,
    metric: TuneMetric,
    raw: &Dataset,
    train_idx: &[usize],
    test_idx: &[usize],
    device: &Device,
) -> Result<f64> {
    let task = cfg.task();
    let windows = cfg.window_plan().windows(raw)?;
    let rows = windows.covered_rows(train_idx, raw.n_rows());
    let scaler = Scaler::fit(cfg.scaler, raw.values(), raw.n_features(), &rows)?;
    let mut values = raw.values().to_vec();
    scaler.transform(&mut values);
    let wd = WindowData { values: &values, channels: raw.n_features(), windows: &windows, row_labels: raw.labels() };
    let dims = crate::presets::NetDims { channels: raw.n_features(), steps: wd.steps(), horizon: wd.horizon() };
    let (detector, best_loss) = match &cfg.model {
        ModelConfig::Neural(n) => {
            let t = train(n, &dims, &wd, train_idx, test_idx, &cfg.train, cfg.seed, device, &mut Quiet)?;
            let best = t.history.iter().filter_map(|r| r.val_loss).fold(f64::INFINITY, f64::min);
            (Detector::Neural(t.net), Some(best))
        }
        ModelConfig::Baseline(b) => (Detector::Baseline(Baseline::fit(b, &wd, train_idx, cfg.seed)?), None),
    };
    if metric == TuneMetric::ValLoss {
        return best_loss
            .ok_or_else(|| Error::config("tune.metric", "baselines have no loss; use roc-auc, f1 or accuracy"));
    }
    let scores = detector.score(task, &wd, test_idx, &scaler, forecast_eps(cfg), device)?;
    let threshold = match (&cfg.threshold, task) {
        (Some(ThresholdSpec::Fixed { value }), _) => Threshold::Static { value: *value },
        _ => fit_decision(cfg, &scores.score)?.threshold,
    };
    let e = evaluate(String::new(), &scores, &windows, test_idx, &threshold, None)
        .ok_or_else(|| Error::Data("tuning by roc-auc, f1 or accuracy needs labels".into()))?;
    Ok(match metric {
        TuneMetric::RocAuc => e.roc_auc.unwrap_or(f64::NAN),
        TuneMetric::F1 => e.f1,
        TuneMetric::Accuracy => e.accuracy,
        TuneMetric::ValLoss => unreachable!("handled above"),
    })
}

/// Runs the grid; rows come best first. `progress` hears each finished point.
pub fn tune(cfg: &ValidExperimentConfig, device: &Device, progress: &mut dyn FnMut(&TuneRow)) -> Result<Vec<TuneRow>> {
    let tune = cfg.tune.as_ref().ok_or_else(|| Error::config("tune", "the configuration has no [tune] section"))?;
    let points = grid_points(cfg, tune)?;
    let raw = Dataset::load(&cfg.data.path, &cfg.data.spec)?;
    let windows = cfg.window_plan().windows(&raw)?;
    let split = cfg.split.split(&raw, &windows)?;
    let mut pool: Vec<usize> = split.train.iter().chain(&split.val).copied().collect();
    pool.sort_unstable();
    let folds = match tune.kind {
        FoldKind::Stratified => {
            let labels = windows
                .labels()
                .ok_or_else(|| Error::config("tune.kind", "stratified folds need labels; use \"blocked\""))?;
            let pool_labels: Vec<u8> = pool.iter().map(|&i| labels[i]).collect();
            kfold_stratified(&pool_labels, tune.folds, cfg.seed)?
        }
        FoldKind::Blocked => kfold_blocked(&windows, &pool, tune.folds, windows.span())?,
    };
    let mut rows = Vec::with_capacity(points.len());
    for (params, point) in points {
        let started = Instant::now();
        let mut scores = Vec::with_capacity(folds.len());
        for fold in &folds {
            let train_idx: Vec<usize> = fold.train.iter().map(|&k| pool[k]).collect();
            let test_idx: Vec<usize> = fold.test.iter().map(|&k| pool[k]).collect();
            scores.push(fold_score(&point, tune.metric, &raw, &train_idx, &test_idx, device)?);
        }
        let n = scores.len() as f64;
        let mean = scores.iter().sum::<f64>() / n;
        let std = (scores.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / n).sqrt();
        let row = TuneRow { params, folds: scores, mean, std, seconds: started.elapsed().as_secs_f64() };
        progress(&row);
        rows.push(row);
    }
    let better = tune.metric.higher_is_better();
    rows.sort_by(|a, b| if better { b.mean.total_cmp(&a.mean) } else { a.mean.total_cmp(&b.mean) });
    Ok(rows)
}
