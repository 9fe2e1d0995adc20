//! `f32` products of up to [`PANEL_PRODUCT`] multiply-adds with whole groups of 8 columns (a
//! batch of 100 rows through a 16-wide layer and its gradients, attention's 16×16 heads): for
//! them the GEMM's packing and set-up (about 4,000 instructions a call) cost more than the
//! arithmetic, and the portable register blocks of `small_matmul` run at half the speed.
//!
//! `c` is computed a block of rows by 16 or 32 columns at a time, in registers summed over the
//! whole inner dimension with fused multiply-adds, as the GEMM's own kernels do: each step
//! broadcasts one element of each of the block's rows of `a` (read where they are, at any
//! strides) and loads one row of `b`'s columns. With AVX2 a block is 6 rows by 16 columns (12
//! registers); where the CPU has AVX-512F, 12 rows by 32 columns (24 registers), the last 8
//! columns of an odd multiple of 8 in AVX2 blocks. A `b` whose rows are not contiguous (a
//! transposed one) is copied first. Each element of `c` is `Σ a·b` fused in order of the inner
//! index from 0, as in the GEMM and in `small_matmul`'s copy for FMA, then stored or added to
//! `c`, so both kernels give the same bits.
//!
//! Thin products run apart ([`is_thin`]): those at most 4 deep row by row, in the same order;
//! those of 1 or 2 rows, at least 16 deep and within [`PANEL_PRODUCT`] in four partial sums
//! per element, which round otherwise, the same on both register widths and any number of
//! threads.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m256, __m512, _mm256_add_ps, _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps,
    _mm256_storeu_ps, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps,
    _mm512_storeu_ps,
};

use super::small_matmul::{Store, Strided};
use crate::float::Float;

/// Products up to this many multiply-adds may use [`panel_matmul`] (a 100×16·16×16 product is
/// 25,600). It keeps no cache blocks: `b`'s columns are read once per block of rows of `a`,
/// which stays in cache for inner dimensions of a few hundred.
pub(super) const PANEL_PRODUCT: usize = 64 * 1024;

