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
            let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(worst <= 1e-5, "{} on {isa}: differs from burn by {worst:e}", cfg.name());
            // One window at a time gives the same values.
            let per = want.len() / b;
            for w in 0..b {
                let one = model.network.forward(&mut session, &x[w * steps * 4..(w + 1) * steps * 4], 1).expect("one");
                let worst =
                    one.iter().zip(&want[w * per..(w + 1) * per]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
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
    let worst = ya.iter().zip(&yb).map(|(p, q)| (p - q).abs()).fold(0.0, f32::max);
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
            let worst = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
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
                    let worst = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
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
