//! The elementwise ops, each defined once: one entry per op in the table of its family gives
//! its kind, its name, its `Var` method, its forward on one value, its derivative (written
//! once against [`Algebra`], so it runs on scalars, on tensors and recorded on `Var`s), and
//! what the backward sweep's zero-gradient shortcut may assume of it. Every `match` the tables
//! generate is exhaustive, so an entry cannot be half-written.
//!
//! Adding an elementwise op is one entry here plus its case in the op registry
//! (`tapegrad-autograd`'s `registry.rs`); see `docs/DESIGN.md`, "Adding an op".

use crate::algebra::{Algebra, Slope};
use crate::float::Float;
use crate::simd::{Loop, Pointwise};
use crate::tensor::Tensor;
use crate::var::{IntoVar, Var};
use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};

/// `g[k] = derivative(x[k], y[k], g[k])` for every `k`, as a [`Loop`] compiled for the CPU's SIMD
/// ([`UnaryOp::derivative_in_place`]).
struct DerivativeInPlace<'a, F, D> {
    x: &'a [F],
    y: &'a [F],
    g: &'a mut [F],
    derivative: D,
}

impl<F: Copy, D: Fn(F, F, F) -> F> Loop for DerivativeInPlace<'_, F, D> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let n = self.g.len().min(self.x.len()).min(self.y.len());
        let (x, y, g) = (&self.x[..n], &self.y[..n], &mut self.g[..n]);
        for k in 0..n {
            g[k] = (self.derivative)(x[k], y[k], g[k]);
        }
    }
}

/// The entry points shared by the kinds of every family: `ALL` and `name`.
macro_rules! kind_list {
    ($ty:ident, $($kind:ident => $name:literal),*) => {
        impl $ty {
            /// Every kind, for registries and exhaustive tests.
            pub const ALL: &'static [$ty] = &[$($ty::$kind),*];
            /// The op's public name.
            pub fn name(self) -> &'static str {
                match self { $($ty::$kind => $name),* }
            }
        }
    };
}

