//! The runtime against burn's own outputs, stored (`tests/fixtures`, written and kept current by
//! telltale-models' `the_runtimes_stored_burn_outputs_are_burns`), on every instruction set this CPU has. This is
//! the test that runs where burn does not build: aarch64 (NEON) and armv7 under qemu-user.

use telltale_runtime::{Isa, Model};

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("fixtures/", $name, ".ttm")).as_slice(),
            include_bytes!(concat!("fixtures/", $name, ".burn.f32")).as_slice(),
        )
    };
}

fn fixtures() -> [(&'static str, &'static [u8], &'static [u8]); 5] {
    [
        fixture!("cnn-lstm"),
        fixture!("gru-forecast"),
        fixture!("tcn-forecast"),
        fixture!("lstm-ae"),
        fixture!("attention-lstm"),
    ]
}

/// Little-endian f32 values, as the fixtures store them.
fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// The largest absolute difference between two equally long runs of values.
fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// The inputs the fixtures were computed on (telltale-models' `inputs`).
fn inputs(n: usize) -> Vec<f32> {
    (0..n as u32).map(|i| ((i.wrapping_mul(2_654_435_761) >> 8) as f32 / 4_194_304.0) - 2.0).collect()
}

#[test]
fn every_instruction_set_gives_burns_outputs_within_1e_5() {
    // Under qemu-aarch64 the NEON kernels run (NEON is part of aarch64; qemu emulates it).
    #[cfg(target_arch = "aarch64")]
    assert!(Isa::available().contains(&Isa::Neon), "{:?}", Isa::available());
    for (name, model, outputs) in fixtures() {
        let model = Model::from_bytes(model).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = f32s(outputs);
        let (steps, channels) = model.network.input_shape();
        let b = 8;
        let x = inputs(b * steps * channels);
        for isa in Isa::available() {
            let mut session = model.network.session_with(b, isa);
            let got = model.network.forward(&mut session, &x, b).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got.len(), want.len(), "{name}");
            let worst = max_abs_diff(got, &want);
            assert!(worst <= 1e-5, "{name} on {isa} ({}): {worst:e} from burn", std::env::consts::ARCH);
        }
    }
}

/// The int8 seed model: every instruction set gives the host's plain-f32-path outputs within 1e-5.
#[test]
fn the_int8_file_gives_the_hosts_outputs_on_every_instruction_set() {
    let model = Model::from_bytes(include_bytes!("fixtures/cnn-lstm.int8.ttm")).expect("int8 model");
    let want = f32s(include_bytes!("fixtures/cnn-lstm.int8.host.f32"));
    let (steps, channels) = model.network.input_shape();
    let b = 8;
    let x = inputs(b * steps * channels);
    for isa in Isa::available() {
        let mut session = model.network.session_with(b, isa);
        let got = model.network.forward(&mut session, &x, b).expect("forward");
        assert_eq!(got.len(), want.len());
        let worst = max_abs_diff(got, &want);
        assert!(worst <= 1e-5, "int8 on {isa} ({}): {worst:e} from the host", std::env::consts::ARCH);
    }
}
