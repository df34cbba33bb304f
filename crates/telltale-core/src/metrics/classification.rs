//! Confusion counts and the classification report.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Confusion counts, class 1 (anomalous) being positive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    /// Anomalies flagged.
    pub tp: usize,
    /// Normal items flagged.
    pub fp: usize,
    /// Normal items not flagged.
    pub tn: usize,
    /// Anomalies missed.
    #[serde(rename = "fn")]
    pub fn_: usize,
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 { 0.0 } else { num as f64 / den as f64 }
}

fn f1(precision: f64, recall: f64) -> f64 {
    if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) }
}

/// Checks that labels and another per-item slice line up.
pub(crate) fn check_lengths(labels: usize, other: usize, what: &str) -> Result<()> {
    if labels != other {
        return Err(Error::invalid(what, format!("{other} values for {labels} labels")));
    }
    Ok(())
}

impl Confusion {
    /// Counts from labels (non-zero = anomalous) and flags.
    pub fn from_flags(labels: &[u8], flags: &[bool]) -> Result<Confusion> {
        check_lengths(labels.len(), flags.len(), "flags")?;
        let mut c = Confusion::default();
        for (&l, &p) in labels.iter().zip(flags) {
            match (l != 0, p) {
                (true, true) => c.tp += 1,
                (false, true) => c.fp += 1,
                (false, false) => c.tn += 1,
                (true, false) => c.fn_ += 1,
            }
        }
        Ok(c)
    }

    /// Counts from scores: an item is flagged when its score is `>= threshold`.
    pub fn from_scores(labels: &[u8], scores: &[f64], threshold: f64) -> Result<Confusion> {
        let flags: Vec<bool> = scores.iter().map(|&s| s >= threshold).collect();
        Confusion::from_flags(labels, &flags)
    }

    /// All items.
    pub fn total(&self) -> usize {
        self.tp + self.fp + self.tn + self.fn_
    }

    /// (tp + tn) / total.
    pub fn accuracy(&self) -> f64 {
        ratio(self.tp + self.tn, self.total())
    }

    /// tp / (tp + fp); 0 when nothing is flagged (scikit-learn's `zero_division` default).
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// tp / (tp + fn), the true-positive rate; 0 without anomalies.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        f1(self.precision(), self.recall())
    }

    /// fp / (fp + tn), the false-positive rate.
    pub fn fpr(&self) -> f64 {
        ratio(self.fp, self.fp + self.tn)
    }

    /// Same as [`Confusion::recall`].
    pub fn tpr(&self) -> f64 {
        self.recall()
    }

    /// The counts with classes swapped (class 0 positive).
    pub fn swapped(&self) -> Confusion {
        Confusion { tp: self.tn, fp: self.fn_, tn: self.tp, fn_: self.fp }
    }
}

/// Precision, recall, F1 and support of one class (or an average).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// Items of the class (all items for averages).
    pub support: usize,
}

impl ClassMetrics {
    fn of(c: &Confusion) -> ClassMetrics {
        ClassMetrics { precision: c.precision(), recall: c.recall(), f1: c.f1(), support: c.tp + c.fn_ }
    }
}

/// scikit-learn's `classification_report` for the binary case.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// Class 0.
    pub normal: ClassMetrics,
    /// Class 1.
    pub anomalous: ClassMetrics,
    /// Unweighted mean of the two classes.
    pub macro_avg: ClassMetrics,
    /// Support-weighted mean of the two classes.
    pub weighted_avg: ClassMetrics,
    /// Accuracy.
    pub accuracy: f64,
}

impl ClassificationReport {
    /// The report of a confusion matrix.
    pub fn new(c: &Confusion) -> ClassificationReport {
        let normal = ClassMetrics::of(&c.swapped());
        let anomalous = ClassMetrics::of(c);
        let total = c.total();
        let avg = |w0: f64, w1: f64| ClassMetrics {
            precision: w0 * normal.precision + w1 * anomalous.precision,
            recall: w0 * normal.recall + w1 * anomalous.recall,
            f1: w0 * normal.f1 + w1 * anomalous.f1,
            support: total,
        };
        let (w0, w1) = if total == 0 {
            (0.0, 0.0)
        } else {
            (normal.support as f64 / total as f64, anomalous.support as f64 / total as f64)
        };
        ClassificationReport {
            normal,
            anomalous,
            macro_avg: avg(0.5, 0.5),
            weighted_avg: avg(w0, w1),
            accuracy: c.accuracy(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_rates() {
        let c = Confusion::from_scores(&[1, 1, 0, 0, 1], &[0.9, 0.5, 0.5, 0.1, 0.2], 0.5).unwrap();
        assert_eq!(c, Confusion { tp: 2, fp: 1, tn: 1, fn_: 1 });
        assert_eq!(c.accuracy(), 0.6);
        assert!((c.precision() - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.recall() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(c.fpr(), 0.5);
        let r = ClassificationReport::new(&c);
        assert_eq!(r.normal.support, 2);
        assert_eq!(r.normal.precision, 0.5);
        assert!(Confusion::from_scores(&[1], &[0.2, 0.3], 0.5).is_err());
    }

    #[test]
    fn zero_division_is_zero() {
        let c = Confusion::from_flags(&[0, 0], &[false, false]).unwrap();
        assert_eq!((c.precision(), c.recall(), c.f1()), (0.0, 0.0, 0.0));
        assert_eq!(c.accuracy(), 1.0);
    }
}
