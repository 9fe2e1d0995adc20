//! Elementwise loops compiled twice, for the baseline x86-64 (SSE2, 4 `f32` lanes) and for
//! AVX2 with FMA (8 lanes, fused multiply-adds), the AVX2 copy run where the CPU has both
//! (detected at run time, as the `gemm` crate does for its kernels). Only a loop whose body is
//! inlined whole gains, which is why the functions come as [`Pointwise`] and [`Slope`] impls
//! with `#[inline(always)]` `at`s: GELU's and erfc's kernels (`special.rs`) then run twice as
//! fast. Their `mul_add`s round once in either copy (an FMA instruction here, libm's `fmaf` in
//! the baseline one), so both copies give the same bits.

use crate::algebra::Slope;

/// A function of one value, applied elementwise by [`map_into`].
pub(crate) trait Pointwise<F>: Sync {
    /// f(x).
    fn at(&self, x: F) -> F;
}

/// `out[k] = f(a[k])`.
#[inline(always)]
pub(crate) fn map_into<F: Copy, P: Pointwise<F>>(out: &mut [F], a: &[F], f: &P) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: a function compiled for AVX2 and FMA may run where the CPU has both, detected
        // just above.
        unsafe { map_into_avx2(out, a, f) };
        return;
    }
    map_loop(out, a, f)
}

/// `values[k] = f(values[k])`.
#[inline(always)]
pub(crate) fn map_in_place<F: Copy, P: Pointwise<F>>(values: &mut [F], f: &P) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: a function compiled for AVX2 and FMA may run where the CPU has both, detected
        // just above.
        unsafe { map_in_place_avx2(values, f) };
        return;
    }
    map_in_place_loop(values, f)
}

/// `out[k] = f(a[k], b[k mod b.len()])`: `b` as long as `a`, or repeated along it (a bias
/// added to each row); `out` as long as `a`, whose length is a multiple of `b`'s.
#[inline(always)]
pub(crate) fn zip_into<F: Copy, Z: Fn(F, F) -> F>(out: &mut [F], a: &[F], b: &[F], f: &Z) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: a function compiled for AVX2 and FMA may run where the CPU has both, detected
        // just above.
        unsafe { zip_into_avx2(out, a, b, f) };
        return;
    }
    zip_loop(out, a, b, f)
}

/// `out[k] = g[k]·slope(x[k], y[k])`.
#[inline(always)]
pub(crate) fn mul_slope_into<F: Copy + std::ops::Mul<Output = F>, S: Slope<F>>(
    out: &mut [F],
    [g, x, y]: [&[F]; 3],
    slope: &S,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: a function compiled for AVX2 and FMA may run where the CPU has both, detected
        // just above.
        unsafe { mul_slope_into_avx2(out, [g, x, y], slope) };
        return;
    }
    mul_slope_loop(out, [g, x, y], slope)
}

#[inline(always)]
fn map_loop<F: Copy, P: Pointwise<F>>(out: &mut [F], a: &[F], f: &P) {
    out.iter_mut().zip(a).for_each(|(o, &v)| *o = f.at(v))
}

#[inline(always)]
fn zip_loop<F: Copy, Z: Fn(F, F) -> F>(out: &mut [F], a: &[F], b: &[F], f: &Z) {
    if b.is_empty() {
        return;
    }
    for (out, a) in out.chunks_exact_mut(b.len()).zip(a.chunks_exact(b.len())) {
        out.iter_mut().zip(a).zip(b).for_each(|((o, &x), &y)| *o = f(x, y))
    }
}

#[inline(always)]
fn map_in_place_loop<F: Copy, P: Pointwise<F>>(values: &mut [F], f: &P) {
    values.iter_mut().for_each(|v| *v = f.at(*v))
}

#[inline(always)]
fn mul_slope_loop<F: Copy + std::ops::Mul<Output = F>, S: Slope<F>>(out: &mut [F], [g, x, y]: [&[F]; 3], slope: &S) {
    let inputs = g.iter().zip(x).zip(y);
    out.iter_mut().zip(inputs).for_each(|(o, ((&g, &x), &y))| *o = g * slope.at(x, y))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn map_into_avx2<F: Copy, P: Pointwise<F>>(out: &mut [F], a: &[F], f: &P) {
    map_loop(out, a, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn zip_into_avx2<F: Copy, Z: Fn(F, F) -> F>(out: &mut [F], a: &[F], b: &[F], f: &Z) {
    zip_loop(out, a, b, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn map_in_place_avx2<F: Copy, P: Pointwise<F>>(values: &mut [F], f: &P) {
    map_in_place_loop(values, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn mul_slope_into_avx2<F: Copy + std::ops::Mul<Output = F>, S: Slope<F>>(out: &mut [F], inputs: [&[F]; 3], slope: &S) {
    mul_slope_loop(out, inputs, slope)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Square;

    impl Pointwise<f32> for Square {
        #[inline(always)]
        fn at(&self, x: f32) -> f32 {
            x * x
        }
    }

    #[test]
    fn both_copies_compute_the_same() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 3.0).collect();
        let (mut wide, mut narrow) = (vec![0.0; 37], vec![0.0; 37]);
        map_into(&mut wide, &a, &Square);
        map_loop(&mut narrow, &a, &Square);
        assert_eq!(wide, narrow);
        assert_eq!(wide[1], 6.25);
        map_in_place(&mut wide, &Square);
        map_in_place_loop(&mut narrow, &Square);
        assert_eq!(wide, narrow);
        assert_eq!(wide[1], 39.0625);
        let twice = |x: f32, _: f32| 2.0 * x;
        mul_slope_into(&mut wide, [&a, &a, &a], &twice);
        mul_slope_loop(&mut narrow, [&a, &a, &a], &twice);
        assert_eq!(wide, narrow);
        assert_eq!(wide[1], 12.5);
    }

    struct Erfc;

    impl Pointwise<f32> for Erfc {
        #[inline(always)]
        fn at(&self, x: f32) -> f32 {
            crate::special::erfc_f32(x)
        }
    }

    #[test]
    fn both_copies_of_a_kernel_with_fused_multiply_adds_agree_to_the_bit() {
        let a: Vec<f32> = (0..801).map(|i| i as f32 * 0.025 - 10.0).collect();
        let (mut wide, mut narrow) = (vec![0.0; a.len()], vec![0.0; a.len()]);
        map_into(&mut wide, &a, &Erfc);
        map_loop(&mut narrow, &a, &Erfc);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&wide), bits(&narrow));
        assert_eq!(wide[400], 1.0, "erfc(0)");
    }

    #[test]
    fn zip_repeats_the_shorter_operand_along_the_longer() {
        let a: Vec<f32> = (0..48).map(|i| i as f32 * 0.5 - 3.0).collect();
        let bias: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let add = |x: f32, y: f32| x + y;
        let (mut wide, mut narrow) = (vec![0.0; 48], vec![0.0; 48]);
        zip_into(&mut wide, &a, &bias, &add);
        zip_loop(&mut narrow, &a, &bias, &add);
        assert_eq!(wide, narrow);
        let by_definition: Vec<f32> = a.iter().enumerate().map(|(k, &x)| x + bias[k % 16]).collect();
        assert_eq!(wide, by_definition);
        zip_into(&mut wide, &a, &a, &|x: f32, y: f32| x * y);
        assert_eq!(wide[1], 6.25, "operands of one length zip element by element");
    }
}
