//! telltale-runtime on every preset of the zoo (fresh weights, exported as
//! `telltale export` does): one window on one thread, and 256 windows on
//! every core. `cargo bench -p telltale-bench --bench runtime`; the test
//! command runs each once (`cargo test --benches`) so they never rot.

#![allow(missing_docs)] // criterion_group! defines an undocumented function.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

use burn::tensor::Device;
use telltale_core::{Scaler, Threshold};
use telltale_models::export::{HeaderParts, runtime_model};
use telltale_models::presets::*;
use telltale_runtime::Pool;

fn presets() -> Vec<(NetConfig, NetDims)> {
    let classify = |steps| NetDims { channels: 3, steps, horizon: 0 };
    let forecast = NetDims { channels: 1, steps: 10, horizon: 1 };
    let novelty = NetDims { channels: 8, steps: 32, horizon: 0 };
    vec![
        (NetConfig::CnnLstm(ConvLstmConfig::new()), classify(60)),
        (NetConfig::ConvLstm3(ConvLstm3Config::new()), classify(200)),
        (NetConfig::AttentionLstm(AttentionLstmConfig::new()), classify(60)),
        (NetConfig::Anomalynet(AnomalyNetConfig::new()), classify(60)),
        (NetConfig::LstmForecast(RnnForecastConfig::new()), forecast),
        (NetConfig::GruForecast(RnnForecastConfig::new()), forecast),
        (NetConfig::TcnForecast(TcnForecastConfig::new()), forecast),
        (NetConfig::DenseAe(DenseAeConfig::new()), novelty),
        (NetConfig::LstmAe(LstmAeConfig::new()), novelty),
        (NetConfig::ConvAe(ConvAeConfig::new()), novelty),
    ]
}

fn bench(c: &mut Criterion) {
    let device = Device::flex();
    let mut one = c.benchmark_group("one_window");
    let mut models = Vec::new();
    for (cfg, dims) in presets() {
        let net = cfg.init(&dims, &device);
        let features: Vec<String> = (0..dims.channels).map(|i| format!("s{i}")).collect();
        let scaler = Scaler::Identity { n: dims.channels };
        let threshold = Threshold::Static { value: 0.5 };
        let parts = HeaderParts {
            name: "bench",
            preset: cfg.name(),
            task: cfg.task(),
            features: &features,
            dims,
            step: 1,
            scaler: &scaler,
            threshold: &threshold,
            eps: 0.01,
            info: serde_json::Value::Null,
        };
        let model = runtime_model(&net, &parts).expect("export");
        let x: Vec<f32> = (0..dims.steps * dims.channels).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut session = model.network.session(1);
        one.bench_function(BenchmarkId::from_parameter(cfg.name()), |b| {
            b.iter(|| black_box(model.network.forward(&mut session, black_box(&x), 1).expect("forward")[0]))
        });
        models.push((cfg.name(), model, x));
    }
    one.finish();
    let mut batched = c.benchmark_group("batched_256");
    let n = 256;
    batched.throughput(Throughput::Elements(n as u64));
    for (name, model, x) in &models {
        let xs: Vec<f32> = x.iter().copied().cycle().take(n * x.len()).collect();
        let mut out = vec![0.0; n * model.network.output_len()];
        let mut pool = Pool::new(&model.network, 0, 32);
        batched.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| pool.run(&model.network, black_box(&xs), n, &mut out).expect("run"))
        });
    }
    batched.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
