//! Topic patterns and topics: the first line is the pattern (`sensors/{device}/#`), the second a topic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (pattern, topic) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(p) = telltale_stream::TopicPattern::new(pattern) else { return };
    if let Ok(device) = p.device(topic) {
        assert!(!device.is_empty() && !device.contains('/'));
    }
    let _ = p.filter();
});
