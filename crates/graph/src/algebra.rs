//! The arithmetic the derivative rules are written in. Each rule is written once, generic over
//! [`Algebra`], and runs three ways:
//!
//! - on plain `F` — the scalar fast path of `backward()`: registers only, no allocation;
//! - on [`Tensor`] — the tensor path of `backward()`: eager kernels;
//! - on [`Var`] — `grad()`: every step is recorded on the tape, so the result can be
//!   differentiated again.

use crate::op::UnaryOp;
use crate::{Float, Indices, SavedStats, Shape, Tensor, Var, Window};
use smallvec::SmallVec;

/// Elementwise arithmetic (broadcasting where values have shapes).
pub trait Algebra<F: Float>: Clone {
    /// a + b
    fn add(&self, o: &Self) -> Self;
    /// a − b
    fn sub(&self, o: &Self) -> Self;
    /// a · b
    fn mul(&self, o: &Self) -> Self;
    /// a / b
    fn div(&self, o: &Self) -> Self;
    /// −a
    fn neg(&self) -> Self;
    /// eᵃ
    fn exp(&self) -> Self;
    /// ln a
    fn ln(&self) -> Self;
    /// sin a
    fn sin(&self) -> Self;
    /// cos a
    fn cos(&self) -> Self;
    /// the logistic function
    fn sigmoid(&self) -> Self;
    /// the error function
    fn erf(&self) -> Self;
    /// aᵖ for a constant p
    fn powf(&self, p: F) -> Self;
    /// aᵇ elementwise
    fn pow(&self, b: &Self) -> Self;
    /// c·a for a constant c
    fn scale(&self, c: F) -> Self;
    /// a + c for a constant c
    fn add_scalar(&self, c: F) -> Self;
    /// A constant (never differentiated) computed elementwise from the values: masks and signs.
    fn map_const(&self, f: impl Fn(F) -> F + Sync) -> Self;
    /// A constant computed elementwise from two values, broadcasting.
    fn zip_const(&self, o: &Self, f: impl Fn(F, F) -> F + Sync) -> Self;
    /// `self` where `keep` is non-zero and an exact 0 elsewhere (not `self · 0`, which is NaN
    /// where `self` is not finite); `keep` is a constant mask, broadcasting.
    fn keep_where(&self, keep: &Self) -> Self;
    /// `self · mask(x)`, the mask a constant computed from `x`'s values (how ReLU-like rules
    /// gate a gradient). Tensors override it with a single pass.
    fn mul_mask(&self, x: &Self, mask: impl Fn(F) -> F + Sync) -> Self {
        self.mul(&x.map_const(mask))
    }
    /// `self · f′(x)` for a smooth `f` with `y = f(x)`: where values are not recorded
    /// (numbers, tensors) one pass computing `slope.at(x, y) = f′(x)` per element; recorded
    /// values (`Var`) compose `recorded(x)` from differentiable ops instead, so the slope can
    /// be differentiated again.
    fn mul_slope(&self, x: &Self, _y: &Self, _slope: impl Slope<F>, recorded: impl FnOnce(&Self) -> Self) -> Self {
        self.mul(&recorded(x))
    }
}

/// The slope f′ of a smooth elementwise function, for [`Algebra::mul_slope`]. Closures are
/// slopes; a type whose `at` is `#[inline(always)]` is inlined into a tensor's loop however
/// large it is (a closure's call is inlined only when small), so the loop compiles to SIMD.
///
/// ```
/// use tapegrad_graph::{Algebra, Tensor};
/// let g = Tensor::from_vec(vec![1.0, 2.0], [2])?;
/// let x = Tensor::from_vec(vec![3.0, 4.0], [2])?;
/// // d/dx x² = 2x
/// let y = x.mul(&x);
/// let dx = g.mul_slope(&x, &y, |v: f64, _| 2.0 * v, |x| x.scale(2.0));
/// assert_eq!(dx.to_vec(), vec![6.0, 16.0]);
/// # Ok::<(), tapegrad_graph::Error>(())
/// ```
pub trait Slope<F>: Sync {
    /// f′(x), given y = f(x) for slopes that are cheaper from it.
    fn at(&self, x: F, y: F) -> F;
}

