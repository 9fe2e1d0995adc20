//! Products too small for the GEMM (attention's 16×16 heads, a tiny MLP's layers): for them
//! the GEMM's packing and dispatch (about 0.4 µs a call) cost more than the arithmetic. Where
//! the panel kernel (`panel_matmul.rs`) runs — `f32`, columns in groups of 8, AVX2 and FMA —
//! it takes them first; these blocks serve the rest.
//!
//! When `n` is wide, the product runs in register blocks: [`BLOCK_ROWS`] rows of `c` by
//! [`BLOCK_COLS`] columns are summed in registers over the whole inner dimension, reading `a`'s
//! elements where they are (any strides) and `b`'s rows as slices, so only a transposed `b` is
//! copied. Narrow products take dot products of `a`'s rows with `b`'s columns, except those
//! whose `a` is stored transposed (the weight gradient of a layer with few inputs or outputs),
//! which run as the wide `cᵀ = bᵀ·aᵀ` in register blocks. Both are compiled twice, as
//! `simd.rs`'s loops are, and the copy for AVX2 and FMA runs where the CPU has both: there
//! each term is a fused multiply-add, rounded once, as in the GEMM's kernels.

use super::panel_matmul::panel_matmul;
use crate::float::Float;
use crate::simd::SimdLevel;
use std::borrow::Cow;

/// Products up to this many multiply-adds use [`small_matmul`] (at 25,600, a 100×16·16×16
/// product, the GEMM was already faster).
pub(super) const SMALL_PRODUCT: usize = 4 * 1024;

/// Lanes of independent partial sums: enough for the compiler to vectorize a dot product, and
/// the narrowest `n` the register blocks are used for.
pub(super) const LANES: usize = 8;
/// Rows of `c` one register block sums at once.
const BLOCK_ROWS: usize = 4;
/// Columns of `c` one register block sums at once (two AVX2 registers of `f32`).
const BLOCK_COLS: usize = 16;

/// A strided matrix: element (i, j) is `data[i·rows + j·cols]`.
#[derive(Clone, Copy)]
pub(super) struct Strided<'a, F> {
    pub data: &'a [F],
    pub rows: usize,
    pub cols: usize,
}

impl<'a, F: Copy> Strided<'a, F> {
    #[inline(always)]
    pub(super) fn at(&self, i: usize, j: usize) -> F {
        self.data[i * self.rows + j * self.cols]
    }

    /// True when a `rows × cols` matrix (both non-zero) at these strides lies inside `data`.
    pub(super) fn holds(&self, rows: usize, cols: usize) -> bool {
        let last = (rows - 1)
            .checked_mul(self.rows)
            .zip((cols - 1).checked_mul(self.cols))
            .and_then(|(r, c)| r.checked_add(c));
        last.is_some_and(|last| last < self.data.len())
    }

    /// The same elements read as the transpose.
    fn transposed(self) -> Self {
        Strided { data: self.data, rows: self.cols, cols: self.rows }
    }

    /// The `rows × cols` matrix as one slice of rows, when it already is one.
    fn row_major(self, rows: usize, cols: usize) -> Option<&'a [F]> {
        (self.cols == 1 && (self.rows == cols || rows <= 1)).then(|| &self.data[..rows * cols])
    }
}

/// The operands of an `m×k` by `k×n` product as `f32`, for the AVX2 kernels (`panel_matmul`,
/// `packed_matmul`): `None` unless the elements are `f32`, no dimension is 0 and the running
/// CPU has AVX2 and FMA. Panics, naming `kernel`, if `a` and `b` do not span `m×k` and `k×n`
/// elements of their buffers: the kernels' `unsafe` reads rely on it.
#[cfg(target_arch = "x86_64")]
pub(super) fn avx2_f32_operands<'a, F: Float>(
    kernel: &str,
    (m, k, n): (usize, usize, usize),
    a: Strided<'a, F>,
    b: Strided<'a, F>,
) -> Option<(Strided<'a, f32>, Strided<'a, f32>)> {
    let (a_data, b_data) = (F::as_f32(a.data)?, F::as_f32(b.data)?);
    if m == 0 || k == 0 || n == 0 || !SimdLevel::detect().has_avx2_fma() {
        return None;
    }
    let a = Strided { data: a_data, rows: a.rows, cols: a.cols };
    let b = Strided { data: b_data, rows: b.rows, cols: b.cols };
    assert!(
        a.holds(m, k) && b.holds(k, n),
        "{kernel}: a {m}×{k} times {k}×{n} product does not fit buffers of {} and {} elements",
        a.data.len(),
        b.data.len(),
    );
    Some((a, b))
}

