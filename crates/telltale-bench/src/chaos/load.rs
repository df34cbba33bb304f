//! The devices: the messages a scenario sends, and a publisher at QoS 1 that knows which readings the broker
//! acknowledged (a PUBACK for the packet that carried them), across broker restarts and reconnections.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use telltale_stream::source::now_ms;

use super::model::SPIKE;
use crate::error::{Error, Result};

/// A reading's key in the database: (device, epoch ms).
pub type Key = (String, i64);

/// One MQTT message of a scenario.
#[derive(Debug, Clone)]
pub struct Message {
    /// Its topic.
    pub topic: String,
    /// Its payload.
    pub payload: Vec<u8>,
    /// The readings it carries.
    pub keys: Vec<Key>,
    /// Those of them that are spikes (one alert each).
    pub spikes: Vec<Key>,
    /// Over the service's payload limit: to be refused and counted, not stored.
    pub over_limit: bool,
}

fn reading(ts: i64, a: f64) -> String {
    format!(r#"{{"ts":{ts},"a":{a},"b":1}}"#)
}

fn single(device: String, ts: i64, a: f64) -> Message {
    let payload = reading(ts, a).into_bytes();
    let spikes = if a == SPIKE { vec![(device.clone(), ts)] } else { Vec::new() };
    Message { topic: format!("sensors/{device}/data"), payload, keys: vec![(device, ts)], spikes, over_limit: false }
}

/// `readings` readings, one a message, dealt round-robin to `devices` devices a second apart (all dated in the
/// past minute's side of now); one in 50 is a spike.
pub fn stream(readings: usize, devices: usize) -> Vec<Message> {
    let devices = devices.max(1);
    let start = now_ms() - ((readings / devices) as i64 + 2) * 1000;
    (0..readings)
        .map(|i| {
            let a = if i % 50 == 7 { SPIKE } else { (i % 7) as f64 };
            single(format!("chaos-{:03}", i % devices), start + (i / devices) as i64 * 1000, a)
        })
        .collect()
}

/// One reading from each of `n` new device names.
pub fn ids(n: usize) -> Vec<Message> {
    let ts = now_ms() - 1000;
    (0..n).map(|i| single(format!("id-{i:06}"), ts, 1.0)).collect()
}

/// `pairs` pairs of batches of readings: one of exactly `limit` bytes (taken), one of `limit + 1` (refused),
/// each padded with JSON whitespace.
pub fn payloads(pairs: usize, limit: usize) -> Vec<Message> {
    let start = now_ms() - (pairs as i64 * 2 + 2) * 1000 * 200;
    let mut ts = start;
    let mut out = Vec::with_capacity(pairs * 2);
    for pair in 0..pairs {
        for (size, over_limit) in [(limit, false), (limit + 1, true)] {
            let device = if over_limit { "limit-over" } else { "limit-at" };
            let mut body = String::from("[");
            let mut keys = Vec::new();
            let mut spikes = Vec::new();
            loop {
                let a = if keys.len() == 3 && pair % 2 == 0 { SPIKE } else { (keys.len() % 7) as f64 };
                let one = reading(ts, a);
                // Room for this reading, its comma and the closing bracket.
                if body.len() + one.len() + 2 > size {
                    break;
                }
                if keys.is_empty() {
                    body.push_str(&one);
                } else {
                    body.push(',');
                    body.push_str(&one);
                }
                if a == SPIKE {
                    spikes.push((device.to_owned(), ts));
                }
                keys.push((device.to_owned(), ts));
                ts += 1000;
            }
            body.push(']');
            while body.len() < size {
                body.push(' ');
            }
            let topic = format!("sensors/{device}/data");
            out.push(Message { topic, payload: body.into_bytes(), keys, spikes, over_limit });
        }
    }
    out
}

/// What was published.
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// Messages handed to the client.
    pub messages: usize,
    /// The messages the broker acknowledged.
    pub acked: Vec<Message>,
    /// Messages handed over but never acknowledged before the publisher gave up.
    pub unacked: usize,
}

