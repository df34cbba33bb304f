//! Instruction sets, chosen at run time.
//!
//! [`Simd`] is the handful of vector operations the matrix kernels need,
//! implemented for AVX-512, AVX2 + FMA and SSE2 on x86-64, NEON on aarch64,
//! and plain `f32` everywhere. Kernels are generic over it and
//! `#[inline(always)]`; [`dispatch!`] instantiates them inside a function
//! compiled for the instruction set found when the model was loaded, so the
//! element-wise loops around the kernels are vectorised for it as well.
//!
//! With the `std` feature the CPU is asked at run time; without it (bare
//! metal), the instruction sets the build targets are used.

#![allow(unsafe_code)]

use core::fmt;

use crate::gemm::{Init, Matrix};

/// An instruction set the kernels are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// Plain `f32` code (any CPU).
    Scalar,
    /// x86-64 SSE2 (every x86-64 CPU), 4 lanes, no fused multiply-add.
    Sse2,
    /// x86-64 AVX2 with FMA, 8 lanes.
    Avx2,
    /// x86-64 AVX-512F, 16 lanes.
    Avx512,
    /// aarch64 NEON, 4 lanes with fused multiply-add.
    Neon,
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Isa::Scalar => "scalar",
            Isa::Sse2 => "sse2",
            Isa::Avx2 => "avx2+fma",
            Isa::Avx512 => "avx512f",
            Isa::Neon => "neon",
        })
    }
}

impl Isa {
    /// The best instruction set this CPU supports.
    pub fn detect() -> Isa {
        #[cfg(all(target_arch = "x86_64", feature = "std"))]
        {
            if std::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
            Isa::Sse2
        }
        #[cfg(all(target_arch = "x86_64", not(feature = "std")))]
        {
            if cfg!(target_feature = "avx512f") {
                return Isa::Avx512;
            }
            if cfg!(all(target_feature = "avx2", target_feature = "fma")) {
                return Isa::Avx2;
            }
            Isa::Sse2
        }
        #[cfg(target_arch = "aarch64")]
        {
            Isa::Neon
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            Isa::Scalar
        }
    }

    /// Every instruction set this CPU can run, best first (for tests and benchmarks).
    pub fn available() -> alloc::vec::Vec<Isa> {
        let best = Isa::detect();
        let mut all = alloc::vec![best];
        #[cfg(target_arch = "x86_64")]
        for isa in [Isa::Avx2, Isa::Sse2] {
            if isa < best {
                all.push(isa);
            }
        }
        all.push(Isa::Scalar);
        all.dedup();
        all
    }
}

