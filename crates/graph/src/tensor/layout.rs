//! Kernels that move elements without computing on them: broadcast, permute, concat, slice, pad.

use super::walk::{broadcast_strides, walk, walk_runs};
use super::{buffer, filled, reserved, Tensor};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::shape::Shape;
use smallvec::SmallVec;

/// The product of the dimensions before and after `axis`; `(0, 0)` for a shape with no
/// elements, which has nothing to visit (and whose other dims may multiply past `usize`).
pub(crate) fn outer_inner(dims: &[usize], axis: usize) -> (usize, usize) {
    if dims.contains(&0) {
        return (0, 0);
    }
    (dims[..axis].iter().product(), dims[axis + 1..].iter().product())
}

impl<F: Float> Tensor<F> {
    /// Repeats the tensor along broadcast dimensions so it has `shape`.
    pub fn broadcast_to(&self, shape: impl Into<Shape>) -> Result<Tensor<F>> {
        let shape = shape.into();
        if &shape == self.shape() {
            return Ok(self.clone());
        }
        if !self.shape().broadcasts_to(&shape) {
            return Err(Error::ShapeMismatch {
                op: "broadcast_to",
                lhs: self.shape().clone(),
                rhs: shape,
                hint: "; the source must broadcast to the target".into(),
            });
        }
        if self.numel() == 1 {
            return Tensor::try_full(shape, self.data()[0]);
        }
        let strides = broadcast_strides(self.dims(), shape.dims());
        let mut out = buffer("broadcast_to", &shape)?;
        let data = self.data();
        walk_runs(shape.dims(), [&strides], |[i], len, [inner]| match inner {
            0 => out.resize(out.len() + len, data[i]),
            1 => out.extend_from_slice(&data[i..i + len]),
            step => out.extend((0..len).map(|k| data[i + k * step])),
        });
        Ok(Tensor::from_parts(out, shape))
    }

    /// Reorders the dimensions: result dimension `i` is this tensor's dimension `perm[i]`.
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor<F>> {
        let n = self.ndim();
        let mut seen = vec![false; n];
        if perm.len() != n || perm.iter().any(|&p| p >= n || std::mem::replace(&mut seen[p], true)) {
            return Err(Error::InvalidArgument {
                op: "permute",
                message: format!("{perm:?} is not a permutation of the {n} dims of shape {}", self.shape()),
            });
        }
        let in_strides = self.shape().strides();
        let dims: SmallVec<[usize; 4]> = perm.iter().map(|&p| self.dims()[p]).collect();
        let strides: SmallVec<[usize; 4]> = perm.iter().map(|&p| in_strides[p]).collect();
        let mut out = reserved(self.numel());
        let data = self.data();
        if n >= 2 && perm[n - 1] == n - 2 && perm[n - 2] == n - 1 && self.numel() > 0 {
            // The last two dims swap: a batch of matrix transposes, done in tiles so both
            // sides stay in cache.
            let (rows, cols) = (self.dims()[n - 2], self.dims()[n - 1]);
            out.resize(self.numel(), F::ZERO);
            let mut block = 0;
            walk(&dims[..n - 2], [&strides[..n - 2]], |[start]| {
                transpose(&data[start..start + rows * cols], rows, cols, &mut out[block..block + rows * cols]);
                block += rows * cols;
            });
        } else {
            walk_runs(&dims, [&strides], |[i], len, [step]| match step {
                1 => copy_run(&mut out, &data[i..i + len]),
                _ => out.extend((0..len).map(|j| data[i + j * step])),
            });
        }
        Ok(Tensor::from_parts(out, Shape(dims)))
    }

    /// Concatenates tensors along `axis`; all other dimensions must agree.
    pub fn concat(tensors: &[&Tensor<F>], axis: isize) -> Result<Tensor<F>> {
        let first = tensors.first().ok_or_else(|| Error::Empty { op: "concat", what: "the list of tensors" })?;
        let axis = first.shape().axis("concat", axis)?;
        let mut dims = first.shape().clone();
        dims.0[axis] = 0;
        for t in tensors {
            let same_rest =
                t.ndim() == first.ndim() && (0..t.ndim()).all(|d| d == axis || t.dims()[d] == first.dims()[d]);
            if !same_rest {
                return Err(Error::ShapeMismatch {
                    op: "concat",
                    lhs: first.shape().clone(),
                    rhs: t.shape().clone(),
                    hint: format!("; all dimensions but axis {axis} must agree"),
                });
            }
            dims.0[axis] = dims.0[axis]
                .checked_add(t.dims()[axis])
                .ok_or_else(|| Error::TooLarge { op: "concat", shape: dims.clone() })?;
        }
        let (outer, _) = outer_inner(dims.dims(), axis);
        let mut out = buffer("concat", &dims)?;
        for o in 0..outer {
            for t in tensors {
                let chunk = t.numel() / outer.max(1);
                out.extend_from_slice(&t.data()[o * chunk..(o + 1) * chunk]);
            }
        }
        Ok(Tensor::from_parts(out, dims))
    }