/// How a product meets what `c` holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Store {
    /// `c = a·b`: `c`'s old elements are not read.
    Overwrite,
    /// `c += a·b`.
    Add,
}

impl Store {
    #[inline(always)]
    fn put<F: Float>(self, c: &mut F, v: F) {
        match self {
            Store::Overwrite => *c = v,
            Store::Add => *c += v,
        }
    }
}

/// `c = a·b` or `c += a·b` (`store`) for small strided `a` (m×k) and `b` (k×n) into row-major
/// `c` (m×n).
pub(super) fn small_matmul<F: Float>(
    (m, k, n): (usize, usize, usize),
    a: Strided<'_, F>,
    b: Strided<'_, F>,
    c: &mut [F],
    store: Store,
) {
    if n < LANES && m >= LANES && a.transposed().row_major(k, m).is_some() {
        // A narrow c whose a is stored transposed (a layer's weight gradient gᵀ·x with few
        // inputs): cᵀ = bᵀ·aᵀ has the wide rows, and its right operand aᵀ is read as rows
        // where it is (on the panel kernel where that runs). One column is already laid out
        // as its transpose.
        let wide = |c: &mut [F], store| {
            if !panel_matmul((n, k, m), b.transposed(), a.transposed(), c, store) {
                small_matmul((n, k, m), b.transposed(), a.transposed(), c, store)
            }
        };
        if n == 1 {
            return wide(c, store);
        }
        if m * n <= STACK_COPY {
            let mut on_stack = [F::ZERO; STACK_COPY];
            let transposed = &mut on_stack[..m * n];
            wide(transposed, Store::Overwrite);
            for (i, row) in c.chunks_exact_mut(n).enumerate() {
                row.iter_mut().enumerate().for_each(|(j, o)| store.put(o, transposed[j * m + i]));
            }
            return;
        }
    }
    if super::matrix_vector::matrix_vector((m, k, n), a, b, c, store) {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if SimdLevel::detect().has_avx2_fma() {
        // SAFETY: a function compiled for AVX2 and FMA may run where the CPU has both,
        // detected just above.
        unsafe { small_matmul_avx2((m, k, n), a, b, c, store) };
        return;
    }
    small_matmul_loops::<F, false>((m, k, n), a, b, c, store)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn small_matmul_avx2<F: Float>(
    (m, k, n): (usize, usize, usize),
    a: Strided<'_, F>,
    b: Strided<'_, F>,
    c: &mut [F],
    store: Store,
) {
    small_matmul_loops::<F, true>((m, k, n), a, b, c, store)
}

/// `s + x·y`: fused into one rounding where the copy runs with FMA, as the GEMM's kernels are
/// (the loops' copy without it multiplies, then adds).
#[inline(always)]
fn mul_add<F: Float, const FUSED: bool>(x: F, y: F, s: F) -> F {
    if FUSED {
        x.mul_add(y, s)
    } else {
        s + x * y
    }
}

/// A `b` of up to this many elements whose rows are not contiguous (a transposed one) is
/// copied to the stack, not the heap.
const STACK_COPY: usize = 512;

/// The loops with fused multiply-adds, as `small_matmul` runs them where the CPU has FMA: the
/// definition other kernels' tests compare against.
#[cfg(test)]
pub(super) fn fused_loops(
    dims: (usize, usize, usize),
    a: Strided<'_, f32>,
    b: Strided<'_, f32>,
    c: &mut [f32],
    store: Store,
) {
    small_matmul_loops::<f32, true>(dims, a, b, c, store)
}

#[inline(always)]
fn small_matmul_loops<F: Float, const FUSED: bool>(
    (m, k, n): (usize, usize, usize),
    a: Strided<'_, F>,
    b: Strided<'_, F>,
    c: &mut [F],
    store: Store,
) {
    if n >= LANES {
        let (mut on_stack, on_heap);
        let b_rows: &[F] = if let Some(rows) = b.row_major(k, n) {
            rows
        } else if k * n <= STACK_COPY {
            on_stack = [F::ZERO; STACK_COPY];
            copy_rows(b, k, n, &mut on_stack[..k * n]);
            &on_stack[..k * n]
        } else {
            on_heap = contiguous(b, k, n);
            &on_heap
        };
        let mut i = 0;
        while i + BLOCK_ROWS <= m {
            rows_of_a::<F, BLOCK_ROWS, FUSED>((i, k, n), a, b_rows, c, store);
            i += BLOCK_ROWS;
        }
        for i in i..m {
            rows_of_a::<F, 1, FUSED>((i, k, n), a, b_rows, c, store);
        }
    } else {
        let (a_rows, b_cols) = (contiguous(a, m, k), contiguous(b.transposed(), n, k));
        for (out, a_row) in c.chunks_exact_mut(n).zip(a_rows.chunks_exact(k)) {
            for (o, b_col) in out.iter_mut().zip(b_cols.chunks_exact(k)) {
                store.put(o, dot::<F, FUSED>(a_row, b_col));
            }
        }
    }
}

/// Rows `first..first + R` of `c (+)= a·b`, where `b_rows` holds `b`'s rows one after
/// another: [`block_rows`] with column `p` of those rows of `a` read the way its layout allows
/// (a slice per row, one slice per column, or element by element), so the loop over the inner
/// dimension checks bounds once per step or not at all. Slicing the rows costs more than it
/// saves when the inner dimension is 1 to 3.
#[inline(always)]
fn rows_of_a<F: Float, const R: usize, const FUSED: bool>(
    (first, k, n): (usize, usize, usize),
    a: Strided<'_, F>,
    b_rows: &[F],
    c: &mut [F],
    store: Store,
) {
    if a.cols == 1 && k >= 4 {
        let rows: [&[F]; R] = std::array::from_fn(|r| &a.data[(first + r) * a.rows..][..k]);
        block_rows::<F, R, FUSED>((first, k, n), |p| std::array::from_fn(|r| rows[r][p]), b_rows, c, store)
    } else if a.rows == 1 {
        let column = |p: usize| -> [F; R] { std::array::from_fn(|r| a.data[p * a.cols + first..][..R][r]) };
        block_rows::<F, R, FUSED>((first, k, n), column, b_rows, c, store)
    } else {
        block_rows::<F, R, FUSED>((first, k, n), |p| std::array::from_fn(|r| a.at(first + r, p)), b_rows, c, store)
    }
}

/// Rows `first..first + R` of `c (+)= a·b`, where `a_column(p)` is column `p` of those rows of
/// `a` and `b_rows` holds `b`'s rows: each [`BLOCK_COLS`]-wide block of them summed over the
/// inner dimension in registers.
#[inline(always)]
fn block_rows<F: Float, const R: usize, const FUSED: bool>(
    (first, k, n): (usize, usize, usize),
    a_column: impl Fn(usize) -> [F; R],
    b_rows: &[F],
    c: &mut [F],
    store: Store,
) {
    let b_rows = &b_rows[..k * n];
    let mut j = 0;
    while j + BLOCK_COLS <= n {
        let mut acc = [[F::ZERO; BLOCK_COLS]; R];
        for (p, b_row) in b_rows.chunks_exact(n).enumerate() {
            let b_block = &b_row[j..j + BLOCK_COLS];
            for (sums, a_ip) in acc.iter_mut().zip(a_column(p)) {
                for (s, &v) in sums.iter_mut().zip(b_block) {
                    *s = mul_add::<F, FUSED>(a_ip, v, *s);
                }
            }
        }
        for (r, sums) in acc.iter().enumerate() {
            let row = &mut c[(first + r) * n + j..][..BLOCK_COLS];
            row.iter_mut().zip(sums).for_each(|(o, &s)| store.put(o, s));
        }
        j += BLOCK_COLS;
    }
    if j < n {
        // The last columns, fewer than a block: summed in place.
        for r in 0..R {
            let row = &mut c[(first + r) * n + j..(first + r + 1) * n];
            if store == Store::Overwrite {
                row.fill(F::ZERO);
            }
            for (p, b_row) in b_rows.chunks_exact(n).enumerate() {
                let a_ip = a_column(p)[r];
                row.iter_mut().zip(&b_row[j..]).for_each(|(o, &v)| *o = mul_add::<F, FUSED>(a_ip, v, *o));
            }
        }
    }
}

/// The `rows × cols` strided matrix `x` into `out`, row after row.
#[inline(always)]
fn copy_rows<F: Float>(x: Strided<'_, F>, rows: usize, cols: usize, out: &mut [F]) {
    for (r, row) in out[..rows * cols].chunks_exact_mut(cols).enumerate() {
        row.iter_mut().enumerate().for_each(|(j, o)| *o = x.at(r, j));
    }
}

#[inline(always)]
pub(super) fn dot<F: Float, const FUSED: bool>(x: &[F], y: &[F]) -> F {
    let len = x.len().min(y.len());
    let whole = len - len % LANES;
    let mut acc = [F::ZERO; LANES];
    for (p, q) in x[..whole].chunks_exact(LANES).zip(y[..whole].chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] = mul_add::<F, FUSED>(p[l], q[l], acc[l]);
        }
    }
    let mut tail = F::ZERO;
    for i in whole..len {
        tail = mul_add::<F, FUSED>(x[i], y[i], tail);
    }
    acc.iter().fold(tail, |s, &v| s + v)
}

