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
            Op::LayerNorm(args) => x[0].layer_norm_saving(x[1], x[2], args.eps, &args.saved),
            Op::Softmax(_, axis) => x[0].softmax(*axis as isize),
            Op::SumSquaresOf(_) => Ok(Tensor::scalar(sum_squares_of(x.iter().copied()))),
            Op::Hinge(..) => x[0].hinge(x[1]),
        }
    }

    /// As [`Op::eval`], with the output written over `out`'s elements where no other tensor
    /// shares them and the op has such a form (elementwise ops, sums over consecutive axes,
    /// products of two matrices):
    /// what a replayed step does with its last output, sparing a new buffer. The result is
    /// the one [`Op::eval`] gives, bit for bit; `out` takes its shape. On an error, `out` is
    /// left as it was.
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor};
    /// let g = Graph::new();
    /// let a = g.var(Tensor::from_vec(vec![1.0, -2.0], [2])?);
    /// let y = a.relu();
    /// let op = g.tape().op(y.id()).clone();
    /// let mut out = Tensor::zeros([2]);
    /// op.eval_into(&[&Tensor::from_vec(vec![-3.0, 4.0], [2])?], &y.shape(), &mut out)?;
    /// assert_eq!(out.to_vec(), vec![0.0, 4.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn eval_into(&self, x: &[&Tensor<F>], shape: &Shape, out: &mut Tensor<F>) -> Result<()> {
        match self {
            Op::Unary(k, _) => k.map_to(x[0], out),
            Op::Param(k, _, p) => x[0].map_to(|v| k.apply(v, *p), out),
            Op::Binary(k, ..) => k.zip_to(x[0], x[1], out)?,
            Op::Matmul(_, _, [ta, tb]) => x[0].matmul_t_to(*ta, x[1], *tb, out)?,
            Op::Clamp(_, bounds) => x[0].map_to(clamped(bounds), out),
            Op::Reduce(k, _, axes) => reduce_into(*k, x[0], axes, out)?,
            Op::SumSquaresOf(_) => write_scalar(sum_squares_of(x.iter().copied()), out),
            Op::Hinge(..) => write_scalar(x[0].hinge_mean(x[1])?, out),
            Op::Leaf
            | Op::Constant
            | Op::Custom(_)
            | Op::Reshape(_)
            | Op::Permute(..)
            | Op::BroadcastTo(_)
            | Op::SumTo(_)
            | Op::Concat(_)
            | Op::Slice(..)
            | Op::Pad(..)
            | Op::IndexSelect(..)
            | Op::IndexAdd(..)
            | Op::Gather(..)
            | Op::ScatterAdd(..)
            | Op::Where(..)
            | Op::Unfold(..)
            | Op::Fold(..)
            | Op::Lookup(..)
            | Op::StopGradient(..)
            | Op::BatchNorm(_)
            | Op::LayerNorm(_)
            | Op::Softmax(..) => *out = self.eval(x, shape)?,
        }
        Ok(())
    }
}

/// A 0-d output written over `out`'s element where no other tensor shares it.
fn write_scalar<F: Float>(value: F, out: &mut Tensor<F>) {
    match out.overwritten_as(&Shape::scalar()) {
        Some([element]) => *element = value,
        _ => *out = Tensor::scalar(value),
    }
}

/// clamp's forward: `min(max(x, min), max)`, so `max` wins when `min > max` and NaN stays.
pub(crate) fn clamp<F: Float>(t: &Tensor<F>, bounds: &Bounds<F>) -> Tensor<F> {
    t.map(clamped(bounds))
}

/// clamp on one value.
fn clamped<F: Float>(bounds: &Bounds<F>) -> impl Fn(F) -> F + Sync {
    let (min, max) = (bounds.min, bounds.max);
    move |x| {
        let above_min = if x < min { min } else { x };
        if above_min > max {
            max
        } else {
            above_min
        }
    }
}

