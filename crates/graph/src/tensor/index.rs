//! Indexing kernels: index_select / index_add, gather / scatter_add, and where.

use super::layout::outer_inner;
use super::walk::{broadcast_strides, walk};
use super::{buffer, filled, Tensor};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::shape::Shape;
use std::sync::Arc;

/// A tensor of indices (PyTorch's `LongTensor`), for [`Tensor::index_select`] and
/// [`Tensor::gather`].
///
/// ```
/// use tapegrad_graph::Indices;
/// let labels = Indices::from(vec![2, 0, 1]);          // 1-d
/// let column = Indices::new(vec![2, 0, 1], [3, 1])?;  // a [3, 1] index for gather
/// assert_eq!(column.shape().dims(), &[3, 1]);
/// # Ok::<(), tapegrad_graph::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Indices {
    shape: Shape,
    data: Arc<[usize]>,
}

impl Indices {
    /// Indices of `shape` in row-major order; the lengths must agree.
    pub fn new(data: Vec<usize>, shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        let expected = shape.try_numel("Indices::new")?;
        if data.len() != expected {
            return Err(Error::ElementCount { op: "Indices::new", expected, shape, len: data.len() });
        }
        Ok(Indices { shape, data: data.into() })
    }
    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }
    /// The indices in row-major order.
    pub fn data(&self) -> &[usize] {
        &self.data
    }
    /// The number of indices.
    pub fn len(&self) -> usize {
        self.data.len()
    }
    /// True when there are no indices.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    fn check_range(&self, op: &'static str, size: usize) -> Result<()> {
        match self.data.iter().find(|&&i| i >= size) {
            Some(&i) => Err(Error::IndexOutOfRange { op, index: i, size }),
            None => Ok(()),
        }
    }
}

impl From<Vec<usize>> for Indices {
    fn from(data: Vec<usize>) -> Self {
        Indices { shape: Shape::from([data.len()]), data: data.into() }
    }
}

impl<F: Float> Tensor<F> {
    /// The elements read as ids below `count`, in the tensor's shape: an error names the first
    /// one that is negative, fractional, not finite or too large.
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let ids = Tensor::from_vec(vec![2.0, 0.0, 1.0], [3])?.to_ids(3)?;
    /// assert_eq!(ids.data(), &[2, 0, 1]);
    /// assert!(Tensor::from_vec(vec![1.5], [1])?.to_ids(3).is_err());
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn to_ids(&self, count: usize) -> Result<Indices> {
        let mut ids = Vec::with_capacity(self.numel());
        for &v in self.data() {
            let v = v.to_f64();
            if !(v >= 0.0 && v.fract() == 0.0 && v < count as f64) {
                return Err(Error::InvalidArgument {
                    op: "lookup",
                    message: format!("id {v} is not a whole number in 0..{count}"),
                });
            }
            ids.push(v as usize);
        }
        Indices::new(ids, self.shape().clone())
    }

    /// Rows of a `[count, dim]` table at `ids`: shape `ids.shape + [dim]` (an embedding).
    pub fn lookup(&self, ids: &Indices) -> Result<Tensor<F>> {
        let &[count, dim] = self.dims() else {
            return Err(Error::InvalidArgument {
                op: "lookup",
                message: format!("the table must be [count, dim], got shape {}", self.shape()),
            });
        };
        if let Some(&bad) = ids.data().iter().find(|&&i| i >= count) {
            return Err(Error::IndexOutOfRange { op: "lookup", index: bad, size: count });
        }
        let mut out = Vec::new();
        out.try_reserve_exact(ids.data().len().saturating_mul(dim))
            .map_err(|_| Error::TooLarge { op: "lookup", shape: self.shape().clone() })?;
        for &i in ids.data() {
            out.extend_from_slice(&self.data()[i * dim..(i + 1) * dim]);
        }
        let mut shape = ids.shape().dims().to_vec();
        shape.push(dim);
        Tensor::from_vec(out, shape)
    }

    /// The slices at `indices` along `axis`, in that order (repeats allowed).
    pub fn index_select(&self, axis: isize, indices: &Indices) -> Result<Tensor<F>> {
        let axis = self.shape().axis("index_select", axis)?;
        let size = self.dims()[axis];
        indices.check_range("index_select", size)?;
        let (outer, inner) = outer_inner(self.dims(), axis);
        let mut dims = self.shape().clone();
        dims.0[axis] = indices.len();
        let mut out = buffer("index_select", &dims)?;
        for o in 0..outer {
            for &i in indices.data() {
                let src = (o * size + i) * inner;
                out.extend_from_slice(&self.data()[src..src + inner]);
            }
        }
        Ok(Tensor::from_parts(out, dims))
    }

