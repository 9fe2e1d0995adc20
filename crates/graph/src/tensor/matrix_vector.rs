//! `f32` products of a matrix whose rows are contiguous and one column (a layer with one
//! output: W3's scores, 100×16·16×1), on AVX2 and FMA. `small_matmul` sums each row as
//! `dot` does — eight partial sums, one per lane of a register, then added to the tail one
//! after another — which left the lanes' additions to one row at a time (100×16·16×1 took
//! 450 ns, where 100×16·16×16 takes 470). Here eight rows are summed at once, each in its
//! register of eight partial sums, and the eight registers transposed, so that the additions
//! that close the rows run lane by lane, eight rows in one instruction: the same operations
//! on the same values in the same order as `dot`, so the same bits.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{_mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps, _mm256_storeu_ps};

#[cfg(target_arch = "x86_64")]
use super::packed_matmul::transpose8;
#[cfg(target_arch = "x86_64")]
use super::small_matmul::{dot, LANES};
use super::small_matmul::{Store, Strided};
use crate::float::Float;

/// Rows summed at once: one per lane of an AVX2 register.
#[cfg(target_arch = "x86_64")]
const ROWS: usize = 8;

/// `c = a·b` or `c += a·b` (as `store` says) for an `m×k` `a` whose rows are contiguous (its
/// column stride 1) and a `k×1` `b` whose column is (or that has one row), `c` holding `m`
/// elements; `false`, with `c` untouched, unless the elements are `f32`, `m` is at least 8
/// and the CPU has AVX2 and FMA (then the caller runs another kernel).
pub(super) fn matrix_vector<F: Float>(
    (m, k, n): (usize, usize, usize),
    a: Strided<'_, F>,
    b: Strided<'_, F>,
    c: &mut [F],
    store: Store,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if n != 1 || m < ROWS || a.cols != 1 || (b.rows != 1 && k > 1) {
            return false;
        }
        let Some((a, b)) = super::small_matmul::avx2_f32_operands("matrix_vector", (m, k, n), a, b) else {
            return false;
        };
        let Some(c) = F::as_f32_mut(c) else { return false };
        assert_eq!(c.len(), m, "matrix_vector: c holds {} elements, not {m}", c.len());
        // SAFETY: `avx2_f32_operands` detected AVX2 and FMA on the running CPU and asserted
        // that `a`'s `m×k` elements at its strides (rows `a.rows` apart, columns 1 apart, as
        // checked above) lie inside `a.data`, and `b`'s `k` elements (1 apart, or one) inside
        // `b.data`; `c` holds `m` (asserted above). The kernel reads and writes no others.
        unsafe { kernel((m, k), a, &b.data[..k], c, store) };
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = ((m, k, n), a, b, c, store);
        false
    }
}

/// The kernel over all of `c`.
///
/// # Safety
/// The CPU has AVX2 and FMA; `a` holds `m` rows of `k` contiguous elements, `a.rows` apart;
/// `b` holds `k` elements and `c` holds `m`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel((m, k): (usize, usize), a: Strided<'_, f32>, b: &[f32], c: &mut [f32], store: Store) {
    let whole = k - k % LANES;
    let mut i = 0;
    while i + ROWS <= m {
        // SAFETY: rows i..i + ROWS of `a` at columns below `k`, `b`'s first `k` elements and
        // `c`'s elements i..i + ROWS are inside the buffers the caller vouches for, and the
        // CPU has AVX (which `transpose8` needs) as the caller vouches for AVX2.
        unsafe {
            let rows = a.data.as_ptr().add(i * a.rows);
            let mut sums = [_mm256_setzero_ps(); ROWS];
            for p in (0..whole).step_by(LANES) {
                let column = _mm256_loadu_ps(b.as_ptr().add(p));
                for (r, sum) in sums.iter_mut().enumerate() {
                    *sum = _mm256_fmadd_ps(_mm256_loadu_ps(rows.add(r * a.rows + p)), column, *sum);
                }
            }
            let tails: [f32; ROWS] = std::array::from_fn(|r| {
                (whole..k).fold(0.0, |tail, p| (*rows.add(r * a.rows + p)).mul_add(b[p], tail))
            });
            let mut rows_sums = _mm256_loadu_ps(tails.as_ptr());
            for lane in transpose8(sums) {
                rows_sums = _mm256_add_ps(rows_sums, lane);
            }
            let out = c.as_mut_ptr().add(i);
            let closed = match store {
                Store::Overwrite => rows_sums,
                Store::Add => _mm256_add_ps(_mm256_loadu_ps(out), rows_sums),
            };
            _mm256_storeu_ps(out, closed);
        }
        i += ROWS;
    }
    // The last rows, fewer than a register's lanes, one by one.
    for (i, o) in c.iter_mut().enumerate().skip(i) {
        let row = &a.data[i * a.rows..i * a.rows + k];
        match store {
            Store::Overwrite => *o = dot::<f32, true>(row, b),
            Store::Add => *o += dot::<f32, true>(row, b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::SimdLevel;

    #[test]
    fn matrix_vector_gives_small_matmuls_bits_for_every_row_count_depth_and_store() {
        if !SimdLevel::detect().has_avx2_fma() {
            return; // The kernel declines (tested below); nothing else to compare.
        }
        let values = |n: usize, seed: u32| -> Vec<f32> {
            (0..n)
                .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / 9e6 - 0.9)
                .collect()
        };
        for (m, k) in [(8, 1), (8, 8), (9, 3), (16, 16), (17, 13), (100, 16), (100, 2), (23, 40)] {
            for spread in [k, k + 5] {
                let (a_data, b_data) = (values(m * spread, 1), values(k, 2));
                let a = Strided { data: &a_data, rows: spread, cols: 1 };
                let b = Strided { data: &b_data, rows: 1, cols: 1 };
                for store in [Store::Overwrite, Store::Add] {
                    let start = values(m, 3);
                    let (mut got, mut want) = (start.clone(), start);
                    assert!(matrix_vector((m, k, 1), a, b, &mut got, store));
                    super::super::small_matmul::fused_loops((m, k, 1), a, b, &mut want, store);
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got), bits(&want), "{m}×{k}, rows {spread} apart, {store:?}");
                }
            }
        }
    }

    #[test]
    fn matrix_vector_declines_what_it_does_not_cover() {
        let data = vec![1.0f32; 64];
        let rows = Strided { data: &data, rows: 4, cols: 1 };
        let column = Strided { data: &data, rows: 1, cols: 1 };
        let mut c = vec![0.0f32; 16];
        assert!(!matrix_vector((7, 4, 1), rows, column, &mut c[..7], Store::Overwrite), "fewer rows than lanes");
        assert!(!matrix_vector((8, 4, 2), rows, column, &mut c, Store::Overwrite), "two columns");
        let transposed = Strided { data: &data, rows: 1, cols: 8 };
        assert!(!matrix_vector((8, 4, 1), transposed, column, &mut c[..8], Store::Overwrite), "columns apart");
        let spread = Strided { data: &data, rows: 2, cols: 1 };
        assert!(!matrix_vector((8, 4, 1), rows, spread, &mut c[..8], Store::Overwrite), "b's column spread");
        let mut c64 = vec![0.0f64; 8];
        let data64 = vec![1.0f64; 64];
        let (a64, b64) = (Strided { data: &data64, rows: 4, cols: 1 }, Strided { data: &data64, rows: 1, cols: 1 });
        assert!(!matrix_vector((8, 4, 1), a64, b64, &mut c64, Store::Overwrite), "f64");
    }
}