/// A reduction's forward over resolved axes.
pub(crate) fn reduce<F: Float>(op: ReduceOp, t: &Tensor<F>, axes: &Axes) -> Result<Tensor<F>> {
    let keepdim = axes.keepdim;
    match op {
        ReduceOp::Sum => t.fold_axes(&axes.axes, keepdim, F::ZERO, add, add),
        ReduceOp::SumSquares => t.fold_axes(&axes.axes, keepdim, F::ZERO, add_square, add),
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

/// As [`reduce`], over `out`'s elements where it may overwrite them (sums; a max or min
/// makes a new tensor).
fn reduce_into<F: Float>(op: ReduceOp, t: &Tensor<F>, axes: &Axes, out: &mut Tensor<F>) -> Result<()> {
    match op {
        ReduceOp::Sum => t.fold_axes_to(&axes.axes, axes.keepdim, F::ZERO, (add, add), out),
        ReduceOp::SumSquares => t.fold_axes_to(&axes.axes, axes.keepdim, F::ZERO, (add_square, add), out),
        ReduceOp::Max | ReduceOp::Min => {
            *out = reduce(op, t, axes)?;
            Ok(())
        }
    }
}

/// Σ x² over every element of every tensor in `x`: each tensor's sum as `sum_squares` over
/// every axis folds it, the sums added in order from 0 (as an L2 penalty of one `sum_squares`
/// per parameter adds them), so the result is theirs bit for bit.
pub(crate) fn sum_squares_of<F: Float, T: std::borrow::Borrow<Tensor<F>>>(x: impl IntoIterator<Item = T>) -> F {
    x.into_iter().fold(F::ZERO, |total, t| total + t.borrow().fold_all(F::ZERO, add_square, add))
}

/// A sum's step.
fn add<F: Float>(a: F, b: F) -> F {
    a + b
}

/// A sum of squares' step.
fn add_square<F: Float>(a: F, b: F) -> F {
    a + b * b
}

/// stop_gradient's forward: the value, with non-finite elements read as 0 when `finite_only`.
pub(crate) fn stop_gradient<F: Float>(t: &Tensor<F>, finite_only: bool) -> Tensor<F> {
    if finite_only {
        t.map(|v| if v.is_finite() { v } else { F::ZERO })
    } else {
        t.clone()
    }
}

#[cfg(test)]
mod tests {
    use crate::{Graph, Tensor, Var};

    fn filled(dims: &[usize], seed: f64) -> Tensor<f64> {
        let n = dims.iter().product::<usize>();
        let data = (0..n).map(|i| ((i as f64 + seed) * 0.37).sin() * 2.0).collect();
        Tensor::from_vec(data, dims).unwrap()
    }

    #[test]
    fn eval_into_equals_eval_and_writes_over_an_output_only_it_holds() {
        let g = Graph::new();
        let v = |dims: &[usize], seed: f64| g.var(filled(dims, seed));
        let (a, b, bias, column, one, w) =
            (v(&[3, 4], 1.0), v(&[3, 4], 2.0), v(&[4], 3.0), v(&[3, 1], 4.0), v(&[1], 5.0), v(&[5, 4], 6.0));
        let large = (v(&[40, 40], 7.0), v(&[40, 40], 8.0));
        // Each output, and whether its op writes over a same-sized output (elementwise ops but
        // a general broadcast, products of two matrices, sums).
        let ys: Vec<(Var<'_, f64>, bool)> = vec![
            (a.tanh(), true),
            (a.relu(), true),
            (a.powf(3.0), true),
            (a.leaky_relu(0.1), true),
            (large.0.exp(), true),
            (a + b, true),
            (a * b, true),
            (a / bias, true),
            (bias - a, true),
            (a * one, true),
            (one - a, true),
            (large.0 * large.1, true),
            (a.matmul_t(false, w, true), true),
            (a.matmul_t(true, b, false), true),
            (large.0.matmul(large.1), true),
            (a + column, true),
            (column + bias, false),
            (a.clamp(-0.5, 0.5), true),
            (a.sum_axis(0, false), true),
            (a.sum_squares_axis(1, true), true),
            (large.0.sum(), true),
            (a.sum_axes(&[0, 1], false), true),
            (a.max_axis(0, false), false),
            (a.reshape([4, 3]), false),
        ];
        let tape = g.tape();
        for (y, in_place) in ys {
            let op = tape.op(y.id()).clone();
            let inputs: Vec<Tensor<f64>> =
                op.inputs().iter().map(|&i| tape.tensor(i).map(|x| x * 0.5 - 0.25)).collect();
            let refs: Vec<&Tensor<f64>> = inputs.iter().collect();
            let expected = op.eval(&refs, &y.shape()).unwrap();
            let bits = |t: &Tensor<f64>| t.data().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            // An output of the same size that only it holds is written over, shape and all.
            let mut out = Tensor::full([expected.numel()], 9.0);
            let before = out.data().as_ptr();
            op.eval_into(&refs, &y.shape(), &mut out).unwrap();
            assert_eq!((out.shape(), bits(&out)), (expected.shape(), bits(&expected)), "{}", op.name());
            assert_eq!(out.data().as_ptr() == before, in_place, "{}: written in place", op.name());
            // A shared output, or one of another size, is replaced, and its sharer keeps its value.
            for mut out in [Tensor::full([expected.numel()], 9.0), Tensor::full([expected.numel() + 1], 9.0)] {
                let sharer = out.clone();
                op.eval_into(&refs, &y.shape(), &mut out).unwrap();
                assert_eq!(bits(&out), bits(&expected), "{}", op.name());
                assert!(sharer.data().iter().all(|&x| x == 9.0), "{}: a shared buffer was written", op.name());
            }
        }
    }

    #[test]
    fn eval_into_leaves_its_output_as_it_was_on_an_error() {
        let g = Graph::new();
        let (a, b) = (g.var(filled(&[2, 3], 0.0)), g.var(filled(&[3, 2], 1.0)));
        let y = a.matmul(b);
        let op = g.tape().op(y.id()).clone();
        let mut out = Tensor::full([2, 2], 9.0);
        let wrong = filled(&[2, 2], 2.0);
        assert!(op.eval_into(&[&filled(&[2, 3], 3.0), &wrong], &y.shape(), &mut out).is_err());
        assert_eq!(out, Tensor::full([2, 2], 9.0));
    }
}
