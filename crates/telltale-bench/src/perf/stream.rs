//! `telltale bench stream`: readings per second, reading→decision latency
//! and loss of the live service, through the embedded broker and Mosquitto,
//! each against the same broker with a subscriber that does nothing (the
//! reference), in the same run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde::Serialize;
use telltale_core::{DataSpec, Dataset};
use telltale_stream::simulate::{Series, Simulation};
use telltale_stream::source::now_ms;
use telltale_stream::{BrokerUrl, Counters, ServeConfig, Service};

use crate::error::{Context, Error, Result};

/// What `telltale bench stream` runs.
#[derive(Debug, Clone, Default)]
pub struct StreamOptions {
    /// CSV whose rows every device replays.
    pub data: PathBuf,
    /// The publishing devices' names (one simulated device each).
    pub devices: Vec<String>,
    /// Readings each device publishes (at most the file's rows, rounded down to whole messages).
    pub readings: usize,
    /// Readings per message.
    pub batch: usize,
    /// Readings per second offered, all devices together (0: as fast as the broker takes them).
    pub rate: f64,
    /// Brokers to run through: `embedded`, `mosquitto`.
    pub brokers: Vec<String>,
    /// Store every reading (else anomalies only).
    pub store_readings: bool,
}

/// One measured run.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// The broker: `embedded` or `mosquitto`.
    pub broker: String,
    /// What consumed the readings.
    pub consumer: &'static str,
    /// Readings published.
    pub readings: u64,
    /// Readings delivered (stored, for the service).
    pub delivered: u64,
    /// Published minus delivered.
    pub lost: i64,
    /// Seconds from the first publish to the last delivery.
    pub seconds: f64,
    /// Readings processed per second.
    pub readings_per_s: f64,
    /// Latency percentiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Latency>,
    /// Detection state per device (windows, timestamps, names), counted exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_bytes_per_device: Option<f64>,
    /// Growth of the whole process's resident memory per device: an upper bound that includes the database's
    /// cache, channel buffers and, with the embedded broker, its buffers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_growth_per_device_bytes: Option<f64>,
}

/// Latency percentiles (ms): publish → decision for the service, publish → delivery for the broker alone.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    /// Latencies measured.
    pub samples: usize,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// Resident memory of this process (bytes), from /proc.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context_with(|| "no free port".into())?;
    Ok(l.local_addr()?.port())
}

/// A Mosquitto process for one run (no persistence, no in-flight limit), killed when dropped.
struct Mosquitto {
    child: Child,
    dir: PathBuf,
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn mosquitto_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin")]).map(|d| d.join("mosquitto")).find(|p| p.is_file())
}

