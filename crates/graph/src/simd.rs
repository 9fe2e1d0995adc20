//! Elementwise loops compiled three times, for the baseline x86-64 (SSE2, 4 `f32` lanes), for
//! AVX2 with FMA (8 lanes, fused multiply-adds) and for AVX-512F (16 lanes), the widest copy
//! the CPU has run (detected at run time, as the `gemm` crate does for its kernels). Only a
//! loop whose body is inlined whole gains, which is why the functions come as [`Pointwise`]
//! and [`Slope`] impls with `#[inline(always)]` `at`s: GELU's and erfc's kernels
//! (`special.rs`) then run twice as fast in AVX2 as in SSE2 (W7 on one thread 4.03 → 3.93 ms
//! with the AVX-512 copy, medians of 5 interleaved rounds on a Xeon). Their
//! `mul_add`s round once in every copy (an FMA instruction in the vector ones, libm's `fmaf` in
//! the baseline one), so every copy gives the same bits (tested). Other modules' loops get
//! the same three copies as a [`Loop`] given to [`run_widest`] (the sliding windows' unfold
//! and fold).

use crate::algebra::Slope;

/// A function of one value, applied elementwise by [`map_into`].
pub(crate) trait Pointwise<F>: Sync {
    /// f(x).
    fn at(&self, x: F) -> F;
}

/// The widest instruction set the running CPU has among those the elementwise loops here and
/// the matrix kernels (`tensor::panel_matmul`, `tensor::packed_matmul`, `tensor::small_matmul`)
/// are compiled for: the one place the crate asks the CPU. Only [`SimdLevel::detect`] and
/// [`SimdLevel::narrower`] make one, so a level other than the baseline names features the
/// running CPU has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SimdLevel {
    /// The baseline x86-64 copy (SSE2), or the only copy on other CPUs.
    Baseline,
    /// AVX2 and FMA: 8 `f32` lanes.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX-512F too: 16 `f32` lanes.
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl SimdLevel {
    /// The widest level the running CPU has (`std` caches what it asked the CPU, so this is a
    /// few loads). In this crate's unit tests, at most AVX2 inside [`SimdLevel::at_most_avx2`].
    #[inline(always)]
    pub(crate) fn detect() -> SimdLevel {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            #[cfg(test)]
            if AT_MOST_AVX2.get() {
                return SimdLevel::Avx2;
            }
            return if std::arch::is_x86_feature_detected!("avx512f") { SimdLevel::Avx512 } else { SimdLevel::Avx2 };
        }
        SimdLevel::Baseline
    }

    /// Whether the CPU has AVX2 and FMA (and so the kernels compiled for them run).
    #[inline(always)]
    pub(crate) fn has_avx2_fma(self) -> bool {
        self != SimdLevel::Baseline
    }

    /// Whether the CPU has AVX-512F as well.
    #[inline(always)]
    pub(crate) fn has_avx512(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            self == SimdLevel::Avx512
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// The next narrower level, which a CPU that has this one has too.
    #[cfg(test)]
    pub(crate) fn narrower(self) -> Option<SimdLevel> {
        match self {
            SimdLevel::Baseline => None,
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx2 => Some(SimdLevel::Baseline),
            #[cfg(target_arch = "x86_64")]
            SimdLevel::Avx512 => Some(SimdLevel::Avx2),
        }
    }

    /// Runs `f` with [`SimdLevel::detect`] answering at most AVX2 on this thread, so a test
    /// runs the AVX2 kernels on a CPU with AVX-512 too.
    #[cfg(test)]
    pub(crate) fn at_most_avx2<R>(f: impl FnOnce() -> R) -> R {
        /// Puts the thread's previous setting back when dropped, on a panic too.
        struct Restore(bool);
        impl Drop for Restore {
            fn drop(&mut self) {
                AT_MOST_AVX2.set(self.0);
            }
        }
        let _restore = Restore(AT_MOST_AVX2.replace(true));
        f()
    }
}