/// The `rows × cols` strided matrix `x` as row-major rows: borrowed when it already is, copied
/// otherwise.
#[inline(always)]
fn contiguous<F: Float>(x: Strided<'_, F>, rows: usize, cols: usize) -> Cow<'_, [F]> {
    if let Some(rows) = x.row_major(rows, cols) {
        return Cow::Borrowed(rows);
    }
    let mut out = vec![F::ZERO; rows * cols];
    copy_rows(x, rows, cols, &mut out);
    Cow::Owned(out)
}

/// A product's `(m, k, n)`.
#[cfg(test)]
type Dims = (usize, usize, usize);

/// An AVX2 kernel: `c (+)= a·b`, or `false` where it does not run.
#[cfg(test)]
type Kernel = fn(Dims, Strided<'_, f32>, Strided<'_, f32>, &mut [f32], Store) -> bool;

/// The exact test both AVX2 kernels pass: every shape in every layout of `a` (in rows, as its
/// transpose, rows spread apart) and of `b` (in rows, as its transpose, columns spread apart),
/// overwriting and adding, against `definition` as the kernel rounds it, element for element.
#[cfg(test)]
pub(super) fn check_avx2_kernel_exactly(
    shapes: &[Dims],
    kernel: Kernel,
    definition: fn(Dims, Strided<'_, f32>, Strided<'_, f32>, &mut [f32], Store),
) {
    let detected = SimdLevel::detect().has_avx2_fma();
    let values = |len: usize, seed: usize| -> Vec<f32> {
        (0..len).map(|i| ((i * 7 + seed * 13) % 17) as f32 * 0.37 - 2.9).collect()
    };
    for &(m, k, n) in shapes {
        let (a, b) = (values(2 * m * k + 3 * m, 1), values(k * n + 2 * n, 2));
        let a_layouts = [
            Strided { data: &a[..], rows: k, cols: 1 },
            Strided { data: &a[..], rows: 1, cols: m },
            Strided { data: &a[..], rows: k + 3, cols: 1 },
            Strided { data: &a[..], rows: 2, cols: 2 * m },
        ];
        let b_layouts = [
            Strided { data: &b[..], rows: n, cols: 1 },
            Strided { data: &b[..], rows: 1, cols: k },
            Strided { data: &b[..], rows: 1, cols: k + 2 },
        ];
        for (la, &a) in a_layouts.iter().enumerate() {
            for (lb, &b) in b_layouts.iter().enumerate() {
                for store in [Store::Overwrite, Store::Add] {
                    let start = values(m * n, 3);
                    let (mut got, mut want) = (start.clone(), start);
                    let ran = kernel((m, k, n), a, b, &mut got, store);
                    assert_eq!(ran, detected, "{m}×{k}×{n}: runs exactly where the CPU has AVX2 and FMA");
                    if ran {
                        definition((m, k, n), a, b, &mut want, store);
                        assert_eq!(got, want, "{m}×{k}×{n}, a layout {la}, b layout {lb}, {store:?}");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `c += a·b` by the definition, in `f64`.
    fn reference(m: usize, k: usize, n: usize, a: Strided<'_, f32>, b: Strided<'_, f32>) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| f64::from(a.at(i, p)) * f64::from(b.at(p, j))).sum();
            }
        }
        c
    }

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len).map(|i| ((i * 7 + seed * 13) % 17) as f32 * 0.25 - 2.0).collect()
    }

    type Product = fn((usize, usize, usize), Strided<'_, f32>, Strided<'_, f32>, &mut [f32], Store);

    #[test]
    fn every_shape_and_layout_matches_the_definition() {
        let copies: [(&str, Product); 3] = [
            ("as dispatched", small_matmul::<f32>),
            ("loops", small_matmul_loops::<f32, false>),
            ("fused loops", small_matmul_loops::<f32, true>),
        ];
        for (m, k, n) in [
            (1, 1, 1),
            (5, 3, 7),
            (3, 40, 20),
            (7, 2, 20),
            (16, 16, 16),
            (9, 5, 35),
            (100, 2, 16),
            (16, 100, 1),
            (16, 100, 2),
            (12, 5, 7),
            (200, 3, 4),
            (20, 3, 1),
            (6, 4, 8),
        ] {
            if cfg!(miri) && m * k * n > 1600 {
                continue; // The smaller shapes take every path too, in a quarter of the time.
            }
            // `a` as rows, as the transpose of its rows, or with elements spread apart.
            for (ta, tb) in [(0, false), (1, false), (0, true), (1, true), (2, false), (2, true)] {
                let (a_data, b_data) = (values(3 * m * k, 1), values(k * n, 2));
                let a = match ta {
                    0 => Strided { data: &a_data, rows: k, cols: 1 },
                    1 => Strided { data: &a_data, rows: 1, cols: m },
                    _ => Strided { data: &a_data, rows: 3 * k, cols: 2 },
                };
                let b = if tb {
                    Strided { data: &b_data, rows: 1, cols: k }
                } else {
                    Strided { data: &b_data, rows: n, cols: 1 }
                };
                let expected = reference(m, k, n, a, b);
                for (store, start) in [(Store::Add, 1.0), (Store::Overwrite, f32::NAN)] {
                    for (copy, product) in copies {
                        if cfg!(miri) && copy == "as dispatched" {
                            continue; // Miri reports no AVX2: the plain loops, tested next.
                        }
                        let mut c = vec![start; m * n];
                        product((m, k, n), a, b, &mut c, store);
                        let added = if store == Store::Add { 1.0 } else { 0.0 };
                        for (got, want) in c.iter().zip(&expected) {
                            // Every product and partial sum is a multiple of 1/16 below 2²⁰:
                            // exact, fused or not.
                            assert_eq!(
                                f64::from(*got),
                                want + added,
                                "{m}×{k}×{n}, transposed {ta} {tb}, {store:?}, {copy}"
                            );
                        }
                    }
                }
            }
        }
    }
}
