//! Run-time choice of instruction set for the fused kernels.
//!
//! [`simd_dispatch!`] calls a function compiled three times: for AVX-512,
//! for AVX2 with FMA, and for the baseline target, choosing the best the CPU
//! supports when called. The function must be `#[inline(always)]` so each
//! copy is vectorised for its instruction set.

/// `simd_dispatch!(f(args..))`: calls `f` compiled for the best instruction
/// set this CPU has.
macro_rules! simd_dispatch {
    ($f:ident($($arg:expr),* $(,)?)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            fn v4<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            fn v3<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above), which implies AVX2 and FMA.
                return unsafe { v4(|| $f($($arg),*)) };
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                return unsafe { v3(|| $f($($arg),*)) };
            }
        }
        $f($($arg),*)
    }};
}

pub(crate) use simd_dispatch;
