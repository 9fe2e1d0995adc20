//! `f32` products of up to [`PANEL_PRODUCT`] multiply-adds with whole groups of 8 columns (a
//! batch of 100 rows through a 16-wide layer and its gradients, attention's 16×16 heads): for
//! them the GEMM's packing and set-up (about 4,000 instructions a call) cost more than the
//! arithmetic, and the portable register blocks of `small_matmul` run at half the speed.
//!
//! `c` is computed 6 rows by 16 columns at a time, in 12 AVX2 registers summed over the whole
//! inner dimension with fused multiply-adds, as the GEMM's own kernel does: each step
//! broadcasts one element of each of `a`'s 6 rows (read where they are, at any strides) and
//! loads 16 elements of one row of `b`. A `b` whose rows are not contiguous (a transposed one)
//! is copied first. Each element of `c` is `Σ a·b` fused in order of the inner index from 0,
//! as in the GEMM and in `small_matmul`'s copy for FMA, then stored or added to `c`.

use super::small_matmul::{Store, Strided};
use crate::float::Float;

/// Products up to this many multiply-adds may use [`panel_matmul`] (a 100×16·16×16 product is
/// 25,600). It keeps no cache blocks: `b`'s 16 columns are read once per 6 rows of `a`, which
/// stays in cache for inner dimensions of a few hundred.
pub(super) const PANEL_PRODUCT: usize = 64 * 1024;

/// Rows of `c` one block sums at once: 12 accumulators, 2 rows of `b` and a broadcast fill 15
/// of the 16 AVX2 registers.
const ROWS: usize = 6;

/// `c = a·b` or `c += a·b` (as `store` says) for an `m×k` `a` and a `k×n` `b`, `c` holding
/// `m×n` in rows; `false`, with `c` untouched, unless the elements are `f32`, `n` is a multiple
/// of 8 and the CPU has AVX2 and FMA (then the caller runs another kernel).
pub(super) fn panel_matmul<F: Float>(
    (m, k, n): (usize, usize, usize),
    a: Strided<'_, F>,
    b: Strided<'_, F>,
    c: &mut [F],
    store: Store,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if !n.is_multiple_of(8) {
            return false;
        }
        let Some((a, b)) = super::small_matmul::avx2_f32_operands("panel_matmul", (m, k, n), a, b) else {
            return false;
        };
        // `a` holds `f32`s, so `c` does too.
        let Some(c) = F::as_f32_mut(c) else { return false };
        assert_eq!(c.len(), m * n, "panel_matmul: c holds {} elements, not {m}×{n}", c.len());
        // `b`'s rows as contiguous runs of n: where they are, or copied (into a buffer from
        // the pool, handed back below).
        let mut copied = Vec::new();
        let (b_rows, row_stride) = if b.cols == 1 {
            (b.data, b.rows)
        } else {
            copied = super::reserved(k * n);
            copied.resize(k * n, 0.0);
            for (p, row) in copied.chunks_exact_mut(n).enumerate() {
                let start = p * b.rows;
                for (j, element) in row.iter_mut().enumerate() {
                    *element = b.data[start + j * b.cols];
                }
            }
            (&copied[..], n)
        };
        // SAFETY: `avx2_f32_operands` detected AVX2 and FMA on the running CPU and asserted
        // that `a`'s `m×k` elements at strides (a.rows, a.cols) lie inside `a.data`, and `c`
        // holds `m×n` (asserted above); `b_rows` holds `k` rows of `n` elements, `row_stride` apart
        // (asserted for `b` as it is, built so for the copy). The kernel reads and writes no
        // other elements, and `c` is a `&mut` borrow, so it overlaps neither operand.
        unsafe {
            kernel(
                (m, k, n),
                a.data.as_ptr(),
                (a.rows, a.cols),
                b_rows.as_ptr(),
                row_stride,
                c.as_mut_ptr(),
                matches!(store, Store::Add),
            )
        };
        super::pool::give(copied);
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = ((m, k, n), a, b, c, store);
        false
    }
}

/// The blocks of `c`: 16 columns at a time (8 for the last when `n` is an odd multiple of 8),
/// [`ROWS`] rows at a time (fewer for the last).
///
/// # Safety
/// The CPU has AVX2 and FMA; `a` holds `m×k` elements at strides `(rsa, csa)`, `b` holds `k`
/// rows of `n` elements `rsb` apart, `c` holds `m×n` in rows and overlaps neither; `n` is a
/// multiple of 8.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel(
    (m, k, n): (usize, usize, usize),
    a: *const f32,
    (rsa, csa): (usize, usize),
    b: *const f32,
    rsb: usize,
    c: *mut f32,
    add: bool,
) {
    let mut j = 0;
    while j < n {
        let wide = n - j >= 16;
        let mut i = 0;
        while i < m {
            let rows = (m - i).min(ROWS);
            // SAFETY (for every call below): rows i..i + rows of `a` and `c` and columns
            // j..j + 8 or j + 16 of `b` and `c` are inside the matrices the caller vouches for.
            let (a, b, c) = unsafe { (a.add(i * rsa), b.add(j), c.add(i * n + j)) };
            macro_rules! block {
                ($width:literal) => {
                    match rows {
                        6 => unsafe { block::<6, $width>(k, a, (rsa, csa), b, rsb, c, n, add) },
                        5 => unsafe { block::<5, $width>(k, a, (rsa, csa), b, rsb, c, n, add) },
                        4 => unsafe { block::<4, $width>(k, a, (rsa, csa), b, rsb, c, n, add) },
                        3 => unsafe { block::<3, $width>(k, a, (rsa, csa), b, rsb, c, n, add) },
                        2 => unsafe { block::<2, $width>(k, a, (rsa, csa), b, rsb, c, n, add) },
                        _ => unsafe { block::<1, $width>(k, a, (rsa, csa), b, rsb, c, n, add) },
                    }
                };
            }
            if wide {
                block!(2)
            } else {
                block!(1)
            }
            i += rows;
        }
        j += if wide { 16 } else { 8 };
    }
}