impl<F, C: Fn(F, F) -> F + Sync> Slope<F> for C {
    #[inline(always)]
    fn at(&self, x: F, y: F) -> F {
        self(x, y)
    }
}

/// Shape-aware arithmetic for the rules of tensor ops.
pub trait TensorAlgebra<F: Float>: Algebra<F> {
    /// The value's shape.
    fn shape(&self) -> Shape;
    /// Same elements, new shape.
    fn reshape(&self, s: &Shape) -> Self;
    /// Reorder dims.
    fn permute(&self, perm: &[usize]) -> Self;
    /// Repeat along broadcast dims.
    fn broadcast_to(&self, s: &Shape) -> Self;
    /// Sum broadcast dims away.
    fn sum_to(&self, s: &Shape) -> Self;
    /// Sum over axes, keeping them as size 1.
    fn sum_keepdim(&self, axes: &[usize]) -> Self;
    /// `op(a)·op(b)` with optional transposes of the last two dims.
    fn matmul_t(&self, ta: bool, b: &Self, tb: bool) -> Self;
    /// `start..end` along `axis`.
    fn slice(&self, axis: usize, start: usize, end: usize) -> Self;
    /// Zeros around along `axis`.
    fn pad(&self, axis: usize, before: usize, after: usize) -> Self;
    /// Slices at indices.
    fn index_select(&self, axis: usize, idx: &Indices) -> Self;
    /// Slices added into zeros.
    fn index_add(&self, axis: usize, idx: &Indices, size: usize) -> Self;
    /// Elements at indices.
    fn gather(&self, axis: usize, idx: &Indices) -> Self;
    /// Elements added into zeros of `s`.
    fn scatter_add(&self, axis: usize, idx: &Indices, s: &Shape) -> Self;
    /// The window's patches as columns (im2col).
    fn unfold(&self, window: &Window) -> Self;
    /// The value's elements read as ids (whole numbers), in its shape.
    fn ids(&self) -> Indices;
    /// Columns added back into an image of spatial `size` (col2im).
    fn fold(&self, window: &Window, size: [usize; 2]) -> Self;
    /// Batch normalization's gradients (input, weight, bias, where `need` asks) from one fused
    /// kernel, for values that have one (tensors); `None` for values whose gradient must be
    /// recorded op by op (`Var`), which the rule then composes.
    /// `saved` holds the forward's statistics (used when they are `self`'s).
    fn fused_batch_norm_grads(
        &self,
        weight: &Self,
        g: &Self,
        eps: f64,
        need: [bool; 3],
        saved: &SavedStats<F>,
    ) -> Option<[Option<Self>; 3]>;
    /// Layer normalization's gradients from one fused kernel, as
    /// [`TensorAlgebra::fused_batch_norm_grads`].
    fn fused_layer_norm_grads(
        &self,
        weight: &Self,
        g: &Self,
        eps: f64,
        need: [bool; 3],
        saved: &SavedStats<F>,
    ) -> Option<[Option<Self>; 3]>;
    /// Softmax's input gradient `self·(g − Σ g·self)` along `axis`, from its output `self`, in
    /// one fused kernel for tensors ([`Tensor::softmax_grad`]); `None` for recorded values.
    fn fused_softmax_grad(&self, g: &Self, axis: usize) -> Option<Self>;
    /// A max's or min's input gradient over `axes` from its input `self`, its values
    /// `extremum` and their gradient `g`, in one kernel for tensors ([`Tensor::extremum_grad`]);
    /// `None` for recorded values.
    fn fused_extremum_grad(&self, extremum: &Self, g: &Self, axes: &[usize]) -> Option<Self>;
    /// A sum of squares' input gradient `self·(2g)` when `g` is one element (the sum of every
    /// square, as an L2 penalty takes), in one pass for tensors; `None` otherwise and for
    /// recorded values, whose rule broadcasts `2g` and multiplies.
    fn fused_sum_squares_grad(&self, g: &Self) -> Option<Self>;
    /// The hinge loss's gradients (scores `self`, labels, where `need` asks) from its
    /// one-element gradient `g`, in one pass each for tensors ([`Tensor::hinge_grads`]);
    /// `None` for recorded values, whose rule composes the ops the hinge stands for.
    fn fused_hinge_grads(&self, labels: &Self, g: &Self, need: [bool; 2]) -> Option<[Option<Self>; 2]>;
    /// `Σ op(self)ᵢ·op(b)ᵢ` over the batch dims `summed`, each product added in place, for
    /// values that have such a kernel (tensors: [`Tensor::matmul_t_summed`]); `None` for
    /// recorded values, whose rule joins the summed dims into one product instead.
    fn fused_summed_product(&self, ta: bool, b: &Self, tb: bool, summed: &[usize]) -> Option<Self>;
}

