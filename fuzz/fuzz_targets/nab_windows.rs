//! NAB's label windows JSON (`combined_windows.json`): any text through `Intervals::parse_all`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(all) = telltale_core::intervals::Intervals::parse_all(Path::new("windows.json"), text) {
        for series in &all {
            assert!(series.spans.iter().all(|(a, b)| a <= b));
        }
    }
});
