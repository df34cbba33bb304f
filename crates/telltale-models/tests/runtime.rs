//! The runtime gives the network's outputs: every preset, exported with
//! fresh weights, against burn on the same windows, on every instruction set
//! this CPU has, batched and one window at a time.

use burn::prelude::*;
use telltale_core::{Scaler, SlidingKSigma, Threshold};
use telltale_models::export::{HeaderParts, runtime_model, to_bytes, to_bytes_with};
use telltale_models::presets::*;
use telltale_runtime::{Isa, Model};

fn presets() -> Vec<NetConfig> {
    vec![
        NetConfig::CnnLstm(ConvLstmConfig::new()),
        NetConfig::ConvLstm3(ConvLstm3Config::new()),
        NetConfig::Cnn(PlainCnnConfig::new()),
        NetConfig::Lstm(PlainLstmConfig::new().with_units(vec![24, 16])),
        NetConfig::LstmForecast(RnnForecastConfig::new().with_units(vec![32, 16])),
        NetConfig::GruForecast(RnnForecastConfig::new().with_units(vec![32, 16])),
        NetConfig::TcnForecast(TcnForecastConfig::new()),
        NetConfig::DenseAe(DenseAeConfig::new()),
        NetConfig::LstmAe(LstmAeConfig::new()),
        NetConfig::ConvAe(ConvAeConfig::new()),
        NetConfig::AttentionLstm(AttentionLstmConfig::new()),
        NetConfig::Anomalynet(AnomalyNetConfig::new()),
    ]
}

/// Little-endian f32 values, as the fixtures and ONNX Runtime's outputs are stored.
fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// The largest absolute difference between two equally long runs of values.
fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn inputs(n: usize) -> Vec<f32> {
    (0..n as u32).map(|i| ((i.wrapping_mul(2_654_435_761) >> 8) as f32 / 4_194_304.0) - 2.0).collect()
}

fn parts<'a>(
    cfg: &'a NetConfig,
    dims: NetDims,
    features: &'a [String],
    scaler: &'a Scaler,
    t: &'a Threshold,
) -> HeaderParts<'a> {
    HeaderParts {
        name: "test",
        preset: cfg.name(),
        task: cfg.task(),
        features,
        dims,
        step: 1,
        scaler,
        threshold: t,
        eps: 0.01,
        info: serde_json::Value::Null,
    }
}

#[test]
fn every_preset_matches_burn_within_1e_5() {
    let device = Device::flex();
    let features: Vec<String> = (0..4).map(|i| format!("s{i}")).collect();
    let scaler = Scaler::Identity { n: 4 };
    let threshold = Threshold::Sliding(SlidingKSigma { window: 10, k: 3.0, eps: 0.01 });
    for cfg in presets() {
        let horizon = if cfg.task() == Task::Forecast { 2 } else { 0 };
        let steps = if matches!(cfg, NetConfig::ConvLstm3(_)) { 64 } else { 24 };
        let dims = NetDims { channels: 4, steps, horizon };
        let net = cfg.init(&dims, &device);
        let b = 5;
        let x = inputs(b * steps * 4);
        let want =
            net.forward(Tensor::<3>::from_data(TensorData::new(x.clone(), [b, steps, 4]), &device)).into_values();
        let model = runtime_model(&net, &parts(&cfg, dims, &features, &scaler, &threshold)).expect("export");
        for isa in Isa::available() {
            let mut session = model.network.session_with(b, isa);
            let got = model.network.forward(&mut session, &x, b).expect("forward").to_vec();
            assert_eq!(got.len(), want.len(), "{}", cfg.name());
            let worst = max_abs_diff(&got, &want);
            assert!(worst <= 1e-5, "{} on {isa}: differs from burn by {worst:e}", cfg.name());
            // One window at a time gives the same values.
            let per = want.len() / b;
            for w in 0..b {
                let one = model.network.forward(&mut session, &x[w * steps * 4..(w + 1) * steps * 4], 1).expect("one");
                let worst = max_abs_diff(one, &want[w * per..(w + 1) * per]);
                assert!(worst <= 1e-5, "{} on {isa}, window {w} alone: {worst:e}", cfg.name());
            }
        }
    }
}