/// The vector operations of the kernels. Every method is `unsafe` only
/// because it must run on a CPU with the instruction set; [`dispatch!`]
/// guarantees that.
pub trait Simd: Copy {
    /// One vector of `LANES` floats.
    type V: Copy;
    /// Floats per vector.
    const LANES: usize;
    /// Vectors per row of the matrix kernel's register tile.
    const TILE_VECTORS: usize;
    /// All lanes zero.
    fn zero() -> Self::V;
    /// All lanes `x`.
    fn splat(x: f32) -> Self::V;
    /// Loads `LANES` floats from `p`.
    ///
    /// # Safety
    /// `p` must be valid for `LANES` reads.
    unsafe fn load(p: *const f32) -> Self::V;
    /// Stores `LANES` floats to `p`.
    ///
    /// # Safety
    /// `p` must be valid for `LANES` writes.
    unsafe fn store(p: *mut f32, v: Self::V);
    /// `a·b + c` (fused where the instruction set has it).
    fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// [`crate::gemm::gemm`] compiled for this instruction set.
    fn gemm(m: usize, a: &[f32], lda: usize, w: &Matrix, out: &mut [f32], ldo: usize, init: Init<'_>);
}

/// Plain `f32`, one lane.
#[derive(Debug, Clone, Copy)]
pub struct Scalar;

impl Simd for Scalar {
    type V = f32;
    const LANES: usize = 1;
    const TILE_VECTORS: usize = 4;
    #[inline(always)]
    fn zero() -> f32 {
        0.0
    }
    #[inline(always)]
    fn splat(x: f32) -> f32 {
        x
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> f32 {
        // SAFETY: the caller guarantees one readable float.
        unsafe { *p }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: f32) {
        // SAFETY: the caller guarantees one writable float.
        unsafe { *p = v }
    }
    #[inline(always)]
    fn fma(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(never)]
    fn gemm(m: usize, a: &[f32], lda: usize, w: &Matrix, out: &mut [f32], ldo: usize, init: Init<'_>) {
        crate::gemm::gemm_body::<Scalar>(m, a, lda, w, out, ldo, init)
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use super::Simd;
    use crate::gemm::{Init, Matrix};

    /// SSE2, 4 lanes.
    #[derive(Debug, Clone, Copy)]
    pub struct Sse2;

    impl Simd for Sse2 {
        type V = __m128;
        const LANES: usize = 4;
        const TILE_VECTORS: usize = 3;
        #[inline(always)]
        fn zero() -> __m128 {
            // SAFETY: SSE2 is part of x86-64.
            unsafe { _mm_setzero_ps() }
        }
        #[inline(always)]
        fn splat(x: f32) -> __m128 {
            // SAFETY: SSE2 is part of x86-64.
            unsafe { _mm_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m128 {
            // SAFETY: the caller guarantees 4 readable floats.
            unsafe { _mm_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m128) {
            // SAFETY: the caller guarantees 4 writable floats.
            unsafe { _mm_storeu_ps(p, v) }
        }
        #[inline(always)]
        fn fma(a: __m128, b: __m128, c: __m128) -> __m128 {
            // SAFETY: SSE2 is part of x86-64.
            unsafe { _mm_add_ps(_mm_mul_ps(a, b), c) }
        }
        #[inline(never)]
        fn gemm(m: usize, a: &[f32], lda: usize, w: &Matrix, out: &mut [f32], ldo: usize, init: Init<'_>) {
            crate::gemm::gemm_body::<Sse2>(m, a, lda, w, out, ldo, init)
        }
    }

    /// AVX2 with FMA, 8 lanes.
    #[derive(Debug, Clone, Copy)]
    pub struct Avx2;

    impl Simd for Avx2 {
        type V = __m256;
        const LANES: usize = 8;
        const TILE_VECTORS: usize = 3;
        #[inline(always)]
        fn zero() -> __m256 {
            // SAFETY: only reached through `dispatch!` on a CPU with AVX2 and FMA.
            unsafe { _mm256_setzero_ps() }
        }
        #[inline(always)]
        fn splat(x: f32) -> __m256 {
            // SAFETY: as above.
            unsafe { _mm256_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            // SAFETY: the caller guarantees 8 readable floats and the instruction set.
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            // SAFETY: the caller guarantees 8 writable floats and the instruction set.
            unsafe { _mm256_storeu_ps(p, v) }
        }
        #[inline(always)]
        fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
            // SAFETY: only reached through `dispatch!` on a CPU with AVX2 and FMA.
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }
        #[inline]
        fn gemm(m: usize, a: &[f32], lda: usize, w: &Matrix, out: &mut [f32], ldo: usize, init: Init<'_>) {
            #[target_feature(enable = "avx2,fma")]
            fn imp(m: usize, a: &[f32], lda: usize, w: &Matrix, out: &mut [f32], ldo: usize, init: Init<'_>) {
                crate::gemm::gemm_body::<Avx2>(m, a, lda, w, out, ldo, init)
            }
            // SAFETY: `Avx2` is only used through `dispatch!` on a CPU with these features.
            unsafe { imp(m, a, lda, w, out, ldo, init) }
        }
    }

    /// AVX-512F, 16 lanes.
    #[derive(Debug, Clone, Copy)]
    pub struct Avx512;

    impl Simd for Avx512 {
        type V = __m512;
        const LANES: usize = 16;
        const TILE_VECTORS: usize = 4;
        #[inline(always)]
        fn zero() -> __m512 {
            // SAFETY: only reached through `dispatch!` on a CPU with AVX-512F.
            unsafe { _mm512_setzero_ps() }
        }
        #[inline(always)]
        fn splat(x: f32) -> __m512 {
            // SAFETY: as above.
            unsafe { _mm512_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            // SAFETY: the caller guarantees 16 readable floats and the instruction set.
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            // SAFETY: the caller guarantees 16 writable floats and the instruction set.
            unsafe { _mm512_storeu_ps(p, v) }
        }
        #[inline(always)]
        fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
            // SAFETY: only reached through `dispatch!` on a CPU with AVX-512F.
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline]
        fn gemm(m: usize, a: &[f32], lda: usize, w: &Matrix, out: &mut [f32], ldo: usize, init: Init<'_>) {
            #[target_feature(enable = "avx512f,avx2,fma")]
            fn imp(m: usize, a: &[f32], lda: usize, w: &Matrix, out: &mut [f32], ldo: usize, init: Init<'_>) {
                crate::gemm::gemm_body::<Avx512>(m, a, lda, w, out, ldo, init)
            }
            // SAFETY: `Avx512` is only used through `dispatch!` on a CPU with these features.
            unsafe { imp(m, a, lda, w, out, ldo, init) }
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2, Avx512, Sse2};

#[cfg(target_arch = "aarch64")]
mod arm {
    use core::arch::aarch64::*;

    use super::Simd;
    use crate::gemm::{Init, Matrix};

    /// NEON, 4 lanes with fused multiply-add.
    #[derive(Debug, Clone, Copy)]
    pub struct Neon;

    impl Simd for Neon {
        type V = float32x4_t;
        const LANES: usize = 4;
        const TILE_VECTORS: usize = 4;
        #[inline(always)]
        fn zero() -> float32x4_t {
            // SAFETY: NEON is part of aarch64.
            unsafe { vdupq_n_f32(0.0) }
        }
        #[inline(always)]
        fn splat(x: f32) -> float32x4_t {
            // SAFETY: NEON is part of aarch64.
            unsafe { vdupq_n_f32(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> float32x4_t {
            // SAFETY: the caller guarantees 4 readable floats.
            unsafe { vld1q_f32(p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: float32x4_t) {
            // SAFETY: the caller guarantees 4 writable floats.
            unsafe { vst1q_f32(p, v) }
        }
        #[inline(always)]
        fn fma(a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
            // SAFETY: NEON is part of aarch64.
            unsafe { vfmaq_f32(c, a, b) }
        }
        #[inline(never)]
        fn gemm(m: usize, a: &[f32], lda: usize, w: &Matrix, out: &mut [f32], ldo: usize, init: Init<'_>) {
            crate::gemm::gemm_body::<Neon>(m, a, lda, w, out, ldo, init)
        }
    }
}

#[cfg(target_arch = "aarch64")]
pub use arm::Neon;

/// `dispatch!(isa, f::<S>(args..))`: calls the generic kernel `f` with `S`
/// the [`Simd`] type of `isa`, inside a function compiled for that
/// instruction set. `isa` must have come from [`Isa::detect`] or
/// [`Isa::available`] on this CPU.
#[macro_export]
macro_rules! dispatch {
    ($isa:expr, $f:ident::<S>($($arg:expr),* $(,)?)) => {{
        #[allow(unused_imports)]
        use $crate::simd::*;
        match $isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn __isa_run<R>(f: impl FnOnce() -> R) -> R {
                    f()
                }
                // SAFETY: `Isa::Avx512` is only produced on CPUs with AVX-512F (which implies AVX2 and FMA).
                #[allow(unsafe_code)]
                unsafe { __isa_run(|| $f::<Avx512>($($arg),*)) }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                #[target_feature(enable = "avx2,fma")]
                fn __isa_run<R>(f: impl FnOnce() -> R) -> R {
                    f()
                }
                // SAFETY: `Isa::Avx2` is only produced on CPUs with AVX2 and FMA.
                #[allow(unsafe_code)]
                unsafe { __isa_run(|| $f::<Avx2>($($arg),*)) }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Sse2 => $f::<Sse2>($($arg),*),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => $f::<Neon>($($arg),*),
            _ => $f::<Scalar>($($arg),*),
        }
    }};
}