impl<F: Float> Algebra<F> for F {
    #[inline(always)]
    fn add(&self, o: &Self) -> Self {
        *self + *o
    }
    #[inline(always)]
    fn sub(&self, o: &Self) -> Self {
        *self - *o
    }
    #[inline(always)]
    fn mul(&self, o: &Self) -> Self {
        *self * *o
    }
    #[inline(always)]
    fn div(&self, o: &Self) -> Self {
        *self / *o
    }
    #[inline(always)]
    fn neg(&self) -> Self {
        -*self
    }
    #[inline(always)]
    fn exp(&self) -> Self {
        Float::exp(*self)
    }
    #[inline(always)]
    fn ln(&self) -> Self {
        Float::ln(*self)
    }
    #[inline(always)]
    fn sin(&self) -> Self {
        Float::sin(*self)
    }
    #[inline(always)]
    fn cos(&self) -> Self {
        Float::cos(*self)
    }
    #[inline(always)]
    fn sigmoid(&self) -> Self {
        crate::op::sigmoid(*self)
    }
    #[inline(always)]
    fn erf(&self) -> Self {
        Float::erf(*self)
    }
    #[inline(always)]
    fn powf(&self, p: F) -> Self {
        Float::powf(*self, p)
    }
    #[inline(always)]
    fn pow(&self, b: &Self) -> Self {
        Float::powf(*self, *b)
    }
    #[inline(always)]
    fn scale(&self, c: F) -> Self {
        *self * c
    }
    #[inline(always)]
    fn add_scalar(&self, c: F) -> Self {
        *self + c
    }
    #[inline(always)]
    fn map_const(&self, f: impl Fn(F) -> F + Sync) -> Self {
        f(*self)
    }
    #[inline(always)]
    fn zip_const(&self, o: &Self, f: impl Fn(F, F) -> F + Sync) -> Self {
        f(*self, *o)
    }
    #[inline(always)]
    fn keep_where(&self, keep: &Self) -> Self {
        if *keep != F::ZERO {
            *self
        } else {
            F::ZERO
        }
    }
    #[inline(always)]
    fn mul_slope(&self, x: &Self, y: &Self, slope: impl Slope<F>, _: impl FnOnce(&Self) -> Self) -> Self {
        *self * slope.at(*x, *y)
    }
}

/// Kernels inside a rule never see mismatched shapes: the forward pass already checked them.
fn kernel<T>(r: crate::Result<T>) -> T {
    r.unwrap_or_else(|e| unreachable!("a derivative rule produced inconsistent shapes: {e}"))
}