/// Larger products run on one thread on [`panel_matmul`] too when `b` is at most this many
/// columns wide and [`PANEL_DEPTH`] deep, its rows contiguous: a group of 32 columns of `b`
/// (64 KiB at most) stays in cache while `a`'s rows pass (once per group: 8 times at this
/// width, each `a` element then used for 32 columns, so even rows read from memory keep the
/// FMAs fed), and the GEMM would copy all of `b` into panels first, on every call. A conv
/// net's per-image products (32×144·144×64, 64×288·288×16) ran 1.8–1.9× as fast as on the
/// GEMM, a layer's 512×64·64×64 1.1×, its weight gradient 64×512·512×64 1.4× (with `b`
/// transposed, copied first, 0.85–0.9×); raised from 64 to 256 columns, the transformer's
/// 512×64·64×192 and 64×512·512×256 1.1× and 1.2–1.4× (W7 on one thread 4.43 → 4.12 ms).
pub(super) const PANEL_COLUMNS: usize = 256;
/// See [`PANEL_COLUMNS`].
pub(super) const PANEL_DEPTH: usize = 512;

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
        } else if b.rows == 1 {
            // `b` transposed (a weight stored [out, in]): its stored rows turned in registers,
            // eight by eight ([100, 16]·[16, 16]ᵀ 1.03 → 0.83 µs, against element by element).
            copied = super::reserved(k * n);
            copied.resize(k * n, 0.0);
            // SAFETY: `avx2_f32_operands` detected AVX2 and asserted that `b`'s `k×n` elements
            // at strides (1, b.cols) lie inside `b.data`: its `n` stored rows of `k`, `b.cols`
            // apart; `copied` holds `k×n`.
            unsafe { super::packed_matmul::turn_rows(n, k, b.data.as_ptr(), b.cols, copied.as_mut_ptr()) };
            (&copied[..], n)
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
        let operands = Operands {
            a: a.data.as_ptr(),
            a_strides: (a.rows, a.cols),
            b: b_rows.as_ptr(),
            rsb: row_stride,
            c: c.as_mut_ptr(),
            rsc: n,
            add: matches!(store, Store::Add),
        };
        // SAFETY: `avx2_f32_operands` detected AVX2 and FMA on the running CPU (and
        // `SimdLevel::detect` AVX-512F, for `kernel_wide`) and asserted that `a`'s `m×k`
        // elements at strides (a.rows, a.cols) lie inside `a.data`, and `c` holds `m×n`
        // (asserted above); `b_rows` holds `k` rows of `n` elements, `row_stride` apart
        // (asserted for `b` as it is, built so for the copy). The kernels read and write no
        // other elements, and `c` is a `&mut` borrow, so it overlaps neither operand.
        unsafe {
            match (crate::simd::SimdLevel::detect().has_avx512(), is_thin((m, k, n))) {
                (true, false) => kernel_wide::<Blocks>((m, k, n), operands),
                (true, true) => kernel_wide::<ThinBlocks>((m, k, n), operands),
                (false, false) => kernel::<Blocks>((m, k, n), operands),
                (false, true) => kernel::<ThinBlocks>((m, k, n), operands),
            }
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

/// Where a kernel's operands are: `a` at strides (row, step), `b`'s rows `rsb` apart, `c`'s
/// rows `rsc` apart, and whether the sums are added to `c` rather than stored.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Operands {
    a: *const f32,
    a_strides: (usize, usize),
    b: *const f32,
    rsb: usize,
    c: *mut f32,
    rsc: usize,
    add: bool,
}

/// The blocks a kernel runs over `c`, for either register width: [`Blocks`] or
/// [`ThinBlocks`]. Each kernel is compiled once per kind, so the thin blocks are functions of
/// their own: compiled into the same function as the 12-row blocks, they slowed those
/// (100×16·16×16 0.71 → 0.76 µs).
#[cfg(target_arch = "x86_64")]
trait BlockKind {
    /// # Safety
    /// As for [`blocks`].
    unsafe fn run<V: Register>(dims: (usize, usize, usize), o: Operands);
}

/// [`blocks`]: `V::ROWS` rows at a time.
#[cfg(target_arch = "x86_64")]
struct Blocks;

/// [`thin_blocks`], for a thin product ([`is_thin`]).
#[cfg(target_arch = "x86_64")]
struct ThinBlocks;

#[cfg(target_arch = "x86_64")]
impl BlockKind for Blocks {
    #[inline(always)]
    unsafe fn run<V: Register>(dims: (usize, usize, usize), o: Operands) {
        // SAFETY: the caller's contract.
        unsafe { blocks::<V>(dims, o) }
    }
}

#[cfg(target_arch = "x86_64")]
impl BlockKind for ThinBlocks {
    #[inline(always)]
    unsafe fn run<V: Register>(dims: (usize, usize, usize), o: Operands) {
        // SAFETY: the caller's contract.
        unsafe { thin_blocks::<V>(dims, o) }
    }
}

/// The AVX2 kernel over all of `c`, in blocks of kind `B`.
///
/// # Safety
/// The CPU has AVX2 and FMA; `a` holds `m×k` elements at its strides, `b` holds `k` rows of
/// `n` elements, `c` holds `m` rows of `n` and overlaps neither; `n` is a multiple of 8.
/// ([`ThinBlocks`] compute the product only where it is thin, [`is_thin`].)
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel<B: BlockKind>(dims: (usize, usize, usize), operands: Operands) {
    // SAFETY: the caller's contract.
    unsafe { B::run::<__m256>(dims, operands) }
}

/// The AVX-512 kernel over all of `c`, in blocks of kind `B`: the columns in groups of 16 in
/// 512-bit registers, the last 8 of an odd multiple of 8 in AVX2 blocks.
///
/// # Safety
/// As for [`kernel`], and the CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn kernel_wide<B: BlockKind>((m, k, n): (usize, usize, usize), operands: Operands) {
    let wide = n - n % 16;
    // SAFETY: the caller's contract, for columns 0..wide and then wide..n of `b` and `c`.
    unsafe {
        B::run::<__m512>((m, k, wide), operands);
        if wide < n {
            let (b, c) = (operands.b.add(wide), operands.c.add(wide));
            B::run::<__m256>((m, k, n - wide), Operands { b, c, ..operands });
        }
    }
}

