//! [`Op::eval`]: an op's forward computation on tensors, given its inputs' values — what the
//! recording methods compute, for tools that run a recorded tape again (a compiled tape's
//! replay). The ops whose forward is more than one kernel call share it with their recording
//! method through the functions here.

use super::{Axes, Bounds, Op, ReduceOp};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::shape::Shape;
use crate::tensor::Tensor;

impl<F: Float> Op<F> {
    /// The op's output for input values `x` (in [`Op::inputs`] order), where `shape` is the
    /// output's recorded shape (it sizes reshapes, broadcasts, pads and folds). Leaves,
    /// constants and custom ops have no forward here: [`Error::NoForward`].
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor};
    /// let g = Graph::new();
    /// let a = g.var(Tensor::from_vec(vec![1.0, -2.0], [2])?);
    /// let y = a.relu();
    /// let op = g.tape().op(y.id()).clone();
    /// let again = op.eval(&[&Tensor::from_vec(vec![-3.0, 4.0], [2])?], &y.shape())?;
    /// assert_eq!(again.to_vec(), vec![0.0, 4.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn eval(&self, x: &[&Tensor<F>], shape: &Shape) -> Result<Tensor<F>> {
        let dim = |axis: usize| shape.dims().get(axis).copied().unwrap_or(0);
        match self {
            Op::Leaf | Op::Constant | Op::Custom(_) => Err(Error::NoForward { op: self.name() }),
            Op::Unary(k, _) => Ok(k.map(x[0])),
            Op::Param(k, _, p) => Ok(x[0].map(|v| k.apply(v, *p))),
            Op::Binary(k, ..) => k.zip(x[0], x[1]),
            Op::Clamp(_, bounds) => Ok(clamp(x[0], bounds)),
            Op::Reduce(k, _, axes) => reduce(*k, x[0], axes),
            Op::Matmul(_, _, [ta, tb]) => x[0].matmul_t(*ta, x[1], *tb),
            Op::Reshape(_) => x[0].reshape(shape.clone()),
            Op::Permute(_, perm) => x[0].permute(perm),
            Op::BroadcastTo(_) => x[0].broadcast_to(shape),
            Op::SumTo(_) => x[0].sum_to(shape),
            Op::Concat(args) => Tensor::concat(x, args.axis as isize),
            Op::Slice(_, r) => x[0].slice(r.axis as isize, r.start, r.end),
            Op::Pad(_, r) => x[0].pad(r.axis as isize, r.start, dim(r.axis).saturating_sub(r.end)),
            Op::IndexSelect(_, a) => x[0].index_select(a.axis as isize, &a.indices),
            Op::IndexAdd(_, a) => x[0].index_add(a.axis as isize, &a.indices, dim(a.axis)),
            Op::Gather(_, a) => x[0].gather(a.axis as isize, &a.indices),
            Op::ScatterAdd(_, a) => x[0].scatter_add(a.axis as isize, &a.indices, shape.clone()),
            Op::Where(..) => Tensor::where_cond(x[0], x[1], x[2]),
            Op::Unfold(_, window) => x[0].unfold(window),
            Op::Fold(_, window) => x[0].fold(window, [dim(2), dim(3)]),
            Op::Lookup(..) => {
                let count = x[0].shape().dims().first().copied().unwrap_or(0);
                x[0].lookup(&x[1].to_ids(count)?)
            }
            Op::StopGradient(_, finite_only) => Ok(stop_gradient(x[0], *finite_only)),
            Op::BatchNorm(args) => Ok(x[0].batch_norm_saving(x[1], x[2], args.eps, &args.saved)?.0),
            Op::LayerNorm(args) => x[0].layer_norm(x[1], x[2], args.eps),
            Op::Softmax(_, axis) => x[0].softmax(*axis as isize),
        }
    }
}

/// clamp's forward: `min(max(x, min), max)`, so `max` wins when `min > max` and NaN stays.
pub(crate) fn clamp<F: Float>(t: &Tensor<F>, bounds: &Bounds<F>) -> Tensor<F> {
    let (min, max) = (bounds.min, bounds.max);
    t.map(|x| {
        let above_min = if x < min { min } else { x };
        if above_min > max {
            max
        } else {
            above_min
        }
    })
}

/// A reduction's forward over resolved axes.
pub(crate) fn reduce<F: Float>(op: ReduceOp, t: &Tensor<F>, axes: &Axes) -> Result<Tensor<F>> {
    let keepdim = axes.keepdim;
    match op {
        ReduceOp::Sum => t.fold_axes(&axes.axes, keepdim, F::ZERO, |a, b| a + b, |a, b| a + b),
        ReduceOp::SumSquares => t.fold_axes(&axes.axes, keepdim, F::ZERO, |a, b| a + b * b, |a, b| a + b),
        ReduceOp::Max | ReduceOp::Min => {
            t.check_nonempty(op.name(), &axes.axes)?;
            let signed: Vec<isize> = axes.axes.iter().map(|&a| a as isize).collect();
            if op == ReduceOp::Max {
                t.max_axes(&signed, keepdim)
            } else {
                t.min_axes(&signed, keepdim)
            }
        }
    }
}

/// stop_gradient's forward: the value, with non-finite elements read as 0 when `finite_only`.
pub(crate) fn stop_gradient<F: Float>(t: &Tensor<F>, finite_only: bool) -> Tensor<F> {
    if finite_only {
        t.map(|v| if v.is_finite() { v } else { F::ZERO })
    } else {
        t.clone()
    }
}