    /// Zeros with dimension `size` on `axis`, where slice `j` of `self` is added at
    /// `indices[j]` (the adjoint of [`Tensor::index_select`]).
    pub fn index_add(&self, axis: isize, indices: &Indices, size: usize) -> Result<Tensor<F>> {
        let axis = self.shape().axis("index_add", axis)?;
        indices.check_range("index_add", size)?;
        if indices.len() != self.dims()[axis] {
            return Err(Error::InvalidArgument {
                op: "index_add",
                message: format!("{} indices for {} slices along axis {axis}", indices.len(), self.dims()[axis]),
            });
        }
        let (outer, inner) = outer_inner(self.dims(), axis);
        let mut dims = self.shape().clone();
        dims.0[axis] = size;
        let mut out = filled("index_add", &dims, F::ZERO)?;
        for o in 0..outer {
            for (j, &i) in indices.data().iter().enumerate() {
                let src = (o * indices.len() + j) * inner;
                let dst = (o * size + i) * inner;
                for (d, &s) in out[dst..dst + inner].iter_mut().zip(&self.data()[src..src + inner]) {
                    *d += s;
                }
            }
        }
        Ok(Tensor::from_parts(out, dims))
    }

    /// `out[i][j][k] = self[i][index[i][j][k]][k]` for `axis = 1` (and likewise for any axis),
    /// like `torch.gather`; the result has the index's shape.
    pub fn gather(&self, axis: isize, index: &Indices) -> Result<Tensor<F>> {
        let (axis, strides, index_strides) = self.gather_layout("gather", axis, index, self.shape())?;
        let mut out = Vec::with_capacity(index.len());
        let data = self.data();
        let stride = strides[axis];
        walk(index.shape().dims(), [&strides_without(&strides, axis), &index_strides], |[base, k]| {
            out.push(data[base + index.data()[k] * stride])
        });
        Ok(Tensor::from_parts(out, index.shape().clone()))
    }

    /// Zeros of `shape` into which each element of `self` is added at the position `index`
    /// names along `axis` (the adjoint of [`Tensor::gather`]).
    pub fn scatter_add(&self, axis: isize, index: &Indices, shape: impl Into<Shape>) -> Result<Tensor<F>> {
        let shape = shape.into();
        if index.shape() != self.shape() {
            return Err(Error::ShapeMismatch {
                op: "scatter_add",
                lhs: self.shape().clone(),
                rhs: index.shape().clone(),
                hint: "; the source and the index must have one shape".into(),
            });
        }
        let (axis, strides, index_strides) = self.gather_layout("scatter_add", axis, index, &shape)?;
        let mut out = filled("scatter_add", &shape, F::ZERO)?;
        let stride = strides[axis];
        let src = self.data();
        walk(index.shape().dims(), [&strides_without(&strides, axis), &index_strides], |[base, k]| {
            out[base + index.data()[k] * stride] += src[k]
        });
        Ok(Tensor::from_parts(out, shape))
    }

    fn gather_layout(
        &self,
        op: &'static str,
        axis: isize,
        index: &Indices,
        target: &Shape,
    ) -> Result<(usize, Strides, Strides)> {
        let axis = target.axis(op, axis)?;
        let fits = index.shape().ndim() == target.ndim()
            && (0..target.ndim()).all(|d| d == axis || index.shape().dims()[d] <= target.dims()[d]);
        if !fits {
            return Err(Error::ShapeMismatch {
                op,
                lhs: target.clone(),
                rhs: index.shape().clone(),
                hint: format!("; the index needs as many dims, none larger except axis {axis}"),
            });
        }
        index.check_range(op, target.dims()[axis])?;
        Ok((axis, target.strides(), index.shape().strides()))
    }

    /// Elementwise choice: `a` where `cond` is non-zero, `b` elsewhere; all three broadcast.
    pub fn where_cond(cond: &Tensor<F>, a: &Tensor<F>, b: &Tensor<F>) -> Result<Tensor<F>> {
        let shape = cond.shape().broadcast(a.shape(), "where")?.broadcast(b.shape(), "where")?;
        let sc = broadcast_strides(cond.dims(), shape.dims());
        let sa = broadcast_strides(a.dims(), shape.dims());
        let sb = broadcast_strides(b.dims(), shape.dims());
        let mut out = buffer("where", &shape)?;
        let (dc, da, db) = (cond.data(), a.data(), b.data());
        walk(shape.dims(), [&sc, &sa, &sb], |[c, i, j]| out.push(if dc[c] != F::ZERO { da[i] } else { db[j] }));
        Ok(Tensor::from_parts(out, shape))
    }
}

/// Row-major strides of up to four dims inline.
type Strides = smallvec::SmallVec<[usize; 4]>;

fn strides_without(strides: &[usize], axis: usize) -> Strides {
    strides.iter().enumerate().map(|(d, &s)| if d == axis { 0 } else { s }).collect()
}
