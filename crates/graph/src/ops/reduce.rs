//! Reductions: sum, sum of squares, mean, max, min over every element or over given axes.

use crate::error::{expect_op, Error, Result};
use crate::float::Float;
use crate::op::{Axes, NodeId, Op, ReduceOp};
use crate::tensor::Tensor;
use crate::var::Var;

impl<'g, F: Float> Var<'g, F> {
    /// Reduces over `axes` (negative counts from the end; empty means every axis), keeping
    /// them as size 1 when `keepdim`.
    #[track_caller]
    pub fn try_reduce(self, op: ReduceOp, axes: &[isize], keepdim: bool) -> Result<Var<'g, F>> {
        let axes = self.shape().axes(op.name(), axes)?;
        let axes = Axes { axes: crate::op::Dims::new(&axes), keepdim };
        let forward = |t: &Tensor<F>| crate::op::eval::reduce(op, t, &axes);
        let value = forward(&self.graph().tape().tensor_cow(self.id()))?;
        self.graph().record(Op::Reduce(op, self.id(), Box::new(axes)), value, self.requires_grad())
    }

    /// The mean over `axes`, or a bad-axis error. The mean of nothing is NaN, as in PyTorch.
    #[track_caller]
    pub fn try_mean_axes(self, axes: &[isize], keepdim: bool) -> Result<Var<'g, F>> {
        let shape = self.shape();
        let resolved = shape.axes("mean", axes)?;
        // Saturating: only an empty tensor can overflow the count, and its mean is empty too.
        let count = resolved.iter().fold(1usize, |n, &a| n.saturating_mul(shape.dims()[a]));
        Ok(self.try_sum_axes(axes, keepdim)? * (F::ONE / F::from_usize(count)))
    }
    /// The sum over `axes`, or a bad-axis error.
    #[track_caller]
    pub fn try_sum_axes(self, axes: &[isize], keepdim: bool) -> Result<Var<'g, F>> {
        self.try_reduce(ReduceOp::Sum, axes, keepdim)
    }
    /// The sum of squares Σ x² over `axes` (one op, where `square` then `sum` records two;
    /// an L2 penalty's term), or a bad-axis error.
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor};
    /// let g = Graph::<f64>::new();
    /// let x = g.var(Tensor::from_vec(vec![1.0, -2.0, 3.0], [3])?);
    /// let y = x.try_sum_squares_axes(&[], false)?;
    /// assert_eq!(y.item(), 14.0);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn try_sum_squares_axes(self, axes: &[isize], keepdim: bool) -> Result<Var<'g, F>> {
        self.try_reduce(ReduceOp::SumSquares, axes, keepdim)
    }
    /// Σ x² over every element of every one of `parts`, as one scalar node: an L2 penalty
    /// over many parameters. It equals adding up their [`Var::sum_squares`] from 0, bit for
    /// bit, where that records two nodes a parameter.
    ///
    /// # Panics
    /// For an empty list or parts of another graph; see [`Var::try_sum_squares_of`].
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor, Var};
    /// let g = Graph::<f64>::new();
    /// let w = g.var(Tensor::from_vec(vec![1.0, -2.0], [2])?);
    /// let b = g.var(Tensor::scalar(3.0));
    /// assert_eq!(Var::sum_squares_of(&[w, b]).item(), 14.0);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn sum_squares_of(parts: &[Var<'g, F>]) -> Var<'g, F> {
        expect_op(Var::try_sum_squares_of(parts))
    }
    /// [`Var::sum_squares_of`], or an error for an empty list or parts of another graph.
    #[track_caller]
    pub fn try_sum_squares_of(parts: &[Var<'g, F>]) -> Result<Var<'g, F>> {
        let first = *parts.first().ok_or_else(|| Error::Empty { op: "sum_squares_of", what: "the list of tensors" })?;
        for p in parts {
            first.same_graph(*p, "sum_squares_of")?;
        }
        let ids: Vec<NodeId> = parts.iter().map(|p| p.id()).collect();
        let total = {
            let tape = first.graph().tape();
            crate::op::eval::sum_squares_of(ids.iter().map(|&i| tape.tensor_cow(i)))
        };
        Var::record_with(first.graph(), parts, Op::SumSquaresOf(Box::new(ids)), |_| Ok(Tensor::scalar(total)))
    }
    /// The maximum over `axes` (values, like `torch.amax`; ties share the gradient equally),
    /// or a bad-axis or empty error.
    #[track_caller]
    pub fn try_max_axes(self, axes: &[isize], keepdim: bool) -> Result<Var<'g, F>> {
        self.try_reduce(ReduceOp::Max, axes, keepdim)
    }
    /// The minimum over `axes` (values, like `torch.amin`; ties share the gradient equally),
    /// or a bad-axis or empty error.
    #[track_caller]
    pub fn try_min_axes(self, axes: &[isize], keepdim: bool) -> Result<Var<'g, F>> {
        self.try_reduce(ReduceOp::Min, axes, keepdim)
    }
}

/// The five other forms of a reduction, from its `try_…_axes`: every element (`sum`,
/// `try_sum`), one axis (`sum_axis`, `try_sum_axis`) and a set of axes (`sum_axes`); the
/// panicking forms panic with the `try_` form's message.
macro_rules! reduction_forms {
    ($($what:literal: $all:ident $try_all:ident, $axis:ident $try_axis:ident, $axes:ident $try_axes:ident;)*) => {
        impl<'g, F: Float> Var<'g, F> {
            $(
                #[doc = concat!("The ", $what, " of every element, as a scalar.")]
                #[track_caller]
                pub fn $all(self) -> Var<'g, F> {
                    expect_op(self.$try_axes(&[], false))
                }
                #[doc = concat!("The ", $what, " of every element, or the error [`Var::", stringify!($all), "`] panics with.")]
                #[track_caller]
                pub fn $try_all(self) -> Result<Var<'g, F>> {
                    self.$try_axes(&[], false)
                }
                #[doc = concat!("The ", $what, " over one axis (negative counts from the end), kept as size 1 when `keepdim`.")]
                #[track_caller]
                pub fn $axis(self, axis: isize, keepdim: bool) -> Var<'g, F> {
                    expect_op(self.$try_axes(&[axis], keepdim))
                }
                #[doc = concat!("[`Var::", stringify!($axis), "`], or a bad-axis error.")]
                #[track_caller]
                pub fn $try_axis(self, axis: isize, keepdim: bool) -> Result<Var<'g, F>> {
                    self.$try_axes(&[axis], keepdim)
                }
                #[doc = concat!("The ", $what, " over `axes` (empty means every axis), kept as size 1 when `keepdim`.")]
                #[track_caller]
                pub fn $axes(self, axes: &[isize], keepdim: bool) -> Var<'g, F> {
                    expect_op(self.$try_axes(axes, keepdim))
                }
            )*
        }
    };
}

reduction_forms! {
    "sum": sum try_sum, sum_axis try_sum_axis, sum_axes try_sum_axes;
    "sum of squares": sum_squares try_sum_squares, sum_squares_axis try_sum_squares_axis, sum_squares_axes try_sum_squares_axes;
    "mean": mean try_mean, mean_axis try_mean_axis, mean_axes try_mean_axes;
    "maximum": max try_max, max_axis try_max_axis, max_axes try_max_axes;
    "minimum": min try_min, min_axis try_min_axis, min_axes try_min_axes;
    "log Σ exp": logsumexp try_logsumexp, logsumexp_axis try_logsumexp_axis, logsumexp_axes try_logsumexp_axes;
    "unbiased variance": var try_var, var_axis try_var_axis, var_axes try_var_axes;
}