/// One block of `R` rows by `W` registers of 8 columns: `c (+)= Σₚ a[·, p]·b[p, ·]`.
///
/// # Safety
/// As for [`kernel`], for `R` rows of `a` and `c` from the pointers given and `8·W` columns of
/// `b` and `c`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block<const R: usize, const W: usize>(
    k: usize,
    a: *const f32,
    (rsa, csa): (usize, usize),
    b: *const f32,
    rsb: usize,
    c: *mut f32,
    rsc: usize,
    add: bool,
) {
    use std::arch::x86_64::{
        _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    };
    // SAFETY: every pointer read or written below is inside the rows and columns the caller
    // vouches for: row r < R of `a` at column p < k, row p of `b` and row r of `c` at columns
    // below 8·W.
    unsafe {
        let mut sums = [[_mm256_setzero_ps(); W]; R];
        let (mut a_column, mut b_row) = (a, b);
        for _ in 0..k {
            let mut b_parts = [_mm256_setzero_ps(); W];
            for (w, part) in b_parts.iter_mut().enumerate() {
                *part = _mm256_loadu_ps(b_row.add(8 * w));
            }
            for (r, row_sums) in sums.iter_mut().enumerate() {
                let x = _mm256_set1_ps(*a_column.add(r * rsa));
                for (sum, &part) in row_sums.iter_mut().zip(&b_parts) {
                    *sum = _mm256_fmadd_ps(x, part, *sum);
                }
            }
            // Past the last column and row these point outside the matrices (never read):
            // `wrapping_add`, as `add` may not leave its allocation.
            a_column = a_column.wrapping_add(csa);
            b_row = b_row.wrapping_add(rsb);
        }
        for (r, row_sums) in sums.iter().enumerate() {
            for (w, &sum) in row_sums.iter().enumerate() {
                let out = c.add(r * rsc + 8 * w);
                _mm256_storeu_ps(out, if add { _mm256_add_ps(_mm256_loadu_ps(out), sum) } else { sum });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::small_matmul::check_avx2_kernel_exactly;
    use super::*;

    /// `c (+)= a·b` as the kernel rounds it: each element's terms fused in order from 0, then
    /// stored or added to `c`.
    fn fused_definition(
        (m, k, n): (usize, usize, usize),
        a: Strided<'_, f32>,
        b: Strided<'_, f32>,
        c: &mut [f32],
        store: Store,
    ) {
        for i in 0..m {
            for j in 0..n {
                let sum = (0..k).fold(0.0f32, |s, p| a.at(i, p).mul_add(b.at(p, j), s));
                c[i * n + j] = if store == Store::Add { c[i * n + j] + sum } else { sum };
            }
        }
    }

    #[test]
    fn every_block_shape_and_layout_matches_the_fused_definition_exactly() {
        // Under Miri (run with AVX2 and FMA enabled at compile time, so the kernel runs there
        // too) small shapes that still end in blocks of every height from 1 to 6 rows.
        let shapes: &[(usize, usize, usize)] = if cfg!(miri) {
            &[(13, 3, 24), (10, 2, 8), (9, 2, 16), (5, 4, 8), (4, 1, 16), (3, 2, 8)]
        } else {
            &[(100, 16, 16), (16, 100, 16), (13, 7, 24), (6, 41, 8), (1, 5, 40), (11, 300, 16), (5, 1, 32)]
        };
        check_avx2_kernel_exactly(shapes, panel_matmul::<f32>, fused_definition);
    }

    #[test]
    fn declines_what_it_does_not_cover() {
        let x: Vec<f32> = (0..64).map(|i| i as f32 * 0.5).collect();
        let s = Strided { data: &x[..], rows: 8, cols: 1 };
        let mut c = vec![7.0f32; 8 * 4];
        // Columns not a multiple of 8.
        assert!(!panel_matmul((8, 8, 4), s, Strided { data: &x[..], rows: 4, cols: 1 }, &mut c, Store::Overwrite));
        assert!(c.iter().all(|&v| v == 7.0), "declined products leave c untouched");
        // Elements that are not f32.
        let y: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let s64 = Strided { data: &y[..], rows: 8, cols: 1 };
        assert!(!panel_matmul((8, 8, 8), s64, s64, &mut vec![0.0f64; 64], Store::Overwrite));
    }
}