/// The blocks of `c`: two registers of columns at a time (one for the last when `n` is an odd
/// multiple of a register's lanes), `V::ROWS` rows at a time (fewer for the last).
///
/// # Safety
/// The CPU has `V`'s features; `a` holds `m×k` elements at its strides, `b` holds `k` rows of
/// `n` elements, `c` holds `m` rows of `n` and overlaps neither; `n` is a multiple of
/// `V::LANES`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn blocks<V: Register>((m, k, n): (usize, usize, usize), o: Operands) {
    let mut j = 0;
    while j < n {
        let pair = n - j >= 2 * V::LANES;
        let mut i = 0;
        while i < m {
            let rows = (m - i).min(V::ROWS);
            // SAFETY: rows i..i + rows of `a` and `c` and the block's columns from j of `b`
            // and `c` are inside the matrices the caller vouches for.
            unsafe {
                let block = Operands { a: o.a.add(i * o.a_strides.0), b: o.b.add(j), c: o.c.add(i * o.rsc + j), ..o };
                if pair {
                    V::block::<2>(rows, k, block)
                } else {
                    V::block::<1>(rows, k, block)
                }
            }
            i += rows;
        }
        j += if pair { 2 * V::LANES } else { V::LANES };
    }
}

/// True for a product that [`thin_blocks`] runs: at most [`SHALLOW`] deep, or at most
/// [`SPLIT_ROWS`] rows, at least [`SPLIT_DEPTH`] deep and at most [`PANEL_PRODUCT`]
/// multiply-adds. (A larger product may run here on one thread and on the GEMM on two; it
/// keeps the GEMM's one chain, so its result does not depend on the number of threads.)
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn is_thin((m, k, n): (usize, usize, usize)) -> bool {
    const { assert!(SPLIT_ROWS == 2 && SHALLOW < SPLIT_DEPTH, "thin_blocks matches on these") };
    k <= SHALLOW || (m <= SPLIT_ROWS && k >= SPLIT_DEPTH && m.saturating_mul(k).saturating_mul(n) <= PANEL_PRODUCT)
}

/// [`blocks`] for a thin product ([`is_thin`]): one or two registers of columns at a time,
/// all rows at once, row by row ([`shallow_rows`]) or in four partial sums ([`split_block`]).
///
/// # Safety
/// As for [`blocks`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn thin_blocks<V: Register>((m, k, n): (usize, usize, usize), o: Operands) {
    let mut j = 0;
    while j < n {
        let pair = n - j >= 2 * V::LANES;
        let columns = Operands { b: o.b.wrapping_add(j), c: o.c.wrapping_add(j), ..o };
        // SAFETY: the columns from j, one or two registers wide, of all rows of `b` and `c` are
        // inside the matrices the caller vouches for, as are all of `a`'s.
        unsafe {
            // (`avx2_f32_operands` declines k = 0: those arms only make the match whole.) Past
            // the shallow depths, `is_thin` leaves 1 or `SPLIT_ROWS` rows.
            match (k, m, pair) {
                (0, _, false) => shallow_rows::<V, 0, 1>(m, columns),
                (0, _, true) => shallow_rows::<V, 0, 2>(m, columns),
                (1, _, false) => shallow_rows::<V, 1, 1>(m, columns),
                (1, _, true) => shallow_rows::<V, 1, 2>(m, columns),
                (2, _, false) => shallow_rows::<V, 2, 1>(m, columns),
                (2, _, true) => shallow_rows::<V, 2, 2>(m, columns),
                (3, _, false) => shallow_rows::<V, 3, 1>(m, columns),
                (3, _, true) => shallow_rows::<V, 3, 2>(m, columns),
                (SHALLOW, _, false) => shallow_rows::<V, SHALLOW, 1>(m, columns),
                (SHALLOW, _, true) => shallow_rows::<V, SHALLOW, 2>(m, columns),
                (_, 1, false) => split_block::<V, 1, 1>(k, columns),
                (_, 1, true) => split_block::<V, 1, 2>(k, columns),
                (_, _, false) => split_block::<V, SPLIT_ROWS, 1>(k, columns),
                (_, _, true) => split_block::<V, SPLIT_ROWS, 2>(k, columns),
            }
        }
        j += if pair { 2 * V::LANES } else { V::LANES };
    }
}

/// Products at most this deep run row by row ([`shallow_rows`]).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const SHALLOW: usize = 4;

