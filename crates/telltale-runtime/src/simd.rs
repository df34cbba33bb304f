//! Instruction sets, chosen at run time.
//!
//! [`Simd`] is the handful of vector operations the matrix kernels need,
//! implemented for AVX-512, AVX2 + FMA and SSE2 on x86-64, NEON on aarch64,
//! and plain `f32` everywhere. Kernels are generic over it and
//! `#[inline(always)]`; `isa_fn!` instantiates them inside a function
//! compiled for the instruction set found when the model was loaded, so the
//! element-wise loops around the kernels are vectorised for it as well.
//!
//! With the `std` feature the CPU is asked at run time; without it (bare
//! metal), the instruction sets the build targets are used.

#![allow(unsafe_code)]
#![allow(clippy::too_many_arguments)]

use core::fmt;

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

/// The vector operations of the kernels. An implementation may only run on
/// a CPU with its instruction set, which `isa_fn!` guarantees; `load` and
/// `store` are `unsafe` because they take raw pointers.
pub trait Simd: Copy {
    /// One vector of `LANES` floats.
    type V: Copy;
    /// Floats per vector.
    const LANES: usize;
    /// Vectors per row of the matrix kernel's register tile.
    const TILE_VECTORS: usize;
    /// The instruction set's half-width vectors (itself where it has none worth using), for a matrix's last
    /// columns.
    type Half: Simd;
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
    /// Loads the first `count` (`< LANES`) floats from `p`; the other lanes are zero.
    ///
    /// # Safety
    /// `p` must be valid for `count` reads.
    #[inline(always)]
    unsafe fn load_first(p: *const f32, count: usize) -> Self::V {
        let mut tmp = [0f32; 16];
        // SAFETY: the caller guarantees `count` readable floats; `count < LANES ≤ 16`.
        unsafe {
            core::ptr::copy_nonoverlapping(p, tmp.as_mut_ptr(), count);
            Self::load(tmp.as_ptr())
        }
    }
    /// Stores the first `count` (`< LANES`) lanes of `v` to `p`.
    ///
    /// # Safety
    /// `p` must be valid for `count` writes.
    #[inline(always)]
    unsafe fn store_first(p: *mut f32, v: Self::V, count: usize) {
        let mut tmp = [0f32; 16];
        // SAFETY: the caller guarantees `count` writable floats; `count < LANES ≤ 16`.
        unsafe {
            Self::store(tmp.as_mut_ptr(), v);
            core::ptr::copy_nonoverlapping(tmp.as_ptr(), p, count);
        }
    }
    /// `a·b + c` (fused where the instruction set has it).
    fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `a + b`.
    fn add(a: Self::V, b: Self::V) -> Self::V;
    /// `a − b`.
    fn sub(a: Self::V, b: Self::V) -> Self::V;
    /// `a · b`.
    fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// `a / b`.
    fn div(a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise maximum.
    fn max(a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise minimum.
    fn min(a: Self::V, b: Self::V) -> Self::V;
    /// `2ⁿ` from `shifted = n + 1.5·2²³` (n integral): the float whose bits are `(bits(shifted) − bits(1.5·2²³) + 127) << 23`.
    fn pow2(shifted: Self::V) -> Self::V;
    /// `p·2ⁿ` for integral `n` in [−126, 127], given both as `n` and as `shifted` = `n + 1.5·2²³`, so each
    /// instruction set takes the cheaper (AVX-512 scales in one instruction).
    #[inline(always)]
    fn ldexp(p: Self::V, n: Self::V, shifted: Self::V) -> Self::V {
        let _ = n;
        Self::mul(p, Self::pow2(shifted))
    }
    /// Runs `kernel` inside a function compiled for this instruction set, so
    /// that it and every `#[inline(always)]` function it calls are vectorised
    /// for it (the matrix kernel runs through this, one copy per instruction set).
    fn run<K: Kernel>(kernel: K) -> K::Output;
}

/// Work generic over the instruction set, handed to [`Simd::run`].
pub trait Kernel {
    /// What the work gives back.
    type Output;
    /// Does the work on instruction set `S`.
    fn run<S: Simd>(self) -> Self::Output;
}

/// Plain `f32`, one lane.
#[derive(Debug, Clone, Copy)]
pub struct Scalar;

impl Simd for Scalar {
    type V = f32;
    type Half = Scalar;
    const LANES: usize = 1;
    const TILE_VECTORS: usize = 4;
    #[inline(always)]
    fn add(a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    fn sub(a: f32, b: f32) -> f32 {
        a - b
    }
    #[inline(always)]
    fn mul(a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    fn div(a: f32, b: f32) -> f32 {
        a / b
    }
    #[inline(always)]
    fn max(a: f32, b: f32) -> f32 {
        a.max(b)
    }
    #[inline(always)]
    fn min(a: f32, b: f32) -> f32 {
        a.min(b)
    }
    #[inline(always)]
    fn pow2(shifted: f32) -> f32 {
        f32::from_bits(shifted.to_bits().wrapping_sub(0x4B40_0000).wrapping_add(127) << 23)
    }
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
    fn run<K: Kernel>(kernel: K) -> K::Output {
        kernel.run::<Scalar>()
    }
}

/// One x86-64 instruction set: its vector type, its intrinsics, and the
/// features its functions are compiled with. Every intrinsic call is safe
/// to make because the type is only used through `isa_fn!` (or its own
/// `run`, compiled with `$feat`) on a CPU that [`Isa::detect`] found to have
/// the features.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_simd {
    (
        $(#[$doc:meta])* $name:ident: $v:ty, lanes $lanes:literal, tile $tile:literal, half $half:ident,
        features $feat:literal,
        $zero:ident, $set1:ident, $loadu:ident, $storeu:ident,
        $add:ident, $sub:ident, $mul:ident, $div:ident, $max:ident, $min:ident,
        fma |$a:ident, $b:ident, $c:ident| $fma:expr,
        ints $cast_i:ident, $cast_f:ident, $add_i:ident, $sub_i:ident, $set1_i:ident, $shl23:path
        $(, masked $maskz_load:ident, $mask_store:ident, scalef $scalef:ident)?
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl Simd for $name {
            type V = $v;
            type Half = $half;
            const LANES: usize = $lanes;
            const TILE_VECTORS: usize = $tile;
            #[inline(always)]
            fn zero() -> $v {
                // SAFETY: see the macro.
                unsafe { $zero() }
            }
            #[inline(always)]
            fn splat(x: f32) -> $v {
                // SAFETY: see the macro.
                unsafe { $set1(x) }
            }
            #[inline(always)]
            unsafe fn load(p: *const f32) -> $v {
                // SAFETY: the caller guarantees `LANES` readable floats; the instruction set, see the macro.
                unsafe { $loadu(p) }
            }
            #[inline(always)]
            unsafe fn store(p: *mut f32, v: $v) {
                // SAFETY: the caller guarantees `LANES` writable floats; the instruction set, see the macro.
                unsafe { $storeu(p, v) }
            }
            $(
            #[inline(always)]
            unsafe fn load_first(p: *const f32, count: usize) -> $v {
                // SAFETY: the mask covers the `count` floats the caller guarantees; the instruction set, see the macro.
                unsafe { $maskz_load(((1u32 << count) - 1) as u16, p) }
            }
            #[inline(always)]
            unsafe fn store_first(p: *mut f32, v: $v, count: usize) {
                // SAFETY: the mask covers the `count` floats the caller guarantees; the instruction set, see the macro.
                unsafe { $mask_store(p, ((1u32 << count) - 1) as u16, v) }
            }
            #[inline(always)]
            fn ldexp(p: $v, n: $v, _shifted: $v) -> $v {
                // SAFETY: see the macro.
                unsafe { $scalef(p, n) }
            }
            )?
            #[inline(always)]
            fn fma($a: $v, $b: $v, $c: $v) -> $v {
                // SAFETY: see the macro.
                unsafe { $fma }
            }
            #[inline(always)]
            fn add(a: $v, b: $v) -> $v {
                // SAFETY: see the macro.
                unsafe { $add(a, b) }
            }
            #[inline(always)]
            fn sub(a: $v, b: $v) -> $v {
                // SAFETY: see the macro.
                unsafe { $sub(a, b) }
            }
            #[inline(always)]
            fn mul(a: $v, b: $v) -> $v {
                // SAFETY: see the macro.
                unsafe { $mul(a, b) }
            }
            #[inline(always)]
            fn div(a: $v, b: $v) -> $v {
                // SAFETY: see the macro.
                unsafe { $div(a, b) }
            }
            #[inline(always)]
            fn max(a: $v, b: $v) -> $v {
                // SAFETY: see the macro.
                unsafe { $max(a, b) }
            }
            #[inline(always)]
            fn min(a: $v, b: $v) -> $v {
                // SAFETY: see the macro.
                unsafe { $min(a, b) }
            }
            #[inline(always)]
            fn pow2(shifted: $v) -> $v {
                // SAFETY: see the macro.
                unsafe { $cast_f($shl23($add_i($sub_i($cast_i(shifted), $set1_i(0x4B40_0000)), $set1_i(127)))) }
            }
            #[inline]
            fn run<K: Kernel>(kernel: K) -> K::Output {
                #[target_feature(enable = $feat)]
                fn imp<K: Kernel>(kernel: K) -> K::Output {
                    kernel.run::<$name>()
                }
                // SAFETY: see the macro.
                unsafe { imp(kernel) }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use super::{Kernel, Simd};

    x86_simd! {
        /// SSE2 (every x86-64 CPU), 4 lanes, no fused multiply-add.
        Sse2: __m128, lanes 4, tile 3, half Sse2, features "sse2",
        _mm_setzero_ps, _mm_set1_ps, _mm_loadu_ps, _mm_storeu_ps,
        _mm_add_ps, _mm_sub_ps, _mm_mul_ps, _mm_div_ps, _mm_max_ps, _mm_min_ps,
        fma |a, b, c| _mm_add_ps(_mm_mul_ps(a, b), c),
        ints _mm_castps_si128, _mm_castsi128_ps, _mm_add_epi32, _mm_sub_epi32, _mm_set1_epi32, _mm_slli_epi32::<23>
    }

    x86_simd! {
        /// AVX2 with FMA, 8 lanes.
        Avx2: __m256, lanes 8, tile 3, half Avx2, features "avx2,fma",
        _mm256_setzero_ps, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps,
        _mm256_add_ps, _mm256_sub_ps, _mm256_mul_ps, _mm256_div_ps, _mm256_max_ps, _mm256_min_ps,
        fma |a, b, c| _mm256_fmadd_ps(a, b, c),
        ints _mm256_castps_si256, _mm256_castsi256_ps, _mm256_add_epi32, _mm256_sub_epi32, _mm256_set1_epi32,
            _mm256_slli_epi32::<23>
    }

    x86_simd! {
        /// AVX-512F, 16 lanes.
        Avx512: __m512, lanes 16, tile 4, half Avx2, features "avx512f,avx2,fma",
        _mm512_setzero_ps, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps,
        _mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps, _mm512_div_ps, _mm512_max_ps, _mm512_min_ps,
        fma |a, b, c| _mm512_fmadd_ps(a, b, c),
        ints _mm512_castps_si512, _mm512_castsi512_ps, _mm512_add_epi32, _mm512_sub_epi32, _mm512_set1_epi32,
            _mm512_slli_epi32::<23>,
        masked _mm512_maskz_loadu_ps, _mm512_mask_storeu_ps, scalef _mm512_scalef_ps
    }
}

#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2, Avx512, Sse2};

#[cfg(target_arch = "aarch64")]
mod arm {
    use core::arch::aarch64::*;

    use super::{Kernel, Simd};

    /// NEON, 4 lanes with fused multiply-add.
    #[derive(Debug, Clone, Copy)]
    pub struct Neon;

    impl Simd for Neon {
        type V = float32x4_t;
        type Half = Neon;
        const LANES: usize = 4;
        const TILE_VECTORS: usize = 4;
        #[inline(always)]
        fn add(a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: NEON is part of aarch64.
            unsafe { vaddq_f32(a, b) }
        }
        #[inline(always)]
        fn sub(a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: NEON is part of aarch64.
            unsafe { vsubq_f32(a, b) }
        }
        #[inline(always)]
        fn mul(a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: NEON is part of aarch64.
            unsafe { vmulq_f32(a, b) }
        }
        #[inline(always)]
        fn div(a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: NEON is part of aarch64.
            unsafe { vdivq_f32(a, b) }
        }
        #[inline(always)]
        fn max(a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: NEON is part of aarch64.
            unsafe { vmaxq_f32(a, b) }
        }
        #[inline(always)]
        fn min(a: Self::V, b: Self::V) -> Self::V {
            // SAFETY: NEON is part of aarch64.
            unsafe { vminq_f32(a, b) }
        }
        #[inline(always)]
        fn pow2(shifted: Self::V) -> Self::V {
            // SAFETY: NEON is part of aarch64.
            unsafe {
                let bits = vsubq_s32(vreinterpretq_s32_f32(shifted), vdupq_n_s32(0x4B40_0000));
                vreinterpretq_f32_s32(vshlq_n_s32::<23>(vaddq_s32(bits, vdupq_n_s32(127))))
            }
        }
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
        fn run<K: Kernel>(kernel: K) -> K::Output {
            kernel.run::<Neon>()
        }
    }
}

#[cfg(target_arch = "aarch64")]
pub use arm::Neon;

/// `isa_fn! { pub fn name(a: A, b: B) -> R = generic; }` defines `name(isa, a, b)`,
/// which calls `generic::<S>(a, b)` with `S` the [`Simd`] type of `isa`,
/// inside a function compiled for that instruction set: `generic` and every
/// `#[inline(always)]` function it calls are inlined there and vectorised for
/// it. `isa` must come from [`Isa::detect`] or [`Isa::available`] on this CPU.
#[macro_export]
macro_rules! isa_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty = $generic:ident;) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name(isa: $crate::simd::Isa, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            fn avx512($($arg: $ty),*) -> $ret {
                $generic::<$crate::simd::Avx512>($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            fn avx2($($arg: $ty),*) -> $ret {
                $generic::<$crate::simd::Avx2>($($arg),*)
            }
            match isa {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `Isa::Avx512` is only produced on CPUs with AVX-512F (which implies AVX2 and FMA).
                $crate::simd::Isa::Avx512 => {
                    #[allow(unsafe_code)]
                    unsafe {
                        avx512($($arg),*)
                    }
                }
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `Isa::Avx2` is only produced on CPUs with AVX2 and FMA.
                $crate::simd::Isa::Avx2 => {
                    #[allow(unsafe_code)]
                    unsafe {
                        avx2($($arg),*)
                    }
                }
                #[cfg(target_arch = "x86_64")]
                $crate::simd::Isa::Sse2 => $generic::<$crate::simd::Sse2>($($arg),*),
                #[cfg(target_arch = "aarch64")]
                $crate::simd::Isa::Neon => $generic::<$crate::simd::Neon>($($arg),*),
                _ => $generic::<$crate::simd::Scalar>($($arg),*),
            }
        }
    };
}