#[cfg(test)]
thread_local! {
    /// Set inside [`SimdLevel::at_most_avx2`].
    static AT_MOST_AVX2: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `out[k] = f(a[k])`.
#[inline(always)]
pub(crate) fn map_into<F: Copy, P: Pointwise<F>>(out: &mut [F], a: &[F], f: &P) {
    map_into_with(SimdLevel::detect(), out, a, f)
}

#[inline(always)]
fn map_into_with<F: Copy, P: Pointwise<F>>(level: SimdLevel, out: &mut [F], a: &[F], f: &P) {
    // SAFETY (each arm): a function compiled for some features may run where the CPU has them,
    // which `level` says it has (see `SimdLevel`).
    match level {
        SimdLevel::Baseline => map_loop(out, a, f),
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { avx2::map_into(out, a, f) },
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { avx512::map_into(out, a, f) },
    }
}

/// `values[k] = f(values[k])`.
#[inline(always)]
pub(crate) fn map_in_place<F: Copy, P: Pointwise<F>>(values: &mut [F], f: &P) {
    map_in_place_with(SimdLevel::detect(), values, f)
}

#[inline(always)]
fn map_in_place_with<F: Copy, P: Pointwise<F>>(level: SimdLevel, values: &mut [F], f: &P) {
    // SAFETY (each arm): as in `map_into_with`.
    match level {
        SimdLevel::Baseline => map_in_place_loop(values, f),
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { avx2::map_in_place(values, f) },
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { avx512::map_in_place(values, f) },
    }
}

/// The elements [`zip_loop`] repeats a short `b` into.
const REPEATED: usize = 256;

/// Rows a multiple of this many elements wide are zipped block by block (see `zip_loop`)…
const BLOCK: usize = 16;

/// …up to this many blocks. Wider rows go row by row: given rows of eight blocks or more,
/// LLVM vectorizes the loop over a row's blocks, gathering lanes 16 elements apart, which
/// made `[512, 256] + [256]` 16× slower than `[512, 256] + [512, 256]`.
const MAX_BLOCKS: usize = 4;

/// `out[k] = f(a[k], b[k mod b.len()])`: `b` as long as `a`, or repeated along it (a bias
/// added to each row); `out` as long as `a`, whose length is a multiple of `b`'s.
#[inline(always)]
pub(crate) fn zip_into<F: Copy, Z: Fn(F, F) -> F>(out: &mut [F], a: &[F], b: &[F], f: &Z) {
    zip_into_with(SimdLevel::detect(), out, a, b, f)
}

#[inline(always)]
fn zip_into_with<F: Copy, Z: Fn(F, F) -> F>(level: SimdLevel, out: &mut [F], a: &[F], b: &[F], f: &Z) {
    // SAFETY (each arm): as in `map_into_with`.
    match level {
        SimdLevel::Baseline => zip_loop(out, a, b, f),
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { avx2::zip_into(out, a, b, f) },
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { avx512::zip_into(out, a, b, f) },
    }
}

/// A loop body to compile for each level, as the loops here are: [`run_widest`] runs it in the
/// copy for the widest level the CPU has. Its `run` must be `#[inline(always)]` and loop by
/// index, as the loops here do, or it is compiled once, for the baseline.
pub(crate) trait Loop {
    /// What the loop returns.
    type Output;
    /// Runs the loop.
    fn run(self) -> Self::Output;
}

/// Runs `body` compiled for the widest level the CPU has.
#[inline(always)]
pub(crate) fn run_widest<L: Loop>(body: L) -> L::Output {
    run_with(SimdLevel::detect(), body)
}

#[inline(always)]
fn run_with<L: Loop>(level: SimdLevel, body: L) -> L::Output {
    // SAFETY (each arm): as in `map_into_with`.
    match level {
        SimdLevel::Baseline => body.run(),
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { avx2::run(body) },
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { avx512::run(body) },
    }
}

/// `out[k] = g[k]·slope(x[k], y[k])`.
#[inline(always)]
pub(crate) fn mul_slope_into<F: Copy + std::ops::Mul<Output = F>, S: Slope<F>>(
    out: &mut [F],
    inputs: [&[F]; 3],
    slope: &S,
) {
    mul_slope_into_with(SimdLevel::detect(), out, inputs, slope)
}

#[inline(always)]
fn mul_slope_into_with<F: Copy + std::ops::Mul<Output = F>, S: Slope<F>>(
    level: SimdLevel,
    out: &mut [F],
    inputs: [&[F]; 3],
    slope: &S,
) {
    // SAFETY (each arm): as in `map_into_with`.
    match level {
        SimdLevel::Baseline => mul_slope_loop(out, inputs, slope),
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => unsafe { avx2::mul_slope_into(out, inputs, slope) },
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => unsafe { avx512::mul_slope_into(out, inputs, slope) },
    }
}

// The loops are `for` loops over indices or one slice, not iterator adapters: `Zip::fold` may
// be left out of line, compiled without its caller's features (the AVX-512 copy of GELU then
// called libm's `fmaf` for each element and W7 took 14 ms, not 3.7).
#[inline(always)]
fn map_loop<F: Copy, P: Pointwise<F>>(out: &mut [F], a: &[F], f: &P) {
    let n = out.len().min(a.len());
    let (out, a) = (&mut out[..n], &a[..n]);
    for k in 0..n {
        out[k] = f.at(a[k]);
    }
}

#[inline(always)]
fn zip_loop<F: Copy, Z: Fn(F, F) -> F>(out: &mut [F], a: &[F], b: &[F], f: &Z) {
    if b.is_empty() {
        return;
    }
    let (rows, width) = (out.len().min(a.len()) / b.len(), b.len());
    if width.is_multiple_of(BLOCK) && width <= MAX_BLOCKS * BLOCK && rows > 1 {
        // Rows of whole blocks (a bias of 16 or 64): each block a fixed-length loop, one or
        // two vector operations with no remainder to handle, so no span copy is needed
        // ([100, 16] + [16]: 155 → 115 ns with AVX-512).
        let n = rows * width;
        for (out, a) in out[..n].chunks_exact_mut(width).zip(a[..n].chunks_exact(width)) {
            for ((out, a), b) in out.chunks_exact_mut(BLOCK).zip(a.chunks_exact(BLOCK)).zip(b.chunks_exact(BLOCK)) {
                // As arrays, so the loop has no bounds checks and compiles to vectors.
                let out: &mut [F; BLOCK] = out.try_into().expect("whole blocks");
                let (a, b): (&[F; BLOCK], &[F; BLOCK]) =
                    (a.try_into().expect("whole blocks"), b.try_into().expect("whole blocks"));
                for k in 0..BLOCK {
                    out[k] = f(a[k], b[k]);
                }
            }
        }
        return;
    }
    if width < REPEATED / 4 && rows > 1 {
        // Short rows (a bias of 16 added to 100 rows) run as spans of `b` repeated, so the
        // loop is one long vector loop per span, not a short one per row.
        let mut repeated = [b[0]; REPEATED];
        let span = REPEATED / width * width;
        for part in repeated[..span].chunks_exact_mut(width) {
            part.copy_from_slice(b);
        }
        let n = rows * width;
        for (out, a) in out[..n].chunks_mut(span).zip(a[..n].chunks(span)) {
            for ((out, &x), &y) in out.iter_mut().zip(a).zip(&repeated) {
                *out = f(x, y);
            }
        }
        return;
    }
    for r in 0..rows {
        let (out, a) = (&mut out[r * width..][..width], &a[r * width..][..width]);
        for k in 0..width {
            out[k] = f(a[k], b[k]);
        }
    }
}

#[inline(always)]
fn map_in_place_loop<F: Copy, P: Pointwise<F>>(values: &mut [F], f: &P) {
    for v in values.iter_mut() {
        *v = f.at(*v);
    }
}

#[inline(always)]
fn mul_slope_loop<F: Copy + std::ops::Mul<Output = F>, S: Slope<F>>(out: &mut [F], [g, x, y]: [&[F]; 3], slope: &S) {
    let n = out.len().min(g.len()).min(x.len()).min(y.len());
    let (out, g, x, y) = (&mut out[..n], &g[..n], &x[..n], &y[..n]);
    for k in 0..n {
        out[k] = g[k] * slope.at(x[k], y[k]);
    }
}

/// The loops compiled for `$features`, as module `$copy`: each function is safe to call only
/// where the CPU has those features.
macro_rules! compiled_copy {
    ($copy:ident, $features:literal) => {
        #[cfg(target_arch = "x86_64")]
        mod $copy {
            use super::*;

            #[target_feature(enable = $features)]
            pub(super) fn map_into<F: Copy, P: Pointwise<F>>(out: &mut [F], a: &[F], f: &P) {
                map_loop(out, a, f)
            }

            #[target_feature(enable = $features)]
            pub(super) fn zip_into<F: Copy, Z: Fn(F, F) -> F>(out: &mut [F], a: &[F], b: &[F], f: &Z) {
                zip_loop(out, a, b, f)
            }

            #[target_feature(enable = $features)]
            pub(super) fn run<L: Loop>(body: L) -> L::Output {
                body.run()
            }

            #[target_feature(enable = $features)]
            pub(super) fn map_in_place<F: Copy, P: Pointwise<F>>(values: &mut [F], f: &P) {
                map_in_place_loop(values, f)
            }

            #[target_feature(enable = $features)]
            pub(super) fn mul_slope_into<F: Copy + std::ops::Mul<Output = F>, S: Slope<F>>(
                out: &mut [F],
                inputs: [&[F]; 3],
                slope: &S,
            ) {
                mul_slope_loop(out, inputs, slope)
            }
        }
    };
}

compiled_copy!(avx2, "avx2,fma");
compiled_copy!(avx512, "avx512f,avx2,fma");

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

    /// Every level the running CPU has, widest first.
    fn every_level() -> Vec<SimdLevel> {
        std::iter::successors(Some(SimdLevel::detect()), |c| c.narrower()).collect()
    }

    #[test]
    fn every_level_computes_the_same() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 3.0).collect();
        for level in every_level() {
            let (mut wide, mut narrow) = (vec![0.0; 37], vec![0.0; 37]);
            map_into_with(level, &mut wide, &a, &Square);
            map_loop(&mut narrow, &a, &Square);
            assert_eq!(wide, narrow, "{level:?}");
            assert_eq!(wide[1], 6.25);
            map_in_place_with(level, &mut wide, &Square);
            map_in_place_loop(&mut narrow, &Square);
            assert_eq!(wide, narrow, "{level:?}");
            assert_eq!(wide[1], 39.0625);
            let twice = |x: f32, _: f32| 2.0 * x;
            mul_slope_into_with(level, &mut wide, [&a, &a, &a], &twice);
            mul_slope_loop(&mut narrow, [&a, &a, &a], &twice);
            assert_eq!(wide, narrow, "{level:?}");
            assert_eq!(wide[1], 12.5);
        }
    }

    struct Erfc;

    impl Pointwise<f32> for Erfc {
        #[inline(always)]
        fn at(&self, x: f32) -> f32 {
            crate::special::erfc_f32(x)
        }
    }

    #[test]
    fn every_copy_of_a_kernel_with_fused_multiply_adds_agrees_to_the_bit() {
        let a: Vec<f32> = (0..801).map(|i| i as f32 * 0.025 - 10.0).collect();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut narrow = vec![0.0; a.len()];
        map_loop(&mut narrow, &a, &Erfc);
        assert_eq!(narrow[400], 1.0, "erfc(0)");
        for level in every_level() {
            let mut wide = vec![0.0; a.len()];
            map_into_with(level, &mut wide, &a, &Erfc);
            assert_eq!(bits(&wide), bits(&narrow), "{level:?}");
        }
    }

    #[test]
    fn zip_repeats_the_shorter_operand_along_the_longer() {
        // Rows a multiple of `BLOCK` wide, up to `MAX_BLOCKS` of them, go block by block;
        // other rows shorter than a quarter of `REPEATED` through its repeated spans (several
        // of them, the last one partial), longer ones row by row.
        for width in [1, 3, 16, 32, 63, 64, 80, 100, 256, 272] {
            let rows = 2 + 600 / width;
            let a: Vec<f32> = (0..rows * width).map(|i| i as f32 * 0.5 - 3.0).collect();
            let bias: Vec<f32> = (0..width).map(|i| i as f32 * 1000.0).collect();
            let add = |x: f32, y: f32| x + y;
            let by_definition: Vec<f32> = a.iter().enumerate().map(|(k, &x)| x + bias[k % width]).collect();
            for level in every_level() {
                let (mut wide, mut narrow) = (vec![0.0; a.len()], vec![0.0; a.len()]);
                zip_into_with(level, &mut wide, &a, &bias, &add);
                zip_loop(&mut narrow, &a, &bias, &add);
                assert_eq!(wide, narrow, "{level:?}, rows of {width}");
                assert_eq!(wide, by_definition, "{level:?}, rows of {width}");
                zip_into_with(level, &mut wide, &a, &a, &|x: f32, y: f32| x * y);
                assert_eq!(wide[1], 6.25, "operands of one length zip element by element");
            }
        }
    }
}
