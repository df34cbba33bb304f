//! Graphs written by PyTorch (`torch.onnx.export`) and by tf2onnx from Keras, mapped onto the runtime: the
//! runtime's outputs against ONNX Runtime's on 8 fixed windows, within 1e-5. The fixtures are made by
//! `tools/onnx/torch_fixtures.py` and `tools/onnx/keras_fixtures.py`: the seeds' CNN-LSTM from each, and
//! models of the same layer kinds in other sizes (a GRU, an LSTM over every step, a two-class softmax).

use telltale_runtime::format::{self, Affine, Header, ScoreSpec, ThresholdSpec};
use telltale_runtime::onnx::from_onnx;
use telltale_runtime::{Isa, Model};

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("fixtures/onnx/", $name, ".onnx")).as_slice(),
            include_bytes!(concat!("fixtures/onnx/", $name, ".ort.f32")).as_slice(),
        )
    };
}

fn inputs(n: usize) -> Vec<f32> {
    (0..n as u32).map(|i| ((i.wrapping_mul(2_654_435_761) >> 8) as f32 / 4_194_304.0) - 2.0).collect()
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// A header for a classifier of `c` features (identity scaler).
fn header(c: usize) -> Header {
    Header {
        format: format::FORMAT.into(),
        version: format::VERSION,
        producer: "test".into(),
        name: "imported".into(),
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
    }
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

#[test]
fn pytorch_and_keras_graphs_give_onnx_runtimes_outputs_within_1e_5() {
    let fixtures = [
        fixture!("torch-cnn-lstm"),
        fixture!("torch-gru"),
        fixture!("torch-lstm-seq"),
        fixture!("keras-cnn-lstm"),
        fixture!("keras-gru"),
    ];
    for (name, onnx, ort) in fixtures {
        let imported = from_onnx(onnx, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(imported.output, (1, 1), "{name}: {}", imported.summary());
        assert!(imported.scaler.is_none(), "{name}");
        let file = imported.to_file(header(imported.features), false).unwrap_or_else(|e| panic!("{name}: {e}"));
        let model = Model::from_bytes(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = f32s(ort);
        let b = 8;
        let x = inputs(b * imported.steps * imported.features);
        // ONNX Runtime gives a logit (PyTorch), a sigmoid (Keras), or both classes' probabilities (softmax).
        let per = want.len() / b;
        let want: Vec<f32> = want.chunks_exact(per).map(|w| w[per - 1]).collect();
        for isa in Isa::available() {
            let mut session = model.network.session_with(b, isa);
            let got = model.network.forward(&mut session, &x, b).unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Vec<f32> = got.iter().map(|&z| if imported.sigmoid { sigmoid(z) } else { z }).collect();
            let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(worst <= 1e-5, "{name} on {isa}: {worst:e} from ONNX Runtime ({})", imported.summary());
        }
    }
}

#[test]
fn what_each_graph_maps_onto() {
    let cases = [
        (fixture!("torch-cnn-lstm"), "conv(k3, relu, pool 2) → lstm → dense", false),
        (fixture!("torch-gru"), "conv(k5, relu, pool 3) → gru → dense(relu) → dense", false),
        (fixture!("torch-lstm-seq"), "lstm(sequence) → last-step → dense", true),
        (fixture!("keras-cnn-lstm"), "conv(k3, relu, pool 2) → lstm(sequence) → last-step → dense", true),
        (fixture!("keras-gru"), "conv(k4, relu, pool 4) → gru(sequence) → last-step → dense(relu) → dense", true),
    ];
    for ((name, onnx, _), summary, sigmoid) in cases {
        let imported = from_onnx(onnx, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(imported.summary(), summary, "{name}");
        assert_eq!(imported.sigmoid, sigmoid, "{name}");
    }
}
