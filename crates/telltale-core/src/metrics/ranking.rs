//! Threshold-free metrics from scores: ROC and precision-recall curves,
//! ROC-AUC and average precision, with tied scores treated as one threshold
//! (scikit-learn's `_binary_clf_curve`).

use crate::error::{Error, Result};
use crate::metrics::classification::check_lengths;

/// Cumulative (false positives, true positives, threshold) at each distinct
/// score, from the highest score down.
fn binary_clf_curve(labels: &[u8], scores: &[f64]) -> Result<Vec<(f64, f64, f64)>> {
    check_lengths(labels.len(), scores.len(), "scores")?;
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::invalid("scores", format!("score {} is {}", i + 1, scores[i])));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Stable sort, descending: equal scores keep their order as in scikit-learn.
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut out = Vec::new();
    let (mut tp, mut fp) = (0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] != 0 {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_tie = order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_tie {
            out.push((fp, tp, scores[i]));
        }
    }
    Ok(out)
}

fn both_classes(labels: &[u8], what: &str) -> Result<()> {
    let pos = labels.iter().filter(|&&l| l != 0).count();
    if pos == 0 || pos == labels.len() {
        return Err(Error::Undefined(format!(
            "{what} is undefined: only one class is present ({} items, all {})",
            labels.len(),
            if pos == 0 { "normal" } else { "anomalous" }
        )));
    }
    Ok(())
}

/// ROC curve: (false-positive rates, true-positive rates, thresholds), starting at (0, 0).
pub fn roc_curve(labels: &[u8], scores: &[f64]) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    both_classes(labels, "the ROC curve")?;
    let pts = binary_clf_curve(labels, scores)?;
    let (fp_total, tp_total) = pts.last().map_or((1.0, 1.0), |p| (p.0, p.1));
    let mut fpr = vec![0.0];
    let mut tpr = vec![0.0];
    let mut thr = vec![f64::INFINITY];
    for (fp, tp, t) in pts {
        fpr.push(fp / fp_total);
        tpr.push(tp / tp_total);
        thr.push(t);
    }
    Ok((fpr, tpr, thr))
}

/// Area under the ROC curve (trapezoids; ties count one half).
pub fn roc_auc(labels: &[u8], scores: &[f64]) -> Result<f64> {
    both_classes(labels, "ROC-AUC")?;
    let (fpr, tpr, _) = roc_curve(labels, scores)?;
    Ok(fpr.windows(2).zip(tpr.windows(2)).map(|(x, y)| (x[1] - x[0]) * (y[1] + y[0]) / 2.0).sum())
}

/// Precision-recall curve: (precision, recall, thresholds) from the highest
/// threshold down.
pub fn pr_curve(labels: &[u8], scores: &[f64]) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    if !labels.iter().any(|&l| l != 0) {
        return Err(Error::Undefined(format!(
            "the precision-recall curve is undefined: no anomalous items among {}",
            labels.len()
        )));
    }
    let pts = binary_clf_curve(labels, scores)?;
    let tp_total = pts.last().map_or(1.0, |p| p.1);
    let precision = pts.iter().map(|(fp, tp, _)| tp / (tp + fp)).collect();
    let recall = pts.iter().map(|(_, tp, _)| tp / tp_total).collect();
    let thresholds = pts.iter().map(|p| p.2).collect();
    Ok((precision, recall, thresholds))
}

/// Average precision (PR-AUC): sum of precision at each threshold times the
/// recall gained there (scikit-learn's `average_precision_score`).
pub fn average_precision(labels: &[u8], scores: &[f64]) -> Result<f64> {
    let (precision, recall, _) = pr_curve(labels, scores)?;
    let mut prev = 0.0;
    let mut ap = 0.0;
    for (p, r) in precision.iter().zip(&recall) {
        ap += (r - prev) * p;
        prev = *r;
    }
    Ok(ap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_inverse_and_tied() {
        assert_eq!(roc_auc(&[0, 0, 1, 1], &[0.1, 0.2, 0.8, 0.9]).unwrap(), 1.0);
        assert_eq!(roc_auc(&[0, 0, 1, 1], &[0.9, 0.8, 0.2, 0.1]).unwrap(), 0.0);
        assert_eq!(roc_auc(&[0, 1, 0, 1], &[0.5; 4]).unwrap(), 0.5);
        assert_eq!(average_precision(&[0, 1, 0, 1], &[0.5; 4]).unwrap(), 0.5);
        assert_eq!(average_precision(&[0, 0, 1, 1], &[0.1, 0.2, 0.8, 0.9]).unwrap(), 1.0);
    }

    #[test]
    fn one_class_is_undefined() {
        let e = roc_auc(&[1, 1], &[0.1, 0.2]).unwrap_err().to_string();
        assert_eq!(e, "ROC-AUC is undefined: only one class is present (2 items, all anomalous)");
        assert!(average_precision(&[0, 0], &[0.1, 0.2]).is_err());
        assert!(roc_auc(&[0, 1], &[0.1, f64::NAN]).is_err());
    }
}
