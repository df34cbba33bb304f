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
//! rows. Honest folds: a held-out fold is only scored. Early stopping and the
//! threshold use the last fifth (in time) of the training fold, purged of
//! overlap with the rest; `val-loss` is the held-out fold's loss; stratified
//! folds drop every training window that shares a row with a held-out one
//! (windows overlap), blocked folds leave a window's span between the parts. Every grid point is the experiment's configuration with the listed
//! fields replaced, checked like any configuration.

use std::collections::BTreeMap;
use std::time::Instant;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use telltale_core::split::{kfold_blocked, kfold_stratified, purged};
use telltale_core::{Dataset, Scaler, Threshold, ThresholdSpec, Windows};

use crate::baselines::Baseline;
use crate::config::{ExperimentConfig, ModelConfig, ValidExperimentConfig};
pub use crate::config::{FoldKind, TuneConfig, TuneMetric};
use crate::error::{Error, Result};
use crate::eval::evaluate;
use crate::pipeline::{Detector, fit_decision, forecast_eps};
use crate::samples::WindowData;
use crate::train::{Quiet, evaluate_loss, train};

/// How the folds are used, as `telltale tune` prints it.
pub const PROTOCOL: &str = "held-out folds only scored: early stopping and the threshold on the last fifth (in time) \
                            of each training fold, purged of overlap with the rest; val-loss = the held-out fold's \
                            loss; stratified folds purge training windows sharing rows with held-out ones, blocked \
                            folds leave a window's span between the parts";

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

/// The training fold's windows split for early stopping and the threshold:
/// the last fifth in time validates, the rest trains, and training windows
/// sharing rows with a validating one are left out. Nothing of the held-out
/// fold is seen before it is scored.
fn inner_split(windows: &Windows, train_idx: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut order = train_idx.to_vec();
    order.sort_by_key(|&i| windows.rows(i).start);
    let cut = order.len() - order.len() / 5;
    let val = order.split_off(cut);
    let first_val = val.iter().map(|&i| windows.rows(i).start).min().unwrap_or(usize::MAX);
    let fit = order.into_iter().filter(|&i| windows.rows(i).end <= first_val).collect();
    (fit, val)
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
    let (fit_idx, val_idx) = inner_split(&windows, train_idx);
    let detector = match &cfg.model {
        ModelConfig::Neural(n) => {
            let t = train(n, &dims, &wd, &fit_idx, &val_idx, &cfg.train, cfg.seed, device, &mut Quiet)?;
            if metric == TuneMetric::ValLoss {
                // The held-out fold's loss: it took no part in training or early stopping.
                return Ok(evaluate_loss(&t.net, task, n.recon_weight(), &wd, test_idx, device).0);
            }
            Detector::Neural(t.net)
        }
        ModelConfig::Baseline(_) if metric == TuneMetric::ValLoss => {
            return Err(Error::config("tune.metric", "baselines have no loss; use roc-auc, f1 or accuracy"));
        }
        ModelConfig::Baseline(b) => Detector::Baseline(Baseline::fit(b, &wd, &fit_idx, cfg.seed)?),
        ModelConfig::Imported(_) => return Err(Error::config("model.preset", "an imported model is not tuned")),
    };
    let eps = forecast_eps(cfg);
    let threshold = match (&cfg.threshold, task) {
        (Some(ThresholdSpec::Fixed { value }), _) => Threshold::Static { value: *value },
        // Fitted on the training fold's validating windows, as `train` fits it on its validation set.
        _ => fit_decision(cfg, &detector.score(task, &wd, &val_idx, &scaler, eps, device)?.score)?.threshold,
    };
    let scores = detector.score(task, &wd, test_idx, &scaler, eps, device)?;
    let e = evaluate(String::new(), &scores, &windows, test_idx, &threshold, None)
        .ok_or_else(|| Error::Data("tuning by roc-auc, f1 or accuracy needs labels".into()))?;
    Ok(match metric {
        TuneMetric::RocAuc => e.roc_auc.unwrap_or(f64::NAN),
        TuneMetric::F1 => e.f1,
        TuneMetric::Accuracy => e.accuracy,
        TuneMetric::ValLoss => unreachable!("networks returned above; baselines refused"),
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
            // Overlapping windows: training windows sharing rows with the held-out fold are purged.
            kfold_stratified(&pool_labels, tune.folds, cfg.seed)?
                .into_iter()
                .map(|f| purged(&windows, &pool, f, 0))
                .collect()
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

#[cfg(test)]
mod tests {
    use telltale_core::WindowSpec;

    use super::*;

    #[test]
    fn early_stopping_windows_come_after_and_apart_from_the_fitted_ones() {
        // Windows of 10 rows every 5: neighbours share 5 rows.
        let d = Dataset::from_parts(vec!["v".into()], vec![0.0; 200], None, None).expect("data");
        let w = Windows::classify(&d, &WindowSpec::new(10, 5)).expect("windows");
        let all: Vec<usize> = (0..w.len()).rev().collect();
        let (fit, val) = inner_split(&w, &all);
        assert_eq!(val.len(), w.len() / 5);
        let first_val = val.iter().map(|&i| w.rows(i).start).min().expect("val");
        assert!(fit.iter().all(|&i| w.rows(i).end <= first_val), "no fitted window reaches a validating row");
        // Only the one window straddling the cut is lost.
        assert_eq!(fit.len() + val.len() + 1, w.len());
    }
}