/// Each of `m` rows of `c` (one or two registers of columns, `W`) as `Σₚ a[i, p]·b[p, ·]`
/// over `K` steps, with `b`'s `K` rows held in registers. A block of `V::ROWS` rows spends
/// more on its set-up and on the chain of its rows' addresses than on so few multiply-adds
/// (100×2·2×16 took 0.22 µs, 100×1·1×16 0.19); here each row is a short chain of its own.
/// The same operations in the same order as [`block_at`], so the same bits.
///
/// # Safety
/// As for [`block`], with `m` rows of `a` and `c` and `K` = `k` steps.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn shallow_rows<V: Register, const K: usize, const W: usize>(m: usize, o: Operands) {
    // SAFETY: rows p < K of `b` at columns below W·LANES, `a[i, p]` and row i of `c` at those
    // columns for i < m are inside the matrices the caller vouches for.
    unsafe {
        let mut b_rows = [[V::zero(); W]; K];
        for (p, row) in b_rows.iter_mut().enumerate() {
            for (w, part) in row.iter_mut().enumerate() {
                *part = V::load(o.b.add(p * o.rsb + V::LANES * w));
            }
        }
        let (rsa, csa) = o.a_strides;
        for i in 0..m {
            let mut sums = [V::zero(); W];
            for (p, row) in b_rows.iter().enumerate() {
                let x = V::broadcast(o.a.add(i * rsa + p * csa));
                for (sum, &part) in sums.iter_mut().zip(row) {
                    *sum = V::fmadd(x, part, *sum);
                }
            }
            store_row::<V, W>(o.c.add(i * o.rsc), sums, o.add);
        }
    }
}

/// Products of at most this many rows…
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const SPLIT_ROWS: usize = 2;
/// …and at least this deep run in [`split_block`].
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const SPLIT_DEPTH: usize = 16;

/// One block of all `R` (≤ [`SPLIT_ROWS`]) rows of `c` by `W` registers of columns, each
/// element summed in four partial sums: the steps p ≡ s (mod 4) fused in order into sum s,
/// then `(s₀ + s₁) + (s₂ + s₃)`. With one chain per element, a weight's gradient over a batch
/// (2×100·100×16, 1×100·100×16) waits out each multiply-add's latency, 100 in a row (0.23
/// µs); four chains keep the FMA units busy. The partial sums round differently from one
/// chain, as `dot`'s eight lanes do; every product of this shape gets these bits.
///
/// # Safety
/// As for [`block`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn split_block<V: Register, const R: usize, const W: usize>(k: usize, o: Operands) {
    // SAFETY: every step p < k of [`step`] reads inside the matrices the caller vouches for,
    // and rows r < R of `c` at columns below W·LANES are inside `c`.
    unsafe {
        let mut sums = [[[V::zero(); W]; R]; 4];
        super::packed_matmul::in_fours(k, |p| step(&mut sums[p % 4], &o, o.a_strides, p));
        let [s0, s1, s2, s3] = sums;
        for r in 0..R {
            let row: [V; W] = std::array::from_fn(|w| V::add(V::add(s0[r][w], s1[r][w]), V::add(s2[r][w], s3[r][w])));
            store_row::<V, W>(o.c.add(r * o.rsc), row, o.add);
        }
    }
}

/// Stores (or adds, when `add`) `W` registers of sums at `out`.
///
/// # Safety
/// `out` points to `W·V::LANES` writable elements, and the CPU has `V`'s features.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn store_row<V: Register, const W: usize>(out: *mut f32, sums: [V; W], add: bool) {
    for (w, sum) in sums.into_iter().enumerate() {
        // SAFETY: the caller's contract.
        unsafe {
            let out = out.add(V::LANES * w);
            V::store(out, if add { V::add(V::load(out), sum) } else { sum });
        }
    }
}

/// A SIMD register of `f32` lanes and the instructions a block uses.
#[cfg(target_arch = "x86_64")]
trait Register: Copy {
    /// `f32` lanes in one register.
    const LANES: usize;
    /// Rows of a full block: its `2·ROWS` accumulators, 2 rows of `b` and a broadcast fit in
    /// the registers.
    const ROWS: usize;
    /// One block of `rows` (≤ `ROWS`) rows by `W` registers of columns: [`block`] for the
    /// row count given at run time.
    ///
    /// # Safety
    /// As for [`block`].
    unsafe fn block<const W: usize>(rows: usize, k: usize, o: Operands);
    /// # Safety
    /// The CPU has the register's features (for this and the methods below).
    unsafe fn zero() -> Self;
    /// # Safety
    /// `p` points to `LANES` readable elements.
    unsafe fn load(p: *const f32) -> Self;
    /// # Safety
    /// `p` points to a readable element.
    unsafe fn broadcast(p: *const f32) -> Self;
    /// `a·b + c`, rounded once.
    ///
    /// # Safety
    /// As for [`Register::zero`].
    unsafe fn fmadd(a: Self, b: Self, c: Self) -> Self;
    /// # Safety
    /// As for [`Register::zero`].
    unsafe fn add(a: Self, b: Self) -> Self;
    /// # Safety
    /// `p` points to `LANES` writable elements.
    unsafe fn store(p: *mut f32, v: Self);
}

