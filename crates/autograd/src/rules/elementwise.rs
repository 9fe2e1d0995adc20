//! Derivative rules of the elementwise ops. The rules of the unary, parameterised and binary
//! kinds are written in their table entries (`tapegrad_graph::op`, one entry per op); these
//! are the entry points the sweeps call, and the rule of `clamp`.

use tapegrad_graph::op::{BinaryOp, ParamOp, UnaryOp};
use tapegrad_graph::Algebra;
use tapegrad_graph::Float;

/// ∂L/∂x for y = op(x), given g = ∂L/∂y (the rule is in the op's table entry).
#[inline(always)]
pub fn unary<F: Float, A: Algebra<F>>(op: UnaryOp, x: &A, y: &A, g: &A) -> A {
    op.derivative(x, y, g)
}

/// ∂L/∂x for y = op(x; p).
#[inline(always)]
pub fn param<F: Float, A: Algebra<F>>(op: ParamOp, p: F, x: &A, g: &A) -> A {
    op.derivative(p, x, g)
}

/// (∂L/∂a, ∂L/∂b) for y = op(a, b), before broadcast dims are summed away; only the sides
/// flagged in `need` are computed.
#[inline(always)]
pub fn binary<F: Float, A: Algebra<F>>(op: BinaryOp, a: &A, b: &A, y: &A, g: &A, need: [bool; 2]) -> [Option<A>; 2] {
    op.derivative(a, b, y, g, need)
}

/// ∂L/∂x for y = clamp(x, min, max): passes strictly inside the bounds (PyTorch 2 with number
/// bounds: 0 at a bound, at NaN, and everywhere when min > max).
pub fn clamp<F: Float, A: Algebra<F>>(min: F, max: F, x: &A, g: &A) -> A {
    g.mul_mask(x, |v| if v > min && v < max { F::ONE } else { F::ZERO })
}