    /// The elements with index `start..end` along `axis`.
    pub fn slice(&self, axis: isize, start: usize, end: usize) -> Result<Tensor<F>> {
        let axis = self.shape().axis("slice", axis)?;
        let size = self.dims()[axis];
        if start > end || end > size {
            return Err(Error::IndexOutOfRange { op: "slice", index: end.max(start), size });
        }
        let (outer, inner) = outer_inner(self.dims(), axis);
        let mut out = reserved(outer * (end - start) * inner);
        for o in 0..outer {
            let base = o * size * inner;
            out.extend_from_slice(&self.data()[base + start * inner..base + end * inner]);
        }
        let mut dims = self.shape().clone();
        dims.0[axis] = end - start;
        Ok(Tensor::from_parts(out, dims))
    }

    /// Adds `before` and `after` zeros along `axis` (the adjoint of [`Tensor::slice`]).
    pub fn pad(&self, axis: isize, before: usize, after: usize) -> Result<Tensor<F>> {
        let axis = self.shape().axis("pad", axis)?;
        let size = self.dims()[axis];
        let (outer, inner) = outer_inner(self.dims(), axis);
        let mut dims = self.shape().clone();
        dims.0[axis] = before
            .checked_add(size)
            .and_then(|n| n.checked_add(after))
            .ok_or_else(|| Error::TooLarge { op: "pad", shape: self.shape().clone() })?;
        let new_size = dims.0[axis];
        let mut out = filled("pad", &dims, F::ZERO)?;
        for o in 0..outer {
            let dst = o * new_size * inner + before * inner;
            out[dst..dst + size * inner].copy_from_slice(&self.data()[o * size * inner..(o + 1) * size * inner]);
        }
        Ok(Tensor::from_parts(out, dims))
    }
    /// Adds `part` into the elements with index `start..start + n` along `axis`, `n` being
    /// `part`'s size there (its other dims are this tensor's): what adding
    /// `part.pad(axis, start, …)` does, without the zeros (a slice's gradient accumulated).
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let mut sums = Tensor::<f64>::zeros([2, 3]);
    /// sums.add_into_slice(-1, 1, &Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 2])?)?;
    /// assert_eq!(sums.data(), &[0.0, 1.0, 2.0, 0.0, 3.0, 4.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn add_into_slice(&mut self, axis: isize, start: usize, part: &Tensor<F>) -> Result<()> {
        let axis = self.shape().axis("add_into_slice", axis)?;
        let size = self.dims()[axis];
        let fits = part.ndim() == self.ndim()
            && part.dims().iter().zip(self.dims()).enumerate().all(|(k, (p, s))| k == axis || p == s)
            && start.checked_add(part.dims()[axis]).is_some_and(|end| end <= size);
        if !fits {
            return Err(Error::ShapeMismatch {
                op: "add_into_slice",
                lhs: self.shape().clone(),
                rhs: part.shape().clone(),
                hint: format!("; the second must fit in the first from index {start} along axis {axis}"),
            });
        }
        let (outer, inner) = outer_inner(self.dims(), axis);
        let chunk = part.dims()[axis] * inner;
        let src = part.data();
        let dst = self.data_mut();
        for o in 0..outer {
            let at = o * size * inner + start * inner;
            for (d, &p) in dst[at..at + chunk].iter_mut().zip(&src[o * chunk..(o + 1) * chunk]) {
                *d += p;
            }
        }
        Ok(())
    }
}

/// `dst` (`cols × rows`) = `src` (`rows × cols`) transposed, in 32 × 32 tiles.
fn transpose<F: Copy>(src: &[F], rows: usize, cols: usize, dst: &mut [F]) {
    const TILE: usize = 32;
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
}

/// Appends `run` to `out`. A run of a few whole blocks of 16 (an attention head's 16 or 64
/// features) is copied block by block, each a copy of known length done in registers, where
/// `extend_from_slice` would call `memcpy` once per run (W7's head permute, [32, 16, 4, 16]
/// to [32, 4, 16, 16]: 7.8 → 5.5 µs).
#[inline(always)]
fn copy_run<F: Copy>(out: &mut Vec<F>, run: &[F]) {
    const BLOCK: usize = 16;
    if run.len() <= 4 * BLOCK && run.len().is_multiple_of(BLOCK) {
        for block in run.chunks_exact(BLOCK) {
            let block: &[F; BLOCK] = block.try_into().expect("chunks_exact gives whole blocks");
            out.extend_from_slice(block);
        }
    } else {
        out.extend_from_slice(run);
    }
}
