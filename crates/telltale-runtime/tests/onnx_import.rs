//! ONNX import against the runtime itself: a model file written as ONNX (`to_onnx`) and mapped back
//! (`from_onnx`) gives the same network, and graphs the runtime cannot chain are refused by node.
//! (Graphs from PyTorch and tf2onnx, against ONNX Runtime's outputs, are in `onnx_foreign.rs`.)

use telltale_runtime::onnx::{from_onnx, to_onnx};
use telltale_runtime::{Model, format};

fn inputs(n: usize) -> Vec<f32> {
    (0..n as u32).map(|i| ((i.wrapping_mul(2_654_435_761) >> 8) as f32 / 4_194_304.0) - 2.0).collect()
}

fn outputs(model: &Model, x: &[f32], b: usize) -> Vec<f32> {
    let mut session = model.network.session(b);
    model.network.forward(&mut session, x, b).expect("forward").to_vec()
}

#[test]
fn exported_onnx_maps_back_onto_the_same_network() {
    let files: [(&str, &[u8]); 4] = [
        ("cnn-lstm", include_bytes!("fixtures/cnn-lstm.ttm")),
        ("cnn-lstm.int8", include_bytes!("fixtures/cnn-lstm.int8.ttm")),
        ("gru-forecast", include_bytes!("fixtures/gru-forecast.ttm")),
        ("lstm-ae", include_bytes!("fixtures/lstm-ae.ttm")),
    ];
    for (name, bytes) in files {
        let original = Model::from_bytes(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (header, tensors) = format::from_bytes(bytes).expect("file");
        let onnx = to_onnx(&header, &tensors).unwrap_or_else(|e| panic!("{name}: {e}"));
        let imported = from_onnx(&onnx, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((imported.steps, imported.features), original.network.input_shape(), "{name}");
        assert_eq!(imported.output, original.network.output_shape(), "{name}");
        assert!(!imported.sigmoid, "{name}: telltale's export ends at the logit");
        // The scaler written as Sub and Div comes back as the file's scaler (f32 in the graph).
        let c = header.features.len();
        let identity = format::Affine { offset: vec![0.0; c], scale: vec![1.0; c] };
        let scaler = imported.scaler.clone().unwrap_or(identity);
        for (got, want) in
            scaler.offset.iter().chain(&scaler.scale).zip(header.scaler.offset.iter().chain(&header.scaler.scale))
        {
            assert!((got - want).abs() <= 1e-6 * want.abs().max(1.0), "{name}: scaler {got} vs {want}");
        }
        let file = imported.to_file(header.clone(), false).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = Model::from_bytes(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (t, c) = original.network.input_shape();
        let x = inputs(8 * t * c);
        let (want, got) = (outputs(&original, &x, 8), outputs(&back, &x, 8));
        assert_eq!(want.len(), got.len(), "{name}");
        let worst = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(worst <= 1e-6, "{name}: {worst:e}");
        assert!(!imported.summary().is_empty());
    }
}

#[test]
fn a_residual_block_is_refused_naming_its_node() {
    let bytes = include_bytes!("fixtures/tcn-forecast.ttm");
    let (header, tensors) = format::from_bytes(bytes).expect("file");
    let onnx = to_onnx(&header, &tensors).expect("onnx");
    let err = from_onnx(&onnx, None).expect_err("a TCN's skip path branches").to_string();
    assert!(err.contains("ONNX node") && err.contains("branches"), "{err}");
}

#[test]
fn bytes_that_are_not_onnx_are_refused() {
    for bad in [&b""[..], b"\xff\xff\xff", b"hello world, not a protobuf"] {
        assert!(from_onnx(bad, None).is_err());
    }
    let err = from_onnx(include_bytes!("fixtures/cnn-lstm.ttm"), None).expect_err("a safetensors file").to_string();
    assert!(err.contains("ONNX") || err.contains("graph"), "{err}");
}
