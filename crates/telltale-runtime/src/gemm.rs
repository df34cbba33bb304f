//! The matrix kernel every layer runs on: `out = init + a·w` with `w`
//! packed once at load time (rows padded to a multiple of 16 floats, so every
//! vector load is whole) and a register tile of rows × vectors.

#![allow(unsafe_code)]

use alloc::vec;
use alloc::vec::Vec;

use crate::simd::Simd;

/// Columns of a packed matrix are padded to a multiple of this.
pub const PAD: usize = 16;

/// Rows of the register tile.
const ROWS: usize = 4;

/// A weight matrix `[k, n]`, row-major, rows padded to `ld` floats with zeros.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Rows (the reduced dimension).
    pub k: usize,
    /// Columns.
    pub n: usize,
    /// Floats per stored row (`n` rounded up to [`PAD`]).
    pub ld: usize,
    /// `k · ld` floats.
    pub data: Vec<f32>,
}

impl Matrix {
    /// Packs a dense row-major `[k, n]` matrix.
    pub fn new(k: usize, n: usize, values: &[f32]) -> Matrix {
        assert_eq!(values.len(), k * n, "matrix values");
        let ld = n.div_ceil(PAD).max(1) * PAD;
        let mut data = vec![0.0; k * ld];
        for (row, src) in data.chunks_exact_mut(ld).zip(values.chunks_exact(n.max(1))) {
            row[..n].copy_from_slice(src);
        }
        Matrix { k, n, ld, data }
    }

    /// Element `(i, j)`.
    pub fn get(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.ld + j]
    }
}

/// A bias vector padded like a [`Matrix`] row.
pub fn pad_bias(values: &[f32]) -> Vec<f32> {
    let mut b = vec![0.0; values.len().div_ceil(PAD).max(1) * PAD];
    b[..values.len()].copy_from_slice(values);
    b
}

/// What the products are added to.
#[derive(Debug, Clone, Copy)]
pub enum Init<'a> {
    /// Nothing.
    Zero,
    /// A bias row (padded, as from [`pad_bias`]), the same for every row.
    Bias(&'a [f32]),
    /// What `out` already holds.
    Accumulate,
}

/// `out[i·ldo + j] = init + Σₖ a[i·lda + k]·w[k, j]` for `i < m`, `j < w.n`,
/// on instruction set `S` (one compiled copy per instruction set).
///
/// # Panics
/// If a slice is too short for the shapes given.
#[inline(always)]
pub fn gemm<S: Simd>(m: usize, a: &[f32], lda: usize, w: &Matrix, out: &mut [f32], ldo: usize, init: Init<'_>) {
    S::gemm(m, a, lda, w, out, ldo, init, false)
}

/// [`gemm`] reading `w` in the reverse order (last column block first, last
/// row first). A recurrence whose weights do not fit in the L1 cache
/// alternates the two orders from step to step: what one step read last is
/// still cached when the next step starts with it.
#[inline(always)]
pub fn gemm_reversed<S: Simd>(
    m: usize,
    a: &[f32],
    lda: usize,
    w: &Matrix,
    out: &mut [f32],
    ldo: usize,
    init: Init<'_>,
) {
    S::gemm(m, a, lda, w, out, ldo, init, true)
}

/// The body of [`gemm`], inlined once into each instruction set's copy.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_body<S: Simd>(
    m: usize,
    a: &[f32],
    lda: usize,
    w: &Matrix,
    out: &mut [f32],
    ldo: usize,
    init: Init<'_>,
    reverse: bool,
) {
    if m == 0 || w.n == 0 {
        return;
    }
    assert!(a.len() >= (m - 1) * lda + w.k, "gemm: a too short");
    assert!(out.len() >= (m - 1) * ldo + w.n, "gemm: out too short");
    if let Init::Bias(b) = init {
        assert!(b.len() >= w.ld, "gemm: bias not padded");
    }
    let nv = S::TILE_VECTORS;
    if m == 1 {
        // One row (a recurrence step): up to 16 vectors per tile, so each weight row is read once, front to
        // back, and many independent sums are in flight.
        // SAFETY: bounds asserted above; weights and bias padded to `ld`.
        unsafe { one_row::<S>(a.as_ptr(), w, out.as_mut_ptr(), init, reverse) };
        return;
    }
    let mut i = 0;
    while i + ROWS <= m {
        // SAFETY: rows i..i+ROWS exist in `a` and `out` (asserted above).
        unsafe {
            row_blocks::<S, ROWS>(
                a.as_ptr().add(i * lda),
                lda,
                w,
                out.as_mut_ptr().add(i * ldo),
                ldo,
                init,
                nv,
                reverse,
            )
        };
        i += ROWS;
    }
    // SAFETY: as above, for the remaining rows.
    unsafe {
        let (ap, op) = (a.as_ptr().add(i * lda), out.as_mut_ptr().add(i * ldo));
        match m - i {
            1 => row_blocks::<S, 1>(ap, lda, w, op, ldo, init, nv, reverse),
            2 => row_blocks::<S, 2>(ap, lda, w, op, ldo, init, nv, reverse),
            3 => row_blocks::<S, 3>(ap, lda, w, op, ldo, init, nv, reverse),
            _ => {}
        }
    }
}