macro_rules! unary_ops {
    ($(
        $(#[$doc:meta])*
        $kind:ident $($method:ident)? $name:literal {
            forward: |$x:pat_param| $forward:expr,
            derivative: |$dx:pat_param, $dy:pat_param, $dg:pat_param| $derivative:expr,
            finite_output_finite_derivative: $finite:literal $(,)?
        }
    )*) => {
        /// One-input elementwise ops.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum UnaryOp { $($(#[$doc])* $kind),* }
        kind_list!(UnaryOp, $($kind => $name),*);
        impl UnaryOp {
            /// The op applied to one value.
            #[inline(always)]
            pub fn apply<F: Float>(self, x: F) -> F {
                match self { $(UnaryOp::$kind => { let $x = x; $forward })* }
            }
            /// The op applied to every element, with the op chosen once, outside the loop.
            pub fn map<F: Float>(self, t: &Tensor<F>) -> Tensor<F> {
                match self { $(UnaryOp::$kind => t.map_in_one_loop(unary_kinds::$kind),)* }
            }
            /// As [`UnaryOp::map`], over `out`'s elements where no other tensor shares them.
            pub(crate) fn map_to<F: Float>(self, t: &Tensor<F>, out: &mut Tensor<F>) {
                match self { $(UnaryOp::$kind => t.map_in_one_loop_to(unary_kinds::$kind, out),)* }
            }
            /// ∂L/∂x for y = op(x), given g = ∂L/∂y.
            #[inline(always)]
            pub fn derivative<F: Float, A: Algebra<F>>(self, x: &A, y: &A, g: &A) -> A {
                match self { $(UnaryOp::$kind => { let ($dx, $dy, $dg) = (x, y, g); $derivative })* }
            }
            /// The op applied to each lane, `out[k] = op(x[k])`, with the op chosen once,
            /// outside the loop (a compiled tape's lanes), compiled as a tensor's loop is.
            pub fn map_lanes<F: Float>(self, x: &[F], out: &mut [F]) {
                match self { $(UnaryOp::$kind => crate::simd::map_into(out, x, &unary_kinds::$kind),)* }
            }
            /// ∂L/∂x of each lane, `out[k]`, the op chosen outside the loop.
            pub fn derivative_lanes<F: Float>(self, x: &[F], y: &[F], g: &[F], out: &mut [F]) {
                match self {
                    $(UnaryOp::$kind => for (k, o) in out.iter_mut().enumerate() {
                        *o = UnaryOp::$kind.derivative(&x[k], &y[k], &g[k])
                    },)*
                }
            }
            /// ∂L/∂x of each element written over its `g`, `g[k] = ∂L/∂x` at `x[k]`, `y[k]`
            /// (the bits of [`UnaryOp::derivative`] on tensors, a NaN for a NaN; over the
            /// shortest of the three slices): the op chosen outside the loop, the loop compiled for the CPU's SIMD and split over threads as
            /// a tensor's is. A compiled tape's backward step on a gradient it holds alone,
            /// with no new buffer.
            pub fn derivative_in_place<F: Float>(self, x: &[F], y: &[F], g: &mut [F]) {
                match self {
                    $(UnaryOp::$kind => crate::threads::split_pass(g, 1, |start, g| {
                        crate::simd::run_widest(DerivativeInPlace {
                            x: x.get(start..).unwrap_or(&[]),
                            y: y.get(start..).unwrap_or(&[]),
                            g,
                            derivative: |x: F, y: F, g: F| UnaryOp::$kind.derivative(&x, &y, &g),
                        })
                    }),)*
                }
            }
            /// True when a finite output implies a finite derivative at that input, so a zero
            /// gradient arriving at the output passes exactly zero on (the backward sweep's
            /// shortcut relies on it). False for √x, whose output 0 has an infinite slope.
            pub fn finite_output_finite_derivative(self) -> bool {
                match self { $(UnaryOp::$kind => $finite),* }
            }
        }
        impl<'g, F: Float> Var<'g, F> {
            $(unary_method!($kind [$(#[$doc])*] $($method)?);)*
        }
        /// Each kind as a type, so a tensor's loop inlines its op whole ([`crate::simd`]).
        mod unary_kinds {
            $(pub(super) struct $kind;)*
        }
        $(
            impl<F: Float> Pointwise<F> for unary_kinds::$kind {
                #[inline(always)]
                fn at(&self, x: F) -> F {
                    UnaryOp::$kind.apply(x)
                }
            }
        )*
    };
}

macro_rules! param_ops {
    ($(
        $(#[$doc:meta])*
        $kind:ident $method:ident($p_name:ident) $name:literal {
            forward: |$x:pat_param, $p:pat_param| $forward:expr,
            derivative: |$dx:pat_param, $dp:pat_param, $dg:pat_param| $derivative:expr,
            finite_output_finite_derivative: $finite:literal $(,)?
        }
    )*) => {
        /// One-input elementwise ops with a constant parameter.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ParamOp { $($(#[$doc])* $kind),* }
        kind_list!(ParamOp, $($kind => $name),*);
        impl ParamOp {
            /// The op applied to one value.
            #[inline(always)]
            pub fn apply<F: Float>(self, x: F, p: F) -> F {
                match self { $(ParamOp::$kind => { let ($x, $p) = (x, p); $forward })* }
            }
            /// ∂L/∂x for y = op(x; p), given g = ∂L/∂y.
            #[inline(always)]
            pub fn derivative<F: Float, A: Algebra<F>>(self, p: F, x: &A, g: &A) -> A {
                match self { $(ParamOp::$kind => { let ($dx, $dp, $dg) = (x, p, g); $derivative })* }
            }
            /// The op applied to each lane, `out[k] = op(x[k]; p)`, the op chosen outside the loop.
            pub fn map_lanes<F: Float>(self, p: F, x: &[F], out: &mut [F]) {
                match self { $(ParamOp::$kind => for (o, &v) in out.iter_mut().zip(x) { *o = ParamOp::$kind.apply(v, p) },)* }
            }
            /// ∂L/∂x of each lane, `out[k]`, the op chosen outside the loop.
            pub fn derivative_lanes<F: Float>(self, p: F, x: &[F], g: &[F], out: &mut [F]) {
                match self {
                    $(ParamOp::$kind => for (k, o) in out.iter_mut().enumerate() {
                        *o = ParamOp::$kind.derivative(p, &x[k], &g[k])
                    },)*
                }
            }
            /// As [`UnaryOp::finite_output_finite_derivative`].
            pub fn finite_output_finite_derivative(self) -> bool {
                match self { $(ParamOp::$kind => $finite),* }
            }
        }
        impl<'g, F: Float> Var<'g, F> {
            $(
                $(#[$doc])*
                #[inline]
                #[track_caller]
                pub fn $method(self, $p_name: F) -> Var<'g, F> {
                    self.param(ParamOp::$kind, $p_name)
                }
            )*
        }
    };
}

/// The method of a unary op, for the ops that have one (`−x` is an operator).
macro_rules! unary_method {
    ($kind:ident [$($doc:tt)*]) => {};
    ($kind:ident [$($doc:tt)*] $method:ident) => {
        $($doc)*
        #[inline]
        #[track_caller]
        pub fn $method(self) -> Var<'g, F> {
            self.unary(UnaryOp::$kind)
        }
    };
}

/// The panicking method of a binary op, for the ops that have one (`+ − × ÷` are operators).
macro_rules! panicking_binary_method {
    ($kind:ident [$($doc:tt)*]) => {};
    ($kind:ident [$($doc:tt)*] $method:ident) => {
        $($doc)*
        ///
        /// # Panics
        /// When the shapes do not broadcast or the operands belong to different graphs; the
        /// `try_` form returns the error.
        #[inline]
        #[track_caller]
        pub fn $method(self, rhs: impl IntoVar<'g, F>) -> Var<'g, F> {
            self.binary(BinaryOp::$kind, rhs.into_var(self.graph()))
        }
    };
}

macro_rules! binary_ops {
    ($(
        $(#[$doc:meta])*
        $kind:ident $($method:ident)? ($try_method:ident) $name:literal {
            forward: |$a:pat_param, $b:pat_param| $forward:expr,
            derivative: |$da:pat_param, $db:pat_param, $dy:pat_param, $dg:pat_param, $need:pat_param| $derivative:expr,
            arithmetic: $arithmetic:literal,
            finite_output_finite_derivative: $finite:literal $(,)?
        }
    )*) => {
        /// Two-input elementwise ops, with broadcasting.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum BinaryOp { $($(#[$doc])* $kind),* }
        kind_list!(BinaryOp, $($kind => $name),*);
        impl BinaryOp {
            /// The op applied to one pair of values.
            #[inline(always)]
            pub fn apply<F: Float>(self, a: F, b: F) -> F {
                match self { $(BinaryOp::$kind => { let ($a, $b) = (a, b); $forward })* }
            }
            /// The op applied under broadcasting, with the op chosen once, outside the loop.
            pub fn zip<F: Float>(self, a: &Tensor<F>, b: &Tensor<F>) -> crate::Result<Tensor<F>> {
                match self { $(BinaryOp::$kind => a.zip_with(b, $name, |x, y| BinaryOp::$kind.apply(x, y)),)* }
            }
            /// As [`BinaryOp::zip`], over `out`'s elements where no other tensor shares them.
            pub(crate) fn zip_to<F: Float>(self, a: &Tensor<F>, b: &Tensor<F>, out: &mut Tensor<F>) -> crate::Result<()> {
                match self { $(BinaryOp::$kind => a.zip_to(b, $name, |x, y| BinaryOp::$kind.apply(x, y), out),)* }
            }
            /// (∂L/∂a, ∂L/∂b) for y = op(a, b), before broadcast dims are summed away; only the
            /// sides flagged in `need` are computed.
            #[inline(always)]
            pub fn derivative<F: Float, A: Algebra<F>>(self, a: &A, b: &A, y: &A, g: &A, need: [bool; 2]) -> [Option<A>; 2] {
                match self {
                    $(BinaryOp::$kind => {
                        let ($da, $db, $dy, $dg, $need) = (a, b, y, g, need);
                        let (da, db): (Option<A>, Option<A>) = $derivative;
                        [da, db]
                    })*
                }
            }
            /// The op applied to each lane, `out[k] = op(a[k], b[k])`, the op chosen outside the
            /// loop (a compiled tape's lanes).
            pub fn zip_lanes<F: Float>(self, a: &[F], b: &[F], out: &mut [F]) {
                match self {
                    $(BinaryOp::$kind => for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                        *o = BinaryOp::$kind.apply(x, y)
                    },)*
                }
            }
            /// ∂L/∂a (`side` 0) or ∂L/∂b (`side` 1) of each lane, `out[k]`, the op and the
            /// side chosen outside the loop.
            pub fn derivative_lanes<F: Float>(self, side: usize, a: &[F], b: &[F], y: &[F], g: &[F], out: &mut [F]) {
                if side == 0 {
                    self.derivative_side::<F, 0>(a, b, y, g, out)
                } else {
                    self.derivative_side::<F, 1>(a, b, y, g, out)
                }
            }
            #[inline(always)]
            fn derivative_side<F: Float, const SIDE: usize>(self, a: &[F], b: &[F], y: &[F], g: &[F], out: &mut [F]) {
                match self {
                    $(BinaryOp::$kind => for (k, o) in out.iter_mut().enumerate() {
                        let both = BinaryOp::$kind.derivative(&a[k], &b[k], &y[k], &g[k], [SIDE == 0, SIDE == 1]);
                        // Every rule computes the sides asked for.
                        *o = both[SIDE].unwrap_or(F::ZERO)
                    },)*
                }
            }
            /// True for the ops whose rules are a multiply or two (`+ − × ÷`): the scalar sweep
            /// inlines those and calls the others out of line.
            pub fn is_arithmetic(self) -> bool {
                match self { $(BinaryOp::$kind => $arithmetic),* }
            }
            /// As [`UnaryOp::finite_output_finite_derivative`], for both operands.
            pub fn finite_output_finite_derivative(self) -> bool {
                match self { $(BinaryOp::$kind => $finite),* }
            }
        }
        impl<'g, F: Float> Var<'g, F> {
            $(
                panicking_binary_method!($kind [$(#[$doc])*] $($method)?);
                $(#[$doc])*
                ///
                /// Returns a shape error (or a foreign-graph error) where the panicking form
                /// panics.
                #[track_caller]
                pub fn $try_method(self, rhs: impl IntoVar<'g, F>) -> crate::Result<Var<'g, F>> {
                    self.try_binary(BinaryOp::$kind, rhs.into_var(self.graph()))
                }
            )*
        }
    };
}

unary_ops! {
    /// −x (the `-` operator)
    Neg "neg" {
        forward: |x| -x,
        derivative: |_, _, g| g.neg(),
        finite_output_finite_derivative: true,
    }
    /// eˣ
    Exp exp "exp" {
        forward: |x| x.exp(),
        derivative: |_, y, g| g.mul(y),
        finite_output_finite_derivative: true,
    }
    /// The natural logarithm.
    Log log "log" {
        forward: |x| x.ln(),
        derivative: |x, _, g| g.div(x),
        finite_output_finite_derivative: true,
    }
    /// √x
    Sqrt sqrt "sqrt" {
        forward: |x| x.sqrt(),
        derivative: |_, y, g| g.div(&y.scale(F::from_f64(2.0))),
        finite_output_finite_derivative: false,
    }
    /// x², like `torch.square`: one op where `x · x` records a product whose rule returns
    /// two gradients to add
    Square square "square" {
        forward: |x| x * x,
        // 2x·g in one pass over tensors; the same value as the product's g·x + g·x.
        derivative: |x, y, g| g.mul_slope(x, y, |v: F, _| v + v, |x| x.scale(F::from_f64(2.0))),
        finite_output_finite_derivative: true,
    }
    /// |x| (gradient 0 at 0 and at NaN, like PyTorch)
    Abs abs "abs" {
        forward: |x| x.abs(),
        derivative: |x, _, g| g.mul_mask(x, |v| {
            if v > F::ZERO {
                F::ONE
            } else if v < F::ZERO {
                -F::ONE
            } else {
                F::ZERO
            }
        }),
        finite_output_finite_derivative: true,
    }
    /// sin x
    Sin sin "sin" {
        forward: |x| x.sin(),
        derivative: |x, _, g| g.mul(&x.cos()),
        finite_output_finite_derivative: true,
    }
    /// cos x
    Cos cos "cos" {
        forward: |x| x.cos(),
        derivative: |x, _, g| g.mul(&x.sin()).neg(),
        finite_output_finite_derivative: true,
    }
    /// tanh x
    Tanh tanh "tanh" {
        forward: |x| x.tanh(),
        derivative: |_, y, g| g.mul(&y.mul(y).neg().add_scalar(F::ONE)),
        finite_output_finite_derivative: true,
    }
    /// The logistic function 1 / (1 + e⁻ˣ), stable for large |x|.
    Sigmoid sigmoid "sigmoid" {
        forward: |x| sigmoid(x),
        derivative: |_, y, g| g.mul(&y.mul(&y.neg().add_scalar(F::ONE))),
        finite_output_finite_derivative: true,
    }
    /// max(x, 0); NaN stays NaN (gradient 0 at 0 and 1 at NaN, like PyTorch)
    Relu relu "relu" {
        // `x < 0` rather than `x > 0`, so NaN passes through (PyTorch and micrograd agree).
        forward: |x| if x < F::ZERO { F::ZERO } else { x },
        // Passes where x is not ≤ 0, so at NaN too (PyTorch's `threshold_backward`).
        derivative: |x, _, g| g.mul_mask(x, |v| if v <= F::ZERO { F::ZERO } else { F::ONE }),
        finite_output_finite_derivative: true,
    }
    /// ln(1 + eˣ), stable for large |x|.
    Softplus softplus "softplus" {
        forward: |x| x.max(F::ZERO) + (-x.abs()).exp().ln_1p(),
        derivative: |x, _, g| g.mul(&x.sigmoid()),
        finite_output_finite_derivative: true,
    }
    /// The error function.
    Erf erf "erf" {
        forward: |x| x.erf(),
        derivative: |x, y, g| g.mul_slope(x, y, ErfSlope, |x| {
            x.mul(x).neg().exp().scale(F::from_f64(FRAC_2_SQRT_PI))
        }),
        finite_output_finite_derivative: true,
    }
    /// GELU, the exact form `x·Φ(x) = ½·x·(1 + erf(x/√2))` (PyTorch's default), as one op.
    ///
    /// ```
    /// use tapegrad_graph::Graph;
    /// let g = Graph::new();
    /// assert!((g.scalar(1.0).gelu().item() - 0.841_344_746).abs() < 1e-9);
    /// ```
    Gelu gelu "gelu" {
        forward: |x| gelu(x),
        // Φ(x) + x·φ(x), recorded as ops where it is to be differentiated again.
        derivative: |x, y, g| g.mul_slope(x, y, GeluSlope, |x| {
            let cdf = x.scale(F::from_f64(FRAC_1_SQRT_2)).erf().add_scalar(F::ONE).scale(F::from_f64(0.5));
            let density = x.mul(x).scale(F::from_f64(-0.5)).exp().scale(F::from_f64(FRAC_1_SQRT_2PI));
            cdf.add(&x.mul(&density))
        }),
        finite_output_finite_derivative: true,
    }
    /// −1, 0 or 1 by the sign (NaN stays NaN); its gradient is 0, as in PyTorch.
    Sign sign "sign" {
        forward: |x| if x > F::ZERO { F::ONE } else if x < F::ZERO { -F::ONE } else { x * F::ZERO },
        // Piecewise constant: 0 everywhere, as PyTorch defines it (even at 0).
        derivative: |x, _, _| x.map_const(|_| F::ZERO),
        finite_output_finite_derivative: true,
    }
    /// ln(1 + x), accurate near 0.
    Log1p log1p "log1p" {
        forward: |x| x.ln_1p(),
        derivative: |x, _, g| g.div(&x.add_scalar(F::ONE)),
        finite_output_finite_derivative: true,
    }
    /// eˣ − 1, accurate near 0.
    Expm1 expm1 "expm1" {
        forward: |x| x.exp_m1(),
        derivative: |_, y, g| g.mul(&y.add_scalar(F::ONE)),
        finite_output_finite_derivative: true,
    }
}

param_ops! {
    /// `self` raised to a constant power.
    ///
    /// ```
    /// use tapegrad_graph::Graph;
    /// let g = Graph::new();
    /// assert_eq!(g.scalar(3.0).powf(2.0).item(), 9.0);
    /// ```
    PowF powf(p) "powf" {
        forward: |x, p| x.powf(p),
        // x⁰ is the constant 1: its gradient is 0 even where p·x⁻¹ is not finite (PyTorch).
        derivative: |x, p, g| if p == F::ZERO { x.map_const(|_| F::ZERO) } else { g.mul(&x.powf(p - F::ONE).scale(p)) },
        // 0^0.5 = 0 with an infinite slope.
        finite_output_finite_derivative: false,
    }
    /// x for x > 0, `slope`·x otherwise.
    LeakyRelu leaky_relu(slope) "leaky_relu" {
        forward: |x, slope| if x > F::ZERO { x } else { slope * x },
        derivative: |x, slope, g| g.mul_mask(x, |v| if v > F::ZERO { F::ONE } else { slope }),
        finite_output_finite_derivative: true,
    }
}

binary_ops! {
    /// `self + rhs`, elementwise with broadcasting (also the `+` operator).
    Add (try_add) "add" {
        forward: |a, b| a + b,
        derivative: |_, _, _, g, need| (need[0].then(|| g.clone()), need[1].then(|| g.clone())),
        arithmetic: true,
        finite_output_finite_derivative: true,
    }
    /// `self − rhs`, elementwise with broadcasting (also the `-` operator).
    Sub (try_sub) "sub" {
        forward: |a, b| a - b,
        derivative: |_, _, _, g, need| (need[0].then(|| g.clone()), need[1].then(|| g.neg())),
        arithmetic: true,
        finite_output_finite_derivative: true,
    }
    /// `self · rhs`, elementwise with broadcasting (also the `*` operator).
    Mul (try_mul) "mul" {
        forward: |a, b| a * b,
        // A finite a·b has finite factors.
        derivative: |a, b, _, g, need| (need[0].then(|| g.mul(b)), need[1].then(|| g.mul(a))),
        arithmetic: true,
        finite_output_finite_derivative: true,
    }
    /// `self / rhs`, elementwise with broadcasting (also the `/` operator).
    Div (try_div) "div" {
        forward: |a, b| a / b,
        // A finite a/b has a non-zero b.
        derivative: |_, b, y, g, need| (need[0].then(|| g.div(b)), need[1].then(|| g.mul(y).div(b).neg())),
        arithmetic: true,
        finite_output_finite_derivative: true,
    }
    /// `self` raised to a tensor exponent, elementwise with broadcasting.
    Pow pow (try_pow) "pow" {
        forward: |a, b| a.powf(b),
        // As PyTorch: 0 towards a where b = 0 (a⁰ is constant) and towards b where a = 0 ≤ b
        // (0ᵇ is constant there), even where the formula's factors are not finite.
        derivative: |a, b, y, g, need| (
            need[0].then(|| {
                let keep = b.map_const(|v| if v == F::ZERO { F::ZERO } else { F::ONE });
                g.mul(b).mul(&a.pow(&b.add_scalar(-F::ONE))).keep_where(&keep)
            }),
            need[1].then(|| {
                let keep = a.zip_const(b, |u, v| if u == F::ZERO && v >= F::ZERO { F::ZERO } else { F::ONE });
                g.mul(y).mul(&a.ln()).keep_where(&keep)
            }),
        ),
        arithmetic: false,
        // 0^0.5 = 0 with an infinite slope.
        finite_output_finite_derivative: false,
    }
    /// The elementwise maximum: NaN if either is NaN; ties share the gradient equally, and at a
    /// NaN both operands get it, like PyTorch.
    Maximum maximum (try_maximum) "maximum" {
        // NaN in either operand gives NaN, as in PyTorch (`f64::max` would drop it).
        forward: |a, b| if a > b || a.is_nan() { a } else { b },
        derivative: |a, b, _, g, need| extremum_derivative(|u, v| u < v, a, b, g, need),
        arithmetic: false,
        finite_output_finite_derivative: true,
    }
    /// The elementwise minimum: NaN if either is NaN; ties share the gradient equally, and at a
    /// NaN both operands get it, like PyTorch.
    Minimum minimum (try_minimum) "minimum" {
        forward: |a, b| if a < b || a.is_nan() { a } else { b },
        derivative: |a, b, _, g, need| extremum_derivative(|u, v| u > v, a, b, g, need),
        arithmetic: false,
        finite_output_finite_derivative: true,
    }
}

/// The rule of `maximum` and `minimum`: the operand that `loses` gets nothing, a tie is
/// shared, and at a NaN (where neither loses) both get all of it — PyTorch's rule.
#[inline(always)]
fn extremum_derivative<F: Float, A: Algebra<F>>(
    loses: impl Fn(F, F) -> bool + Copy + Sync,
    a: &A,
    b: &A,
    g: &A,
    need: [bool; 2],
) -> (Option<A>, Option<A>) {
    let half = F::from_f64(0.5);
    let share = move |u: F, v: F| {
        if loses(u, v) {
            F::ZERO
        } else if u == v {
            half
        } else {
            F::ONE
        }
    };
    (need[0].then(|| g.mul(&a.zip_const(b, share))), need[1].then(|| g.mul(&a.zip_const(b, move |u, v| share(v, u)))))
}

/// 1/√(2π), the standard normal density at 0.
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Φ(x), the standard normal distribution function, as `½·erfc(−x/√2)`: accurate in the
/// lower tail, where `½·(1 + erf(x/√2))` cancels.
#[inline(always)]
fn normal_cdf<F: Float>(x: F) -> F {
    F::from_f64(0.5) * (-x * F::from_f64(FRAC_1_SQRT_2)).erfc()
}

/// GELU's value, x·Φ(x).
#[inline(always)]
fn gelu<F: Float>(x: F) -> F {
    x * normal_cdf(x)
}

/// GELU's slope, Φ(x) + x·φ(x), with Φ(x) = y/x read from GELU's value y = x·Φ(x) (½ at 0).
/// Where y underflows (x < −13) Φ(x) reads as 0, as does x·φ(x).
struct GeluSlope;

impl<F: Float> Slope<F> for GeluSlope {
    #[inline(always)]
    fn at(&self, x: F, y: F) -> F {
        let cdf = if x == F::ZERO { F::from_f64(0.5) } else { y / x };
        cdf + x * (x * F::from_f64(FRAC_1_SQRT_2)).gauss() * F::from_f64(FRAC_1_SQRT_2PI)
    }
}

/// erf's slope, 2/√π·e^(−x²).
struct ErfSlope;

impl<F: Float> Slope<F> for ErfSlope {
    #[inline(always)]
    fn at(&self, x: F, _: F) -> F {
        x.gauss() * F::from_f64(FRAC_2_SQRT_PI)
    }
}

/// The logistic function, stable for large |x|.
#[inline(always)]
pub fn sigmoid<F: Float>(x: F) -> F {
    if x >= F::ZERO {
        F::ONE / (F::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (F::ONE + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GELU and its slope in `f32` (branch-free kernels) against `f64` (libm), across the range
    /// where GELU is a normal float, tails included. In the lower tail the rounding of x/√2 to
    /// `f32` alone moves erfc by up to about x²·6·10⁻⁸ relative (as in any `f32` GELU), so the bound
    /// grows with x².
    #[test]
    fn gelu_in_f32_matches_f64() {
        for i in -1300..=1300 {
            let x = i as f32 * 0.01;
            let bound = 2e-6 + 1e-7 * (x as f64).powi(2);
            let (want, got) = (UnaryOp::Gelu.apply(x as f64), UnaryOp::Gelu.apply(x));
            let error = (got as f64 - want).abs() / want.abs().max(1e-30);
            assert!(error < bound, "GELU({x}) in f32: {got:e}, in f64: {want:e}");
            let want_slope = UnaryOp::Gelu.derivative(&(x as f64), &want, &1.0);
            let got_slope = UnaryOp::Gelu.derivative(&x, &got, &1.0);
            // Relative to its terms Φ(x) and x·φ(x), which cancel near x = −0.75.
            let cdf = if x == 0.0 { 0.5 } else { want / x as f64 };
            let error = (got_slope as f64 - want_slope).abs() / (cdf.abs() + (want_slope - cdf).abs());
            assert!(error < bound, "GELU'({x}) in f32: {got_slope:e}, in f64: {want_slope:e}");
        }
        assert_eq!(UnaryOp::Gelu.derivative(&0.0f32, &0.0, &1.0), 0.5);
        assert!(UnaryOp::Gelu.apply(f32::NAN).is_nan());
    }

    /// Every op's derivative written over the gradient has the bits of its derivative on
    /// tensors, edge values included, in both precisions: a NaN for a NaN (compiled for other
    /// vector widths, a product of NaNs may keep the other one's sign).
    #[test]
    fn derivatives_in_place_have_the_bits_of_derivatives_on_tensors() {
        fn check<F: Float>() {
            let special =
                [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 1e-30, 80.0, -80.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN];
            // 67 values: more than a few vector widths, with a remainder; then enough of them
            // for the pass to split over threads (from 2¹⁵ elements), each part at its offset.
            let few: Vec<F> =
                special.iter().copied().chain((0..55).map(|i| (i as f64 - 27.0) * 0.37)).map(F::from_f64).collect();
            let many: Vec<F> = few.iter().copied().cycle().take((1 << 15) + 67 * 7).collect();
            for xs in [few, many] {
                check_values(&xs);
            }
        }
        fn check_values<F: Float>(xs: &[F]) {
            let gs: Vec<F> = (0..xs.len()).map(|i| F::from_f64([1.0, -0.75, 0.0, -0.0, 3.5][i % 5])).collect();
            let shape = [xs.len()];
            for &op in UnaryOp::ALL {
                let x = Tensor::from_vec(xs.to_vec(), shape).unwrap();
                let y = op.map(&x);
                let g = Tensor::from_vec(gs.clone(), shape).unwrap();
                let want = op.derivative(&x, &y, &g);
                let mut got = gs.clone();
                op.derivative_in_place(x.data(), y.data(), &mut got);
                for (k, (w, v)) in want.data().iter().zip(&got).enumerate() {
                    let same = w.to_f64().to_bits() == v.to_f64().to_bits() || (w.is_nan() && v.is_nan());
                    assert!(
                        same,
                        "{}′ at x = {:?}, g = {:?}: {:?} on tensors, {:?} in place",
                        op.name(),
                        xs[k],
                        gs[k],
                        w,
                        v
                    );
                }
            }
        }
        check::<f32>();
        check::<f64>();
    }
}