fn start_mosquitto(program: &Path, port: u16) -> Result<Mosquitto> {
    let dir = std::env::temp_dir().join(format!("telltale-bench-mosquitto-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false);
    let conf = format!(
        "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_inflight_messages 0\n\
         max_queued_messages 10000000\n{}",
        if root { "user root\n" } else { "" }
    );
    std::fs::write(dir.join("m.conf"), conf)?;
    let child = Command::new(program)
        .args(["-c", &dir.join("m.conf").display().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context_with(|| "cannot start mosquitto".into())?;
    let m = Mosquitto { child, dir };
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if start.elapsed() > Duration::from_secs(10) {
            return Err(Error::Failed(format!("mosquitto did not listen on 127.0.0.1:{port}")));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(m)
}

/// The timestamp of the last reading in a simulator payload (`…"ts":N,…` once per reading).
fn last_ts(payload: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(payload).ok()?;
    let at = text.rfind("\"ts\":")? + 5;
    let digits: String = text[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Percentiles of `latencies` (ms).
fn latency(mut latencies: Vec<f64>) -> Latency {
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
    Latency { samples: latencies.len(), p50: pick(0.5), p99: pick(0.99), max: pick(1.0) }
}

/// The reference: a subscriber that counts messages (and the latency of each message's last reading) and does
/// nothing else.
async fn broker_alone(name: &str, mut sim: Simulation, expected: u64, batch: u64) -> Result<Run> {
    let broker = &sim.broker;
    let mut options = MqttOptions::new(format!("noop-{}", now_ms()), broker.host.clone(), broker.port);
    options.set_max_packet_size(1 << 21, 1 << 21);
    let (client, mut events) = AsyncClient::new(options, 1024);
    client.subscribe("sensors/+/#", QoS::AtLeastOnce).await?;
    let got = Arc::new(AtomicU64::new(0));
    let last = Arc::new(Mutex::new(Instant::now()));
    let (count, at) = (got.clone(), last.clone());
    let sent = Arc::new(Mutex::new(Vec::new()));
    sim.sent = Some(sent.clone());
    let (start_ms, interval_ms) = (sim.start_ms, sim.interval_ms);
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let lat = latencies.clone();
    let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
    let mut subscribed_tx = Some(subscribed_tx);
    let poller = tokio::spawn(async move {
        while let Ok(e) = events.poll().await {
            match e {
                Event::Incoming(Packet::SubAck(_)) => {
                    if let Some(tx) = subscribed_tx.take() {
                        let _ = tx.send(());
                    }
                }
                Event::Incoming(Packet::Publish(p)) => {
                    let now = Instant::now();
                    count.fetch_add(batch, Ordering::Relaxed);
                    *at.lock().unwrap_or_else(|e| e.into_inner()) = now;
                    if let Some(ts) = last_ts(&p.payload) {
                        let row = ((ts - start_ms) / interval_ms) as usize;
                        if let Some(t) = sent.lock().unwrap_or_else(|e| e.into_inner()).get(row) {
                            lat.lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(now.duration_since(*t).as_secs_f64() * 1e3);
                        }
                    }
                }
                _ => {}
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), subscribed)
        .await
        .context_with(|| "no SUBACK from the broker".into())??;
    let started = Instant::now();
    sim.run(None, Duration::from_secs(120)).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivered = got.load(Ordering::Relaxed);
    let seconds = last.lock().unwrap_or_else(|e| e.into_inner()).duration_since(started).as_secs_f64();
    poller.abort();
    Ok(Run {
        broker: name.into(),
        consumer: "broker alone (no-op subscriber)",
        readings: expected,
        delivered,
        lost: expected as i64 - delivered as i64,
        seconds,
        readings_per_s: delivered as f64 / seconds.max(1e-9),
        latency_ms: Some(latency(std::mem::take(&mut *latencies.lock().unwrap_or_else(|e| e.into_inner())))),
        state_bytes_per_device: None,
        rss_growth_per_device_bytes: None,
    })
}

/// The service on the same kind of broker (its own embedded one, as `serve` runs by default, or the external
/// one): every reading scored and committed, latency per decision.
async fn service(
    name: &str,
    mut sim: Simulation,
    model: &telltale_runtime::Model,
    expected: u64,
    store_readings: bool,
) -> Result<Run> {
    let dir = std::env::temp_dir().join(format!("telltale-bench-stream-{}-{}", std::process::id(), sim.broker.port));
    std::fs::create_dir_all(&dir)?;
    let config = ServeConfig {
        model: String::new(),
        // "embedded": the service starts its broker itself, as `serve` does.
        broker: if name == "embedded" {
            String::new()
        } else {
            format!("mqtt://{}:{}", sim.broker.host, sim.broker.port)
        },
        listen: format!("{}:{}", sim.broker.host, sim.broker.port),
        db: format!("sqlite://{}", dir.join("bench.db").display()),
        store_readings,
        http: String::new(),
        client_id: format!("telltale-bench-{}", sim.broker.port),
        alerts: telltale_stream::config::AlertsConfig { mqtt_topic: String::new(), ..Default::default() },
        ..ServeConfig::default()
    };
    let rss_before = rss_bytes();
    let service = Service::start(&config.check()?, model.clone()).await?;
    // The service's subscription must exist before the load starts: wait for its first (probe) message.
    let probe = AsyncClient::new(MqttOptions::new("probe", sim.broker.host.clone(), sim.broker.port), 16);
    let (probe_client, mut probe_events) = probe;
    // Its event loop runs on its own: a poll cut short by a timeout can cancel the connection handshake.
    let pump = tokio::spawn(async move {
        loop {
            match probe_events.poll().await {
                Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while Counters::get(&service.counters.messages) == 0 {
        if Instant::now() > deadline {
            pump.abort();
            return Err(Error::Failed("the service did not receive a probe message within 20 s".into()));
        }
        let _ = probe_client.try_publish("sensors/probe/x", QoS::AtMostOnce, false, "{}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = probe_client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), pump).await;
    let refused_probes = Counters::get(&service.counters.malformed);

    let sent = Arc::new(Mutex::new(Vec::new()));
    sim.sent = Some(sent.clone());
    let (start_ms, interval_ms) = (sim.start_ms, sim.interval_ms);
    let mut decisions = service.decisions.subscribe();
    let log = sent.clone();
    let collector = tokio::spawn(async move {
        let mut latencies = Vec::new();
        loop {
            match decisions.recv().await {
                Ok(d) => {
                    let now = Instant::now();
                    let row = ((d.end_ms - start_ms) / interval_ms) as usize;
                    if let Some(t) = log.lock().unwrap_or_else(|e| e.into_inner()).get(row) {
                        latencies.push(now.duration_since(*t).as_secs_f64() * 1e3);
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return latencies,
            }
        }
    });
    let counters = service.counters.clone();
    let done = move || {
        let c = &counters;
        if store_readings { Counters::get(&c.stored_readings) } else { Counters::get(&c.readings) }
    };
    let started = Instant::now();
    sim.run(None, Duration::from_secs(120)).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while done() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let processed = done();
    let rss_after = rss_bytes();
    let devices = Counters::get(&service.counters.devices).max(1);
    let store = service.store.clone();
    let summary = service.stop().await?;
    let latencies = collector.await.unwrap_or_default();
    let stored = if store_readings {
        let store = telltale_stream::store::Store::open(store.name()).await?;
        let n = store.count("readings").await?;
        store.close().await;
        n
    } else {
        summary.readings
    };
    let _ = std::fs::remove_dir_all(&dir);
    if summary.refused > refused_probes {
        tracing::warn!("{} readings refused during the run", summary.refused - refused_probes);
    }
    Ok(Run {
        broker: name.into(),
        consumer: "telltale serve",
        readings: expected,
        delivered: stored,
        lost: expected as i64 - stored as i64,
        seconds,
        readings_per_s: processed as f64 / seconds.max(1e-9),
        latency_ms: Some(latency(latencies)),
        state_bytes_per_device: Some(summary.state_bytes as f64 / devices as f64),
        rss_growth_per_device_bytes: match (rss_before, rss_after) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / devices as f64),
            _ => None,
        },
    })
}

/// Runs the load through every broker asked for: the broker alone, then the service, on a fresh broker each.
pub fn run(model: &telltale_runtime::Model, args: &StreamOptions) -> Result<StreamReport> {
    let spec = DataSpec { features: model.header.features.clone(), ..Default::default() };
    let data = Dataset::load(&args.data, &spec)?;
    let devices = args.devices.len();
    let rows = args.readings.min(data.n_rows());
    let batch = args.batch.max(1);
    let rows = rows / batch * batch;
    if rows == 0 || devices == 0 {
        return Err(Error::Failed(
            "nothing to publish: --devices and --readings must be positive (and --readings ≥ --batch)".into(),
        ));
    }
    let values = Arc::new(data.rows(0..rows).to_vec());
    let expected = (rows * devices) as u64;
    let simulation = |broker: BrokerUrl| Simulation {
        broker,
        topic: "sensors/{device}/data".into(),
        features: data.features().to_vec(),
        devices: args.devices.iter().map(|n| Series { device: n.clone(), values: values.clone() }).collect(),
        rate_hz: args.rate.max(0.0) / devices as f64,
        // Stamped a second apart and ending now: nothing dated ahead of its arrival (the service refuses
        // readings from the future).
        start_ms: now_ms() / 1000 * 1000 - rows as i64 * 1000,
        interval_ms: 1000,
        batch,
        qos: QoS::AtLeastOnce,
        client_id: format!("telltale-bench-load-{}", now_ms()),
        sent: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context_with(|| "cannot start tokio".into())?;
    let mut runs = Vec::new();
    let mut skipped = Vec::new();
    for name in &args.brokers {
        let start = || -> Result<(BrokerUrl, Option<Mosquitto>)> {
            let port = free_port()?;
            let url = BrokerUrl::plain("127.0.0.1", port);
            match name.as_str() {
                "embedded" => {
                    telltale_stream::broker::Embedded::open(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
                        .start()?;
                    Ok((url, None))
                }
                "mosquitto" => {
                    let program =
                        mosquitto_binary().ok_or_else(|| Error::Failed("mosquitto is not installed".into()))?;
                    Ok((url, Some(start_mosquitto(&program, port)?)))
                }
                other => Err(Error::Failed(format!("--brokers: {other:?} is not embedded or mosquitto"))),
            }
        };
        if name == "mosquitto" && mosquitto_binary().is_none() {
            skipped.push("mosquitto (not installed: apt-get install mosquitto)".to_owned());
            continue;
        }
        let (url, guard) = start()?;
        runs.push(runtime.block_on(broker_alone(name, simulation(url), expected, batch as u64))?);
        drop(guard);
        let (url, guard) =
            if name == "embedded" { (BrokerUrl::plain("127.0.0.1", free_port()?), None) } else { start()? };
        runs.push(runtime.block_on(service(name, simulation(url), model, expected, args.store_readings))?);
        drop(guard);
    }
    let ratios = runs
        .chunks(2)
        .filter(|p| p.len() == 2)
        .map(|p| Ratio {
            broker: p[0].broker.clone(),
            service_vs_broker_alone: p[1].readings_per_s / p[0].readings_per_s.max(1e-9),
        })
        .collect();
    Ok(StreamReport {
        devices,
        readings_per_device: rows,
        batch,
        readings: expected,
        rate: args.rate,
        store_readings: args.store_readings,
        runs,
        ratios,
        skipped,
    })
}

/// The service's throughput over the broker alone's, on one kind of broker.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    /// The broker.
    pub broker: String,
    /// Readings per second of the service over those of the no-op subscriber.
    pub service_vs_broker_alone: f64,
}

/// The figures of one `bench stream` run.
#[derive(Debug, Clone)]
pub struct StreamReport {
    /// Devices publishing.
    pub devices: usize,
    /// Readings each device published.
    pub readings_per_device: usize,
    /// Readings per message.
    pub batch: usize,
    /// Readings published per run, all devices together.
    pub readings: u64,
    /// Readings per second offered (0: as fast as possible).
    pub rate: f64,
    /// Whether every reading was stored.
    pub store_readings: bool,
    /// Every run: per broker, the broker alone then the service.
    pub runs: Vec<Run>,
    /// Per broker, the service over the broker alone.
    pub ratios: Vec<Ratio>,
    /// Brokers left out, and why.
    pub skipped: Vec<String>,
}

impl StreamReport {
    /// The `--json` output.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "devices": self.devices, "readings_per_device": self.readings_per_device, "batch": self.batch,
            "readings": self.readings,
            "offered_readings_per_s": if self.rate > 0.0 { serde_json::json!(self.rate) } else { serde_json::json!("max") },
            "store_readings": self.store_readings, "runs": self.runs, "ratios": self.ratios, "skipped": self.skipped,
        })
    }

    /// The text output.
    pub fn render(&self) -> String {
        let offered =
            if self.rate > 0.0 { format!("{:.0} readings/s offered", self.rate) } else { "as fast as possible".into() };
        let mut s = format!(
            "{} devices × {} readings, {} per message, QoS 1, {offered}{}\n",
            self.devices,
            self.readings_per_device,
            self.batch,
            if self.store_readings { ", every reading stored (SQLite)" } else { ", readings not stored" }
        );
        for r in &self.runs {
            let latency = r.latency_ms.map_or(String::new(), |l| {
                format!("  latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms", l.p50, l.p99, l.max)
            });
            let memory = match (r.state_bytes_per_device, r.rss_growth_per_device_bytes) {
                (Some(st), Some(m)) => format!("  state {st:.0} B/device (process growth {:.0} KB/device)", m / 1024.0),
                _ => String::new(),
            };
            s += &format!(
                "  {:<10} {:<32} {:>9.0} readings/s  lost {}{latency}{memory}\n",
                r.broker, r.consumer, r.readings_per_s, r.lost
            );
        }
        for r in &self.ratios {
            // As JSON values, as this line has always printed them: the name quoted, the ratio in full.
            let (broker, ratio) =
                (serde_json::Value::from(r.broker.as_str()), serde_json::Value::from(r.service_vs_broker_alone));
            s += &format!("  {broker}: service / broker alone = {ratio}\n");
        }
        for sk in &self.skipped {
            s += &format!("  skipped: {sk}\n");
        }
        s
    }
}
