//! The embedded broker's backlog bound.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use super::Embedded;
use crate::pipeline::Counters;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_past_its_bound_loses_its_oldest_part_and_is_counted() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let counters = Arc::new(Counters::default());
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    Embedded { backlog: 1 << 20, ..Embedded::open(listen) }.start_counted(&counters).expect("broker");

    // A subscriber that stops reading once subscribed.
    let (sub, mut sub_events) = AsyncClient::new(MqttOptions::new("slow", "127.0.0.1", port), 16);
    sub.subscribe("backlog/#", QoS::AtMostOnce).await.expect("subscribe");
    let subscribed = tokio::time::timeout(Duration::from_secs(10), async {
        while !matches!(sub_events.poll().await, Ok(Event::Incoming(Packet::SubAck(_)))) {}
    });
    subscribed.await.expect("subscribed");

    // 48 MB at QoS 1, every message acknowledged by the broker, while the subscriber reads nothing.
    let (n, size) = (6000u32, 8000usize);
    let (publisher, mut pub_events) = AsyncClient::new(MqttOptions::new("fast", "127.0.0.1", port), 64);
    let sender = tokio::spawn(async move {
        for i in 0..n {
            let mut payload = i.to_string().into_bytes();
            payload.resize(size, b' ');
            publisher.publish("backlog/x", QoS::AtLeastOnce, false, payload).await.expect("publish");
        }
    });
    let mut acked = 0;
    let acks = tokio::time::timeout(Duration::from_secs(60), async {
        while acked < n {
            match pub_events.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                Ok(_) => {}
                Err(e) => panic!("publisher: {e}"),
            }
        }
    });
    acks.await.expect("every publish acknowledged");
    sender.await.expect("sender");
    assert_eq!(counters.broker_backlog_overflows.load(Ordering::Relaxed), 0, "nothing read yet, nothing jumped");

    // It reads again: what the bound dropped never comes, and the jump is counted.
    let mut received = 0u32;
    let quiet = Duration::from_secs(2);
    let mut last = Instant::now();
    while last.elapsed() < quiet {
        if let Ok(Ok(Event::Incoming(Packet::Publish(_)))) =
            tokio::time::timeout(Duration::from_millis(200), sub_events.poll()).await
        {
            received += 1;
            last = Instant::now();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while counters.broker_backlog_overflows.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(received < n, "the bound held: {received} of {n} delivered");
    assert!(received > 0, "what the bound kept is delivered");
    assert!(counters.broker_backlog_overflows.load(Ordering::Relaxed) >= 1, "counted ({received} of {n} delivered)");
}