#[derive(Debug, Default)]
struct State {
    /// Handed to the client, not yet given a packet id.
    queued: VecDeque<Message>,
    /// Sent, waiting for their PUBACK, by packet id.
    inflight: HashMap<u16, Message>,
    acked: Vec<Message>,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Publishes `messages` at QoS 1 to 127.0.0.1:`port` as `client_id` (a persistent session), at most `rate`
/// messages a second (0: as fast as the broker takes them), counting each one handed over in `progress`; then
/// waits up to `drain` for the last acknowledgements.
pub async fn publish(
    port: u16,
    client_id: String,
    messages: Vec<Message>,
    rate: f64,
    progress: Arc<AtomicUsize>,
    drain: Duration,
) -> Result<Published> {
    let mut options = MqttOptions::new(client_id, "127.0.0.1", port);
    options.set_clean_session(false);
    options.set_keep_alive(Duration::from_secs(5));
    options.set_max_packet_size(8 << 20, 8 << 20);
    options.set_inflight(100);
    let (client, mut events) = AsyncClient::new(options, 256);
    let state = Arc::new(Mutex::new(State::default()));
    let total = messages.len();
    let loop_state = state.clone();
    // The event loop runs on its own: a poll cut short can cancel a connection handshake.
    let pump = tokio::spawn(async move {
        loop {
            match events.poll().await {
                Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                    let mut s = lock(&loop_state);
                    // A packet id in flight already is a retransmission after a reconnection.
                    if !s.inflight.contains_key(&pkid)
                        && let Some(m) = s.queued.pop_front()
                    {
                        s.inflight.insert(pkid, m);
                    }
                }
                Ok(Event::Incoming(Packet::PubAck(ack))) => {
                    let mut s = lock(&loop_state);
                    if let Some(m) = s.inflight.remove(&ack.pkid) {
                        s.acked.push(m);
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    let gap = if rate > 0.0 { Duration::from_secs_f64(1.0 / rate) } else { Duration::ZERO };
    let mut next = Instant::now();
    for m in messages {
        let (topic, payload) = (m.topic.clone(), m.payload.clone());
        lock(&state).queued.push_back(m);
        if let Err(e) = client.publish(topic, QoS::AtLeastOnce, false, payload).await {
            pump.abort();
            return Err(Error::Failed(format!("the publisher's client stopped: {e}")));
        }
        progress.fetch_add(1, Ordering::Relaxed);
        if !gap.is_zero() {
            next += gap;
            let now = Instant::now();
            if next > now {
                tokio::time::sleep(next - now).await;
            }
        }
    }
    let until = Instant::now() + drain;
    loop {
        let pending = {
            let s = lock(&state);
            s.queued.len() + s.inflight.len()
        };
        if pending == 0 || Instant::now() > until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), client.disconnect()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    pump.abort();
    let mut s = lock(&state);
    let acked = std::mem::take(&mut s.acked);
    Ok(Published { messages: total, unacked: total - acked.len(), acked })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_has_unique_keys_and_one_spike_in_fifty() {
        let m = stream(1000, 7);
        let keys: std::collections::HashSet<_> = m.iter().flat_map(|m| m.keys.clone()).collect();
        assert_eq!(keys.len(), 1000);
        assert_eq!(m.iter().map(|m| m.spikes.len()).sum::<usize>(), 20);
        assert!(m.iter().all(|m| m.keys[0].1 <= now_ms()), "nothing dated in the future");
    }

    #[test]
    fn payloads_are_exactly_at_and_one_over_the_limit_and_parse() {
        let m = payloads(3, 4096);
        assert_eq!(m.len(), 6);
        for msg in &m {
            assert_eq!(msg.payload.len(), if msg.over_limit { 4097 } else { 4096 });
            let parsed = telltale_stream::payload::parse(&msg.topic, &msg.payload).expect("valid JSON");
            assert_eq!(parsed.len(), msg.keys.len());
        }
        let keys: std::collections::HashSet<_> = m.iter().flat_map(|m| m.keys.clone()).collect();
        assert_eq!(keys.len(), m.iter().map(|m| m.keys.len()).sum::<usize>(), "keys unique");
    }
}