impl<F: Float> Algebra<F> for Tensor<F> {
    fn add(&self, o: &Self) -> Self {
        kernel(self.zip_with(o, "add", |a, b| a + b))
    }
    fn sub(&self, o: &Self) -> Self {
        kernel(self.zip_with(o, "sub", |a, b| a - b))
    }
    fn mul(&self, o: &Self) -> Self {
        kernel(self.zip_with(o, "mul", |a, b| a * b))
    }
    fn div(&self, o: &Self) -> Self {
        kernel(self.zip_with(o, "div", |a, b| a / b))
    }
    fn neg(&self) -> Self {
        self.map(|a| -a)
    }
    // The op table's loops, compiled for the CPU's SIMD (and FMA, which `exp` and `erf` use:
    // without it `mul_add` is a call to libm's `fmaf`, 20 ns or more an element).
    fn exp(&self) -> Self {
        UnaryOp::Exp.map(self)
    }
    fn ln(&self) -> Self {
        UnaryOp::Log.map(self)
    }
    fn sin(&self) -> Self {
        UnaryOp::Sin.map(self)
    }
    fn cos(&self) -> Self {
        UnaryOp::Cos.map(self)
    }
    fn sigmoid(&self) -> Self {
        UnaryOp::Sigmoid.map(self)
    }
    fn erf(&self) -> Self {
        UnaryOp::Erf.map(self)
    }
    fn powf(&self, p: F) -> Self {
        self.map(|a| a.powf(p))
    }
    fn pow(&self, b: &Self) -> Self {
        kernel(self.zip_with(b, "pow", |a, b| a.powf(b)))
    }
    fn scale(&self, c: F) -> Self {
        self.map(|a| a * c)
    }
    fn add_scalar(&self, c: F) -> Self {
        self.map(|a| a + c)
    }
    fn map_const(&self, f: impl Fn(F) -> F + Sync) -> Self {
        self.map(f)
    }
    fn zip_const(&self, o: &Self, f: impl Fn(F, F) -> F + Sync) -> Self {
        kernel(self.zip_with(o, "mask", f))
    }
    fn mul_mask(&self, x: &Self, mask: impl Fn(F) -> F + Sync) -> Self {
        if self.shape() == x.shape() && self.numel() >= crate::tensor::ONE_PASS_FROM {
            // A mask is a slope that ignores y: the same one pass, compiled for AVX2 too.
            return self.mul_slope_in_one_loop(x, x, |v, _| mask(v));
        }
        kernel(self.zip_with(x, "mul", |g, v| g * mask(v)))
    }
    fn mul_slope(&self, x: &Self, y: &Self, slope: impl Slope<F>, _: impl FnOnce(&Self) -> Self) -> Self {
        if self.shape() == x.shape() && x.shape() == y.shape() {
            self.mul_slope_in_one_loop(x, y, slope)
        } else {
            let slopes = kernel(x.zip_with(y, "slope", |x, y| slope.at(x, y)));
            self.mul(&slopes)
        }
    }
    fn keep_where(&self, keep: &Self) -> Self {
        kernel(self.zip_with(keep, "where", |v, k| if k != F::ZERO { v } else { F::ZERO }))
    }
}

