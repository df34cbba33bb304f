//! Experiment configurations: any TOML text through `ExperimentConfig::from_toml` and its check.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(config) = telltale_models::config::ExperimentConfig::from_toml(text, Path::new("fuzz.toml")) {
        let _ = config.check();
    }
});
