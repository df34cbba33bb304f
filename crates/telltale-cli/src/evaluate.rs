//! `telltale evaluate`: a trained model's figures on a data file, or on a
//! part of its own split (recomputed from its seed, so `--split test`
//! reproduces the test figures written at training time). Also how an
//! evaluation is printed, for every command that prints one.

use anyhow::Result;
use serde_json::json;
use telltale_models::artifact::Model;
use telltale_models::eval::Evaluation;

use crate::cli::EvaluateArgs;
use crate::device::device;
use crate::output::{print_json, thousands};
use crate::report::model_record;
use crate::scored::score_part;

/// The figures every consumer reads, under the names the issue fixes.
pub(crate) fn figures(e: &Evaluation) -> serde_json::Value {
    json!({
        "accuracy": e.accuracy, "precision": e.precision, "recall": e.recall, "f1": e.f1,
        "roc_auc": e.roc_auc, "pr_auc": e.pr_auc, "tp": e.tp, "fp": e.fp, "tn": e.tn, "fn": e.fn_,
        "threshold": e.threshold, "windows": e.windows, "anomalous": e.anomalous, "protocol": e.protocol,
        "rmse": e.rmse, "by_group": e.by_group,
    })
}

/// Renders an evaluation for people.
pub(crate) fn render_evaluation(title: &str, e: &Evaluation) -> String {
    let opt = |v: Option<f64>| v.map_or_else(|| "undefined".into(), |x| format!("{x:.4}"));
    let mut s = format!("{title}: {}\n", e.protocol);
    s += &format!(
        "  accuracy {:.4}  precision {:.4}  recall {:.4}  F1 {:.4}  ROC-AUC {}  PR-AUC {}\n",
        e.accuracy,
        e.precision,
        e.recall,
        e.f1,
        opt(e.roc_auc),
        opt(e.pr_auc)
    );
    s += &format!(
        "  windows {} ({} anomalous, {} flagged)   tp {}  fp {}  tn {}  fn {}\n",
        thousands(e.windows),
        thousands(e.anomalous),
        thousands(e.flagged),
        e.tp,
        e.fp,
        e.tn,
        e.fn_
    );
    if let Some(rmse) = &e.rmse {
        let list: Vec<String> = rmse.iter().map(|v| format!("{v:.4}")).collect();
        s += &format!("  forecast RMSE per channel: {}\n", list.join(", "));
    }
    if let Some((column, groups)) = &e.by_group {
        s += &format!("  accuracy by {column}:");
        for g in groups {
            s += &format!(" {}={:.3}", g.level, g.accuracy);
        }
        s.push('\n');
    }
    s
}

/// Runs the command.
pub(crate) fn run_evaluate(args: &EvaluateArgs) -> Result<()> {
    let dev = device(args.device)?;
    let model = Model::load(&args.model, &dev)?;
    let path = args.data.clone().unwrap_or_else(|| model.data_path());
    let part = score_part(&model, &args.model, &path, args.split, &dev)?;
    if let Some(dir) = &args.report {
        model_record(&model, &part, "evaluate").write(dir)?;
    }
    if args.json {
        return print_json(&figures(&part.evaluation));
    }
    crate::output::emit(&render_evaluation(&part.part, &part.evaluation))
}