impl<F: Float> TensorAlgebra<F> for Tensor<F> {
    fn shape(&self) -> Shape {
        Tensor::shape(self).clone()
    }
    fn reshape(&self, s: &Shape) -> Self {
        kernel(Tensor::reshape(self, s))
    }
    fn permute(&self, perm: &[usize]) -> Self {
        kernel(Tensor::permute(self, perm))
    }
    fn broadcast_to(&self, s: &Shape) -> Self {
        kernel(Tensor::broadcast_to(self, s))
    }
    fn sum_to(&self, s: &Shape) -> Self {
        kernel(Tensor::sum_to(self, s))
    }
    fn sum_keepdim(&self, axes: &[usize]) -> Self {
        let axes: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        kernel(self.sum_axes(&axes, true))
    }
    fn matmul_t(&self, ta: bool, b: &Self, tb: bool) -> Self {
        kernel(Tensor::matmul_t(self, ta, b, tb))
    }
    fn slice(&self, axis: usize, start: usize, end: usize) -> Self {
        kernel(Tensor::slice(self, axis as isize, start, end))
    }
    fn pad(&self, axis: usize, before: usize, after: usize) -> Self {
        kernel(Tensor::pad(self, axis as isize, before, after))
    }
    fn index_select(&self, axis: usize, idx: &Indices) -> Self {
        kernel(Tensor::index_select(self, axis as isize, idx))
    }
    fn index_add(&self, axis: usize, idx: &Indices, size: usize) -> Self {
        kernel(Tensor::index_add(self, axis as isize, idx, size))
    }
    fn gather(&self, axis: usize, idx: &Indices) -> Self {
        kernel(Tensor::gather(self, axis as isize, idx))
    }
    fn scatter_add(&self, axis: usize, idx: &Indices, s: &Shape) -> Self {
        kernel(Tensor::scatter_add(self, axis as isize, idx, s))
    }
    fn unfold(&self, window: &Window) -> Self {
        kernel(Tensor::unfold(self, window))
    }
    fn ids(&self) -> Indices {
        kernel(Tensor::to_ids(self, usize::MAX))
    }
    fn fold(&self, window: &Window, size: [usize; 2]) -> Self {
        kernel(Tensor::fold(self, window, size))
    }
    fn fused_batch_norm_grads(
        &self,
        weight: &Self,
        g: &Self,
        eps: f64,
        need: [bool; 3],
        saved: &SavedStats<F>,
    ) -> Option<[Option<Self>; 3]> {
        Some(kernel(self.batch_norm_grads_saved(weight, g, eps, need, saved)))
    }
    fn fused_layer_norm_grads(
        &self,
        weight: &Self,
        g: &Self,
        eps: f64,
        need: [bool; 3],
        saved: &SavedStats<F>,
    ) -> Option<[Option<Self>; 3]> {
        Some(kernel(self.layer_norm_grads_saved(weight, g, eps, need, saved)))
    }
    fn fused_softmax_grad(&self, g: &Self, axis: usize) -> Option<Self> {
        Some(kernel(self.softmax_grad(g, axis as isize)))
    }
    fn fused_extremum_grad(&self, extremum: &Self, g: &Self, axes: &[usize]) -> Option<Self> {
        let axes: SmallVec<[isize; 4]> = axes.iter().map(|&a| a as isize).collect();
        Some(kernel(self.extremum_grad(extremum, g, &axes)))
    }
    fn fused_sum_squares_grad(&self, g: &Self) -> Option<Self> {
        let &[g] = g.data() else { return None };
        Some(self.sum_squares_grad(g))
    }
    fn fused_hinge_grads(&self, labels: &Self, g: &Self, need: [bool; 2]) -> Option<[Option<Self>; 2]> {
        let &[g] = g.data() else { return None };
        Some(kernel(self.hinge_grads(labels, g, need)))
    }
    fn fused_summed_product(&self, ta: bool, b: &Self, tb: bool, summed: &[usize]) -> Option<Self> {
        Some(kernel(self.matmul_t_summed(ta, b, tb, summed)))
    }
}

impl<'g, F: Float> Algebra<F> for Var<'g, F> {
    fn add(&self, o: &Self) -> Self {
        *self + *o
    }
    fn sub(&self, o: &Self) -> Self {
        *self - *o
    }
    fn mul(&self, o: &Self) -> Self {
        *self * *o
    }
    fn div(&self, o: &Self) -> Self {
        *self / *o
    }
    fn neg(&self) -> Self {
        -*self
    }
    fn exp(&self) -> Self {
        Var::exp(*self)
    }
    fn ln(&self) -> Self {
        Var::log(*self)
    }
    fn sin(&self) -> Self {
        Var::sin(*self)
    }
    fn cos(&self) -> Self {
        Var::cos(*self)
    }
    fn sigmoid(&self) -> Self {
        Var::sigmoid(*self)
    }
    fn erf(&self) -> Self {
        Var::erf(*self)
    }
    fn powf(&self, p: F) -> Self {
        Var::powf(*self, p)
    }
    fn pow(&self, b: &Self) -> Self {
        Var::pow(*self, *b)
    }
    fn scale(&self, c: F) -> Self {
        *self * c
    }
    fn add_scalar(&self, c: F) -> Self {
        *self + c
    }
    fn map_const(&self, f: impl Fn(F) -> F + Sync) -> Self {
        self.graph().constant(self.value().map(f))
    }
    fn zip_const(&self, o: &Self, f: impl Fn(F, F) -> F + Sync) -> Self {
        self.graph().constant(kernel(self.value().zip_with(&o.value(), "mask", f)))
    }
    fn keep_where(&self, keep: &Self) -> Self {
        Var::where_cond(*keep, *self, F::ZERO)
    }
}

