//! The `f32` products that neither [`panel_matmul`](super::panel_matmul) nor the register
//! blocks of [`small_matmul`](super::small_matmul) take, on CPUs with AVX2 and FMA: the blocked
//! GEMM of BLIS (Goto's algorithm), with the panel kernel's 6×16 block of 12 registers as its
//! kernel, or a 12×32 block of 24 AVX-512 registers where the CPU has AVX-512F.
//!
//! The inner dimension is cut into slices of [`DEPTH`]. For each slice, [`COLUMN_BLOCK`]
//! columns of `b` are copied into panels of 16 columns, each panel's rows one after another
//! (with an 8×8 transpose in registers when `b` is stored transposed). The kernel then runs
//! over [`ROW_BLOCK`] rows of `a` at a time, panel of `b` by panel: a panel (32 KiB) stays in
//! the first-level cache while the kernel broadcasts `a`'s elements where they are (6 rows at a
//! time; the last rows, when fewer than 6 are left, from a zero-padded copy). Copying `a`'s
//! blocks too, as BLIS does, added 18 % to the instructions of the conv net's step, whose
//! products are 16 to 64 columns wide, and made the 1024³ product no faster.
//!
//! On one core of an AMD EPYC (92 GFLOP/s peak) it ran the 1024³ product of the W4 benchmark
//! at 61 GFLOP/s against the `gemm` crate's 51, interleaved (`docs/DESIGN.md` has the other
//! workloads). Where the CPU has AVX-512F a second kernel runs the same loops: 12 rows by 32
//! columns in 512-bit registers, with its own cache blocking (on one core of an Intel Xeon of
//! the fifth generation, 113 → 202 GFLOP/s on the 1024³ product, against PyTorch's 231).
//!
//! Each element of `c` is its old value (when adding) or 0, then `a[i, p]·b[p, j]` fused in
//! order of `p` from 0: slices after the first continue from the sums the one before stored.
//! A sum of products `Σₜ aₜ·bₜ` (a conv's filter gradient sums one per image) is one product
//! whose inner dimension is the terms' steps one after another: a slice spans several terms,
//! and the kernel keeps its sums in registers from one term's rows of `a` to the next (the 64
//! products of 16 steps of the conv net's third layer: 380 → 260 µs, where each term was a
//! GEMM of its own that stored and reloaded `c` every 16 steps).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m256, __m512, _mm256_broadcast_ss, _mm256_castps256_ps128, _mm256_fmadd_ps, _mm256_loadu_ps,
    _mm256_permute2f128_ps, _mm256_setzero_ps, _mm256_shuffle_ps, _mm256_storeu_ps, _mm256_unpackhi_ps,
    _mm256_unpacklo_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
    _mm_storeu_ps,
};

use super::small_matmul::{Store, Strided};
use crate::float::Float;

/// Columns of a panel of `b`'s copy: two AVX2 registers, one AVX-512 register.
const COLUMNS: usize = 16;
/// Columns of `b` copied at a time: `DEPTH × COLUMN_BLOCK` elements (2 MiB at the AVX2
/// kernel's depth), read from the third-level cache.
const COLUMN_BLOCK: usize = if cfg!(miri) { 32 } else { 1024 };

/// A kernel of the blocked loops: the block of `c` it sums at once and the cache blocking
/// that suits it. Each element it sums is `a[i, p]·b[p, j]` fused in order of `p`, so every
/// kernel gives the same bits.
#[cfg(target_arch = "x86_64")]
trait Kernel {
    /// Rows of `c` per call.
    const ROWS: usize;
    /// Panels of [`COLUMNS`] columns per call, at most.
    const PANELS: usize;
    /// Steps of the inner dimension per slice. Under Miri, small blocks let small shapes cross
    /// every boundary.
    const DEPTH: usize;
    /// Rows of `a` each panel of `b` meets in turn, a multiple of `ROWS`.
    const ROW_BLOCK: usize;
    /// One block of `c`: `ROWS` rows of `panels · COLUMNS` (`panels` ≤ `PANELS`), as
    /// [`kernel`] does for the AVX2 kernel's one panel.
    ///
    /// # Safety
    /// The CPU has the kernel's features; each of `block.a`'s segments holds, from its row
    /// offset on, `ROWS` rows of its steps at `a`'s strides, and the segments' steps add up to
    /// `depth`; `b_panels` holds `panels` panels of `depth × COLUMNS`, `depth × COLUMNS`
    /// apart; `c` holds `ROWS` rows of `panels · COLUMNS` elements, `rsc` apart.
    unsafe fn run(block: Block<'_>);
}

/// One call of a [`Kernel`]: where its operands are and how many steps it sums.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Block<'s> {
    /// Steps of the inner dimension.
    depth: usize,
    /// `a`'s rows.
    a: BlockRows<'s>,
    /// The first panel of `b`'s copy.
    b_panels: *const f32,
    /// Panels of [`COLUMNS`] summed.
    panels: usize,
    /// The block's first element of `c`.
    c: *mut f32,
    /// Elements between rows of `c`.
    rsc: usize,
    /// Whether to add to the sums `c` holds.
    continues: bool,
}

