//! From scores to flags (the model's threshold) and from flags to figures,
//! each evaluation naming the protocol that produced it.

use serde::{Deserialize, Serialize};
use telltale_core::metrics::{ClassificationReport, Confusion, average_precision, roc_auc};
use telltale_core::{Factor, Threshold, Windows};

use crate::score::Scores;

/// Accuracy of one level of a group column (e.g. one fan speed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupFigure {
    /// The level, as written in the data.
    pub level: String,
    /// Windows of this level.
    pub windows: usize,
    /// Anomalous windows among them.
    pub anomalous: usize,
    /// Accuracy on them.
    pub accuracy: f64,
}

/// Figures of a model on a set of windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// What was scored and how: windows, split part, threshold.
    pub protocol: String,
    /// Windows scored.
    pub windows: usize,
    /// Windows labelled anomalous.
    pub anomalous: usize,
    /// The threshold's value (static thresholds) — scores `>=` it are flagged.
    pub threshold: Option<f64>,
    /// Flagged windows.
    pub flagged: usize,
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// True negatives.
    pub tn: usize,
    /// False negatives.
    #[serde(rename = "fn")]
    pub fn_: usize,
    /// Accuracy.
    pub accuracy: f64,
    /// Precision of the anomalous class.
    pub precision: f64,
    /// Recall of the anomalous class.
    pub recall: f64,
    /// F1 of the anomalous class.
    pub f1: f64,
    /// ROC-AUC of the scores (undefined with one class).
    pub roc_auc: Option<f64>,
    /// Average precision of the scores (undefined without anomalies).
    pub pr_auc: Option<f64>,
    /// Per-class report.
    pub report: ClassificationReport,
    /// Forecast RMSE per channel in the data's units (forecasters).
    pub rmse: Option<Vec<f64>>,
    /// Accuracy per level of a group column, when one is named.
    pub by_group: Option<(String, Vec<GroupFigure>)>,
}

/// Flags of `scores` (in window order) under `threshold`.
pub fn flags(scores: &[f64], threshold: &Threshold) -> Vec<bool> {
    threshold.flags(scores)
}

/// Evaluates `scores` of windows `idx` against their labels.
pub fn evaluate(
    protocol: String,
    scores: &Scores,
    windows: &Windows,
    idx: &[usize],
    threshold: &Threshold,
    group: Option<&Factor>,
) -> Option<Evaluation> {
    let all = windows.labels()?;
    let labels: Vec<u8> = idx.iter().map(|&i| all[i]).collect();
    let flagged = flags(&scores.score, threshold);
    let c = Confusion::from_flags(&labels, &flagged).ok()?;
    let by_group = group.map(|g| {
        let figures = g
            .levels
            .iter()
            .enumerate()
            .filter_map(|(code, level)| {
                let members: Vec<usize> =
                    (0..idx.len()).filter(|&k| g.codes[windows.starts()[idx[k]]] as usize == code).collect();
                (!members.is_empty()).then(|| GroupFigure {
                    level: level.clone(),
                    windows: members.len(),
                    anomalous: members.iter().filter(|&&k| labels[k] != 0).count(),
                    accuracy: members.iter().filter(|&&k| (labels[k] != 0) == flagged[k]).count() as f64
                        / members.len() as f64,
                })
            })
            .collect();
        (g.name.clone(), figures)
    });
    Some(Evaluation {
        protocol,
        windows: idx.len(),
        anomalous: c.tp + c.fn_,
        threshold: match threshold {
            Threshold::Static { value } => Some(*value),
            _ => None,
        },
        flagged: c.tp + c.fp,
        tp: c.tp,
        fp: c.fp,
        tn: c.tn,
        fn_: c.fn_,
        accuracy: c.accuracy(),
        precision: c.precision(),
        recall: c.recall(),
        f1: c.f1(),
        roc_auc: roc_auc(&labels, &scores.score).ok(),
        pr_auc: average_precision(&labels, &scores.score).ok(),
        report: ClassificationReport::new(&c),
        rmse: scores.rmse.clone(),
        by_group,
    })
}