#[test]
fn files_name_what_is_wrong_with_them() {
    let device = Device::flex();
    let cfg = NetConfig::CnnLstm(ConvLstmConfig::new());
    let dims = NetDims { channels: 4, steps: 24, horizon: 0 };
    let net = cfg.init(&dims, &device);
    let features: Vec<String> = (0..4).map(|i| format!("s{i}")).collect();
    let scaler = Scaler::Identity { n: 4 };
    let threshold = Threshold::Static { value: 0.5 };
    let bytes = to_bytes(&net, &parts(&cfg, dims, &features, &scaler, &threshold)).expect("export");
    assert!(Model::from_bytes(&bytes).is_ok());
    let err = Model::from_bytes(b"not a model at all").unwrap_err().to_string();
    assert!(err.starts_with("not a telltale model file"), "{err}");
    // A newer version: the header's version raised in place (same length, so offsets stay valid).
    let pattern = br#"\"version\":1,"#;
    let at = bytes.windows(pattern.len()).position(|w| w == pattern).expect("the header holds the version");
    let mut newer = bytes.clone();
    newer[at + pattern.len() - 2] = b'9';
    let err = Model::from_bytes(&newer).unwrap_err().to_string();
    assert!(err.contains("version 9 is newer"), "{err}");
    // Another tool's safetensors file.
    let data = [0u8; 8];
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &data).expect("view");
    let foreign = safetensors::serialize([("w", view)], None).expect("serialize");
    let err = Model::from_bytes(&foreign).unwrap_err().to_string();
    assert!(err.contains("without a 'telltale' header"), "{err}");
}

#[test]
fn int8_files_are_a_third_the_size_and_close() {
    let device = Device::flex();
    let cfg = NetConfig::CnnLstm(ConvLstmConfig::new());
    let dims = NetDims { channels: 3, steps: 60, horizon: 0 };
    let net = cfg.init(&dims, &device);
    let features: Vec<String> = (0..3).map(|i| format!("s{i}")).collect();
    let scaler = Scaler::Identity { n: 3 };
    let threshold = Threshold::Static { value: 0.5 };
    let p = parts(&cfg, dims, &features, &scaler, &threshold);
    let (f32_bytes, int8_bytes) = (to_bytes(&net, &p).expect("f32"), to_bytes_with(&net, &p, true).expect("int8"));
    assert!(int8_bytes.len() * 3 < f32_bytes.len(), "{} vs {}", int8_bytes.len(), f32_bytes.len());
    let (a, b) = (Model::from_bytes(&f32_bytes).expect("f32"), Model::from_bytes(&int8_bytes).expect("int8"));
    let x = inputs(4 * 60 * 3);
    let (mut sa, mut sb) = (a.network.session(4), b.network.session(4));
    let ya = a.network.forward(&mut sa, &x, 4).expect("f32").to_vec();
    let yb = b.network.forward(&mut sb, &x, 4).expect("int8").to_vec();
    let worst = max_abs_diff(&ya, &yb);
    let scale = ya.iter().map(|v| v.abs()).fold(0.0, f32::max);
    assert!(worst > 0.0 && worst < 0.05 * scale.max(1.0), "int8 changes outputs by {worst} (outputs up to {scale})");
}

#[test]
fn streaming_forecasters_equal_recomputing_the_series() {
    let device = Device::flex();
    let features = vec!["temperature".to_owned(), "humidity".to_owned()];
    let scaler = Scaler::Identity { n: 2 };
    let threshold = Threshold::Static { value: 3.0 };
    let tcn = TcnForecastConfig::new().with_kernel(2).with_dilations(vec![1, 2]).with_filters(16);
    let cfgs = vec![
        NetConfig::LstmForecast(RnnForecastConfig::new().with_units(vec![24, 12])),
        NetConfig::GruForecast(RnnForecastConfig::new().with_units(vec![24, 12])),
        NetConfig::TcnForecast(tcn),
        NetConfig::TcnForecast(TcnForecastConfig::new()),
    ];
    let n = 40;
    let series: Vec<f32> = (0..n * 2).map(|i| (i as f32 * 0.31).sin() + (i % 7) as f32 * 0.1).collect();
    for cfg in cfgs {
        let dims = NetDims { channels: 2, steps: 10, horizon: 1 };
        let net = cfg.init(&dims, &device);
        let model = runtime_model(&net, &parts(&cfg, dims, &features, &scaler, &threshold)).expect("export");
        let mut stream = model.network.stream().expect("a forecaster streams");
        for t in 0..n {
            let got = stream.push(&model.network, &series[t * 2..(t + 1) * 2]).expect("push").to_vec();
            // The same layers over the whole series so far, as one window.
            let whole = telltale_runtime::Network::new(t + 1, 2, model.network.layers().to_vec()).expect("network");
            let mut session = whole.session(1);
            let want = whole.forward(&mut session, &series[..(t + 1) * 2], 1).expect("forward");
            let worst = max_abs_diff(&got, want);
            assert!(worst <= 1e-5, "{} at reading {t}: stream differs from recomputing by {worst:e}", cfg.name());
        }
        // A TCN whose receptive field (1 + (2 − 1)·(1 + 2)·2 = 7 steps) fits in the lookback gives its window's forecast.
        if let NetConfig::TcnForecast(c) = &cfg
            && c.kernel == 2
        {
            stream.reset();
            let mut session = model.network.session(1);
            for t in 0..n {
                let got = stream.push(&model.network, &series[t * 2..(t + 1) * 2]).expect("push").to_vec();
                if t + 1 >= 10 {
                    let want = model.network.forward(&mut session, &series[(t - 9) * 2..(t + 1) * 2], 1).expect("fwd");
                    let worst = max_abs_diff(&got, want);
                    assert!(worst <= 1e-5, "tcn lookback window at {t}: {worst:e}");
                }
            }
        }
    }
    // Layers that need the whole window cannot stream.
    let cfg = NetConfig::CnnLstm(ConvLstmConfig::new());
    let dims = NetDims { channels: 2, steps: 24, horizon: 0 };
    let net = cfg.init(&dims, &device);
    let model = runtime_model(&net, &parts(&cfg, dims, &features, &scaler, &threshold)).expect("export");
    assert!(model.network.stream().is_err());
}

