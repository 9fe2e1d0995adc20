//! Derivative rules of the reductions.

use smallvec::SmallVec;
use tapegrad_graph::op::{Axes, Dims, ReduceOp};
use tapegrad_graph::Float;
use tapegrad_graph::TensorAlgebra;

/// ∂L/∂x for y = reduce(x over axes): the sum spreads g back over the reduced axes, the sum
/// of squares spreads 2x·g; max and
/// min send it to the elements equal to the result, shared equally among ties, and where the
/// result is NaN, to the NaN elements (PyTorch's `max()`; `torch.amax` gives NaN there).
pub fn reduce<F: Float, A: TensorAlgebra<F>>(op: ReduceOp, axes: &Axes, x: &A, y: &A, g: &A) -> A {
    if op == ReduceOp::SumSquares {
        if let Some(dx) = x.fused_sum_squares_grad(g) {
            return dx;
        }
    }
    let x_shape = x.shape();
    let kept = x_shape.reduced(&axes.axes, true);
    let g = g.reshape(&kept);
    match op {
        ReduceOp::Sum => g.broadcast_to(&x_shape),
        // 2x·g, as `square`'s rule gives (x + x)·g: doubling is exact.
        ReduceOp::SumSquares => x.mul(&g.scale(F::from_f64(2.0))),
        ReduceOp::Max | ReduceOp::Min => {
            if let Some(dx) = x.fused_extremum_grad(y, &g, &axes.axes) {
                return dx;
            }
            let hits =
                x.zip_const(
                    &y.reshape(&kept),
                    |v, m| {
                        if v == m || (v.is_nan() && m.is_nan()) {
                            F::ONE
                        } else {
                            F::ZERO
                        }
                    },
                );
            let share = hits.div(&hits.sum_keepdim(&axes.axes));
            g.mul(&share)
        }
    }
}

/// ∂L/∂x for y = Σ x² over every element of `x` (one input of `sum_squares_of`): `sum_squares`'
/// rule over every axis, 2x·g.
pub fn sum_squares_all<F: Float, A: TensorAlgebra<F>>(x: &A, y: &A, g: &A) -> A {
    if let Some(dx) = x.fused_sum_squares_grad(g) {
        return dx;
    }
    let every: SmallVec<[usize; 4]> = (0..x.shape().ndim()).collect();
    reduce(ReduceOp::SumSquares, &Axes { axes: Dims::new(&every), keepdim: false }, x, y, g)
}
