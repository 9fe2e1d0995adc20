//! Derivative rules of the elementwise ops: one per op, generic over [`Algebra`] so the same
//! rule serves scalars, tensors and recorded `Var`s.

use crate::algebra::Algebra;
use tapegrad_graph::op::{BinaryOp, ParamOp, UnaryOp};
use tapegrad_graph::Float;

/// ∂L/∂x for y = op(x), given g = ∂L/∂y.
#[inline(always)]
pub fn unary<F: Float, A: Algebra<F>>(op: UnaryOp, x: &A, y: &A, g: &A) -> A {
    match op {
        UnaryOp::Neg => g.neg(),
        UnaryOp::Exp => g.mul(y),
        UnaryOp::Log => g.div(x),
        UnaryOp::Sqrt => g.div(&y.scale(F::from_f64(2.0))),
        // sign(x), and 0 at 0 and at NaN (as PyTorch).
        UnaryOp::Abs => g.mul_mask(x, |v| {
            if v > F::ZERO {
                F::ONE
            } else if v < F::ZERO {
                -F::ONE
            } else {
                F::ZERO
            }
        }),
        UnaryOp::Sin => g.mul(&x.cos()),
        UnaryOp::Cos => g.mul(&x.sin()).neg(),
        UnaryOp::Tanh => g.mul(&y.mul(y).neg().add_scalar(F::ONE)),
        UnaryOp::Sigmoid => g.mul(&y.mul(&y.neg().add_scalar(F::ONE))),
        // Passes where x is not ≤ 0, so at NaN too (PyTorch's `threshold_backward`).
        UnaryOp::Relu => g.mul_mask(x, |v| if v <= F::ZERO { F::ZERO } else { F::ONE }),
        UnaryOp::Softplus => g.mul(&x.sigmoid()),
        UnaryOp::Erf => g.mul(&x.mul(x).neg().exp().scale(F::from_f64(std::f64::consts::FRAC_2_SQRT_PI))),
        // Piecewise constant: 0 everywhere, as PyTorch defines it (even at 0).
        UnaryOp::Sign => x.map_const(|_| F::ZERO),
        UnaryOp::Log1p => g.div(&x.add_scalar(F::ONE)),
        UnaryOp::Expm1 => g.mul(&y.add_scalar(F::ONE)),
    }
}

/// ∂L/∂x for y = op(x; p).
#[inline(always)]
pub fn param<F: Float, A: Algebra<F>>(op: ParamOp, p: F, x: &A, g: &A) -> A {
    match op {
        // x⁰ is the constant 1: its gradient is 0 even where p·x⁻¹ is not finite (PyTorch).
        ParamOp::PowF if p == F::ZERO => x.map_const(|_| F::ZERO),
        ParamOp::PowF => g.mul(&x.powf(p - F::ONE).scale(p)),
        ParamOp::LeakyRelu => g.mul_mask(x, |v| if v > F::ZERO { F::ONE } else { p }),
    }
}

/// (∂L/∂a, ∂L/∂b) for y = op(a, b), before broadcast dims are summed away; only the sides
/// flagged in `need` are computed.
#[inline(always)]
pub fn binary<F: Float, A: Algebra<F>>(op: BinaryOp, a: &A, b: &A, y: &A, g: &A, need: [bool; 2]) -> [Option<A>; 2] {
    let half = F::from_f64(0.5);
    let (da, db) = match op {
        BinaryOp::Add => (need[0].then(|| g.clone()), need[1].then(|| g.clone())),
        BinaryOp::Sub => (need[0].then(|| g.clone()), need[1].then(|| g.neg())),
        BinaryOp::Mul => (need[0].then(|| g.mul(b)), need[1].then(|| g.mul(a))),
        BinaryOp::Div => (need[0].then(|| g.div(b)), need[1].then(|| g.mul(y).div(b).neg())),
        // As PyTorch: 0 towards a where b = 0 (a⁰ is constant) and towards b where a = 0 ≤ b
        // (0ᵇ is constant there), even where the formula's factors are not finite.
        BinaryOp::Pow => (
            need[0].then(|| {
                let keep = b.map_const(|v| if v == F::ZERO { F::ZERO } else { F::ONE });
                g.mul(b).mul(&a.pow(&b.add_scalar(-F::ONE))).keep_where(&keep)
            }),
            need[1].then(|| {
                let keep = a.zip_const(b, |u, v| if u == F::ZERO && v >= F::ZERO { F::ZERO } else { F::ONE });
                g.mul(y).mul(&a.ln()).keep_where(&keep)
            }),
        ),
        // The operand that loses gets nothing, a tie is shared, and at a NaN (where neither
        // loses) both get all of it: PyTorch's rule.
        BinaryOp::Maximum | BinaryOp::Minimum => {
            let loses = |u: F, v: F| if op == BinaryOp::Maximum { u < v } else { u > v };
            let share = |u: F, v: F| {
                if loses(u, v) {
                    F::ZERO
                } else if u == v {
                    half
                } else {
                    F::ONE
                }
            };
            (
                need[0].then(|| g.mul(&a.zip_const(b, share))),
                need[1].then(|| g.mul(&a.zip_const(b, |u, v| share(v, u)))),
            )
        }
    };
    [da, db]
}

/// ∂L/∂x for y = clamp(x, min, max): passes strictly inside the bounds (PyTorch 2 with number
/// bounds: 0 at a bound, at NaN, and everywhere when min > max).
pub fn clamp<F: Float, A: Algebra<F>>(min: F, max: F, x: &A, g: &A) -> A {
    g.mul_mask(x, |v| if v > min && v < max { F::ONE } else { F::ZERO })
}