/// The networks whose burn outputs `telltale-runtime/tests/fixtures` stores, so the runtime's own tests compare
/// against burn where burn does not build (aarch64 and armv7 under qemu, the microcontroller): the seed CNN-LSTM
/// and one of each other layer kind, small, with fixed weights ([`fixed_weights`]).
fn fixture_nets() -> Vec<(&'static str, NetConfig, NetDims)> {
    let classify = |steps| NetDims { channels: 3, steps, horizon: 0 };
    vec![
        ("cnn-lstm", NetConfig::CnnLstm(ConvLstmConfig::new()), classify(60)),
        (
            "gru-forecast",
            NetConfig::GruForecast(RnnForecastConfig::new().with_units(vec![16, 8])),
            NetDims { channels: 3, steps: 20, horizon: 2 },
        ),
        (
            "tcn-forecast",
            NetConfig::TcnForecast(TcnForecastConfig::new().with_filters(8)),
            NetDims { channels: 3, steps: 20, horizon: 1 },
        ),
        ("lstm-ae", NetConfig::LstmAe(LstmAeConfig::new().with_units(12)), classify(16)),
        (
            "attention-lstm",
            NetConfig::AttentionLstm(AttentionLstmConfig::new().with_units(16).with_attention(8)),
            classify(20),
        ),
    ]
}

/// Every weight of `net` set from its position: fixtures that do not depend on the random generator, which the
/// tests of this file share across threads.
fn fixed_weights(net: Net) -> Net {
    struct Fixed(u32);
    impl burn::module::ModuleMapper for Fixed {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            param.map(|t| {
                let shape = t.shape();
                let n = shape.num_elements();
                let values: Vec<f32> = (0..n as u32)
                    .map(|i| {
                        let k = (self.0 + i).wrapping_mul(2_654_435_761) >> 8;
                        (k as f32 / 16_777_216.0 - 0.5) * 0.4
                    })
                    .collect();
                self.0 = self.0.wrapping_add(n as u32);
                Tensor::<D>::from_data(TensorData::new(values, shape), &t.device())
            })
        }
    }
    burn::module::Module::map(net, &mut Fixed(1))
}

