//! VUS-PR and VUS-ROC: the volume under range-aware precision-recall and ROC
//! surfaces (Paparrizos et al., VLDB 2022), the threshold-free measures of the
//! TSB-AD benchmark, computed as its `get_metrics` computes them
//! (`RangeAUC_volume_opt`: buffers of 0 to `window` steps around each labelled
//! range, 250 thresholds at evenly spaced ranks of the sorted scores).
//!
//! Each labelled range is widened by a buffer whose label decays as
//! `sqrt(1 − d/w)` with the distance `d` outside it; a flagged point inside a
//! widened range counts by that weight; range recall is scaled by the fraction
//! of ranges with any flag in them (existence). The measure is the mean, over
//! buffer widths 0..=`window`, of the area under each width's curve.

use std::ops::RangeInclusive;

use crate::error::{Error, Result};
use crate::metrics::classification::check_lengths;
use crate::metrics::events::segments;

/// Thresholds of TSB-AD's `get_metrics` (`thre`).
pub const THRESHOLDS: usize = 250;

/// TSB-AD's default sliding window (`slidingWindow`).
pub const WINDOW: usize = 100;

/// The two volumes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vus {
    /// Volume under the range-aware precision-recall surface.
    pub pr: f64,
    /// Volume under the range-aware ROC surface.
    pub roc: f64,
}

/// The labelled ranges `seq` widened by `half` steps either side, those that
/// then touch merged (TSB-AD's `new_sequence`).
fn merged(seq: &[RangeInclusive<usize>], half: usize, len: usize) -> Vec<RangeInclusive<usize>> {
    let mut out = Vec::new();
    let mut a = seq[0].start().saturating_sub(half);
    for w in seq.windows(2) {
        let (end, next) = (*w[0].end(), *w[1].start());
        // TSB-AD: end + half < next − half, in signed arithmetic.
        if end + 2 * half < next {
            out.push(a..=end + half);
            a = next - half;
        }
    }
    let last = *seq[seq.len() - 1].end();
    out.push(a..=(last + half).min(len - 1));
    out
}

/// Labels widened by a decaying buffer of `window / 2` steps (TSB-AD's `sequencing`).
fn widened(labels: &[u8], seq: &[RangeInclusive<usize>], window: usize) -> Vec<f64> {
    let mut out: Vec<f64> = labels.iter().map(|&l| f64::from(l)).collect();
    let len = out.len();
    let half = window / 2;
    for r in seq {
        let (s, e) = (*r.start(), *r.end());
        let after = e + 1..(e + half + 1).min(len);
        for (x, v) in after.clone().zip(&mut out[after]) {
            *v += (1.0 - (x - e) as f64 / window as f64).sqrt();
        }
        let before = s.saturating_sub(half)..s;
        for (x, v) in before.clone().zip(&mut out[before]) {
            *v += (1.0 - (s - x) as f64 / window as f64).sqrt();
        }
    }
    out.iter_mut().for_each(|v| *v = v.min(1.0));
    out
}

/// VUS-PR and VUS-ROC of `scores` against 0/1 `labels` with buffers up to
/// `window` steps and `thresholds` cuts. Errors when the lengths differ, a
/// score is not finite, or no point is labelled anomalous.
pub fn vus(labels: &[u8], scores: &[f64], window: usize, thresholds: usize) -> Result<Vus> {
    check_lengths(labels.len(), scores.len(), "scores")?;
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::invalid("scores", format!("score {} is {}", i + 1, scores[i])));
    }
    let seq: Vec<RangeInclusive<usize>> = segments(labels).into_iter().map(|r| r.start..=r.end - 1).collect();
    if seq.is_empty() {
        return Err(Error::Undefined("VUS is undefined: no point is labelled anomalous".into()));
    }
    if thresholds < 2 {
        return Err(Error::invalid("thresholds", "need at least 2".to_owned()));
    }
    let n = scores.len();
    let p = labels.iter().filter(|&&l| l != 0).count() as f64;
    let mut sorted = scores.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    // numpy's linspace(0, n − 1, thresholds).astype(int).
    let step = (n - 1) as f64 / (thresholds - 1) as f64;
    let cuts: Vec<f64> = (0..thresholds)
        .map(|k| if k + 1 == thresholds { n - 1 } else { (k as f64 * step) as usize })
        .map(|i| sorted[i])
        .collect();
    let preds: Vec<Vec<bool>> = cuts.iter().map(|&t| scores.iter().map(|&s| s >= t).collect()).collect();
    let n_pred: Vec<f64> = preds.iter().map(|p| p.iter().filter(|&&b| b).count() as f64).collect();
    let outer = merged(&seq, window / 2, n);
    let (mut auc_sum, mut ap_sum) = (0.0, 0.0);
    for w in 0..=window {
        let ext = widened(labels, &seq, w);
        let inner = merged(&seq, w / 2, n);
        let mut tpr = vec![0.0; thresholds + 2];
        let mut fpr = vec![0.0; thresholds + 2];
        let mut prec = vec![1.0; thresholds + 1];
        for (j, pred) in preds.iter().enumerate() {
            let mut lab = ext.clone();
            let mut existence = 0usize;
            for seg in &inner {
                let mut any = false;
                for x in seg.clone() {
                    lab[x] = if pred[x] { ext[x] } else { 0.0 };
                    any |= pred[x];
                }
                existence += usize::from(any);
            }
            for seg in &seq {
                lab[seg.clone()].iter_mut().for_each(|v| *v = 1.0);
            }
            let (mut tp, mut n_labels) = (0.0, 0.0);
            for seg in &outer {
                for x in seg.clone() {
                    if pred[x] {
                        tp += lab[x];
                    }
                    n_labels += lab[x];
                }
            }
            let fp = n_pred[j] - tp;
            let p_new = (p + n_labels) / 2.0;
            let recall = (tp / p_new).min(1.0);
            tpr[j + 1] = recall * existence as f64 / inner.len() as f64;
            fpr[j + 1] = fp / (n as f64 - p_new);
            prec[j + 1] = tp / n_pred[j];
        }
        tpr[thresholds + 1] = 1.0;
        fpr[thresholds + 1] = 1.0;
        auc_sum += (0..=thresholds).map(|i| (fpr[i + 1] - fpr[i]) * (tpr[i + 1] + tpr[i]) / 2.0).sum::<f64>();
        ap_sum += (0..thresholds).map(|i| (tpr[i + 1] - tpr[i]) * prec[i + 1]).sum::<f64>();
    }
    let volumes = (window + 1) as f64;
    Ok(Vus { pr: ap_sum / volumes, roc: auc_sum / volumes })
}

/// VUS-PR with TSB-AD's defaults (window 100, 250 thresholds).
pub fn vus_pr(labels: &[u8], scores: &[f64]) -> Result<f64> {
    Ok(vus(labels, scores, WINDOW, THRESHOLDS)?.pr)
}
