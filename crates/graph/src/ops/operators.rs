//! `+ − × ÷` and unary `−` for Var ⊕ Var, Var ⊕ F, F ⊕ Var, Var ⊕ Tensor and Tensor ⊕ Var (a
//! number or a tensor is a constant), so micrograd code reads the same.

use crate::float::Float;
use crate::op::{BinaryOp, UnaryOp};
use crate::tensor::Tensor;
use crate::var::Var;
use std::ops::{Add, Div, Mul, Neg, Sub};

macro_rules! var_operator {
    ($trait:ident, $method:ident, $kind:ident) => {
        impl<'g, F: Float> $trait<Var<'g, F>> for Var<'g, F> {
            type Output = Var<'g, F>;
            /// Elementwise with broadcasting.
            ///
            /// # Panics
            /// When the shapes do not broadcast (the message names the op and both shapes) or
            /// the operands belong to different graphs; the `try_` method returns the error.
            #[track_caller]
            #[inline]
            fn $method(self, rhs: Var<'g, F>) -> Var<'g, F> {
                self.binary(BinaryOp::$kind, rhs)
            }
        }
        impl<'g, F: Float> $trait<F> for Var<'g, F> {
            type Output = Var<'g, F>;
            #[inline]
            #[track_caller]
            fn $method(self, rhs: F) -> Var<'g, F> {
                self.binary(BinaryOp::$kind, self.graph().constant_scalar(rhs))
            }
        }
        impl<'g, F: Float> $trait<Tensor<F>> for Var<'g, F> {
            type Output = Var<'g, F>;
            /// With the tensor as a constant, broadcasting.
            ///
            /// # Panics
            /// When the shapes do not broadcast.
            #[track_caller]
            fn $method(self, rhs: Tensor<F>) -> Var<'g, F> {
                self.binary(BinaryOp::$kind, self.graph().constant(rhs))
            }
        }
        impl<'g, F: Float> $trait<Var<'g, F>> for Tensor<F> {
            type Output = Var<'g, F>;
            /// With the tensor as a constant, broadcasting.
            ///
            /// # Panics
            /// When the shapes do not broadcast.
            #[track_caller]
            fn $method(self, rhs: Var<'g, F>) -> Var<'g, F> {
                rhs.graph().constant(self).binary(BinaryOp::$kind, rhs)
            }
        }
        impl<'g> $trait<Var<'g, f64>> for f64 {
            type Output = Var<'g, f64>;
            #[inline]
            #[track_caller]
            fn $method(self, rhs: Var<'g, f64>) -> Var<'g, f64> {
                rhs.graph().constant_scalar(self).binary(BinaryOp::$kind, rhs)
            }
        }
        impl<'g> $trait<Var<'g, f32>> for f32 {
            type Output = Var<'g, f32>;
            #[inline]
            #[track_caller]
            fn $method(self, rhs: Var<'g, f32>) -> Var<'g, f32> {
                rhs.graph().constant_scalar(self).binary(BinaryOp::$kind, rhs)
            }
        }
    };
}

var_operator!(Add, add, Add);
var_operator!(Sub, sub, Sub);
var_operator!(Mul, mul, Mul);
var_operator!(Div, div, Div);

impl<'g, F: Float> Neg for Var<'g, F> {
    type Output = Var<'g, F>;
    #[inline]
    #[track_caller]
    fn neg(self) -> Var<'g, F> {
        self.unary(UnaryOp::Neg)
    }
}
