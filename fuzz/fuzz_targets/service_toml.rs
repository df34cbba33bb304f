//! The service's configuration: any TOML text read as `ServeConfig` and checked (file paths it names are
//! replaced, so the target reads no file of the machine's).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(mut config) = toml::from_str::<telltale_stream::ServeConfig>(text) else { return };
    for path in [&mut config.broker_passwords, &mut config.broker_tls_cert, &mut config.broker_tls_key] {
        if !path.is_empty() {
            *path = "/nonexistent/telltale-fuzz".into();
        }
    }
    let _ = config.check();
});
