//! Runtime model files: a malicious file must be refused, never read out of bounds. A model that loads is run
//! once on zeros.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = telltale_runtime::Model::from_bytes(data) else { return };
    let inputs = model.header.steps.saturating_mul(model.channels());
    if inputs == 0 || inputs > 1 << 16 {
        return;
    }
    let mut session = model.network.session(1);
    let _ = model.network.forward(&mut session, &vec![0.0; inputs], 1);
});