/// All column blocks of one row, in tiles of up to 16 vectors.
#[inline(always)]
unsafe fn one_row<S: Simd>(a: *const f32, w: &Matrix, out: *mut f32, init: Init<'_>, reverse: bool) {
    let width = 16 * S::LANES;
    let blocks = w.n.div_ceil(width);
    for block in 0..blocks {
        let j = if reverse { blocks - 1 - block } else { block } * width;
        let cols = (w.n - j).min(width);
        // SAFETY: the caller's bounds; `j + vectors·LANES ≤ ld` because `ld` is a multiple of 16.
        unsafe {
            match cols.div_ceil(S::LANES) {
                1 => tile::<S, 1, 1>(a, 0, w, j, cols, out, 0, init, reverse),
                2 => tile::<S, 1, 2>(a, 0, w, j, cols, out, 0, init, reverse),
                3 => tile::<S, 1, 3>(a, 0, w, j, cols, out, 0, init, reverse),
                4 => tile::<S, 1, 4>(a, 0, w, j, cols, out, 0, init, reverse),
                5 => tile::<S, 1, 5>(a, 0, w, j, cols, out, 0, init, reverse),
                6 => tile::<S, 1, 6>(a, 0, w, j, cols, out, 0, init, reverse),
                7 => tile::<S, 1, 7>(a, 0, w, j, cols, out, 0, init, reverse),
                8 => tile::<S, 1, 8>(a, 0, w, j, cols, out, 0, init, reverse),
                9 => tile::<S, 1, 9>(a, 0, w, j, cols, out, 0, init, reverse),
                10 => tile::<S, 1, 10>(a, 0, w, j, cols, out, 0, init, reverse),
                11 => tile::<S, 1, 11>(a, 0, w, j, cols, out, 0, init, reverse),
                12 => tile::<S, 1, 12>(a, 0, w, j, cols, out, 0, init, reverse),
                13 => tile::<S, 1, 13>(a, 0, w, j, cols, out, 0, init, reverse),
                14 => tile::<S, 1, 14>(a, 0, w, j, cols, out, 0, init, reverse),
                15 => tile::<S, 1, 15>(a, 0, w, j, cols, out, 0, init, reverse),
                _ => tile::<S, 1, 16>(a, 0, w, j, cols, out, 0, init, reverse),
            }
        }
    }
}

/// All column blocks of `R` rows.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn row_blocks<S: Simd, const R: usize>(
    a: *const f32,
    lda: usize,
    w: &Matrix,
    out: *mut f32,
    ldo: usize,
    init: Init<'_>,
    nv: usize,
    reverse: bool,
) {
    let width = nv * S::LANES;
    let blocks = w.n.div_ceil(width);
    for block in 0..blocks {
        let j = if reverse { blocks - 1 - block } else { block } * width;
        let cols = (w.n - j).min(width);
        let vectors = cols.div_ceil(S::LANES);
        // SAFETY: the caller's bounds; `j + vectors·LANES ≤ ld` because `ld` is a multiple of 16.
        unsafe {
            match vectors {
                1 => tile::<S, R, 1>(a, lda, w, j, cols, out, ldo, init, reverse),
                2 => tile::<S, R, 2>(a, lda, w, j, cols, out, ldo, init, reverse),
                3 => tile::<S, R, 3>(a, lda, w, j, cols, out, ldo, init, reverse),
                4 => tile::<S, R, 4>(a, lda, w, j, cols, out, ldo, init, reverse),
                5 => tile::<S, R, 5>(a, lda, w, j, cols, out, ldo, init, reverse),
                6 => tile::<S, R, 6>(a, lda, w, j, cols, out, ldo, init, reverse),
                7 => tile::<S, R, 7>(a, lda, w, j, cols, out, ldo, init, reverse),
                _ => tile::<S, R, 8>(a, lda, w, j, cols, out, ldo, init, reverse),
            }
        }
    }
}