/// The rows of `a` a [`Block`] reads: for each summed product the slice meets, where its steps
/// in the slice start (at row 0) and how many there are; the offset of the block's first row
/// from there; `a`'s strides (row, step).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct BlockRows<'s> {
    segments: &'s [(*const f32, usize)],
    row_offset: usize,
    strides: (usize, usize),
}

/// The AVX2 and FMA kernel: 6 rows of one panel (12 accumulators, 2 rows of `b` and a
/// broadcast fill 15 of the 16 AVX2 registers). A `b` panel of 512 steps (32 KiB) fills the
/// first-level cache; 48 rows of `a` of 512 steps (96 KiB) stay in the second-level cache
/// while the panels pass.
#[cfg(target_arch = "x86_64")]
struct Avx2Kernel;

#[cfg(target_arch = "x86_64")]
impl Kernel for Avx2Kernel {
    const ROWS: usize = 6;
    const PANELS: usize = 1;
    const DEPTH: usize = if cfg!(miri) { 8 } else { 512 };
    const ROW_BLOCK: usize = if cfg!(miri) { 12 } else { 48 };
    #[inline(always)]
    unsafe fn run(b: Block<'_>) {
        // SAFETY: the caller's contract, for the one panel this kernel sums.
        unsafe { kernel(b) }
    }
}

/// The AVX-512 kernel: 12 rows of two panels (24 accumulators of the 32 registers), twice the
/// AVX2 kernel's multiply-adds per instruction where the CPU runs 512-bit FMAs at full rate
/// (on the Xeon of the earlier sessions: W4's 1024³ product on one core 113 → 202 GFLOP/s;
/// on the Zen 4 EPYC, which runs them at half rate, the same peak as AVX2's). Two panels of
/// 256 steps (32 KiB) fill two thirds of the Xeon's 48 KiB first-level cache and all of the
/// EPYC's 32 KiB (slices of 128 steps were 10 % slower there); 96 rows of `a` of 256 steps
/// (96 KiB) stay in the second-level cache.
#[cfg(target_arch = "x86_64")]
struct Avx512Kernel;

#[cfg(target_arch = "x86_64")]
impl Kernel for Avx512Kernel {
    const ROWS: usize = 12;
    const PANELS: usize = 2;
    const DEPTH: usize = if cfg!(miri) { 8 } else { 256 };
    const ROW_BLOCK: usize = if cfg!(miri) { 24 } else { 96 };
    #[inline(always)]
    unsafe fn run(b: Block<'_>) {
        // SAFETY: the caller's contract, for one or two panels.
        unsafe {
            if b.panels == 2 {
                wide_kernel::<2>(b)
            } else {
                wide_kernel::<1>(b)
            }
        }
    }
}

/// `c = a·b` or `c += a·b` (as `store` says) for an `m×k` `a` and a `k×n` `b`, `c` holding
/// `m×n` in rows; `false`, with `c` untouched, unless the elements are `f32`, no dimension is 0
/// and the CPU has AVX2 and FMA (then the caller runs another GEMM).
#[cfg(test)]
fn packed_matmul<F: Float>(
    (m, k, n): (usize, usize, usize),
    a: Strided<'_, F>,
    b: Strided<'_, F>,
    c: &mut [F],
    store: Store,
) -> bool {
    assert_eq!(c.len(), m * n, "packed_matmul: c holds {} elements, not {m}×{n}", c.len());
    // SAFETY: `c` holds the `m` rows of `n` elements, and as a `&mut` borrow nothing else
    // reads or writes it during the call.
    unsafe { packed_matmul_block((m, k, n), &[(a, b)], c.as_mut_ptr(), n, store) }
}

