//! Exploration: per window, the highest score inside vs. the highest outside.
use std::path::Path;
use telltale_core::benchmarks::nab::read_corpus;
use telltale_core::metrics::nab::probationary_length;
use telltale_models::online::StreamScorer;

fn main() {
    let spec = std::env::args().nth(1).expect("toml");
    let scorer: StreamScorer = toml::from_str(&spec).expect("spec");
    let corpus = read_corpus(Path::new("../shared/data/NAB")).unwrap();
    let mut series = Vec::new();
    let verbose = std::env::var("V").is_ok();
    for s in &corpus {
        let p = probationary_length(s.values.len());
        let mut d: Vec<i64> = s.timestamps.windows(2).map(|w| w[1] - w[0]).collect();
        d.sort();
        let step = d[d.len() / 2] as f64 / 1000.0;
        let scores = scorer.score(&s.values, p, step);
        series
            .push(telltale_core::metrics::nab::Series::new(s.key.clone(), &s.timestamps, &scores, &s.windows).unwrap());
        if !verbose {
            continue;
        }
        let inwin = |i: usize| s.windows.iter().any(|&(a, b)| s.timestamps[i] >= a && s.timestamps[i] <= b);
        let mut out: Vec<(f64, usize)> = (p..scores.len()).filter(|&i| !inwin(i)).map(|i| (scores[i], i)).collect();
        out.sort_by(|a, b| b.0.total_cmp(&a.0));
        println!("{} rows {} probation {}", s.key, s.values.len(), p);
        for &(a, b) in &s.windows {
            let idx: Vec<usize> = (0..scores.len()).filter(|&i| s.timestamps[i] >= a && s.timestamps[i] <= b).collect();
            let (best, at) = idx.iter().map(|&i| (scores[i], i)).fold((0.0, 0), |m, x| if x.0 > m.0 { x } else { m });
            println!(
                "  window {}..{} max {:.4} at {} (pos {:.2})",
                idx[0],
                idx[idx.len() - 1],
                best,
                at,
                (at - idx[0]) as f64 / idx.len() as f64
            );
        }
        println!(
            "  top outside: {:?}",
            &out[..6.min(out.len())].iter().map(|(v, i)| format!("{v:.4}@{i}")).collect::<Vec<_>>()
        );
    }
    for p in telltale_core::metrics::nab::PROFILES {
        let r = telltale_core::metrics::nab::score_corpus(&series, &p);
        print!(
            "{} {:.1} (t {:.3}, {}/{} fp {})  ",
            p.name,
            r.score,
            r.threshold,
            r.total.detected,
            r.total.detected + r.total.missed,
            r.total.false_positives
        );
    }
    println!();
}
