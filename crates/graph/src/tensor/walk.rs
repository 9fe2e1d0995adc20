//! Walking every multi-index of a shape while tracking offsets into strided buffers.

use smallvec::SmallVec;

/// Calls `f` with the offsets of every multi-index of `dims`, in row-major order, where offset
/// `k` is the dot product of the index with `strides[k]` (a stride of 0 repeats an element,
/// which is how broadcasting and reductions are expressed).
pub(crate) fn walk<const K: usize>(dims: &[usize], strides: [&[usize]; K], mut f: impl FnMut([usize; K])) {
    let n = dims.len();
    if dims.contains(&0) {
        return;
    }
    if n == 0 {
        f([0; K]);
        return;
    }
    let last = dims[n - 1];
    let inner: [usize; K] = std::array::from_fn(|k| strides[k][n - 1]);
    let mut idx: SmallVec<[usize; 4]> = SmallVec::from_elem(0, n - 1);
    let mut base = [0usize; K];
    loop {
        let mut off = base;
        for _ in 0..last {
            f(off);
            for k in 0..K {
                off[k] += inner[k];
            }
        }
        let mut d = n - 1;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            for k in 0..K {
                base[k] += strides[k][d];
            }
            if idx[d] < dims[d] {
                break;
            }
            for k in 0..K {
                base[k] -= strides[k][d] * dims[d];
            }
            idx[d] = 0;
        }
    }
}

/// Strides that read a tensor of shape `from` as if it had the (broadcast) shape `to`: 0 on
/// every dimension that is broadcast.
pub(crate) fn broadcast_strides(from: &[usize], to: &[usize]) -> SmallVec<[usize; 4]> {
    let from_strides = crate::shape::Shape::from(from).strides();
    let offset = to.len() - from.len();
    (0..to.len()).map(|i| if i < offset || from[i - offset] == 1 { 0 } else { from_strides[i - offset] }).collect()
}

/// Like [`walk`], but calls `f(offsets, len, inner)` once per run of the innermost dimension
/// (`len` elements, offset `k` advancing by `inner[k]` per element), after merging the dims
/// that every stride set walks contiguously and dropping dims of size 1 — so kernels can work
/// on whole slices (`inner[k]` is 1 for a contiguous run and 0 for a repeated element).
pub(crate) fn walk_runs<const K: usize>(
    dims: &[usize],
    strides: [&[usize]; K],
    mut f: impl FnMut([usize; K], usize, [usize; K]),
) {
    if dims.contains(&0) {
        return;
    }
    let mut merged: SmallVec<[usize; 4]> = SmallVec::new();
    let mut merged_strides: [SmallVec<[usize; 4]>; K] = std::array::from_fn(|_| SmallVec::new());
    for d in 0..dims.len() {
        if dims[d] == 1 {
            continue;
        }
        let joins =
            !merged.is_empty() && (0..K).all(|k| *merged_strides[k].last().expect("merged") == strides[k][d] * dims[d]);
        if joins {
            *merged.last_mut().expect("merged") *= dims[d];
            for k in 0..K {
                *merged_strides[k].last_mut().expect("merged") = strides[k][d];
            }
        } else {
            merged.push(dims[d]);
            for k in 0..K {
                merged_strides[k].push(strides[k][d]);
            }
        }
    }
    let Some(&len) = merged.last() else {
        f([0; K], 1, [0; K]);
        return;
    };
    let n = merged.len();
    let inner: [usize; K] = std::array::from_fn(|k| merged_strides[k][n - 1]);
    let outer: [&[usize]; K] = std::array::from_fn(|k| &merged_strides[k][..n - 1]);
    walk(&merged[..n - 1], outer, |offsets| f(offsets, len, inner));
}
