//! `telltale simulate`: real rows or synthetic signals published as a fleet
//! of devices through an MQTT broker.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rumqttc::QoS;
use telltale_core::synthetic::{SyntheticConfig, synthesize};
use telltale_core::{DataSpec, Dataset, TimestampColumn};
use telltale_stream::BrokerUrl;
use telltale_stream::simulate::{Series, Simulation};
use telltale_stream::source::now_ms;

use crate::cli::SimulateArgs;
use crate::output::{emit, print_json, thousands};

/// `A..B` → the range.
fn parse_rows(text: &str, n: usize) -> Result<std::ops::Range<usize>> {
    let (a, b) = text.split_once("..").with_context(|| format!("--rows {text:?}: write A..B, e.g. 48000..54000"))?;
    let a: usize =
        if a.is_empty() { 0 } else { a.trim().parse().with_context(|| format!("--rows: {a:?} is not a row"))? };
    let b: usize =
        if b.is_empty() { n } else { b.trim().parse().with_context(|| format!("--rows: {b:?} is not a row"))? };
    if a >= b || b > n {
        bail!("--rows {text}: the file has {n} rows; need A < B ≤ {n}");
    }
    Ok(a..b)
}

/// Device names `dev-1`, `dev-2`, … padded to sort.
pub(crate) fn device_names(n: usize) -> Vec<String> {
    let width = n.to_string().len();
    (1..=n).map(|i| format!("dev-{i:0width$}")).collect()
}

/// Runs the command.
pub(crate) fn run(args: &SimulateArgs) -> Result<()> {
    if args.devices == 0 {
        bail!("--devices must be at least 1");
    }
    let names = device_names(args.devices);
    let mut labels = String::new();
    let (features, devices) = if args.synthetic {
        let mut devices = Vec::new();
        let mut features = Vec::new();
        labels.push_str("device,timestamp_ms,anomaly,kind\n");
        for (i, name) in names.iter().enumerate() {
            let cfg = SyntheticConfig { rows: args.synthetic_rows, seed: args.seed + i as u64, ..Default::default() };
            let s = synthesize(&cfg)?;
            for r in 0..s.labels.len() {
                let kind = s.injected.iter().find(|a| (a.start..a.start + a.len).contains(&r)).map(|a| a.kind);
                let kind = kind.map(|k| format!("{k:?}").to_lowercase()).unwrap_or_default();
                let _ = writeln!(
                    labels,
                    "{name},{},{},{kind}",
                    start(args, args.synthetic_rows) + r as i64 * interval(args),
                    s.labels[r]
                );
            }
            features.clone_from(&s.features);
            devices.push(Series { device: name.clone(), values: Arc::new(s.values) });
        }
        (features, devices)
    } else {
        let path = args.data.as_ref().context("--data FILE or --synthetic")?;
        let spec = DataSpec { features: args.features.clone(), timestamp: TimestampColumn::Auto, ..Default::default() };
        let data = Dataset::load(path, &spec)?;
        let rows = match &args.rows {
            Some(r) => parse_rows(r, data.n_rows())?,
            None => 0..data.n_rows(),
        };
        let values = Arc::new(data.rows(rows).to_vec());
        let devices = names.iter().map(|n| Series { device: n.clone(), values: values.clone() }).collect();
        (data.features().to_vec(), devices)
    };
    if let Some(path) = &args.labels {
        std::fs::write(path, &labels).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let rows = devices.iter().map(|d| d.values.len() / features.len().max(1)).max().unwrap_or(0);
    let sim = Simulation {
        broker: BrokerUrl { ca_file: args.tls_ca.clone(), ..BrokerUrl::parse(&args.broker)? },
        topic: args.topic.clone(),
        features,
        devices,
        rate_hz: args.rate.max(0.0),
        start_ms: start(args, rows),
        interval_ms: interval(args),
        batch: args.batch.max(1),
        qos: if args.qos == 0 { QoS::AtMostOnce } else { QoS::AtLeastOnce },
        client_id: format!("telltale-simulate-{}", std::process::id()),
        sent: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start tokio")?;
    let sent = runtime.block_on(sim.run(None, Duration::from_secs(60)))?;
    if args.json {
        return print_json(&serde_json::json!({
            "messages": sent.messages, "readings": sent.readings, "acked": sent.acked, "seconds": sent.seconds,
            "readings_per_s": sent.readings as f64 / sent.seconds.max(1e-9), "devices": args.devices,
        }));
    }
    emit(&format!(
        "published {} readings in {} messages from {} devices in {:.2} s ({:.0} readings/s){}\n",
        thousands(sent.readings as usize),
        thousands(sent.messages as usize),
        args.devices,
        sent.seconds,
        sent.readings as f64 / sent.seconds.max(1e-9),
        if args.qos == 1 { format!(", {} acknowledged", thousands(sent.acked as usize)) } else { String::new() }
    ))
}

/// Timestamps start now (whole seconds), so the service sees live data.
/// The first reading's time: now when publishing at a rate (the readings keep pace with the clock); when
/// publishing as fast as possible, `rows` intervals before now, so the last reading is stamped now and none is
/// dated ahead of its arrival (the service refuses readings from the future).
fn start(args: &SimulateArgs, rows: usize) -> i64 {
    static START: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let back = if args.rate > 0.0 { 0 } else { rows as i64 * interval(args) };
    *START.get_or_init(|| now_ms() / 1000 * 1000 - back)
}

/// Milliseconds between a device's readings: the rate's period, or 1 s when publishing as fast as possible.
fn interval(args: &SimulateArgs) -> i64 {
    if args.rate > 0.0 { ((1000.0 / args.rate).round() as i64).max(1) } else { 1000 }
}
