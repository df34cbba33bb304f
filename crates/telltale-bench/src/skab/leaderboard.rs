//! SKAB's published leaderboard, and the table that sets a run beside it.

use crate::skab::protocol::SkabReport;

/// SKAB's published outlier leaderboard (README, all 34 files): F1, FAR %, MAR %.
pub const LEADERBOARD: &[(&str, [f64; 3])] = &[
    ("Conv-AE", [0.78, 13.55, 28.02]),
    ("MSET", [0.78, 39.73, 14.13]),
    ("T-squared+Q (PCA-based)", [0.76, 26.62, 24.92]),
    ("LSTM-AE", [0.74, 29.96, 25.92]),
    ("T-squared", [0.66, 19.21, 42.6]),
    ("LSTM-VAE", [0.56, 9.13, 55.03]),
    ("Vanilla LSTM", [0.54, 12.54, 59.53]),
    ("Vanilla AE", [0.39, 2.59, 75.15]),
    ("Isolation forest", [0.29, 2.56, 82.89]),
];

/// `bench skab`'s text: every detector's pooled figures, then the published leaderboard and the best detector.
pub fn render(report: &SkabReport) -> String {
    let mut out = format!(
        "SKAB on {} ({} files, {} test rows)\n{}\n\n{:<18} {:>5} {:>7} {:>7}   {:>8} {:>7} {:>7}  {:>6} {:>5}  {:>5} {:>6} {:>7}\n",
        report.data_dir.display(),
        report.files,
        report.test_rows,
        report.protocol,
        "detector",
        "F1",
        "FAR %",
        "MAR %",
        "NAB std",
        "low FP",
        "low FN",
        "missed",
        "FPs",
        "AUC",
        "oracle",
        "seconds"
    );
    for r in &report.detectors {
        let f = &r.figures;
        out.push_str(&format!(
            "{:<18} {:>5.2} {:>7.2} {:>7.2}   {:>8.2} {:>7.2} {:>7.2}  {:>6} {:>5}  {:>5.3} {:>6.2} {:>7.1}\n",
            r.name,
            f.f1,
            f.far,
            f.mar,
            f.nab[0],
            f.nab[1],
            f.nab[2],
            f.missed_changepoints,
            f.false_changepoints,
            f.roc_auc,
            f.oracle_f1,
            r.seconds
        ));
    }
    out.push_str("(in-sample over the files; each file's model and threshold fitted on its own first 400 rows)\n");
    if let Some(cv) = &report.cv {
        out.push_str(&format!(
            "\nCross-validated, {} folds of files ({}):\n  choose the best, then score: F1 {:.3}, FAR {:.2} %, MAR {:.2} % (chosen per fold: {})\n",
            cv.k,
            cv.protocol,
            cv.f1,
            cv.far,
            cv.mar,
            cv.chosen.join(", ")
        ));
    }
    out.push_str("\nPublished leaderboard (SKAB README, all 34 files; outlier detection):\n");
    for (name, v) in LEADERBOARD {
        out.push_str(&format!("{:<24} {:>5.2} {:>7.2} {:>7.2}\n", name, v[0], v[1], v[2]));
    }
    match (&report.cv, report.search) {
        (Some(cv), true) => out.push_str(&format!(
            "\nsearch over {} cells, cross-validated: F1 {:.3}, FAR {:.2} %, MAR {:.2} % \
             (the best cell in-sample, optimistic: {} F1 {:.3}, FAR {:.2} %)\n",
            report.detectors.len(),
            cv.f1,
            cv.far,
            cv.mar,
            report.best.name,
            report.best.f1,
            report.best.far
        )),
        _ => out.push_str(&format!(
            "\nbest in-sample: {} (F1 {:.3}, FAR {:.2} %, MAR {:.2} %)\n",
            report.best.name, report.best.f1, report.best.far, report.best.mar
        )),
    }
    out
}
