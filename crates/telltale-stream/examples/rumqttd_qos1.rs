//! A minimal reproduction for the embedded broker's QoS 1 path (rumqttd 0.20): one publisher sends N numbered
//! QoS 1 messages as fast as the broker takes them, one subscriber (persistent session, QoS 1) counts what it
//! gets. The subscriber acknowledges automatically (`auto`), or by hand in order after every batch of B
//! messages the way `serve` does after each commit (`manual`), or so and with its connection dropped a third of
//! the way through, coming back on its persistent session with acknowledgements still owed (`reconnect`).
//!
//! ```sh
//! cargo run --release -p telltale-stream --example rumqttd_qos1 -- [N] [auto|manual|reconnect] [B] [RUNS]
//! ```
//!
//! One line per run: messages the broker acknowledged to the publisher, distinct ones received, repeats,
//! missing (with the first few numbers), and the subscriber's connection errors.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use telltale_stream::broker::Embedded;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(18_000);
    let mode = args.get(2).map_or("auto", String::as_str);
    let batch: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(64);
    let runs: u32 = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(5);
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    Embedded::open(listen).start().expect("broker");
    for run in 0..runs {
        let report = once(port, run, n, mode, batch).await;
        println!("run {run}: {report}");
    }
}

async fn once(port: u16, run: u32, n: u32, mode: &str, batch: usize) -> String {
    let (manual, reconnect) = (mode != "auto", mode == "reconnect");
    let topic = format!("repro/{run}/x");
    let mut options = MqttOptions::new(format!("sub-{run}"), "127.0.0.1", port);
    options.set_clean_session(false).set_manual_acks(manual).set_keep_alive(Duration::from_secs(15));
    let (mut sub, mut sub_events) = AsyncClient::new(options.clone(), 1024);
    sub.subscribe(topic.clone(), QoS::AtLeastOnce).await.expect("subscribe");
    let (got_tx, mut got_rx) = tokio::sync::mpsc::unbounded_channel();
    let errors = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let errs = errors.clone();
    let filter = topic.clone();
    let subscriber = tokio::spawn(async move {
        let (mut waiting, mut received, mut dropped) = (Vec::new(), 0u32, false);
        loop {
            if reconnect && !dropped && received >= n / 3 {
                // The connection drops (no DISCONNECT) while acknowledgements are still owed; the same client
                // comes back on the persistent session, subscribes again, and sends the owed ones first.
                dropped = true;
                drop(sub_events);
                (sub, sub_events) = AsyncClient::new(options.clone(), 1024);
                let _ = sub.try_subscribe(filter.clone(), QoS::AtLeastOnce);
                for p in waiting.drain(..) {
                    let _ = sub.try_ack(&p);
                }
            }
            match sub_events.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = got_tx.send(None);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let seq: u32 = std::str::from_utf8(&p.payload).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
                    let _ = got_tx.send(Some(seq));
                    received += 1;
                    if manual {
                        waiting.push(p);
                        if waiting.len() >= batch {
                            for p in waiting.drain(..) {
                                let _ = sub.try_ack(&p);
                            }
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    {
                        let mut errs = errs.lock().expect("errors");
                        if errs.len() < 20 {
                            errs.push(e.to_string());
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    // Wait for the subscription, then publish.
    while let Some(Some(_)) = got_rx.recv().await {}
    let (publisher, mut pub_events) = AsyncClient::new(MqttOptions::new(format!("pub-{run}"), "127.0.0.1", port), 1024);
    let sender = tokio::spawn(async move {
        for i in 1..=n {
            publisher.publish(topic.as_str(), QoS::AtLeastOnce, false, i.to_string()).await.expect("publish");
        }
    });
    let mut acked = 0u32;
    while acked < n {
        match tokio::time::timeout(Duration::from_secs(10), pub_events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("publisher: {e}"),
            Err(_) => break,
        }
    }
    let _ = sender.await;
    // Everything that will arrive arrives within a few quiet seconds.
    let (mut seen, mut repeats) = (BTreeSet::new(), 0u32);
    let mut last = Instant::now();
    while last.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(Some(seq))) = tokio::time::timeout(Duration::from_millis(200), got_rx.recv()).await {
            if !seen.insert(seq) {
                repeats += 1;
            }
            last = Instant::now();
        }
    }
    subscriber.abort();
    let errors = errors.lock().expect("errors").clone();
    let missing: Vec<u32> = (1..=n).filter(|i| !seen.contains(i)).collect();
    format!(
        "acked {acked} received {} repeats {repeats} missing {} first {:?} subscriber errors {:?}",
        seen.len(),
        missing.len(),
        &missing[..missing.len().min(8)],
        errors
    )
}
