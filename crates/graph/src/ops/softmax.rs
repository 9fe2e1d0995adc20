//! Softmax, one recorded op (its rule composes recorded ops, so it is differentiable again),
//! and composite reductions built from recorded ops, so every order of derivative comes for
//! free: logsumexp, variance and log_softmax. All are stable for large inputs; infinities and
//! NaN give what PyTorch gives, and so do empty tensors.

use crate::error::{expect_op, Result};
use crate::float::Float;
use crate::op::Op;
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::var::Var;

impl<'g, F: Float> Var<'g, F> {
    /// log Σ exp over `axes`, computed as `m + log Σ exp(x − m)` with `m` the (constant) maximum,
    /// so large inputs do not overflow; an infinite maximum is taken as 0, as PyTorch does, so
    /// `logsumexp([∞, 0]) = ∞` and `logsumexp([−∞, −∞]) = −∞`.
    #[track_caller]
    pub fn try_logsumexp_axes(self, axes: &[isize], keepdim: bool) -> Result<Var<'g, F>> {
        let shape = self.shape();
        let resolved = shape.axes("logsumexp", axes)?;
        let max = self.constant_max(&shape, &resolved, true)?;
        let lse = (self - max).exp().try_sum_axes(axes, true)?.log() + max;
        if keepdim {
            Ok(lse)
        } else {
            lse.try_reshape(shape.reduced(&resolved, false))
        }
    }

    /// The unbiased variance over `axes` (divides by n − 1, like `torch.var`): NaN for one
    /// element or none, as in PyTorch.
    #[track_caller]
    pub fn try_var_axes(self, axes: &[isize], keepdim: bool) -> Result<Var<'g, F>> {
        let shape = self.shape();
        let resolved = shape.axes("var", axes)?;
        let count = resolved.iter().fold(1usize, |n, &a| n.saturating_mul(shape.dims()[a]));
        let centered = self - self.try_mean_axes(axes, true)?;
        // 1/0 = ∞ for count ≤ 1, and the centered sum of squares is 0 there: 0·∞ = NaN.
        Ok(centered.square().try_sum_axes(axes, keepdim)? * (F::ONE / F::from_usize(count.saturating_sub(1))))
    }

    /// The maximum over the resolved `axes` of a tensor of `shape`, kept as size 1, as a
    /// constant: the shift that keeps exp from overflowing. With `finite_only`, an infinite
    /// maximum becomes 0 (logsumexp's rule). Over an empty tensor it is zeros.
    #[track_caller]
    fn constant_max(self, shape: &Shape, axes: &[usize], finite_only: bool) -> Result<Var<'g, F>> {
        let kept = shape.reduced(axes, true);
        if shape.numel() == 0 {
            return Ok(self.graph().constant(Tensor::try_full(kept, F::ZERO)?));
        }
        let axes: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        self.try_max_axes(&axes, true)?.try_stop_gradient(finite_only)
    }

    /// Softmax along `axis`: `exp(x − m) / Σ exp(x − m)` with `m` the maximum, stable for
    /// large inputs. One recorded op, computed in one pass ([`Tensor::softmax`]); its gradient
    /// `y·(g − Σ g·y)` is one pass too, and is composed of recorded ops when differentiated
    /// again.
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
    /// Softmax along `axis`, or a bad-axis error. A row holding +∞ or NaN, or only −∞, comes
    /// out NaN, as in PyTorch.
    #[track_caller]
    pub fn try_softmax(self, axis: isize) -> Result<Var<'g, F>> {
        let resolved = self.shape().axis("softmax", axis)?;
        self.record_unary(Op::Softmax(self.id(), resolved), |x| x.softmax(axis))
    }
    /// log-softmax along `axis`: `(x − m) − log Σ exp(x − m)` with `m` the maximum.
    #[track_caller]
    pub fn log_softmax(self, axis: isize) -> Var<'g, F> {
        expect_op(self.try_log_softmax(axis))
    }
    /// log-softmax along `axis`, or a bad-axis error. An infinite or NaN input makes its row
    /// NaN, as in PyTorch.
    #[track_caller]
    pub fn try_log_softmax(self, axis: isize) -> Result<Var<'g, F>> {
        let shape = self.shape();
        let resolved = shape.axis("log_softmax", axis)?;
        let shifted = self - self.constant_max(&shape, &[resolved], false)?;
        Ok(shifted - shifted.exp().try_sum_axes(&[axis], true)?.log())
    }
}
