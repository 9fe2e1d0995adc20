//! Shape ops: reshape, permute/transpose, broadcast_to/sum_to, squeeze/unsqueeze, concat,
//! stack, slice and pad.

use crate::error::{expect_op, Error, Result};
use crate::float::Float;
use crate::op::{ConcatArgs, Op, Range};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::var::Var;
use smallvec::SmallVec;

impl<'g, F: Float> Var<'g, F> {
    /// The same elements under a shape with as many elements.
    #[track_caller]
    pub fn reshape(self, shape: impl Into<Shape>) -> Var<'g, F> {
        expect_op(self.try_reshape(shape))
    }
    /// Reshape, or an element-count error.
    #[track_caller]
    pub fn try_reshape(self, shape: impl Into<Shape>) -> Result<Var<'g, F>> {
        let shape = shape.into();
        self.record_unary(Op::Reshape(self.id()), |t| t.reshape(shape))
    }
    /// All elements as one dimension.
    #[track_caller]
    pub fn flatten(self) -> Var<'g, F> {
        let n = self.shape().numel();
        self.reshape([n])
    }
    /// Reorders dims: result dim `i` is input dim `perm[i]`.
    #[track_caller]
    pub fn permute(self, perm: &[usize]) -> Var<'g, F> {
        expect_op(self.try_permute(perm))
    }
    /// Permute, or an error when `perm` is not a permutation.
    #[track_caller]
    pub fn try_permute(self, perm: &[usize]) -> Result<Var<'g, F>> {
        let op = Op::Permute(self.id(), Box::new(crate::op::Dims::new(perm)));
        self.record_unary(op, |t| t.permute(perm))
    }
    /// Swaps two dims (negative counts from the end).
    #[track_caller]
    pub fn transpose(self, dim0: isize, dim1: isize) -> Var<'g, F> {
        expect_op(self.try_transpose(dim0, dim1))
    }
    /// Transpose, or a bad-axis error.
    #[track_caller]
    pub fn try_transpose(self, dim0: isize, dim1: isize) -> Result<Var<'g, F>> {
        let shape = self.shape();
        let (a, b) = (shape.axis("transpose", dim0)?, shape.axis("transpose", dim1)?);
        let mut perm: SmallVec<[usize; 4]> = (0..shape.ndim()).collect();
        perm.swap(a, b);
        self.try_permute(&perm)
    }
    /// The transpose of a matrix (swaps the last two dims).
    #[track_caller]
    pub fn t(self) -> Var<'g, F> {
        self.transpose(-2, -1)
    }
    /// [`Var::t`], or an error for fewer than 2 dims.
    #[track_caller]
    pub fn try_t(self) -> Result<Var<'g, F>> {
        self.try_transpose(-2, -1)
    }
    /// Repeats along broadcast dims to reach `shape`.
    #[track_caller]
    pub fn broadcast_to(self, shape: impl Into<Shape>) -> Var<'g, F> {
        expect_op(self.try_broadcast_to(shape))
    }
    /// Broadcast, or a shape error.
    #[track_caller]
    pub fn try_broadcast_to(self, shape: impl Into<Shape>) -> Result<Var<'g, F>> {
        let shape = shape.into();
        self.record_unary(Op::BroadcastTo(self.id()), |t| t.broadcast_to(shape))
    }
    /// Sums broadcast dims away to reach `shape` (the adjoint of [`Var::broadcast_to`]).
    #[track_caller]
    pub fn sum_to(self, shape: impl Into<Shape>) -> Var<'g, F> {
        expect_op(self.try_sum_to(shape))
    }
    /// sum_to, or a shape error.
    #[track_caller]
    pub fn try_sum_to(self, shape: impl Into<Shape>) -> Result<Var<'g, F>> {
        let shape = shape.into();
        if shape == self.shape() {
            return Ok(self);
        }
        self.record_unary(Op::SumTo(self.id()), |t| t.sum_to(&shape))
    }
    /// Removes dim `axis`, which must have size 1.
    #[track_caller]
    pub fn squeeze(self, axis: isize) -> Var<'g, F> {
        expect_op(self.try_squeeze(axis))
    }
    /// squeeze, or an error when the axis is out of range or not of size 1.
    #[track_caller]
    pub fn try_squeeze(self, axis: isize) -> Result<Var<'g, F>> {
        let mut shape = self.shape();
        let a = shape.axis("squeeze", axis)?;
        if shape.dims()[a] != 1 {
            return Err(Error::InvalidArgument {
                op: "squeeze",
                message: format!("axis {axis} of shape {shape} has size {}, not 1", shape.dims()[a]),
            });
        }
        shape.0.remove(a);
        self.try_reshape(shape)
    }
    /// Inserts a dim of size 1 at `axis` (`-1` appends).
    #[track_caller]
    pub fn unsqueeze(self, axis: isize) -> Var<'g, F> {
        expect_op(self.try_unsqueeze(axis))
    }
    /// unsqueeze, or a bad-axis error.
    #[track_caller]
    pub fn try_unsqueeze(self, axis: isize) -> Result<Var<'g, F>> {
        let mut shape = self.shape();
        let wider = Shape(SmallVec::from_elem(1, shape.ndim() + 1));
        let a = wider.axis("unsqueeze", axis)?;
        shape.0.insert(a, 1);
        self.try_reshape(shape)
    }
    /// Joins `parts` along `axis`; every other dim must agree.
    #[track_caller]
    pub fn concat(parts: &[Var<'g, F>], axis: isize) -> Var<'g, F> {
        expect_op(Var::try_concat(parts, axis))
    }
    /// concat, or an error for an empty list, a bad axis or mismatched shapes.
    #[track_caller]
    pub fn try_concat(parts: &[Var<'g, F>], axis: isize) -> Result<Var<'g, F>> {
        let first = *parts.first().ok_or_else(|| Error::Empty { op: "concat", what: "the list of tensors" })?;
        for p in parts {
            first.same_graph(*p, "concat")?;
        }
        let resolved = first.shape().axis("concat", axis)?;
        let ids: Vec<_> = parts.iter().map(|p| p.id()).collect();
        let op = Op::Concat(Box::new(ConcatArgs { inputs: ids.clone(), axis: resolved }));
        Var::record_with(first.graph(), parts, op, |t| {
            let tensors: Vec<Tensor<F>> = ids.iter().map(|&i| t.tensor(i)).collect();
            let refs: Vec<&Tensor<F>> = tensors.iter().collect();
            Tensor::concat(&refs, axis)
        })
    }
    /// Stacks equal-shaped `parts` along a new dim `axis`.
    #[track_caller]
    pub fn stack(parts: &[Var<'g, F>], axis: isize) -> Var<'g, F> {
        expect_op(Var::try_stack(parts, axis))
    }
    /// stack, or an error for an empty list, a bad axis or mismatched shapes.
    #[track_caller]
    pub fn try_stack(parts: &[Var<'g, F>], axis: isize) -> Result<Var<'g, F>> {
        let first = parts.first().ok_or_else(|| Error::Empty { op: "stack", what: "the list of tensors" })?;
        let shape = first.shape();
        for p in parts {
            first.same_graph(*p, "stack")?;
            if p.shape() != shape {
                return Err(Error::ShapeMismatch {
                    op: "stack",
                    lhs: shape,
                    rhs: p.shape(),
                    hint: "; every tensor stacked must have the same shape".into(),
                });
            }
        }
        let resolved = Shape(SmallVec::from_elem(1, shape.ndim() + 1)).axis("stack", axis)?;
        let expanded = parts.iter().map(|p| p.try_unsqueeze(resolved as isize)).collect::<Result<Vec<_>>>()?;
        Var::try_concat(&expanded, resolved as isize)
    }
    /// The same value with a zero derivative, kept on the tape (JAX's `stop_gradient`): what
    /// depends on it follows new inputs when a graph is exported or replayed, while no
    /// gradient flows back through it. For a constant copy, `graph.constant(x.value())`.
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.var(Tensor::scalar(3.0));
    /// let y = x * x.stop_gradient(); // 9, with dy/dx = 3 (not 6)
    /// assert_eq!(y.item(), 9.0);
    /// ```
    #[track_caller]
    pub fn stop_gradient(self) -> Var<'g, F> {
        expect_op(self.try_stop_gradient(false))
    }
    /// [`Var::stop_gradient`]; with `finite_only`, non-finite elements read as 0.
    #[track_caller]
    pub fn try_stop_gradient(self, finite_only: bool) -> Result<Var<'g, F>> {
        self.record_unary(Op::StopGradient(self.id(), finite_only), |t| {
            Ok(crate::op::eval::stop_gradient(t, finite_only))
        })
    }
    /// Elements `start..end` along `axis`.
    #[track_caller]
    pub fn slice(self, axis: isize, start: usize, end: usize) -> Var<'g, F> {
        expect_op(self.try_slice(axis, start, end))
    }
    /// slice, or a bad-axis or out-of-range error.
    #[track_caller]
    pub fn try_slice(self, axis: isize, start: usize, end: usize) -> Result<Var<'g, F>> {
        let resolved = self.shape().axis("slice", axis)?;
        let op = Op::Slice(self.id(), Box::new(Range { axis: resolved, start, end }));
        self.record_unary(op, |t| t.slice(axis, start, end))
    }
    /// Adds `before` and `after` zeros along `axis`.
    #[track_caller]
    pub fn pad(self, axis: isize, before: usize, after: usize) -> Var<'g, F> {
        expect_op(self.try_pad(axis, before, after))
    }
    /// pad, or a bad-axis error, or [`Error::TooLarge`] when the result would not fit in memory.
    #[track_caller]
    pub fn try_pad(self, axis: isize, before: usize, after: usize) -> Result<Var<'g, F>> {
        let shape = self.shape();
        let resolved = shape.axis("pad", axis)?;
        let end = before.checked_add(shape.dims()[resolved]).ok_or_else(|| Error::TooLarge { op: "pad", shape })?;
        let op = Op::Pad(self.id(), Box::new(Range { axis: resolved, start: before, end }));
        self.record_unary(op, |t| t.pad(axis, before, after))
    }
}
