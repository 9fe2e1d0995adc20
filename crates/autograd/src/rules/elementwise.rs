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
        UnaryOp::Relu => g.mul_mask(x, |v| if v > F::ZERO { F::ONE } else { F::ZERO }),
        UnaryOp::Softplus => g.mul(&x.sigmoid()),
        UnaryOp::Erf => g.mul(&x.mul(x).neg().exp().scale(F::from_f64(std::f64::consts::FRAC_2_SQRT_PI))),
    }
}

/// ∂L/∂x for y = op(x; p).
#[inline(always)]
pub fn param<F: Float, A: Algebra<F>>(op: ParamOp, p: F, x: &A, g: &A) -> A {
    match op {
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
        BinaryOp::Pow => {
            (need[0].then(|| g.mul(b).mul(&a.pow(&b.add_scalar(-F::ONE)))), need[1].then(|| g.mul(y).mul(&a.ln())))
        }
        BinaryOp::Maximum | BinaryOp::Minimum => {
            let wins = |u: F, v: F| if op == BinaryOp::Maximum { u > v } else { u < v };
            let share_a = a.zip_const(b, |u, v| {
                if wins(u, v) {
                    F::ONE
                } else if u == v {
                    half
                } else {
                    F::ZERO
                }
            });
            (need[0].then(|| g.mul(&share_a)), need[1].then(|| g.mul(&share_a.neg().add_scalar(F::ONE))))
        }
    };
    [da, db]
}

/// ∂L/∂x for y = clamp(x, min, max): passes where min ≤ x ≤ max.
pub fn clamp<F: Float, A: Algebra<F>>(min: F, max: F, x: &A, g: &A) -> A {
    g.mul_mask(x, |v| if v >= min && v <= max { F::ONE } else { F::ZERO })
}
