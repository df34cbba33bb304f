//! NAB's published scoreboard, and the tables that set a run beside it.

use crate::nab::protocol::{BenchReport, ScoreReport};

/// NAB's official scoreboard (README, 58 files): standard, low FP, low FN.
pub const SCOREBOARD: &[(&str, [f64; 3])] = &[
    ("ARTime", [74.9, 65.1, 80.4]),
    ("Numenta HTM", [70.5, 62.6, 75.2]),
    ("CAD OSE", [69.9, 67.0, 73.2]),
    ("KNN CAD", [58.0, 43.4, 64.8]),
    ("Relative Entropy", [54.6, 47.6, 58.8]),
    ("Random Cut Forest", [51.7, 38.4, 59.7]),
    ("Twitter ADVec", [47.1, 33.6, 53.5]),
    ("Windowed Gaussian", [39.6, 20.9, 47.4]),
    ("Bayesian Changepoint", [17.7, 3.2, 32.2]),
    ("Random", [11.0, 1.2, 19.5]),
];

/// `bench nab`'s text: every detector's scores, then the published scoreboard and the best detector.
pub fn render_bench(report: &BenchReport) -> String {
    let mut out = format!(
        "NAB on {} ({} series, {} windows)\n{}\n\n{:<34} {:>9} {:>9} {:>9}   {:>9} {:>7} {:>5}\n",
        report.corpus.display(),
        report.series,
        report.windows,
        report.protocol,
        "detector",
        "standard",
        "low FP",
        "low FN",
        "threshold",
        "windows",
        "FPs"
    );
    let rows = report.detectors.iter().map(|d| (d.name.clone(), d));
    let peers = report.compared.iter().map(|d| (format!("{} (result files)", d.name), d));
    for (name, d) in rows.chain(peers) {
        let std = &d.profiles[0];
        out.push_str(&format!(
            "{:<34} {:>9.1} {:>9.1} {:>9.1}   {:>9.4} {:>3}/{:<3} {:>5}\n",
            name,
            d.standard,
            d.reward_low_fp,
            d.reward_low_fn,
            std.threshold,
            std.total.detected,
            std.total.detected + std.total.missed,
            std.total.false_positives
        ));
    }
    out.push_str("(in-sample: each threshold chosen on the series it scores, as NAB does)\n");
    if !report.absent.is_empty() {
        out.push_str(&format!(
            "{} series the windows file lists are absent from the corpus folder (not scored)\n",
            report.absent.len()
        ));
    }
    if let Some(cv) = &report.cv {
        out.push_str(&format!(
            "\nCross-validated, {} folds of series ({}):\n{:<34} {:>9} {:>9} {:>9}\n",
            cv.k, cv.protocol, "detector", "standard", "low FP", "low FN"
        ));
        let rows = cv
            .detectors
            .iter()
            .map(|d| (d.name.clone(), d))
            .chain(report.cv_compared.iter().map(|d| (format!("{} (result files)", d.name), d)));
        for (name, d) in rows {
            out.push_str(&format!(
                "{:<34} {:>9.1} {:>9.1} {:>9.1}\n",
                name, d.standard, d.reward_low_fp, d.reward_low_fn
            ));
        }
        out.push_str(&format!(
            "{:<34} {:>9.1} {:>9.1} {:>9.1}   (chosen per fold: {})\n",
            "choose the best, then score",
            cv.standard,
            cv.reward_low_fp,
            cv.reward_low_fn,
            cv.chosen.join(", ")
        ));
    }
    out.push_str("\nPublished scoreboard (NAB README, whole 58-file corpus; not the same series):\n");
    for (name, s) in SCOREBOARD {
        out.push_str(&format!("{:<34} {:>9.1} {:>9.1} {:>9.1}\n", name, s[0], s[1], s[2]));
    }
    match (&report.cv, report.search) {
        (Some(cv), true) => out.push_str(&format!(
            "\nsearch over {} settings, cross-validated ({} folds): standard {:.1}, low FP {:.1}, low FN {:.1}\n\
             (the best cell in-sample, {} at {:.1}, was chosen on the series it scores: not the figure to quote)\n",
            report.detectors.len(),
            cv.k,
            cv.standard,
            cv.reward_low_fp,
            cv.reward_low_fn,
            report.best,
            report.standard
        )),
        (cv, _) => {
            out.push_str(&format!("\nbest in-sample: {} (standard {:.1})\n", report.best, report.standard));
            if let Some(cv) = cv {
                out.push_str(&format!("cross-validated ({} folds): standard {:.1}\n", cv.k, cv.standard));
            }
        }
    }
    out
}

/// `nab-score`'s text: each detector's normalised scores and every profile in detail.
pub fn render_score(report: &ScoreReport) -> String {
    let mut out = format!(
        "{} series scored ({} windows file)\n{:<30} {:>9} {:>9} {:>9}\n",
        report.series,
        report.windows_file.display(),
        "detector",
        "standard",
        "low FP",
        "low FN"
    );
    for d in &report.detectors {
        out.push_str(&format!(
            "{:<30} {:>9.2} {:>9.2} {:>9.2}\n",
            d.name, d.standard, d.reward_low_fp, d.reward_low_fn
        ));
        for p in &d.profiles {
            out.push_str(&format!(
                "  {:<14} threshold {:.6}  raw {:.4}  windows {}/{}  false positives {}\n",
                p.profile,
                p.threshold,
                p.total.score,
                p.total.detected,
                p.total.detected + p.total.missed,
                p.total.false_positives
            ));
        }
    }
    if !report.unlisted.is_empty() {
        out.push_str(&format!("{} result files not in the windows file were left out\n", report.unlisted.len()));
    }
    out
}
