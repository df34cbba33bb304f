//! MQTT payloads: `payload::parse` on any bytes, as a device (or an attacker) sends them.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(readings) = telltale_stream::payload::parse("sensors/fuzz/x", data) {
        for r in &readings {
            assert!(!r.values.is_empty() && r.values.iter().all(|(_, v)| v.is_finite()));
        }
    }
});