/// `Register::block` for each row count from 1 to the list's last.
#[cfg(target_arch = "x86_64")]
macro_rules! block_by_rows {
    ($rows:expr, [$($r:literal)*], $args:expr) => {
        match $rows {
            $($r => block::<Self, $r, W>($args.0, $args.1),)*
            rows => panic!("panel_matmul: a block of {rows} rows"),
        }
    };
}

#[cfg(target_arch = "x86_64")]
impl Register for __m256 {
    const LANES: usize = 8;
    const ROWS: usize = 6;
    #[inline(always)]
    unsafe fn block<const W: usize>(rows: usize, k: usize, o: Operands) {
        // SAFETY: the caller's contract.
        unsafe { block_by_rows!(rows, [1 2 3 4 5 6], (k, o)) }
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: the caller vouches for AVX.
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller vouches for the 8 elements and AVX.
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn broadcast(p: *const f32) -> Self {
        // SAFETY: the caller vouches for the element and AVX.
        unsafe { _mm256_broadcast_ss(&*p) }
    }
    #[inline(always)]
    unsafe fn fmadd(a: Self, b: Self, c: Self) -> Self {
        // SAFETY: the caller vouches for FMA.
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        // SAFETY: the caller vouches for AVX.
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self) {
        // SAFETY: the caller vouches for the 8 elements and AVX.
        unsafe { _mm256_storeu_ps(p, v) }
    }
}

#[cfg(target_arch = "x86_64")]
impl Register for __m512 {
    const LANES: usize = 16;
    const ROWS: usize = 12;
    #[inline(always)]
    unsafe fn block<const W: usize>(rows: usize, k: usize, o: Operands) {
        // SAFETY: the caller's contract.
        unsafe { block_by_rows!(rows, [1 2 3 4 5 6 7 8 9 10 11 12], (k, o)) }
    }
    #[inline(always)]
    unsafe fn zero() -> Self {
        // SAFETY: the caller vouches for AVX-512F.
        unsafe { _mm512_setzero_ps() }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller vouches for the 16 elements and AVX-512F.
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn broadcast(p: *const f32) -> Self {
        // SAFETY: the caller vouches for the element and AVX-512F.
        unsafe { _mm512_set1_ps(*p) }
    }
    #[inline(always)]
    unsafe fn fmadd(a: Self, b: Self, c: Self) -> Self {
        // SAFETY: the caller vouches for AVX-512F.
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        // SAFETY: the caller vouches for AVX-512F.
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self) {
        // SAFETY: the caller vouches for the 16 elements and AVX-512F.
        unsafe { _mm512_storeu_ps(p, v) }
    }
}

/// One block of `R` rows by `W` registers of columns: `c (+)= Σₚ a[·, p]·b[p, ·]`. The
/// usual layouts of `a` (rows or columns contiguous) are compiled with that stride known, so
/// the addresses of the rows' elements are a few fixed offsets, not a chain of additions.
///
/// # Safety
/// The CPU has `V`'s features; `o.a` holds `R` rows of `k` elements at its strides, `o.b`
/// holds `k` rows of `W·V::LANES` elements, `o.rsb` apart, and `o.c` `R` rows of as many,
/// `o.rsc` apart.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn block<V: Register, const R: usize, const W: usize>(k: usize, o: Operands) {
    // SAFETY: the caller's contract, with the strides it gave.
    unsafe {
        match o.a_strides {
            (rsa, 1) => block_at::<V, R, W>(k, o, (rsa, 1)),
            (1, csa) => block_at::<V, R, W>(k, o, (1, csa)),
            strides => block_at::<V, R, W>(k, o, strides),
        }
    }
}

/// [`block`] with `a`'s strides `(rsa, csa)`.
///
/// # Safety
/// As for [`block`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn block_at<V: Register, const R: usize, const W: usize>(k: usize, o: Operands, (rsa, csa): (usize, usize)) {
    // SAFETY: every pointer read or written below is inside the rows and columns the caller
    // vouches for: row r < R of `a` at column p < k, row p of `b` and row r of `c` at columns
    // below W·LANES.
    unsafe {
        let mut sums = [[V::zero(); W]; R];
        // A block one register wide runs its steps four per turn, so they share one chain of
        // row addresses; two registers wide, a step's FMAs outlast the chain, and four steps'
        // broadcasts at once would not fit the registers (they spilled).
        if W == 1 {
            super::packed_matmul::in_fours(k, |p| step(&mut sums, &o, (rsa, csa), p));
        } else {
            for p in 0..k {
                step(&mut sums, &o, (rsa, csa), p);
            }
        }
        for (r, row_sums) in sums.into_iter().enumerate() {
            store_row::<V, W>(o.c.add(r * o.rsc), row_sums, o.add);
        }
    }
}