/// [`packed_matmul`] of a sum of products `Σᵢ aᵢ·bᵢ` (all `m×k` by `k×n`, at the same
/// strides) for an `m×n` block of a larger matrix: `c` points to the block's first element and
/// its rows are `rsc` elements apart. Threads that split a product by columns each write their
/// own block of the same rows.
///
/// The terms are one product whose inner dimension is theirs one after another, `k·terms`
/// deep: each element of `c` sums `a₀`'s steps, then `a₁`'s, … in one chain of fused
/// multiply-adds, as adding each product to the sums of the ones before would. Their steps
/// share the kernel's slices (a conv's filter gradient sums 64 products of 16 to 64 steps):
/// the kernel keeps its sums in registers across them, reading each term's `a` where it is.
///
/// # Safety
/// `c` points to `m` rows of `n` elements, `rsc` apart, inside one allocation, which nothing
/// else reads or writes during the call.
pub(super) unsafe fn packed_matmul_block<F: Float>(
    (m, k, n): (usize, usize, usize),
    terms: &[(Strided<'_, F>, Strided<'_, F>)],
    c: *mut F,
    rsc: usize,
    store: Store,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let Some(&(first_a, first_b)) = terms.first() else { return false };
        let strides = ((first_a.rows, first_a.cols), (first_b.rows, first_b.cols));
        let mut starts: smallvec::SmallVec<[(*const f32, *const f32); 4]> = smallvec::SmallVec::new();
        for &(a, b) in terms {
            assert_eq!(
                ((a.rows, a.cols), (b.rows, b.cols)),
                strides,
                "packed_matmul: summed products at different strides"
            );
            let Some((a, b)) = super::small_matmul::avx2_f32_operands("packed_matmul", (m, k, n), a, b) else {
                return false;
            };
            starts.push((a.data.as_ptr(), b.data.as_ptr()));
        }
        // `a` holds `f32`s, so `F` is `f32` and so are `c`'s elements.
        let c = c.cast::<f32>();
        let wide = crate::simd::SimdLevel::detect().has_avx512();
        let (rows, depth) = if wide {
            (Avx512Kernel::ROW_BLOCK, Avx512Kernel::DEPTH)
        } else {
            (Avx2Kernel::ROW_BLOCK, Avx2Kernel::DEPTH)
        };
        PANELS.with_borrow_mut(|panels| {
            let depth = (k * terms.len()).min(depth);
            let a_len = rows * depth;
            let b_len = n.min(COLUMN_BLOCK).next_multiple_of(COLUMNS) * depth;
            if panels.a.len() < a_len {
                panels.a.resize(a_len, 0.0);
            }
            if panels.b.len() < b_len {
                panels.b.resize(b_len, 0.0);
            }
            let operands = Operands { terms: &starts, a_strides: strides.0, b_strides: strides.1 };
            let copies = (&mut panels.a[..], &mut panels.b[..]);
            // SAFETY: `avx2_f32_operands` detected AVX2 and FMA on the running CPU (and
            // `SimdLevel::detect` AVX-512F, for `blocked_wide`) and asserted, for every term,
            // that `a`'s `m×k` elements at its strides lie inside its buffer and `b`'s `k×n`
            // inside its own (all terms at the strides asserted above); the caller vouches for
            // `c`'s `m` rows of `n`, `rsc` apart, which nothing else touches; the copies hold
            // a row block of `a` and a column block of `b`, for one slice of the kernel's depth
            // each (sized just above), and are `&mut` borrows. The blocked loops read and
            // write no other elements.
            unsafe {
                if wide {
                    blocked_wide((m, k, n), operands, (c, rsc), matches!(store, Store::Add), copies)
                } else {
                    blocked((m, k, n), operands, (c, rsc), matches!(store, Store::Add), copies)
                }
            }
        });
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = ((m, k, n), terms, c, rsc, store);
        false
    }
}

/// Each thread's copies of a panel of `a` and a block of `b`, kept across calls (they grow to the
/// largest blocks used and are overwritten before every read).
#[cfg(target_arch = "x86_64")]
#[derive(Default)]
struct Panels {
    a: Vec<f32>,
    b: Vec<f32>,
}

#[cfg(target_arch = "x86_64")]
thread_local! {
    static PANELS: std::cell::RefCell<Panels> = std::cell::RefCell::default();
}

/// Where each summed product's `a` and `b` start, and the strides (row, column) of all of
/// them.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Operands<'t> {
    terms: &'t [(*const f32, *const f32)],
    a_strides: (usize, usize),
    b_strides: (usize, usize),
}

/// [`blocked_loops`] with the AVX2 kernel.
///
/// # Safety
/// The CPU has AVX2 and FMA; the rest is [`blocked_loops`]'s contract.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn blocked(
    dims: (usize, usize, usize),
    operands: Operands<'_>,
    c: (*mut f32, usize),
    add: bool,
    copies: (&mut [f32], &mut [f32]),
) {
    // SAFETY: forwarded from the caller's contract.
    unsafe { blocked_loops::<Avx2Kernel>(dims, operands, c, add, copies) }
}

/// [`blocked_loops`] with the AVX-512 kernel.
///
/// # Safety
/// The CPU has AVX-512F, AVX2 and FMA; the rest is [`blocked_loops`]'s contract.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn blocked_wide(
    dims: (usize, usize, usize),
    operands: Operands<'_>,
    c: (*mut f32, usize),
    add: bool,
    copies: (&mut [f32], &mut [f32]),
) {
    // SAFETY: forwarded from the caller's contract.
    unsafe { blocked_loops::<Avx512Kernel>(dims, operands, c, add, copies) }
}