/// Writes the fixtures with `TELLTALE_BLESS=1`; otherwise checks that the stored ones are still what burn gives
/// (weights from [`fixed_weights`], outputs on [`inputs`]), so they cannot rot.
#[test]
fn the_runtimes_stored_burn_outputs_are_burns() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../telltale-runtime/tests/fixtures");
    let bless = std::env::var_os("TELLTALE_BLESS").is_some();
    let device = Device::flex();
    let features: Vec<String> = (0..3).map(|i| format!("s{i}")).collect();
    let scaler = Scaler::Identity { n: 3 };
    let threshold = Threshold::Static { value: 0.5 };
    for (name, cfg, dims) in fixture_nets() {
        let net = fixed_weights(cfg.init(&dims, &device));
        let b = 8;
        let x = inputs(b * dims.steps * dims.channels);
        let want: Vec<f32> = net
            .forward(Tensor::<3>::from_data(TensorData::new(x, [b, dims.steps, dims.channels]), &device))
            .into_values();
        let bytes = to_bytes(&net, &parts(&cfg, dims, &features, &scaler, &threshold)).expect("export");
        let out = le_bytes(&want);
        let (model_path, out_path) = (dir.join(format!("{name}.ttm")), dir.join(format!("{name}.burn.f32")));
        if bless {
            std::fs::create_dir_all(&dir).expect("fixtures dir");
            std::fs::write(&model_path, &bytes).expect("write model");
            std::fs::write(&out_path, &out).expect("write outputs");
            continue;
        }
        let stored = std::fs::read(&model_path).expect("a stored fixture (TELLTALE_BLESS=1 writes them)");
        assert!(
            stored == bytes,
            "{name}: the stored model is not what fixed_weights gives now: rerun with TELLTALE_BLESS=1"
        );
        let stored = f32s(&std::fs::read(&out_path).expect("stored outputs"));
        assert_eq!(stored.len(), want.len(), "{name}");
        let worst = max_abs_diff(&stored, &want);
        assert!(
            worst <= 1e-6,
            "{name}: burn now gives outputs {worst:e} from the stored ones: rerun with TELLTALE_BLESS=1"
        );
    }
    // The seed model as an int8 file too (the microcontroller's other file), with the host runtime's outputs on
    // the plain-f32 path: int8 has no burn counterpart, its own tolerance is against the host.
    let (name, cfg, dims) = fixture_nets().remove(0);
    let net = fixed_weights(cfg.init(&dims, &device));
    let bytes = to_bytes_with(&net, &parts(&cfg, dims, &features, &scaler, &threshold), true).expect("int8 export");
    let model = Model::from_bytes(&bytes).expect("int8 model");
    let b = 8;
    let x = inputs(b * dims.steps * dims.channels);
    let mut session = model.network.session_with(b, Isa::Scalar);
    let host = le_bytes(model.network.forward(&mut session, &x, b).expect("int8 forward"));
    let (model_path, out_path) = (dir.join(format!("{name}.int8.ttm")), dir.join(format!("{name}.int8.host.f32")));
    if bless {
        std::fs::write(&model_path, &bytes).expect("write int8 model");
        std::fs::write(&out_path, &host).expect("write int8 outputs");
    } else {
        assert!(
            std::fs::read(&model_path).expect("stored int8 fixture") == bytes,
            "{name}.int8: rerun with TELLTALE_BLESS=1"
        );
        assert!(
            std::fs::read(&out_path).expect("stored int8 outputs") == host,
            "{name}.int8: rerun with TELLTALE_BLESS=1"
        );
    }
}

/// The Python with ONNX Runtime: `TELLTALE_PYTHON`, or the venv scripts/test.sh makes (`target/ci-tools`).
fn onnx_python() -> std::path::PathBuf {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var_os("TELLTALE_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target/ci-tools/bin/python"));
    let ok = std::process::Command::new(&python).args(["-c", "import onnxruntime, numpy"]).status();
    assert!(
        ok.is_ok_and(|s| s.success()),
        "{} has no onnxruntime: run scripts/test.sh (it installs it into target/ci-tools) or set TELLTALE_PYTHON",
        python.display()
    );
    python
}

/// A model file of `cfg` without a stored fixture (IoT-AnomalyNet's query/key/value attention, the convolutional
/// autoencoder's transposed convolutions), made from fixed weights.
fn made_file(cfg: NetConfig) -> Vec<u8> {
    let dims = NetDims { channels: 3, steps: 20, horizon: 0 };
    let net = fixed_weights(cfg.init(&dims, &Device::flex()));
    let features: Vec<String> = (0..3).map(|i| format!("s{i}")).collect();
    let (scaler, threshold) = (Scaler::Identity { n: 3 }, Threshold::Static { value: 0.5 });
    to_bytes(&net, &parts(&cfg, dims, &features, &scaler, &threshold)).expect("export")
}

/// The runtime's outputs for 8 fixed windows of model file `bytes`, and what a peer's runner (`tools/…/run.py`)
/// gives for the same windows on `exported`, written as `dir/name.ext`.
fn runtime_and_peer(
    python: &std::path::Path,
    runner: &str,
    dir: &telltale_testing::Scratch,
    (name, ext): (&str, &str),
    bytes: &[u8],
    exported: &[u8],
) -> (Vec<f32>, Vec<f32>) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = Model::from_bytes(bytes).expect("runtime model");
    let (steps, channels) = model.network.input_shape();
    let b = 8;
    let x = inputs(b * steps * channels);
    let mut session = model.network.session(b);
    let want = model.network.forward(&mut session, &x, b).expect("runtime").to_vec();
    let (m, i, o) =
        (dir.path(&format!("{name}.{ext}")), dir.path(&format!("{name}.in")), dir.path(&format!("{name}.out")));
    std::fs::write(&m, exported).expect("write the exported file");
    std::fs::write(&i, le_bytes(&x)).expect("write inputs");
    let run = std::process::Command::new(python)
        .arg(root.join(runner))
        .args([&m, &i, &b.to_string(), &steps.to_string(), &channels.to_string(), &o])
        .output()
        .expect("python");
    assert!(run.status.success(), "{name}: {}", String::from_utf8_lossy(&run.stderr));
    let got = f32s(&std::fs::read(&o).expect("outputs"));
    assert_eq!(got.len(), want.len(), "{name}");
    (want, got)
}

