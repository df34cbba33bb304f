//! The matrix kernel every layer runs on: `out = init + a·w` with `w`
//! packed once at load time (rows padded to a multiple of 16 floats, so every
//! vector load is whole) and a register tile of rows × vectors.

#![allow(unsafe_code)]

use alloc::vec;
use alloc::vec::Vec;

use crate::simd::{Kernel, Simd};

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
    S::run(Call { m, a, lda, w, out, ldo, init, reverse: false })
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
    S::run(Call { m, a, lda, w, out, ldo, init, reverse: true })
}

/// One call of the kernel, as [`Simd::run`] hands it to the instruction set's compiled copy.
struct Call<'a, 'o> {
    m: usize,
    a: &'a [f32],
    lda: usize,
    w: &'a Matrix,
    out: &'o mut [f32],
    ldo: usize,
    init: Init<'a>,
    reverse: bool,
}

impl Kernel for Call<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self) {
        gemm_body::<S>(self.m, self.a, self.lda, self.w, self.out, self.ldo, self.init, self.reverse)
    }
}

/// The body of [`gemm`], inlined once into each instruction set's copy.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gemm_body<S: Simd>(
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
    // A last partial vector that fits in half a vector is done with half vectors (AVX-512: 200 columns are
    // 12 vectors and a half, not 13 vectors of which a sixteenth is padding).
    let tail = w.n % S::LANES;
    let tail = if S::Half::LANES < S::LANES && tail != 0 && tail <= S::Half::LANES { tail } else { 0 };
    let n = w.n - tail;
    if m == 1 {
        // One row (a recurrence step): up to 16 vectors per tile, so each weight row is read once, front to
        // back, and many independent sums are in flight.
        // SAFETY: bounds asserted above; weights and bias padded to `ld`; the tail is within `w.n`.
        unsafe {
            if reverse && tail > 0 {
                tile::<S::Half, 1, 1>(a.as_ptr(), 0, w, n, tail, out.as_mut_ptr(), 0, init, reverse);
            }
            one_row::<S>(a.as_ptr(), w, n, out.as_mut_ptr(), init, reverse);
            if !reverse && tail > 0 {
                tile::<S::Half, 1, 1>(a.as_ptr(), 0, w, n, tail, out.as_mut_ptr(), 0, init, reverse);
            }
        }
        return;
    }
    let width = S::TILE_VECTORS * S::LANES;
    let blocks = n.div_ceil(width);
    for block in 0..blocks {
        // Column blocks outer, rows inner: one block of weights (k × width) stays in L1 while every row uses it.
        let j = if reverse { blocks - 1 - block } else { block } * width;
        let cols = (n - j).min(width);
        // SAFETY: rows < m exist in `a` and `out` (asserted above); columns j..j+cols are within `w.n`.
        unsafe { rows::<S>(m, a, lda, w, j, cols, out, ldo, init, reverse) };
    }
    if tail > 0 {
        // SAFETY: as above, for the tail columns.
        unsafe { rows::<S::Half>(m, a, lda, w, n, tail, out, ldo, init, reverse) };
    }
}

/// Columns `j..j + cols` of every row, in tiles of [`ROWS`] rows.
///
/// # Safety
/// `m` rows of `a` and `out` must exist and `j + cols ≤ w.n`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn rows<S: Simd>(
    m: usize,
    a: &[f32],
    lda: usize,
    w: &Matrix,
    j: usize,
    cols: usize,
    out: &mut [f32],
    ldo: usize,
    init: Init<'_>,
    reverse: bool,
) {
    let (a, out) = (a.as_ptr(), out.as_mut_ptr());
    let mut i = 0;
    // SAFETY (whole body): the caller's bounds.
    unsafe {
        while i + ROWS <= m {
            block_tile::<S, ROWS>(a.add(i * lda), lda, w, j, cols, out.add(i * ldo), ldo, init, reverse);
            i += ROWS;
        }
        let (ap, op) = (a.add(i * lda), out.add(i * ldo));
        match m - i {
            1 => block_tile::<S, 1>(ap, lda, w, j, cols, op, ldo, init, reverse),
            2 => block_tile::<S, 2>(ap, lda, w, j, cols, op, ldo, init, reverse),
            3 => block_tile::<S, 3>(ap, lda, w, j, cols, op, ldo, init, reverse),
            _ => {}
        }
    }
}

/// One tile of `R` rows at column block `j` (`cols` columns).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block_tile<S: Simd, const R: usize>(
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
    // SAFETY: the caller's bounds; `j + vectors·LANES ≤ ld` because `ld` is a multiple of 16.
    unsafe {
        match cols.div_ceil(S::LANES) {
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

/// Columns `..n` of one row, in tiles of up to 16 vectors.
#[inline(always)]
unsafe fn one_row<S: Simd>(a: *const f32, w: &Matrix, n: usize, out: *mut f32, init: Init<'_>, reverse: bool) {
    let width = 16 * S::LANES;
    let blocks = n.div_ceil(width);
    for block in 0..blocks {
        let j = if reverse { blocks - 1 - block } else { block } * width;
        let cols = (n - j).min(width);
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
    // Columns of the last vector when it is partial.
    let tail = cols - (NV - 1) * l;
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
                    for (v, x) in row.iter_mut().enumerate() {
                        *x = if v + 1 < NV || full { S::load(o.add(v * l)) } else { S::load_first(o.add(v * l), tail) };
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
            for (v, x) in row.iter().enumerate() {
                if v + 1 < NV || full {
                    S::store(o.add(v * l), *x);
                } else {
                    S::store_first(o.add(v * l), *x, tail);
                }
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