impl<'g, F: Float> TensorAlgebra<F> for Var<'g, F> {
    fn shape(&self) -> Shape {
        Var::shape(*self)
    }
    fn reshape(&self, s: &Shape) -> Self {
        Var::reshape(*self, s)
    }
    fn permute(&self, perm: &[usize]) -> Self {
        Var::permute(*self, perm)
    }
    fn broadcast_to(&self, s: &Shape) -> Self {
        Var::broadcast_to(*self, s)
    }
    fn sum_to(&self, s: &Shape) -> Self {
        Var::sum_to(*self, s)
    }
    fn sum_keepdim(&self, axes: &[usize]) -> Self {
        let axes: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        kernel(self.try_sum_axes(&axes, true))
    }
    fn matmul_t(&self, ta: bool, b: &Self, tb: bool) -> Self {
        Var::matmul_t(*self, ta, *b, tb)
    }
    fn slice(&self, axis: usize, start: usize, end: usize) -> Self {
        Var::slice(*self, axis as isize, start, end)
    }
    fn pad(&self, axis: usize, before: usize, after: usize) -> Self {
        Var::pad(*self, axis as isize, before, after)
    }
    fn index_select(&self, axis: usize, idx: &Indices) -> Self {
        Var::index_select(*self, axis as isize, idx)
    }
    fn index_add(&self, axis: usize, idx: &Indices, size: usize) -> Self {
        Var::index_add(*self, axis as isize, idx, size)
    }
    fn gather(&self, axis: usize, idx: &Indices) -> Self {
        Var::gather(*self, axis as isize, idx)
    }
    fn scatter_add(&self, axis: usize, idx: &Indices, s: &Shape) -> Self {
        Var::scatter_add(*self, axis as isize, idx, s)
    }
    fn unfold(&self, window: &Window) -> Self {
        Var::unfold(*self, window)
    }
    fn ids(&self) -> Indices {
        kernel(self.value().to_ids(usize::MAX))
    }
    fn fold(&self, window: &Window, size: [usize; 2]) -> Self {
        Var::fold(*self, window, size)
    }
    fn fused_batch_norm_grads(
        &self,
        _: &Self,
        _: &Self,
        _: f64,
        _: [bool; 3],
        _: &SavedStats<F>,
    ) -> Option<[Option<Self>; 3]> {
        None
    }
    fn fused_layer_norm_grads(
        &self,
        _: &Self,
        _: &Self,
        _: f64,
        _: [bool; 3],
        _: &SavedStats<F>,
    ) -> Option<[Option<Self>; 3]> {
        None
    }
    fn fused_softmax_grad(&self, _: &Self, _: usize) -> Option<Self> {
        None
    }
    fn fused_extremum_grad(&self, _: &Self, _: &Self, _: &[usize]) -> Option<Self> {
        None
    }
    fn fused_sum_squares_grad(&self, _: &Self) -> Option<Self> {
        None
    }
    fn fused_hinge_grads(&self, _: &Self, _: &Self, _: [bool; 2]) -> Option<[Option<Self>; 2]> {
        None
    }
    fn fused_summed_product(&self, _: bool, _: &Self, _: bool, _: &[usize]) -> Option<Self> {
        None
    }
}
