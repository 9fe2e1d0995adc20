//! Reductions: sum, mean, max, min over every element or over given axes.

use crate::error::{expect_op, Result};
use crate::float::Float;
use crate::op::{Axes, Op, ReduceOp};
use crate::var::Var;

impl<'g, F: Float> Var<'g, F> {
    /// Reduces over `axes` (negative counts from the end; empty means every axis), keeping
    /// them as size 1 when `keepdim`.
    #[track_caller]
    pub fn try_reduce(self, op: ReduceOp, axes: &[isize], keepdim: bool) -> Result<Var<'g, F>> {
        let axes = self.shape().axes(op.name(), axes)?;
        let record = Op::Reduce(op, self.id(), Box::new(Axes { axes: axes.clone(), keepdim }));
        self.record_unary(record, |t| match op {
            ReduceOp::Sum => t.fold_axes(&axes, keepdim, F::ZERO, |a, b| a + b),
            ReduceOp::Max | ReduceOp::Min => {
                t.check_nonempty(op.name(), &axes)?;
                let axes: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
                if op == ReduceOp::Max {
                    t.max_axes(&axes, keepdim)
                } else {
                    t.min_axes(&axes, keepdim)
                }
            }
        })
    }

    /// The sum of every element, as a scalar.
    #[track_caller]
    pub fn sum(self) -> Var<'g, F> {
        expect_op(self.try_reduce(ReduceOp::Sum, &[], false))
    }
    /// The sum over `axes`, or a bad-axis error.
    #[track_caller]
    pub fn try_sum_axes(self, axes: &[isize], keepdim: bool) -> Result<Var<'g, F>> {
        self.try_reduce(ReduceOp::Sum, axes, keepdim)
    }
    /// The sum over one axis.
    #[track_caller]
    pub fn sum_axis(self, axis: isize, keepdim: bool) -> Var<'g, F> {
        expect_op(self.try_sum_axes(&[axis], keepdim))
    }

    /// The mean of every element, as a scalar.
    #[track_caller]
    pub fn mean(self) -> Var<'g, F> {
        expect_op(self.try_mean_axes(&[], false))
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
    /// The mean over one axis.
    #[track_caller]
    pub fn mean_axis(self, axis: isize, keepdim: bool) -> Var<'g, F> {
        expect_op(self.try_mean_axes(&[axis], keepdim))
    }

    /// The largest element, as a scalar (ties share the gradient equally).
    #[track_caller]
    pub fn max(self) -> Var<'g, F> {
        expect_op(self.try_reduce(ReduceOp::Max, &[], false))
    }
    /// The maximum over `axes`, or a bad-axis or empty error.
    #[track_caller]
    pub fn try_max_axes(self, axes: &[isize], keepdim: bool) -> Result<Var<'g, F>> {
        self.try_reduce(ReduceOp::Max, axes, keepdim)
    }
    /// The maximum over one axis (values, like `torch.amax`).
    #[track_caller]
    pub fn max_axis(self, axis: isize, keepdim: bool) -> Var<'g, F> {
        expect_op(self.try_max_axes(&[axis], keepdim))
    }

    /// The smallest element, as a scalar (ties share the gradient equally).
    #[track_caller]
    pub fn min(self) -> Var<'g, F> {
        expect_op(self.try_reduce(ReduceOp::Min, &[], false))
    }
    /// The minimum over `axes`, or a bad-axis or empty error.
    #[track_caller]
    pub fn try_min_axes(self, axes: &[isize], keepdim: bool) -> Result<Var<'g, F>> {
        self.try_reduce(ReduceOp::Min, axes, keepdim)
    }
    /// The minimum over one axis (values, like `torch.amin`).
    #[track_caller]
    pub fn min_axis(self, axis: isize, keepdim: bool) -> Var<'g, F> {
        expect_op(self.try_min_axes(&[axis], keepdim))
    }
}
