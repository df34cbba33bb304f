//! `telltale export`: a trained network as one runtime model file, or as an ONNX or TFLite model.

use anyhow::{Context, Result};
use burn::tensor::Device;
use telltale_models::artifact::Model;

use crate::cli::ExportArgs;
use crate::output::{emit, print_json};

/// Runs the command.
pub(crate) fn run(args: &ExportArgs) -> Result<()> {
    let model = Model::load(&args.model, &Device::flex())?;
    let bytes = model.export_bytes(args.int8)?;
    // Checked before it is written: the file must load in the runtime.
    let loaded = telltale_runtime::Model::from_bytes(&bytes)?;
    let (bytes, format, default_name) = if args.onnx {
        let (header, tensors) = telltale_runtime::format::from_bytes(&bytes)?;
        (telltale_runtime::onnx::to_onnx(&header, &tensors)?, "onnx", "model.onnx")
    } else if args.tflite {
        let (header, tensors) = telltale_runtime::format::from_bytes(&bytes)?;
        (telltale_runtime::tflite::to_tflite(&header, &tensors, args.int8)?, "tflite", "model.tflite")
    } else {
        (bytes, "telltale", "model.safetensors")
    };
    let out = args.out.clone().unwrap_or_else(|| args.model.join(default_name));
    std::fs::write(&out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    let h = &loaded.header;
    if args.json {
        return print_json(&serde_json::json!({
            "path": out, "format": format, "bytes": bytes.len(), "preset": h.preset, "layers": h.layers.len(),
            "features": h.features, "steps": h.steps, "horizon": h.horizon,
        }));
    }
    emit(&format!(
        "{}: {} ({} layers, {} features × {} steps), {format}, {} bytes\n",
        out.display(),
        h.preset,
        h.layers.len(),
        h.features.len(),
        h.steps,
        bytes.len()
    ))
}
