//! Composite reductions built from recorded ops, so every order of derivative comes for free:
//! logsumexp, variance, softmax and log_softmax (all stable for large inputs).

use crate::error::{expect_op, Error, Result};
use crate::float::Float;
use crate::var::Var;

impl<'g, F: Float> Var<'g, F> {
    /// log Σ exp over `axes`, computed as `m + log Σ exp(x − m)` with `m` the (constant) maximum,
    /// so large inputs do not overflow.
    pub fn try_logsumexp_axes(self, axes: &[isize], keepdim: bool) -> Result<Var<'g, F>> {
        let max = self.constant_max(axes)?;
        let lse = (self - max).exp().try_sum_axes(axes, true)?.log() + max;
        if keepdim {
            Ok(lse)
        } else {
            let shape = self.shape();
            let resolved = shape.axes("logsumexp", axes)?;
            lse.try_reshape(shape.reduced(&resolved, false))
        }
    }
    /// log Σ exp of every element, as a scalar.
    #[track_caller]
    pub fn logsumexp(self) -> Var<'g, F> {
        expect_op(self.try_logsumexp_axes(&[], false))
    }
    /// log Σ exp over one axis.
    #[track_caller]
    pub fn logsumexp_axis(self, axis: isize, keepdim: bool) -> Var<'g, F> {
        expect_op(self.try_logsumexp_axes(&[axis], keepdim))
    }

    /// The unbiased variance over `axes` (divides by n − 1, like `torch.var`).
    pub fn try_var_axes(self, axes: &[isize], keepdim: bool) -> Result<Var<'g, F>> {
        let shape = self.shape();
        let resolved = shape.axes("var", axes)?;
        let count: usize = resolved.iter().map(|&a| shape.dims()[a]).product();
        if count == 0 {
            return Err(Error::Empty { op: "var", what: "the reduced axis" });
        }
        let centered = self - self.try_mean_axes(axes, true)?;
        Ok(centered.square().try_sum_axes(axes, keepdim)? * (F::ONE / F::from_usize(count.max(2) - 1)))
    }
    /// The unbiased variance of every element, as a scalar.
    #[track_caller]
    pub fn var(self) -> Var<'g, F> {
        expect_op(self.try_var_axes(&[], false))
    }
    /// The unbiased variance over one axis.
    #[track_caller]
    pub fn var_axis(self, axis: isize, keepdim: bool) -> Var<'g, F> {
        expect_op(self.try_var_axes(&[axis], keepdim))
    }

    /// The maximum over `axes` (kept as size 1) as a constant, 0 where it is not finite: the
    /// shift that keeps exp from overflowing.
    fn constant_max(self, axes: &[isize]) -> Result<Var<'g, F>> {
        let max = self.graph().no_grad(|| self.try_max_axes(axes, true))?;
        Ok(self.graph().constant(max.value().map(|m| if m.is_finite() { m } else { F::ZERO })))
    }

    /// Softmax along `axis`: `exp(x − m) / Σ exp(x − m)` with `m` the maximum, stable for
    /// large inputs.
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.var(Tensor::from_vec(vec![1000.0, 1000.0], [2])?);
    /// assert_eq!(x.softmax(-1).value().to_vec(), vec![0.5, 0.5]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn softmax(self, axis: isize) -> Var<'g, F> {
        expect_op(self.try_softmax(axis))
    }
    /// Softmax along `axis`, or a bad-axis error.
    pub fn try_softmax(self, axis: isize) -> Result<Var<'g, F>> {
        let shifted = (self - self.constant_max(&[axis])?).exp();
        Ok(shifted / shifted.try_sum_axes(&[axis], true)?)
    }
    /// log-softmax along `axis`: `x − logsumexp(x)`.
    #[track_caller]
    pub fn log_softmax(self, axis: isize) -> Var<'g, F> {
        expect_op(self.try_log_softmax(axis))
    }
    /// log-softmax along `axis`, or a bad-axis error.
    pub fn try_log_softmax(self, axis: isize) -> Result<Var<'g, F>> {
        Ok(self - self.try_logsumexp_axes(&[axis], true)?)
    }
}