/// Goto's loops: column blocks, slices of the inner dimension, row blocks, then the kernel `K`
/// over each `K::PANELS` 16-column panels of `b`'s copy and each `K::ROWS`-row panel of `a`.
/// The inner dimension is the terms' steps one after another; a slice may span several.
///
/// # Safety
/// The CPU has `K`'s features; each term's `a` holds `m×k` elements at strides `(rsa, csa)`,
/// its `b` holds `k×n` at `(rsb, csb)`; `c` holds `m` rows of `n` elements, `rsc` apart, and
/// overlaps none of them; the copies hold `K::ROW_BLOCK` rows and `min(n, COLUMN_BLOCK)` columns
/// rounded up to whole panels, each times `min(k · terms, K::DEPTH)`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn blocked_loops<K: Kernel>(
    (m, k, n): (usize, usize, usize),
    Operands { terms, a_strides: (rsa, csa), b_strides: (rsb, csb) }: Operands<'_>,
    (c, rsc): (*mut f32, usize),
    add: bool,
    (a_copy, b_copy): (&mut [f32], &mut [f32]),
) {
    let width_per_call = K::PANELS * COLUMNS;
    let copy_all_rows = csa == 1 && rows_share_cache_sets(rsa, K::ROWS);
    let steps = k * terms.len();
    // Both copies are written and read through these pointers only, from here on.
    let (a_copy, b_copy) = (a_copy.as_mut_ptr(), b_copy.as_mut_ptr());
    // Each term's part of the current slice: its `a` at its first step there, and its steps.
    let mut segments: smallvec::SmallVec<[(*const f32, usize); 16]> = smallvec::SmallVec::new();
    // SAFETY (for the whole body): every block, slice, segment and panel below starts inside
    // the matrices and is cut short at their ends, so each pointer formed is to an element of
    // a term's `a` or `b`, of `c` or of the copies the caller vouches for.
    unsafe {
        for first_column in (0..n).step_by(COLUMN_BLOCK) {
            let columns = (n - first_column).min(COLUMN_BLOCK);
            for first_step in (0..steps).step_by(K::DEPTH) {
                let depth = (steps - first_step).min(K::DEPTH);
                segments.clear();
                for_each_segment(first_step, depth, k, |term, step, offset, length| {
                    let b_block = terms[term].1.add(step * rsb + first_column * csb);
                    let out = b_copy.add(offset * COLUMNS);
                    pack_b((length, depth), columns, b_block, (rsb, csb), out);
                    segments.push((terms[term].0.add(step * csa), length));
                });
                let continues = add || first_step > 0;
                for first_row in (0..m).step_by(K::ROW_BLOCK) {
                    let rows = (m - first_row).min(K::ROW_BLOCK);
                    // `a` is read where it is, but for its last rows when fewer than
                    // `K::ROWS` are left: those are copied, with zero rows under them. Rows
                    // that would evict each other from the cache are all copied.
                    let whole_rows = if copy_all_rows { 0 } else { rows - rows % K::ROWS };
                    for (panel, first_copied) in (whole_rows..rows).step_by(K::ROWS).enumerate() {
                        let height = (rows - first_copied).min(K::ROWS);
                        let panel_copy = a_copy.add(panel * K::ROWS * depth);
                        let mut offset = 0;
                        for &(start, length) in &segments {
                            let (from, to) =
                                (start.add((first_row + first_copied) * rsa), panel_copy.add(offset * K::ROWS));
                            if height == K::ROWS && csa == 1 {
                                pack_a_rows(K::ROWS, length, from, rsa, to);
                            } else {
                                pack_partial_a((height, K::ROWS), length, from, (rsa, csa), to);
                            }
                            offset += length;
                        }
                    }
                    for panel_column in (0..columns).step_by(width_per_call) {
                        let width = (columns - panel_column).min(width_per_call);
                        let panels = width.div_ceil(COLUMNS);
                        let b_panel = b_copy.cast_const().add(panel_column * depth);
                        for panel_row in (0..rows).step_by(K::ROWS) {
                            let height = (rows - panel_row).min(K::ROWS);
                            let copied =
                                [(a_copy.add(panel_row.saturating_sub(whole_rows) * depth).cast_const(), depth)];
                            let a = if panel_row >= whole_rows {
                                BlockRows { segments: &copied, row_offset: 0, strides: (1, K::ROWS) }
                            } else {
                                BlockRows {
                                    segments: &segments,
                                    row_offset: (first_row + panel_row) * rsa,
                                    strides: (rsa, csa),
                                }
                            };
                            let corner = c.add((first_row + panel_row) * rsc + first_column + panel_column);
                            let next = if panel_row + K::ROWS < rows {
                                corner.wrapping_add(K::ROWS * rsc)
                            } else {
                                c.wrapping_add(first_row * rsc + first_column + panel_column + width_per_call)
                            };
                            prefetch_block(next, rsc, K::ROWS, width_per_call);
                            if height == K::ROWS && width == panels * COLUMNS {
                                let block = Block { depth, a, b_panels: b_panel, panels, c: corner, rsc, continues };
                                K::run(block);
                            } else {
                                // A block cut by the matrix's edge runs on a full-size copy.
                                let mut tile = [0.0f32; MAX_TILE];
                                let stride = panels * COLUMNS;
                                if continues {
                                    for r in 0..height {
                                        for j in 0..width {
                                            tile[r * stride + j] = *corner.add(r * rsc + j);
                                        }
                                    }
                                }
                                let c = tile.as_mut_ptr();
                                K::run(Block { depth, a, b_panels: b_panel, panels, c, rsc: stride, continues });
                                for r in 0..height {
                                    for j in 0..width {
                                        *corner.add(r * rsc + j) = tile[r * stride + j];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Whether `rows` rows `rsa` elements apart would evict each other from the first-level cache
/// while the kernel reads them side by side: more than [`LINES_PER_SET`] of their cache lines
/// in one of its 64 sets (64-byte lines, the sets repeating every 4 KiB, on the CPUs here).
/// On one core of an AMD EPYC (8-way, 32 KiB), the AVX-512 kernel's 12 rows of the 1024³
/// product, 4 KiB apart, all meet in one set: 86 GFLOP/s read where they are, 98 copied
/// (`1024×1000` by `1000×1024`: 98 either way).
#[cfg(target_arch = "x86_64")]
fn rows_share_cache_sets(rsa: usize, rows: usize) -> bool {
    const LINE: usize = 64 / std::mem::size_of::<f32>();
    // Under Miri, one set of one line: every block whose rows span two lines is copied, so
    // the tests' small shapes take this path, with either kernel.
    const SETS: usize = if cfg!(miri) { 1 } else { 64 };
    let mut lines_in_set = [0usize; SETS];
    let mut last_line = None;
    for r in 0..rows {
        // Wrapping: a matrix of fewer rows may have any row stride, and then its rows are all
        // copied anyway (a cut panel), whatever this answers.
        let line = r.wrapping_mul(rsa) / LINE;
        if last_line != Some(line) {
            lines_in_set[line % SETS] += 1;
            last_line = Some(line);
        }
    }
    lines_in_set.iter().any(|&n| n > LINES_PER_SET)
}

/// Lines of `a`'s rows one set of the first-level cache may hold without their being copied:
/// the 8 ways less room for `b`'s panels (the 12 rows 2 KiB apart, six lines in each of two
/// sets, ran as fast read where they are as copied).
#[cfg(target_arch = "x86_64")]
const LINES_PER_SET: usize = if cfg!(miri) { 1 } else { 6 };

/// The parts of the slice of `depth` steps from `first_step` of the terms' steps one after
/// another (each term `k` deep): `segment(term, step, offset, length)` for each term the slice
/// meets, its steps `step..step + length` at steps `offset..offset + length` of the slice.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn for_each_segment(first_step: usize, depth: usize, k: usize, mut segment: impl FnMut(usize, usize, usize, usize)) {
    let mut offset = 0;
    while offset < depth {
        let (term, step) = ((first_step + offset) / k, (first_step + offset) % k);
        let length = (k - step).min(depth - offset);
        segment(term, step, offset, length);
        offset += length;
    }
}

/// Elements of the largest block a kernel sums, held on the stack for blocks cut by the edge.
#[cfg(target_arch = "x86_64")]
const MAX_TILE: usize = {
    let narrow = Avx2Kernel::ROWS * Avx2Kernel::PANELS * COLUMNS;
    let wide = Avx512Kernel::ROWS * Avx512Kernel::PANELS * COLUMNS;
    if narrow > wide {
        narrow
    } else {
        wide
    }
};

/// Asks the cache for the `rows` rows of `columns` elements from `corner`, `rsc` apart, the
/// block of `c` after the current one: its old sums are then in cache when its kernel starts.
/// Prefetching reads nothing and cannot fault, so `corner` may lie past the matrix's end.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_block(corner: *const f32, rsc: usize, rows: usize, columns: usize) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    for r in 0..rows {
        let row = corner.wrapping_add(r * rsc);
        for j in (0..columns).step_by(16) {
            // SAFETY: a prefetch is a hint; it does not access memory, valid or not.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(j).cast());
                _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(j + 15).cast());
            }
        }
    }
}

/// [`pack_a_rows`] compiled for AVX2, for callers outside the kernels: turns the `rows ×
/// depth` matrix at `a` (rows `rsa` apart) into `out`, `depth` rows of `rows`.
///
/// # Safety
/// As [`pack_a_rows`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn turn_rows(rows: usize, depth: usize, a: *const f32, rsa: usize, out: *mut f32) {
    // SAFETY: the caller's word, as `pack_a_rows` asks.
    unsafe { pack_a_rows(rows, depth, a, rsa, out) }
}

/// Copies `rows` rows of `depth` steps of `a`, stored by rows (`rsa` apart, steps adjacent),
/// into one panel, each step's elements side by side: eight rows by eight steps at a time,
/// turned in registers.
///
/// # Safety
/// The CPU has AVX; `a` holds `rows × depth` elements at `(rsa, 1)`; `out` holds `rows × depth`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn pack_a_rows(rows: usize, depth: usize, a: *const f32, rsa: usize, out: *mut f32) {
    // SAFETY: row `first_row + r` < `rows` of `a` at step `p` < `depth`, and element
    // `p·rows + first_row + r` of `out`; a turned block's column `q` is stored as its first
    // `height` lanes, the rows there are.
    unsafe {
        let whole = depth - depth % 8;
        for first_row in (0..rows).step_by(8) {
            let height = (rows - first_row).min(8);
            for p in (0..whole).step_by(8) {
                let mut block = [_mm256_setzero_ps(); 8];
                for (r, row) in block.iter_mut().take(height).enumerate() {
                    *row = _mm256_loadu_ps(a.add((first_row + r) * rsa + p));
                }
                for (q, column) in transpose8(block).into_iter().enumerate() {
                    let to = out.add((p + q) * rows + first_row);
                    match height {
                        8 => _mm256_storeu_ps(to, column),
                        4 => _mm_storeu_ps(to, _mm256_castps256_ps128(column)),
                        _ => {
                            let mut lanes = [0.0; 8];
                            _mm256_storeu_ps(lanes.as_mut_ptr(), column);
                            std::ptr::copy_nonoverlapping(lanes.as_ptr(), to, height);
                        }
                    }
                }
            }
            for p in whole..depth {
                for r in 0..height {
                    *out.add(p * rows + first_row + r) = *a.add((first_row + r) * rsa + p);
                }
            }
        }
    }
}

/// Copies `height` (≤ `rows`) rows of `depth` elements of `a` into one panel of `rows` rows,
/// each step's elements side by side, the rows past `height` zero.
///
/// # Safety
/// `a` holds `height × depth` elements at `(rsa, csa)`; `out` holds `rows × depth`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn pack_partial_a(
    (height, rows): (usize, usize),
    depth: usize,
    a: *const f32,
    (rsa, csa): (usize, usize),
    out: *mut f32,
) {
    // SAFETY: row `r` < `height` of `a` at step `p` < `depth`, and element `p·rows + r` of `out`.
    unsafe {
        for r in 0..rows {
            for p in 0..depth {
                *out.add(p * rows + r) = if r < height { *a.add(r * rsa + p * csa) } else { 0.0 };
            }
        }
    }
}

/// Copies `depth × columns` of `b` into panels of [`COLUMNS`] columns, each step's elements side
/// by side, the columns past `columns` in the last panel zero. The panels are `panel_depth`
/// steps deep (a slice's, of which these are `depth` steps from `out`'s).
///
/// # Safety
/// The CPU has AVX2; `b` holds `depth × columns` elements at `(rsb, csb)`; `out` holds
/// `columns` rounded up to [`COLUMNS`], times `panel_depth`, less the steps before its own.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn pack_b(
    (depth, panel_depth): (usize, usize),
    columns: usize,
    b: *const f32,
    (rsb, csb): (usize, usize),
    out: *mut f32,
) {
    // SAFETY: column `first + j` < `columns` of `b` at step `p` < `depth`, and element
    // `first·panel_depth + p·COLUMNS + j` of `out`, inside the panels the caller vouches for.
    unsafe {
        for first in (0..columns).step_by(COLUMNS) {
            let width = (columns - first).min(COLUMNS);
            let panel = out.add(first * panel_depth);
            if width == COLUMNS && csb == 1 {
                for p in 0..depth {
                    let row = b.add(p * rsb + first);
                    _mm256_storeu_ps(panel.add(p * COLUMNS), _mm256_loadu_ps(row));
                    _mm256_storeu_ps(panel.add(p * COLUMNS + 8), _mm256_loadu_ps(row.add(8)));
                }
            } else if width == COLUMNS && rsb == 1 {
                // `b` stored transposed: its columns are contiguous, turned 8 by 8.
                let whole = depth - depth % 8;
                for p in (0..whole).step_by(8) {
                    for half in 0..2 {
                        let corner = b.add((first + 8 * half) * csb + p);
                        let mut rows = [_mm256_setzero_ps(); 8];
                        for (q, row) in rows.iter_mut().enumerate() {
                            *row = _mm256_loadu_ps(corner.add(q * csb));
                        }
                        for (q, row) in transpose8(rows).into_iter().enumerate() {
                            _mm256_storeu_ps(panel.add((p + q) * COLUMNS + 8 * half), row);
                        }
                    }
                }
                for p in whole..depth {
                    for j in 0..COLUMNS {
                        *panel.add(p * COLUMNS + j) = *b.add((first + j) * csb + p);
                    }
                }
            } else {
                for j in 0..COLUMNS {
                    let column = b.add((first + j.min(width - 1)) * csb);
                    for p in 0..depth {
                        *panel.add(p * COLUMNS + j) = if j < width { *column.add(p * rsb) } else { 0.0 };
                    }
                }
            }
        }
    }
}

/// The 8×8 transpose of eight rows of 8 elements.
///
/// # Safety
/// The CPU has AVX.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    // SAFETY: these intrinsics only move register lanes, on a CPU with AVX (the caller's word).
    unsafe {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }
}

