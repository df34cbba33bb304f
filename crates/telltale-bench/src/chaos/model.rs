//! The chaos bench's model: one reading per window, reconstructed as zeros, so a reading's score is known
//! before it is sent (`a² / 2`; `b` is 1, scaled to 0) and every spike (`a` = [`SPIKE`]) is one anomaly and
//! one alert, whatever a crash did to the service's windows.

use telltale_runtime::format::{Affine, DenseSpec, Header, LayerSpec, ScoreSpec, ThresholdSpec, to_bytes};

use crate::error::Result;

/// A spike's value of `a`: its score, 5,000, is over [`THRESHOLD`]; normal values (0–6) score at most 18.
pub const SPIKE: f64 = 100.0;

/// The model's static threshold.
pub const THRESHOLD: f64 = 1000.0;

// A spike crosses the threshold, a normal reading does not.
const _: () = assert!(SPIKE * SPIKE / 2.0 > THRESHOLD && 6.0 * 6.0 / 2.0 < THRESHOLD);

/// The model file's bytes.
pub fn bytes() -> Result<Vec<u8>> {
    let header = Header {
        format: telltale_runtime::format::FORMAT.into(),
        version: telltale_runtime::format::VERSION,
        producer: "telltale bench chaos".into(),
        name: "chaos-zeros".into(),
        preset: "dense-ae".into(),
        features: vec!["a".into(), "b".into()],
        steps: 1,
        step: 1,
        horizon: 0,
        scaler: Affine { offset: vec![0.0, 1.0], scale: vec![1.0, 2.0] },
        score: ScoreSpec::Reconstruction,
        threshold: ThresholdSpec::Static { value: THRESHOLD },
        layers: vec![LayerSpec::Dense(DenseSpec { weight: "w".into(), bias: "b".into(), relu: false })],
        info: serde_json::Value::Null,
    };
    let tensors = vec![("w".into(), vec![2, 2], vec![0.0; 4]), ("b".into(), vec![2], vec![0.0; 2])];
    Ok(to_bytes(&header, &tensors)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_runtime::Model;

    #[test]
    fn the_model_loads_and_scores_as_documented() {
        let model = Model::from_bytes(&bytes().expect("bytes")).expect("a valid model");
        assert_eq!(model.header.steps, 1);
        assert_eq!(model.header.threshold, ThresholdSpec::Static { value: THRESHOLD });
    }
}
