//! NumPy `.npy` arrays (telemanom's layout): any bytes through `npy::parse`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = telltale_core::npy::parse(data) {
        assert_eq!(m.values.len(), m.rows * m.cols);
    }
});
