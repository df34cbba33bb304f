//! `exp` and the recurrent cell updates on whole vectors of a [`Simd`]
//! instruction set, several vectors at a time so their long dependency
//! chains overlap.
//!
//! `exp` is [`crate::act::exp`]'s method with fused multiply-adds (and, on
//! AVX-512, one `vscalefps` for the power of two). The LSTM cell folds its
//! five non-linearities into three divisions:
//!
//! ```text
//! σ(a) = 1 / (1 + e⁻ᵃ)        tanh(a) = (1 − e⁻²ᵃ) / (1 + e⁻²ᵃ)
//! c' = σ(f)·c + σ(i)·tanh(g) = c / (1+e_f) + (1−e_g) / [(1+eᵢ)(1+e_g)]
//! h  = σ(o)·tanh(c')          = (1 − e_c) / [(1+e_o)(1+e_c)]
//! ```
//!
//! with every exponent capped at 28 so the products stay finite (σ(−28) and
//! 1 + tanh(−14) are below 1e-11, so the cap changes no result by more than
//! that). The tests bound the error against `f64`.

#![allow(unsafe_code)]

use crate::act::{EXP_POLY, LN2_HI, LN2_LO, LOG2E, ROUND};
use crate::simd::Simd;

/// Largest exponent the folded cell formulas take.
const CAP: f32 = 28.0;

/// eˣ per lane for x in about [−87, 88] (clamped outside).
#[inline(always)]
pub fn exp<S: Simd>(x: S::V) -> S::V {
    exp_above::<S>(S::min(x, S::splat(88.0)))
}

/// eˣ per lane for x ≤ 88 (clamped below −87).
#[inline(always)]
fn exp_above<S: Simd>(x: S::V) -> S::V {
    let x = S::max(x, S::splat(-87.0));
    let shifted = S::fma(x, S::splat(LOG2E), S::splat(ROUND));
    let n = S::sub(shifted, S::splat(ROUND));
    let r = S::fma(n, S::splat(-LN2_HI), x);
    let r = S::fma(n, S::splat(-LN2_LO), r);
    let mut p = S::splat(EXP_POLY[0]);
    for &c in &EXP_POLY[1..] {
        p = S::fma(p, r, S::splat(c));
    }
    S::ldexp(p, n, shifted)
}

/// `exp(min(−k·x, CAP))`.
#[inline(always)]
fn neg_exp<S: Simd>(x: S::V, k: f32) -> S::V {
    exp_above::<S>(S::min(S::mul(x, S::splat(-k)), S::splat(CAP)))
}

/// LSTM cell updates on `G` vectors starting at lane `at`.
///
/// # Safety
/// `z` must hold gates i, f, g, o at offsets 0, h, 2h, 3h, each readable for `at + G·LANES` lanes;
/// `c` and `hs` writable for as many.
#[inline(always)]
unsafe fn lstm_group<S: Simd, const G: usize>(z: *const f32, h: usize, c: *mut f32, hs: *mut f32, at: usize) {
    let l = S::LANES;
    let one = S::splat(1.0);
    let mut cv = [S::zero(); G];
    let mut ao = [S::zero(); G];
    // SAFETY: the caller's bounds.
    unsafe {
        for v in 0..G {
            let p = at + v * l;
            let ai = S::add(one, neg_exp::<S>(S::load(z.add(p)), 1.0));
            let af = S::add(one, neg_exp::<S>(S::load(z.add(h + p)), 1.0));
            let eg = neg_exp::<S>(S::load(z.add(2 * h + p)), 2.0);
            ao[v] = S::add(one, neg_exp::<S>(S::load(z.add(3 * h + p)), 1.0));
            let ig = S::div(S::sub(one, eg), S::mul(ai, S::add(one, eg)));
            cv[v] = S::add(S::div(S::load(c.add(p)), af), ig);
            S::store(c.add(p), cv[v]);
        }
        for v in 0..G {
            let ec = neg_exp::<S>(cv[v], 2.0);
            let hv = S::div(S::sub(one, ec), S::mul(ao[v], S::add(one, ec)));
            S::store(hs.add(at + v * l), hv);
        }
    }
}