/// `step(p)` for each step `p` of `0..depth` in order, four per turn of the loop: fewer
/// counter updates between a kernel's multiply-adds.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn in_fours(depth: usize, mut step: impl FnMut(usize)) {
    let whole = depth - depth % 4;
    for p in (0..whole).step_by(4) {
        for p in p..p + 4 {
            step(p);
        }
    }
    for p in whole..depth {
        step(p);
    }
}

/// One 6×16 block of `c`: `Σₚ a[·, p]·b_panel[p]` over `depth` steps, started from the
/// block's stored sums when `continues`, else from 0, and stored back. `a`'s 6 rows are read
/// segment by segment at strides `(row, step)`: `(1, 6)` in a copied panel.
///
/// # Safety
/// The CPU has AVX2 and FMA; the rest is [`Kernel::run`]'s contract.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn kernel(block: Block<'_>) {
    let Block { a: rows, b_panels: b_panel, c, rsc, .. } = block;
    let (row, step_stride) = rows.strides;
    // SAFETY: step `p` of a segment reads `a[r·row + p·step_stride]` from the segment's start
    // and row offset for r < ROWS, and `b_panel[(done + p)·COLUMNS..][..COLUMNS]`, `done` the
    // steps of the segments before; the block's rows are `c[r·rsc..][..COLUMNS]`.
    unsafe {
        let mut sums = [[_mm256_setzero_ps(); 2]; Avx2Kernel::ROWS];
        if block.continues {
            for (r, sum) in sums.iter_mut().enumerate() {
                *sum = [_mm256_loadu_ps(c.add(r * rsc)), _mm256_loadu_ps(c.add(r * rsc + 8))];
            }
        }
        let mut done = 0;
        for &(start, length) in rows.segments {
            let (a, b) = (start.add(rows.row_offset), b_panel.add(done * COLUMNS));
            in_fours(length, |p| step(&mut sums, (a.add(p * step_stride), row), b.add(p * COLUMNS)));
            done += length;
        }
        for (r, sum) in sums.iter().enumerate() {
            _mm256_storeu_ps(c.add(r * rsc), sum[0]);
            _mm256_storeu_ps(c.add(r * rsc + 8), sum[1]);
        }
    }
}