/// One step `p` of [`block_at`]: each row's sums gain `a[r, p]·b[p, ·]`.
///
/// # Safety
/// As for [`block`], for step `p` < `k`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn step<V: Register, const R: usize, const W: usize>(
    sums: &mut [[V; W]; R],
    o: &Operands,
    (rsa, csa): (usize, usize),
    p: usize,
) {
    // SAFETY: row p of `b` at columns below W·LANES and `a[r, p]` for r < R are inside the
    // matrices the caller vouches for.
    unsafe {
        let mut b_parts = [V::zero(); W];
        for (w, part) in b_parts.iter_mut().enumerate() {
            *part = V::load(o.b.add(p * o.rsb + V::LANES * w));
        }
        let a_column = o.a.add(p * csa);
        for (r, row_sums) in sums.iter_mut().enumerate() {
            let x = V::broadcast(a_column.add(r * rsa));
            for (sum, &part) in row_sums.iter_mut().zip(&b_parts) {
                *sum = V::fmadd(x, part, *sum);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::small_matmul::check_avx2_kernel_exactly;
    use super::*;
    use crate::simd::SimdLevel;

    /// `c (+)= a·b` as the kernel rounds it: each element's terms fused in order from 0 (in
    /// a thin product deeper than `SHALLOW`, the steps p ≡ s (mod 4) into partial sum s,
    /// then `(s₀ + s₁) + (s₂ + s₃)`), then stored or added to `c`.
    fn fused_definition(
        (m, k, n): (usize, usize, usize),
        a: Strided<'_, f32>,
        b: Strided<'_, f32>,
        c: &mut [f32],
        store: Store,
    ) {
        let split = k > SHALLOW && is_thin((m, k, n));
        for i in 0..m {
            for j in 0..n {
                let fused = |steps: &mut dyn Iterator<Item = usize>| {
                    steps.fold(0.0f32, |s, p| a.at(i, p).mul_add(b.at(p, j), s))
                };
                let sum = if split {
                    let [s0, s1, s2, s3] = std::array::from_fn(|s| fused(&mut (s..k).step_by(4)));
                    (s0 + s1) + (s2 + s3)
                } else {
                    fused(&mut (0..k))
                };
                c[i * n + j] = if store == Store::Add { c[i * n + j] + sum } else { sum };
            }
        }
    }

    #[test]
    fn every_block_shape_and_layout_matches_the_fused_definition_exactly() {
        // Under Miri (run with AVX2 and FMA, or AVX-512F too, enabled at compile time, so the
        // kernels run there too) small shapes that still end in blocks of every height from 1
        // to 12 rows and of 8, 16 and 32 columns.
        let shapes: &[(usize, usize, usize)] = if cfg!(miri) {
            &[
                (13, 3, 24),
                (10, 2, 8),
                (9, 2, 16),
                (5, 4, 8),
                (4, 1, 16),
                (3, 2, 8),
                (23, 2, 56),
                (11, 1, 48),
                (7, 2, 40),
                (1, 17, 16),
                (2, 16, 24),
            ]
        } else {
            &[
                (100, 16, 16),
                (16, 100, 16),
                (13, 7, 24),
                (6, 41, 8),
                (1, 5, 40),
                (11, 300, 16),
                (5, 1, 32),
                (100, 16, 56),
                (35, 9, 48),
                (23, 3, 64),
                (100, 2, 16),
                (100, 1, 16),
                (9, 4, 40),
                (1, 100, 16),
                (2, 100, 16),
                (2, 19, 48),
                (1, 16, 8),
                (2, 15, 32),
                (1, 300, 256),
                (2, 128, 256),
            ]
        };
        check_avx2_kernel_exactly(shapes, panel_matmul::<f32>, fused_definition);
        // Where the CPU has AVX-512, the lines above ran its kernel; the AVX2 one runs here.
        SimdLevel::at_most_avx2(|| check_avx2_kernel_exactly(shapes, panel_matmul::<f32>, fused_definition));
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
