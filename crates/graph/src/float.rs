//! The element types a tensor can hold.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// Implemented only here: the tape cell's safety argument relies on op arithmetic never
/// calling code outside this crate (see `tape_cell.rs`), so no other type may be a [`Float`].
mod sealed {
    use crate::tensor::pool::Pool;
    use std::cell::RefCell;

    pub trait Sealed: Sized + 'static {
        /// Runs `f` on this thread's pool of `Self` buffers; `None` while the thread exits
        /// (its pool is gone) or if the pool is in use.
        fn with_pool<R>(f: impl FnOnce(&mut Pool<Self>) -> R) -> Option<R>;
        /// The elements as `f32`s when `Self` is `f32` (for kernels written for it alone).
        fn as_f32(data: &[Self]) -> Option<&[f32]>;
        /// As [`Sealed::as_f32`], for writing.
        fn as_f32_mut(data: &mut [Self]) -> Option<&mut [f32]>;
    }

    macro_rules! sealed {
        ($t:ty, $pool:ident, $as_f32:expr, $as_f32_mut:expr) => {
            thread_local! {
                static $pool: RefCell<Pool<$t>> = const { RefCell::new(Pool::new()) };
            }
            impl Sealed for $t {
                fn with_pool<R>(f: impl FnOnce(&mut Pool<Self>) -> R) -> Option<R> {
                    $pool.try_with(|pool| pool.try_borrow_mut().ok().map(|mut pool| f(&mut pool))).ok().flatten()
                }
                fn as_f32(data: &[Self]) -> Option<&[f32]> {
                    $as_f32(data)
                }
                fn as_f32_mut(data: &mut [Self]) -> Option<&mut [f32]> {
                    $as_f32_mut(data)
                }
            }
        };
    }
    sealed!(f32, F32_POOL, Some, Some);
    sealed!(f64, F64_POOL, |_| None, |_| None);
}

/// A floating-point element type: implemented for `f32` and `f64`, and sealed (no other crate
/// can implement it).
///
/// `f64` is what gradient checks and micrograd-style scalar code use; `f32` is what
/// tensor models train in.
pub trait Float:
    sealed::Sealed
    + Copy
    + Default
    + Debug
    + Display
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
{
    /// The type's name as it appears in messages and file headers (`"f32"`, `"f64"`).
    const NAME: &'static str;
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// Positive infinity.
    const INFINITY: Self;
    /// Negative infinity.
    const NEG_INFINITY: Self;
    /// Converts from `f64`, rounding when `Self` is narrower.
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;
    /// Converts from a count or index.
    fn from_usize(v: usize) -> Self {
        Self::from_f64(v as f64)
    }
    /// e^self (`f32`: a branch-free kernel within 1 ulp, 0 where the result would be
    /// subnormal; `f64`: the standard library's).
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// ln(1 + self), accurate for small values.
    fn ln_1p(self) -> Self;
    /// e^self − 1, accurate for small values.
    fn exp_m1(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Sine.
    fn sin(self) -> Self;
    /// Cosine.
    fn cos(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// The error function.
    fn erf(self) -> Self;
    /// The complementary error function 1 − erf(self), accurate where erf is near 1 (`f32`:
    /// a branch-free kernel, relative error below 10⁻⁶; `f64`: libm).
    fn erfc(self) -> Self;
    /// The Gaussian e^(−self²) (`f32`: a branch-free kernel, within 2 ulp of e^(−x²) computed
    /// from the rounded x²).
    fn gauss(self) -> Self;
    /// self raised to a floating-point power.
    fn powf(self, p: Self) -> Self;
    /// The larger of two values (NaN-propagating is not guaranteed).
    fn max(self, o: Self) -> Self;
    /// The smaller of two values.
    fn min(self, o: Self) -> Self;
    /// `self·a + b` rounded once (a fused multiply-add: one instruction where the CPU has FMA
    /// and the calling code is compiled for it, a slow exact software routine otherwise).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// True when the value is NaN.
    fn is_nan(self) -> bool;
    /// True when the value is neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// `c = a·b` (or `c += a·b` when `accumulate`) on strided layouts (row stride, column
    /// stride, in elements), on the calling thread.
    ///
    /// # Safety
    /// The pointers and strides must describe valid `m×k`, `k×n` and `m×n` matrices, and `c`
    /// must not overlap `a` or `b`.
    #[allow(clippy::too_many_arguments)]
    #[doc(hidden)]
    unsafe fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        c: *mut Self,
        rsc: isize,
        csc: isize,
        accumulate: bool,
    );
}

macro_rules! impl_float {
    ($t:ident, $exp:path, $erf:path, $erfc:path, $gauss:path) => {
        impl Float for $t {
            const NAME: &'static str = stringify!($t);
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const INFINITY: Self = $t::INFINITY;
            const NEG_INFINITY: Self = $t::NEG_INFINITY;
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                $t::ln(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                $t::ln_1p(self)
            }
            #[inline(always)]
            fn exp_m1(self) -> Self {
                $t::exp_m1(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                $t::sqrt(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                $t::abs(self)
            }
            #[inline(always)]
            fn sin(self) -> Self {
                $t::sin(self)
            }
            #[inline(always)]
            fn cos(self) -> Self {
                $t::cos(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $t::tanh(self)
            }
            #[inline(always)]
            fn erf(self) -> Self {
                $erf(self)
            }
            #[inline(always)]
            fn erfc(self) -> Self {
                $erfc(self)
            }
            #[inline(always)]
            fn gauss(self) -> Self {
                $gauss(self)
            }
            #[inline(always)]
            fn powf(self, p: Self) -> Self {
                $t::powf(self, p)
            }
            #[inline(always)]
            fn max(self, o: Self) -> Self {
                $t::max(self, o)
            }
            #[inline(always)]
            fn min(self, o: Self) -> Self {
                $t::min(self, o)
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                $t::mul_add(self, a, b)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                $t::is_finite(self)
            }
            unsafe fn gemm(
                m: usize,
                k: usize,
                n: usize,
                a: *const Self,
                rsa: isize,
                csa: isize,
                b: *const Self,
                rsb: isize,
                csb: isize,
                c: *mut Self,
                rsc: isize,
                csc: isize,
                accumulate: bool,
            ) {
                // SAFETY: forwarded from the caller's contract. `read_dst = false` overwrites
                // `c` (alpha is then ignored); `true` adds the product to it (alpha = 1).
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        c,
                        csc,
                        rsc,
                        accumulate,
                        a,
                        csa,
                        rsa,
                        b,
                        csb,
                        rsb,
                        if accumulate { 1.0 } else { 0.0 },
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    )
                }
            }
        }
    };
}

impl_float!(f32, crate::special::exp_f32, libm::erff, crate::special::erfc_f32, crate::special::gauss_f32);
impl_float!(f64, f64::exp, libm::erf, libm::erfc, gauss_f64);

#[inline(always)]
fn gauss_f64(x: f64) -> f64 {
    (-x * x).exp()
}