/// ONNX files written from the stored models (and from IoT-AnomalyNet's, for its query/key/value attention) give
/// the runtime's and burn's outputs in ONNX Runtime.
#[test]
fn onnx_exports_give_burns_outputs_in_onnx_runtime() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let fixtures = root.join("crates/telltale-runtime/tests/fixtures");
    let python = onnx_python();
    let dir = telltale_testing::Scratch::new("onnx-export");
    let anomalynet = made_file(NetConfig::Anomalynet(AnomalyNetConfig::new()));
    let conv_ae = made_file(NetConfig::ConvAe(ConvAeConfig::new()));
    let names = [
        "cnn-lstm",
        "gru-forecast",
        "tcn-forecast",
        "lstm-ae",
        "cnn-lstm.int8",
        "attention-lstm",
        "anomalynet",
        "conv-ae",
    ];
    for name in names {
        let bytes = match name {
            "anomalynet" => anomalynet.clone(),
            "conv-ae" => conv_ae.clone(),
            _ => std::fs::read(fixtures.join(format!("{name}.ttm"))).expect("fixture"),
        };
        let (header, tensors) = telltale_runtime::format::from_bytes(&bytes).expect("model file");
        let onnx = telltale_runtime::onnx::to_onnx(&header, &tensors).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (want, got) = runtime_and_peer(&python, "tools/onnx/run.py", &dir, (name, "onnx"), &bytes, &onnx);
        let worst = max_abs_diff(&got, &want);
        assert!(worst <= 1e-5, "{name}: ONNX Runtime differs from telltale's runtime by {worst:e}");
        // And from burn itself, for the f32 files.
        if let Ok(stored) = std::fs::read(fixtures.join(format!("{name}.burn.f32"))) {
            let burn = f32s(&stored);
            let worst = max_abs_diff(&got, &burn);
            assert!(worst <= 1e-5, "{name}: ONNX Runtime differs from burn by {worst:e}");
        }
    }
}

/// TFLite files written from the stored models and IoT-AnomalyNet's (f32, and int8 weights widened by
/// DEQUANTIZE) give the runtime's outputs in LiteRT, TFLite's interpreter; a GRU, for which TFLite has no
/// operator, is refused with that reason.
#[test]
fn tflite_exports_give_the_runtimes_outputs_in_litert() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let fixtures = root.join("crates/telltale-runtime/tests/fixtures");
    let python = onnx_python();
    let dir = telltale_testing::Scratch::new("tflite-export");
    let cases = [
        ("cnn-lstm", false),
        ("cnn-lstm.int8", true),
        ("tcn-forecast", false),
        ("lstm-ae", false),
        ("attention-lstm", false),
        ("anomalynet", false),
    ];
    let anomalynet = made_file(NetConfig::Anomalynet(AnomalyNetConfig::new()));
    for (name, int8) in cases {
        let bytes = match name {
            "anomalynet" => anomalynet.clone(),
            _ => std::fs::read(fixtures.join(format!("{name}.ttm"))).expect("fixture"),
        };
        let (header, tensors) = telltale_runtime::format::from_bytes(&bytes).expect("model file");
        let tflite =
            telltale_runtime::tflite::to_tflite(&header, &tensors, int8).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (want, got) = runtime_and_peer(&python, "tools/tflite/run.py", &dir, (name, "tflite"), &bytes, &tflite);
        let worst = max_abs_diff(&got, &want);
        assert!(worst <= 1e-5, "{name}: LiteRT differs from telltale's runtime by {worst:e}");
    }
    let bytes = std::fs::read(fixtures.join("gru-forecast.ttm")).expect("fixture");
    let (header, tensors) = telltale_runtime::format::from_bytes(&bytes).expect("model file");
    let err = telltale_runtime::tflite::to_tflite(&header, &tensors, false).expect_err("a GRU").to_string();
    assert!(err.contains("GRU"), "gru-forecast: {err}");
}
