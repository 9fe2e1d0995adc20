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
    for (lane, part) in lanes.iter_mut().zip(block) {
        *lane += part.to_f64();
    }
}

/// Σ term(aₖ, bₖ, cₖ) over slices of one length, by [`add_lanes`].
#[inline(always)]
pub(super) fn lane_sum<F: Float>(a: &[F], b: &[F], c: &[F], term: impl Fn(F, F, F) -> F) -> f64 {
    let mut lanes = [0.0; 8];
    add_lanes(&mut lanes, a, b, c, term);
    lanes.iter().sum()
}
