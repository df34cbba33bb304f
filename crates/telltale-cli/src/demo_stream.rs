//! The demo's live part: the trained CNN-LSTM served over the embedded MQTT
//! broker while three simulated fans replay the bundled data, one of them
//! across the boundary from normal to imbalanced running.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use rumqttc::QoS;
use telltale_core::{DataSpec, Dataset};
use telltale_stream::simulate::{Series, Simulation};
use telltale_stream::source::now_ms;
use telltale_stream::{Counters, ServeConfig, Service};

use crate::output::{emit, thousands};

/// Readings per second each simulated fan sends.
const RATE_HZ: f64 = 500.0;
/// Where the demo's database goes.
pub(crate) const DEMO_DB: &str = "telltale-demo.db";

/// `preferred` if nothing listens there, else a free port on loopback.
fn address(preferred: &str) -> Result<SocketAddr> {
    let addr: SocketAddr = preferred.parse().context("address")?;
    if std::net::TcpListener::bind(addr).is_ok() {
        return Ok(addr);
    }
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("no free port on 127.0.0.1")?;
    l.local_addr().context("address")
}

/// The simulated fans: (name, first row, rows, what it shows).
const FANS: [(&str, usize, &str); 3] = [
    ("fan-a", 48_000, "normal, then imbalanced from its 3,001st reading (row 51,000 of the file)"),
    ("fan-b", 0, "normal throughout (20-25 % speed)"),
    ("fan-c", 42_000, "normal throughout (higher speeds)"),
];
/// Rows each fan replays.
const ROWS: usize = 6_000;

/// Runs the live part with `model`.
pub(crate) fn run(csv: &Path, model: telltale_runtime::Model, keep_serving: bool) -> Result<()> {
    let spec = DataSpec { features: vec!["x".into(), "y".into(), "z".into()], ..Default::default() };
    let data = Dataset::load(csv, &spec)?;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{DEMO_DB}{suffix}"));
    }
    let listen = address("127.0.0.1:1883")?;
    let http = address("127.0.0.1:8080")?;
    let mut config = ServeConfig {
        listen: listen.to_string(),
        http: http.to_string(),
        db: format!("sqlite://{DEMO_DB}"),
        client_id: "telltale-demo".into(),
        ..ServeConfig::default()
    };
    config.alerts.cooldown_s = 60.0;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start tokio")?;
    runtime.block_on(async {
        let service = Service::start(&config.check()?, model).await?;
        emit(&format!(
            "serving: embedded broker mqtt://{listen}, topics sensors/{{device}}/#, SQLite {DEMO_DB}, live dashboard \
             http://{}/\n",
            service.http.map(|a| a.to_string()).unwrap_or_default()
        ))?;
        let interval_ms = (1000.0 / RATE_HZ) as i64;
        let start_ms = now_ms() / 1000 * 1000;
        for (name, first, what) in FANS {
            emit(&format!("  {name}: rows {}..{} at {RATE_HZ} readings/s: {what}\n", first, first + ROWS))?;
        }
        let devices = FANS
            .iter()
            .map(|(name, first, _)| Series { device: (*name).into(), values: Arc::new(data.rows(*first..first + ROWS).to_vec()) })
            .collect();
        let sim = Simulation {
            broker: service.broker.clone(),
            topic: "sensors/{device}/data".into(),
            features: data.features().to_vec(),
            devices,
            rate_hz: RATE_HZ,
            start_ms,
            interval_ms,
            batch: 1,
            qos: QoS::AtLeastOnce,
            client_id: "telltale-demo-fans".into(),
            sent: None,
        };

        // Live: a line when a fan turns anomalous and when it is normal again.
        let mut decisions = service.decisions.subscribe();
        let watcher = tokio::spawn(async move {
            let mut tally: BTreeMap<String, (u64, u64, Option<i64>, bool)> = BTreeMap::new();
            while let Ok(d) = decisions.recv().await {
                let t = tally.entry(d.device.clone()).or_default();
                t.0 += 1;
                if d.anomalous {
                    t.1 += 1;
                    t.2.get_or_insert(d.end_ms);
                }
                if d.anomalous != t.3 {
                    t.3 = d.anomalous;
                    let at = (d.end_ms - start_ms) / interval_ms + 1;
                    let line = if d.anomalous {
                        format!("  ANOMALY  {}: window ending at reading {at}, score {:.3} ≥ {:.2}\n", d.device, d.score, d.threshold)
                    } else {
                        format!("  normal   {}: again from reading {at} (score {:.3})\n", d.device, d.score)
                    };
                    let _ = emit(&line);
                }
            }
            tally
        });
        let sent = sim.run(None, Duration::from_secs(30)).await?;
        // Everything published is scored and stored before the service stops.
        let counters: &Counters = &service.counters;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while Counters::get(&counters.messages) < sent.messages && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if keep_serving {
            emit(&format!(
                "  replay done; still serving: open http://{}/ (Ctrl-C stops)\n",
                service.http.map(|a| a.to_string()).unwrap_or_default()
            ))?;
            crate::serve::until_stopped(None).await?;
        }
        let store = service.store.clone();
        let s = service.stop().await?;
        let tally = watcher.await.unwrap_or_default();
        emit(&format!(
            "\n  {} readings published, {} scored in {} windows ({} refused); per fan:\n",
            thousands(sent.readings as usize),
            thousands(s.readings as usize),
            thousands(s.windows as usize),
            s.refused
        ))?;
        for (device, (windows, anomalous, first, _)) in &tally {
            let first = first.map_or("none".to_owned(), |ms| format!("first at reading {}", (ms - start_ms) / interval_ms + 1));
            emit(&format!("  {device}: {windows} windows, {anomalous} anomalous ({first})\n"))?;
        }
        let store = telltale_stream::store::Store::open(store.name()).await?;
        emit(&format!(
            "  stored in {DEMO_DB}: {} readings, {} anomalies, {} alerts (MQTT alerts/{{device}}, one per fan per minute)\n",
            thousands(store.count("readings").await? as usize),
            thousands(store.count("anomalies").await? as usize),
            thousands(store.count("alerts").await? as usize),
        ))?;
        store.close().await;
        Ok(())
    })
}
