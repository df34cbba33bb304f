//! ONNX files given to `telltale import`: a malformed or hostile graph must be refused with an error, never
//! panic or read out of bounds. A graph that maps is written as a model file, loaded and run once on zeros.
#![no_main]
use libfuzzer_sys::fuzz_target;
use telltale_runtime::format::{self, Affine, Header, ScoreSpec, ThresholdSpec};

fuzz_target!(|data: &[u8]| {
    let Ok(imported) = telltale_runtime::onnx::from_onnx(data, Some(16)) else { return };
    let c = imported.features;
    if c == 0 || c > 64 || imported.steps > 1024 {
        return;
    }
    let header = Header {
        format: format::FORMAT.into(),
        version: format::VERSION,
        producer: "fuzz".into(),
        name: "fuzz".into(),
        preset: "imported".into(),
        features: (0..c).map(|i| format!("x{i}")).collect(),
        steps: 0,
        step: 1,
        horizon: 0,
        scaler: Affine { offset: vec![0.0; c], scale: vec![1.0; c] },
        score: ScoreSpec::Probability,
        threshold: ThresholdSpec::Static { value: 0.5 },
        layers: Vec::new(),
        info: serde_json::Value::Null,
    };
    let Ok(bytes) = imported.to_file(header, false) else { return };
    // The runtime checks the layers chain; a probability model needs one output, so others stop here.
    let Ok(model) = telltale_runtime::Model::from_bytes(&bytes) else { return };
    let mut session = model.network.session(1);
    let _ = model.network.forward(&mut session, &vec![0.0; imported.steps * c], 1);
});
