//! `telltale tune`: the configuration's grid, k-fold cross-validated.

use anyhow::Result;
use telltale_models::config::ExperimentConfig;
use telltale_models::tune::{TuneRow, tune};

use crate::cli::TuneArgs;
use crate::device::device;
use crate::output::{emit, print_json};

fn params(row: &TuneRow) -> String {
    row.params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("  ")
}

/// Runs the command.
pub(crate) fn run_tune(args: &TuneArgs) -> Result<()> {
    let cfg = ExperimentConfig::load(&args.config)?.check()?;
    let dev = device(args.device)?;
    let spec = cfg.tune.clone().ok_or_else(|| anyhow::anyhow!("{}: no [tune] section", args.config.display()))?;
    let rows = tune(&cfg, &dev, &mut |row| {
        eprintln!("  {}  mean {:.4} ± {:.4}  ({:.1} s)", params(row), row.mean, row.std, row.seconds)
    })?;
    if args.json {
        return print_json(&serde_json::json!({ "folds": spec.folds, "kind": spec.kind, "metric": spec.metric,
                                 "protocol": telltale_models::tune::PROTOCOL, "rows": rows }));
    }
    let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let mut s = format!(
        "{} grid points, {}-fold {} cross-validation, ranked by {} ({} is better)\n",
        rows.len(),
        spec.folds,
        name(serde_json::json!(spec.kind)),
        name(serde_json::json!(spec.metric)),
        if spec.metric.higher_is_better() { "higher" } else { "lower" }
    );
    s += &format!("({})\n", telltale_models::tune::PROTOCOL);
    for (rank, row) in rows.iter().enumerate() {
        let folds: Vec<String> = row.folds.iter().map(|v| format!("{v:.4}")).collect();
        s += &format!(
            "{:>3}. {:.4} ± {:.4}   {}   folds [{}]\n",
            rank + 1,
            row.mean,
            row.std,
            params(row),
            folds.join(", ")
        );
    }
    emit(&s)
}