/// One LSTM step on `hp` lanes (a multiple of 16): gates `z` (i, f, g, o blocks of `h`, at least
/// `3h + hp` values), state `c` and output `hs` (`hp` each).
#[inline(always)]
pub fn lstm_cell<S: Simd>(z: &[f32], h: usize, c: &mut [f32], hs: &mut [f32]) {
    let hp = c.len();
    assert!(z.len() >= 3 * h + hp && hs.len() >= hp && hp.is_multiple_of(S::LANES), "lstm cell: buffers too short");
    let (zp, cp, hp_) = (z.as_ptr(), c.as_mut_ptr(), hs.as_mut_ptr());
    let vectors = hp / S::LANES;
    let mut v = 0;
    // SAFETY: lanes below `hp` are in bounds (asserted above).
    unsafe {
        while v + 4 <= vectors {
            lstm_group::<S, 4>(zp, h, cp, hp_, v * S::LANES);
            v += 4;
        }
        while v < vectors {
            lstm_group::<S, 1>(zp, h, cp, hp_, v * S::LANES);
            v += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::Isa;

    fn f64_cell(z: &[f64], c: f64) -> (f64, f64) {
        let s = |x: f64| 1.0 / (1.0 + (-x).exp());
        let c2 = s(z[1]) * c + s(z[0]) * z[2].tanh();
        (c2, s(z[3]) * c2.tanh())
    }

    fn run<S: Simd>(z: &[f32], h: usize, c: &mut [f32], hs: &mut [f32]) {
        lstm_cell::<S>(z, h, c, hs)
    }

    crate::isa_fn! {
        fn run_on(z: &[f32], h: usize, c: &mut [f32], hs: &mut [f32]) -> () = run;
    }

    #[test]
    fn lstm_cell_is_accurate_on_every_instruction_set() {
        // Gates and states over a wide range, extremes included.
        let h = 50;
        let hp = 64;
        let vals: Vec<f32> = (0..4 * h + 16).map(|i| (i as f32 * 0.7391).sin() * 40.0).collect();
        for isa in Isa::available() {
            let mut worst = 0f64;
            for scale in [0.01f32, 0.3, 1.0, 3.0] {
                let z: Vec<f32> = vals.iter().map(|v| v * scale).collect();
                let mut c: Vec<f32> = (0..hp).map(|j| (j as f32 * 1.3).cos() * 5.0 * scale).collect();
                let c0 = c.clone();
                let mut hs = vec![0.0; hp];
                run_on(isa, &z, h, &mut c, &mut hs);
                for j in 0..h {
                    let zz = [z[j], z[h + j], z[2 * h + j], z[3 * h + j]].map(f64::from);
                    let (cw, hw) = f64_cell(&zz, f64::from(c0[j]));
                    worst = worst.max((f64::from(c[j]) - cw).abs() / cw.abs().max(1.0));
                    worst = worst.max((f64::from(hs[j]) - hw).abs());
                }
            }
            assert!(worst < 1e-6, "{isa}: worst error {worst:e}");
        }
    }

    #[test]
    fn vector_exp_is_accurate() {
        for isa in Isa::available() {
            fn one<S: Simd>(x: &[f32], out: &mut [f32]) {
                for (xs, os) in x.chunks_exact(S::LANES).zip(out.chunks_exact_mut(S::LANES)) {
                    // SAFETY: whole vectors of the slices.
                    unsafe { S::store(os.as_mut_ptr(), exp::<S>(S::load(xs.as_ptr()))) }
                }
            }
            crate::isa_fn! {
                fn on(x: &[f32], out: &mut [f32]) -> () = one;
            }
            let x: Vec<f32> = (0..16_000).map(|i| -80.0 + i as f32 * 0.01).collect();
            let mut out = vec![0.0; x.len()];
            on(isa, &x, &mut out);
            let worst = x
                .iter()
                .zip(&out)
                .map(|(&x, &e)| ((f64::from(e) - f64::from(x).exp()) / f64::from(x).exp()).abs())
                .fold(0.0, f64::max);
            assert!(worst < 4e-7, "{isa}: exp relative error {worst:e}");
        }
    }
}
