//! `telltale import`: a network trained elsewhere (ONNX) as a model directory.

use std::path::Path;

use anyhow::{Context, Result, bail};
use telltale_core::Scaler;
use telltale_models::import::{ImportOptions, import};
use telltale_models::pipeline::Detector;
use telltale_models::presets::Task;

use crate::cli::{ImportArgs, TaskArg};
use crate::output::{emit, print_json};

/// A scaler file: telltale's JSON, or scikit-learn's fitted `mean`/`scale` (or `min`/`scale`) arrays.
fn read_scaler(path: &Path) -> Result<Scaler> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the scaler {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let floats = |key: &str| -> Result<Option<Vec<f64>>> {
        match value.get(key) {
            None => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .with_context(|| format!("{}: '{key}' is not a list of numbers", path.display())),
        }
    };
    if value.get("kind").is_some() {
        return serde_json::from_value(value.clone())
            .with_context(|| format!("{}: not a telltale scaler", path.display()));
    }
    let scale = floats("scale")?.with_context(|| format!("{}: no 'scale' list", path.display()))?;
    if scale.iter().any(|s| *s == 0.0 || !s.is_finite()) {
        bail!("{}: 'scale' holds a zero or a non-finite value", path.display());
    }
    match (floats("mean")?, floats("min")?) {
        (Some(mean), None) if mean.len() == scale.len() => Ok(Scaler::Standard { mean, scale }),
        (None, Some(min)) if min.len() == scale.len() => Ok(Scaler::MinMax { min, scale }),
        _ => bail!("{}: needs 'mean' (or 'min') and 'scale' lists of one length", path.display()),
    }
}

pub(crate) fn run(args: &ImportArgs) -> Result<()> {
    let bytes = std::fs::read(&args.onnx).with_context(|| format!("cannot read {}", args.onnx.display()))?;
    let name = args.name.clone().unwrap_or_else(|| {
        args.onnx.file_stem().map_or_else(|| "imported".into(), |s| s.to_string_lossy().into_owned())
    });
    let opts = ImportOptions {
        source: args.onnx.display().to_string(),
        name,
        features: args.features.clone(),
        window: args.window,
        step: args.step,
        task: args.task.map(|t| match t {
            TaskArg::Classify => Task::Classify,
            TaskArg::Novelty => Task::Novelty,
            TaskArg::Forecast => Task::Forecast,
        }),
        scaler: args.scaler.as_deref().map(read_scaler).transpose()?,
        label: args.label.clone(),
        threshold: args.threshold,
        data: args.data.as_deref().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned())),
    };
    let model = import(&bytes, &opts)?;
    model.save(&args.out)?;
    // The original file goes with it, so the directory says what it came from.
    let copy = args.out.join("source.onnx");
    std::fs::write(&copy, &bytes).with_context(|| format!("cannot write {}", copy.display()))?;
    let telltale_models::config::ModelConfig::Imported(how) = &model.manifest.experiment.model else {
        bail!("import made a model of another kind");
    };
    let Detector::Runtime(rt) = &model.detector else {
        bail!("import made a model of another kind");
    };
    let (t, c) = rt.model.network.output_shape();
    let m = &model.manifest;
    if args.json {
        return print_json(&serde_json::json!({
            "out": args.out, "engine": "telltale-runtime", "layers": how.layers, "producer": how.producer,
            "task": how.task, "features": m.features, "steps": m.dims.steps, "output": [t, c],
            "params": rt.params, "threshold": m.decision.threshold,
        }));
    }
    emit(&format!(
        "{}: {} from {} ({}), runs on telltale-runtime: {}\n  {} features × {} steps in, {t} × {c} out, {} weights, {:?}\n",
        args.out.display(),
        m.report.name,
        args.onnx.display(),
        if how.producer.is_empty() { "unknown producer" } else { &how.producer },
        how.layers,
        m.features.len(),
        m.dims.steps,
        rt.params,
        how.task,
    ))
}