/// One register tile: `R` rows × `NV` vectors starting at column `j`, of
/// which `cols` are stored.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile<S: Simd, const R: usize, const NV: usize>(
    a: *const f32,
    lda: usize,
    w: &Matrix,
    j: usize,
    cols: usize,
    out: *mut f32,
    ldo: usize,
    init: Init<'_>,
    reverse: bool,
) {
    let l = S::LANES;
    let full = cols == NV * l;
    let mut acc = [[S::zero(); NV]; R];
    // SAFETY (whole body): rows < R of `a` hold ≥ k floats, rows < R of `out` hold ≥ j + cols floats,
    // `w` rows hold ≥ j + NV·LANES floats (padding), the bias too.
    unsafe {
        match init {
            Init::Zero => {}
            Init::Bias(b) => {
                for v in 0..NV {
                    let bv = S::load(b.as_ptr().add(j + v * l));
                    for row in acc.iter_mut() {
                        row[v] = bv;
                    }
                }
            }
            Init::Accumulate => {
                for (r, row) in acc.iter_mut().enumerate() {
                    let o = out.add(r * ldo + j);
                    if full {
                        for (v, x) in row.iter_mut().enumerate() {
                            *x = S::load(o.add(v * l));
                        }
                    } else {
                        let mut tmp = [0f32; 256];
                        core::ptr::copy_nonoverlapping(o, tmp.as_mut_ptr(), cols);
                        for (v, x) in row.iter_mut().enumerate() {
                            *x = S::load(tmp.as_ptr().add(v * l));
                        }
                    }
                }
            }
        }
        let last = w.k.saturating_sub(1);
        for step in 0..w.k {
            let kk = if reverse { last - step } else { step };
            let wp = w.data.as_ptr().add(kk * w.ld + j);
            let mut wv = [S::zero(); NV];
            for (v, x) in wv.iter_mut().enumerate() {
                *x = S::load(wp.add(v * l));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let av = S::splat(*a.add(r * lda + kk));
                for v in 0..NV {
                    row[v] = S::fma(av, wv[v], row[v]);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            let o = out.add(r * ldo + j);
            if full {
                for (v, x) in row.iter().enumerate() {
                    S::store(o.add(v * l), *x);
                }
            } else {
                let mut tmp = [0f32; 256];
                for (v, x) in row.iter().enumerate() {
                    S::store(tmp.as_mut_ptr().add(v * l), *x);
                }
                core::ptr::copy_nonoverlapping(tmp.as_ptr(), o, cols);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::Isa;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n as u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / 8_388_608.0) - 1.0)
            .collect()
    }

    fn run<S: Simd>(m: usize, a: &[f32], lda: usize, w: &Matrix, out: &mut [f32], ldo: usize, init: Init<'_>) {
        gemm::<S>(m, a, lda, w, out, ldo, init)
    }

    crate::isa_fn! {
        fn run_on(m: usize, a: &[f32], lda: usize, w: &Matrix, out: &mut [f32], ldo: usize, init: Init<'_>) -> () = run;
    }

    #[test]
    fn every_instruction_set_matches_plain_loops() {
        for isa in Isa::available() {
            for (m, k, n) in [(1, 1, 1), (1, 50, 200), (3, 7, 17), (4, 64, 200), (29, 64, 200), (9, 3, 130), (6, 5, 16)]
            {
                let lda = k + 2;
                let a = values(m * lda, 1);
                let wv = values(k * n, 2);
                let w = Matrix::new(k, n, &wv);
                let bias = pad_bias(&values(n, 3));
                let ldo = n + 3;
                let start = values(m * ldo, 4);
                for mode in 0..3 {
                    let mut out = start.clone();
                    let init = [Init::Zero, Init::Bias(&bias), Init::Accumulate][mode];
                    run_on(isa, m, &a, lda, &w, &mut out, ldo, init);
                    for i in 0..m {
                        for j in 0..ldo {
                            let got = out[i * ldo + j];
                            if j >= n {
                                assert_eq!(got, start[i * ldo + j], "{isa} wrote past column {n}");
                                continue;
                            }
                            let base = [0.0, bias[j], start[i * ldo + j]][mode];
                            let want = (0..k).fold(base, |s, kk| s + a[i * lda + kk] * wv[kk * n + j]);
                            assert!(
                                (got - want).abs() < 1e-4,
                                "{isa} {m}x{k}x{n} mode {mode} ({i},{j}): {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}
