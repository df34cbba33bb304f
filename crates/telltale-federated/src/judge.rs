//! How the coordinator judges a global model (validation loss, test figures, the threshold fitted on
//! validation scores as `train` fits it) and writes it as an ordinary model directory.

use burn::tensor::Device;
use telltale_core::Scaler;
use telltale_models::Net;
use telltale_models::artifact::{FORMAT, Manifest, Model, VERSION};
use telltale_models::eval::{Evaluation, evaluate};
use telltale_models::pipeline::{Decision, Detector, TrainReport, fit_decision, forecast_eps};
use telltale_models::score::score_windows;
use telltale_models::train::{EpochRecord, evaluate_loss};

use crate::config::ValidFederated;
use crate::data::Holdout;
use crate::error::Result;
use crate::state::State;

/// A global model's figures.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Mean validation loss.
    pub val_loss: f64,
    /// Validation accuracy (classifiers).
    pub val_accuracy: Option<f64>,
    /// The threshold, fitted on validation scores.
    pub decision: Decision,
    /// Figures on the validation windows.
    pub validation: Option<Evaluation>,
    /// Figures on the test windows.
    pub test: Option<Evaluation>,
}

/// Judges `net` on the holdout's validation and test windows.
pub fn judge(fed: &ValidFederated, holdout: &Holdout, net: &Net, device: &Device) -> Result<Figures> {
    let cfg = &fed.experiment;
    let task = cfg.task();
    let wd = holdout.windowed.window_data();
    let recon = match &cfg.model {
        telltale_models::config::ModelConfig::Neural(n) => n.recon_weight(),
        telltale_models::config::ModelConfig::Baseline(_) | telltale_models::config::ModelConfig::Imported(_) => 0.0,
    };
    let (val_loss, val_accuracy) = evaluate_loss(net, task, recon, &wd, &holdout.val_fit, device);
    let identity = Scaler::Identity { n: holdout.windowed.data.n_features() };
    let eps = forecast_eps(cfg);
    let val_scores = score_windows(net, task, &wd, &holdout.val_fit, &identity, eps, device)?;
    let decision = fit_decision(cfg, &val_scores.score)?;
    let figures = |part: &str, idx: &[usize]| -> Result<Option<Evaluation>> {
        if idx.is_empty() {
            return Ok(None);
        }
        let scores = score_windows(net, task, &wd, idx, &identity, decision.eps, device)?;
        let protocol = format!(
            "{} {part} windows of {} judged by the coordinator; federated global model",
            idx.len(),
            cfg.data.path.display()
        );
        Ok(evaluate(protocol, &scores, &holdout.windowed.windows, idx, &decision.threshold, None))
    };
    let validation = figures("validation", &holdout.split.val)?;
    let test = figures("test", &holdout.split.test)?;
    Ok(Figures { val_loss, val_accuracy, decision, validation, test })
}

/// The model directory of the global model `net` after the rounds in `state`.
pub fn model_dir(
    fed: &ValidFederated,
    state: &State,
    scaler: &Scaler,
    holdout: &Holdout,
    net: Net,
    figures: &Figures,
) -> Result<Model> {
    let cfg = &fed.experiment;
    let history: Vec<EpochRecord> = state
        .history
        .iter()
        .map(|r| EpochRecord {
            epoch: r.round,
            train_loss: r.train_loss.unwrap_or(f64::NAN),
            val_loss: Some(r.val_loss),
            val_accuracy: r.val_accuracy,
            seconds: r.seconds,
        })
        .collect();
    let site_windows: usize = state.joined.values().map(|j| j.windows).sum();
    let mut experiment = cfg.clone().into_inner();
    if let Ok(abs) = std::fs::canonicalize(&experiment.data.path) {
        experiment.data.path = abs;
    }
    let report = TrainReport {
        name: cfg.name(),
        preset: cfg.model.name().to_owned(),
        task: cfg.task(),
        params: burn::module::Module::num_params(&net),
        epochs: state.round * fed.federated.local_epochs,
        best_epoch: state.round,
        stopped_early: false,
        median_epoch_seconds: 0.0,
        fit_seconds: state.history.iter().map(|r| r.seconds).sum(),
        history,
        windows: [site_windows, holdout.split.val.len(), holdout.split.test.len()],
        leakage: Default::default(),
        validation: figures.validation.clone(),
        test: figures.test.clone(),
    };
    Ok(Model {
        manifest: Manifest {
            format: FORMAT.to_owned(),
            version: VERSION,
            telltale: env!("CARGO_PKG_VERSION").to_owned(),
            experiment,
            features: holdout.windowed.data.features().to_vec(),
            dims: holdout.windowed.dims(),
            scaler: scaler.clone(),
            decision: figures.decision.clone(),
            report,
        },
        detector: Detector::Neural(net),
    })
}