/// One step of [`kernel`]: each of the 6 rows' sums gains `a[r·row]·b[0..16]`.
///
/// # Safety
/// The CPU has AVX2 and FMA; `a` holds 6 elements `row` apart and `b` [`COLUMNS`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn step(sums: &mut [[__m256; 2]; Avx2Kernel::ROWS], (a, row): (*const f32, usize), b: *const f32) {
    // SAFETY: reads `a[r·row]` for r < 6 and `b[..COLUMNS]`, as the caller vouches.
    unsafe {
        let (low, high) = (_mm256_loadu_ps(b), _mm256_loadu_ps(b.add(8)));
        for (r, sum) in sums.iter_mut().enumerate() {
            let x = _mm256_broadcast_ss(&*a.add(r * row));
            sum[0] = _mm256_fmadd_ps(x, low, sum[0]);
            sum[1] = _mm256_fmadd_ps(x, high, sum[1]);
        }
    }
}

/// One block of 12 rows by `P` panels of `c` (`P` of 1 or 2) for the AVX-512 kernel:
/// `Σₚ a[·, p]·b[p]` over `depth` steps, as [`kernel`] sums its 6×16 block. Panel `q` of `b`
/// starts `q·depth·COLUMNS` elements after the first.
///
/// # Safety
/// The CPU has AVX-512F; the rest is [`Kernel::run`]'s contract.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn wide_kernel<const P: usize>(block: Block<'_>) {
    const ROWS: usize = Avx512Kernel::ROWS;
    let Block { depth, a: rows, b_panels, c, rsc, .. } = block;
    let (row, step_stride) = rows.strides;
    // SAFETY: step `p` of a segment reads `a[r·row + p·step_stride]` from the segment's start
    // and row offset for r < 12, and `b_panels[q·depth·COLUMNS + (done + p)·COLUMNS..]
    // [..COLUMNS]` for q < P, `done` the steps of the segments before; the block's rows are
    // `c[r·rsc..][..P·COLUMNS]`.
    unsafe {
        let mut sums = [[_mm512_setzero_ps(); P]; ROWS];
        if block.continues {
            for (r, sum) in sums.iter_mut().enumerate() {
                for (q, s) in sum.iter_mut().enumerate() {
                    *s = _mm512_loadu_ps(c.add(r * rsc + q * COLUMNS));
                }
            }
        }
        let mut done = 0;
        for &(start, length) in rows.segments {
            let (a, b_steps) = (start.add(rows.row_offset), b_panels.add(done * COLUMNS));
            let step = |sums: &mut [[__m512; P]; ROWS], p: usize| {
                let mut b = [_mm512_setzero_ps(); P];
                for (q, b) in b.iter_mut().enumerate() {
                    *b = _mm512_loadu_ps(b_steps.add(q * depth * COLUMNS + p * COLUMNS));
                }
                let a = a.add(p * step_stride);
                for (r, sum) in sums.iter_mut().enumerate() {
                    let x = _mm512_set1_ps(*a.add(r * row));
                    for (s, &b) in sum.iter_mut().zip(&b) {
                        *s = _mm512_fmadd_ps(x, b, *s);
                    }
                }
            };
            in_fours(length, |p| step(&mut sums, p));
            done += length;
        }
        for (r, sum) in sums.iter().enumerate() {
            for (q, &s) in sum.iter().enumerate() {
                _mm512_storeu_ps(c.add(r * rsc + q * COLUMNS), s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::small_matmul::check_avx2_kernel_exactly;
    use super::*;
    use crate::simd::SimdLevel;

    /// `c (+)= a·b` as the kernel rounds it: from `c`'s old value or 0, each term fused in
    /// order of the inner index from 0.
    fn fused_definition(
        (m, k, n): (usize, usize, usize),
        a: Strided<'_, f32>,
        b: Strided<'_, f32>,
        c: &mut [f32],
        store: Store,
    ) {
        for i in 0..m {
            for j in 0..n {
                let start = if store == Store::Add { c[i * n + j] } else { 0.0 };
                c[i * n + j] = (0..k).fold(start, |s, p| a.at(i, p).mul_add(b.at(p, j), s));
            }
        }
    }

    #[test]
    fn every_block_edge_and_layout_matches_the_fused_definition_exactly() {
        // Shapes that cross the slice, row-block and column-block boundaries of both kernels
        // (small ones under Miri, whose blocks are small), end in partial panels of rows and
        // of columns, and leave steps past the transposed copy's groups of 8; and ones that end
        // on every boundary of one kernel or the other exactly. The last two have rows of `a`
        // 1024 elements (4 KiB) apart, which meet in one set of the cache and are copied (the
        // last one's in its third layout, `k + 3` apart, with steps past the groups of 8).
        let shapes: &[(usize, usize, usize)] = if cfg!(miri) {
            &[(13, 17, 33), (6, 8, 16), (1, 3, 1)]
        } else {
            &[
                (100, 16, 16),
                (53, 1100, 37),
                (7, 3, 1030),
                (6, 512, 16),
                (97, 515, 48),
                (1, 9, 1),
                (192, 256, 64),
                (101, 1024, 20),
                (29, 1021, 20),
            ]
        };
        check_avx2_kernel_exactly(shapes, packed_matmul::<f32>, fused_definition);
        // Where the CPU has AVX-512, the lines above ran its kernel; the AVX2 one runs here.
        SimdLevel::at_most_avx2(|| check_avx2_kernel_exactly(shapes, packed_matmul::<f32>, fused_definition));
    }

    #[test]
    fn summed_products_are_one_chain_of_fused_steps_over_the_terms_exactly() {
        // Terms shallower and deeper than a slice, slices that start and end inside a term,
        // rows and columns that end in partial panels; both kernels, both layouts of each
        // operand, stored and added.
        let cases: &[((usize, usize, usize), usize)] = if cfg!(miri) {
            &[((13, 3, 20), 5), ((7, 8, 16), 2)]
        } else {
            &[((144, 64, 32), 6), ((50, 16, 64), 20), ((13, 7, 40), 45), ((30, 300, 48), 3)]
        };
        let values = |len: usize, seed: usize| -> Vec<f32> {
            (0..len).map(|i| ((i * 7 + seed * 13) % 17) as f32 * 0.37 - 2.9).collect()
        };
        let check = |narrow: bool| {
            for &((m, k, n), count) in cases {
                let (a, b) = (values(count * m * k, 1), values(count * k * n, 2));
                for (rsa, csa) in [(k, 1), (1, m)] {
                    for (rsb, csb) in [(n, 1), (1, k)] {
                        let terms: Vec<_> = (0..count)
                            .map(|t| {
                                (
                                    Strided { data: &a[t * m * k..], rows: rsa, cols: csa },
                                    Strided { data: &b[t * k * n..], rows: rsb, cols: csb },
                                )
                            })
                            .collect();
                        for store in [Store::Overwrite, Store::Add] {
                            let start = values(m * n, 3);
                            let mut got = start.clone();
                            // SAFETY: `got` holds the m rows of n, and nothing else touches it.
                            if !unsafe { packed_matmul_block((m, k, n), &terms, got.as_mut_ptr(), n, store) } {
                                return;
                            }
                            for i in 0..m {
                                for j in 0..n {
                                    let first = if store == Store::Add { start[i * n + j] } else { 0.0 };
                                    let want = terms.iter().fold(first, |s, (a, b)| {
                                        (0..k).fold(s, |s, p| a.at(i, p).mul_add(b.at(p, j), s))
                                    });
                                    assert_eq!(
                                        got[i * n + j].to_bits(),
                                        want.to_bits(),
                                        "{count} terms of {m}×{k}×{n} at ({i}, {j}), a ({rsa}, {csa}), b ({rsb}, \
                                         {csb}), {store:?}, narrow kernel {narrow}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        };
        check(false);
        SimdLevel::at_most_avx2(|| check(true));
    }

    #[test]
    fn declines_what_it_does_not_cover() {
        let x: Vec<f32> = (0..64).map(|i| i as f32 * 0.5).collect();
        // An empty matrix.
        let s = Strided { data: &x[..], rows: 8, cols: 1 };
        assert!(!packed_matmul((0, 8, 8), s, s, &mut [], Store::Overwrite));
        // Elements that are not f32.
        let y: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let s64 = Strided { data: &y[..], rows: 8, cols: 1 };
        let mut c64 = vec![7.0f64; 64];
        assert!(!packed_matmul((8, 8, 8), s64, s64, &mut c64, Store::Overwrite));
        assert!(c64.iter().all(|&v| v == 7.0), "declined products leave c untouched");
    }
}
