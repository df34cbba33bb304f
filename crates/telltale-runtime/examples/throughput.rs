//! Windows per second of an exported model file on synthetic windows:
//! one window at a time, then batches in tiles on one thread and on all cores.
//!
//! `cargo run --release -p telltale-runtime --example throughput -- MODEL.ttm [TILE] [SECONDS]`
//!
//! `telltale bench latency` is the figure to report (real test windows, peers
//! in the same run); this is the quick loop for profiling a kernel
//! (`perf record` on it sees nothing but the runtime).

use std::time::{Duration, Instant};

use telltale_runtime::{Model, Pool};

fn per_window(seconds: f64, windows: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut calls = 0usize;
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        f();
        calls += 1;
    }
    start.elapsed().as_secs_f64() * 1e6 / (calls * windows) as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: throughput MODEL.ttm [TILE] [SECONDS]")?;
    let tile: usize = args.next().map_or(Ok(32), |s| s.parse())?;
    let seconds: f64 = args.next().map_or(Ok(2.0), |s| s.parse())?;
    let model = Model::from_bytes(&std::fs::read(&path)?)?;
    let net = &model.network;
    let (t, c) = net.input_shape();
    let n = 1024;
    let xs: Vec<f32> = (0..n * t * c).map(|i| (i as f32 * 0.37).sin()).collect();
    let mut out = vec![0.0; n * net.output_len()];

    let mut session = net.session(1);
    let one = per_window(seconds, 1, || {
        std::hint::black_box(net.forward(&mut session, &xs[..t * c], 1).expect("forward"));
    });
    println!("one window:           {one:8.2} µs");
    for threads in [1, 0] {
        let mut pool = Pool::new(net, threads, tile);
        let us = per_window(seconds, n, || pool.run(net, &xs, n, &mut out).expect("run"));
        println!("batched, {} thread(s): {us:8.2} µs per window (tile {tile})", pool.threads());
    }
    Ok(())
}
