//! Sums for the normalizations and softmax: terms added in `F` across 8 lanes, so the loop is SIMD,
//! and the lanes' sums added in `f64`.

use crate::float::Float;

/// Adds term(aₖ, bₖ, cₖ) over slices of one length into eight partial sums in `f64`.
///
/// The terms are summed in `F`, 8 lanes wide, and each lane's sum is added in `f64` at the end:
/// converting every term to `f64` first halved the lanes and was 5 % of the conv net's step
/// (W8). Eight partial sums rather than one also keep a chain of dependent additions from
/// waiting on each one's latency. A caller with many short blocks (a batch norm channel's
/// 64 or 16 elements per example in a digits conv net) carries `lanes` from block to block
/// and adds them up after the last.
#[inline(always)]
pub(super) fn add_lanes<F: Float>(lanes: &mut [f64; 8], a: &[F], b: &[F], c: &[F], term: impl Fn(F, F, F) -> F) {
    for (lane, part) in lanes.iter_mut().zip(lane_block(a, b, c, term)) {
        *lane += part.to_f64();
    }
}

/// The eight lanes' sums in `F` of [`add_lanes`].
#[inline(always)]
fn lane_block<F: Float>(a: &[F], b: &[F], c: &[F], term: impl Fn(F, F, F) -> F) -> [F; 8] {
    let mut block = [F::ZERO; 8];
    let (a8, b8, c8) = (a.chunks_exact(8), b.chunks_exact(8), c.chunks_exact(8));
    for (((lane, &a), &b), &c) in block.iter_mut().zip(a8.remainder()).zip(b8.remainder()).zip(c8.remainder()) {
        *lane += term(a, b, c);
    }
    for ((a, b), c) in a8.zip(b8).zip(c8) {
        for l in 0..8 {
            block[l] += term(a[l], b[l], c[l]);
        }
    }
    block
}

/// Σ term(aₖ, bₖ, cₖ) over slices of one length, by [`add_lanes`].
#[inline(always)]
pub(super) fn lane_sum<F: Float>(a: &[F], b: &[F], c: &[F], term: impl Fn(F, F, F) -> F) -> f64 {
    let mut lanes = [0.0; 8];
    add_lanes(&mut lanes, a, b, c, term);
    lanes.iter().sum()
}

/// Rows whose sums [`lane_sums`] takes side by side: a row's sum ends in eight lanes added up
/// in `f64` one after another, and its user's in a division or a square root, each waiting on
/// the last — longer than the row's own pass over 64 elements (W7's layer norm). Not for
/// 16-element rows: attention's softmax sums taken so were slower than one row at a time.
pub(super) const BLOCK_ROWS: usize = 8;

/// The rows of a block: [`BLOCK_ROWS`] rows of `n` (> 0) from `x` (at least one row), the last
/// repeated where `x` holds fewer.
#[inline(always)]
pub(super) fn block_rows<F>(x: &[F], n: usize) -> [&[F]; BLOCK_ROWS] {
    let last = x.len() / n - 1;
    let mut rows = [&x[..0]; BLOCK_ROWS];
    for (r, row) in rows.iter_mut().enumerate() {
        *row = &x[r.min(last) * n..][..n];
    }
    rows
}

/// [`lane_sum`] of [`BLOCK_ROWS`] rows at once — row `r` sums term(r, aₖ, bₖ, cₖ) over `a[r]`,
/// `b[r]` and `c[r]` — to the same bits, the rows' lanes added up in `f64` side by side (in
/// SIMD lanes across the rows) rather than one row's eight after another, a chain of dependent
/// additions.
#[inline(always)]
pub(super) fn lane_sums<F: Float>(
    [a, b, c]: [[&[F]; BLOCK_ROWS]; 3],
    term: impl Fn(usize, F, F, F) -> F,
) -> [f64; BLOCK_ROWS] {
    let mut parts = [[F::ZERO; 8]; BLOCK_ROWS];
    for (r, part) in parts.iter_mut().enumerate() {
        *part = lane_block(a[r], b[r], c[r], |a, b, c| term(r, a, b, c));
    }
    let lane = |r: usize, l: usize| 0.0 + parts[r][l].to_f64();
    let mut sums = [0.0; BLOCK_ROWS];
    for (r, sum) in sums.iter_mut().enumerate() {
        *sum = lane(r, 0);
    }
    for l in 1..8 {
        for (r, sum) in sums.iter_mut().enumerate() {
            *sum += lane(r, l);
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Side by side, each row's sum is [`lane_sum`]'s to the bit, zeros of either sign too.
    #[test]
    fn rows_side_by_side_sum_as_one_at_a_time() {
        let rng = &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(6);
        let mut x = crate::Tensor::<f32>::uniform([8, 37], -1e4, 1e4, rng).to_vec();
        x[..37].fill(-0.0);
        let rows: [&[f32]; 8] = std::array::from_fn(|r| &x[r * 37..][..37]);
        let sums = lane_sums([rows; 3], |r, v, w, _| v * w + r as f32);
        for (r, row) in rows.iter().enumerate() {
            let one = lane_sum(row, row, row, |v, w, _| v * w + r as f32);
            assert_eq!(sums[r].to_bits(), one.to_bits(), "row {r}");
        }
        let signed = lane_sums([rows; 3], |_, v, _, _| v);
        assert_eq!(signed[0].to_bits(), lane_sum(rows[0], rows[0], rows[0], |v, _, _| v).to_bits());
    }
}
