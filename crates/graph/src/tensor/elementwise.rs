//! Elementwise kernels: maps and broadcasting binary maps.

use super::walk::{broadcast_strides, walk_runs};
use super::{buffer, collected, overwritable, Tensor};
use crate::error::Result;
use crate::float::Float;
use crate::shape::Shape;
use crate::simd::{Loop, Pointwise};

/// Binary passes over fewer elements than this (a 1-element op, a column of 100) collect
/// their results in one loop: the AVX2 pass's set-up (a buffer to overwrite, the thread split,
/// the feature check) cost more than it saved there (one recorded product of 1-element
/// tensors took 1,469 instructions against 1,053).
pub(crate) const ONE_PASS_FROM: usize = 256;

impl<F: Float> Tensor<F> {
    /// Applies `f` to every element (split over threads for a large tensor).
    pub fn map(&self, f: impl Fn(F) -> F + Sync) -> Tensor<F> {
        let a = self.data();
        let data = elementwise(a.len(), a.iter().map(|&v| f(v)), |start, out| map_part(out, &a[start..], &f));
        Tensor::from_parts(data, self.shape().clone())
    }

    /// The gradient of `Σ self²` (an L2 penalty's term) from the sum's gradient `g`: `2g·self`,
    /// in one pass (doubling `g` is exact, so it rounds as `square`'s rule, `(x + x)·g`).
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let w = Tensor::from_vec(vec![1.0, -2.0], [2])?;
    /// assert_eq!(w.sum_squares_grad(0.5).to_vec(), vec![1.0, -2.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn sum_squares_grad(&self, g: F) -> Tensor<F> {
        self.map(times_twice(g))
    }

    /// As [`Tensor::sum_squares_grad`], over `out`'s elements where it may overwrite them (a
    /// compiled replay's buffer from the replay before), into a new tensor otherwise.
    pub fn sum_squares_grad_to(&self, g: F, out: &mut Tensor<F>) {
        self.map_to(times_twice(g), out)
    }

    /// As [`Tensor::map`], over `out`'s elements where it may overwrite them
    /// ([`Tensor::overwritten_as`]), into a new tensor otherwise.
    pub(crate) fn map_to(&self, f: impl Fn(F) -> F + Sync, out: &mut Tensor<F>) {
        match out.overwritten_as(self.shape()) {
            Some(elements) => {
                let a = self.data();
                crate::threads::split_pass(elements, 1, |start, part| map_part(part, &a[start..], &f))
            }
            None => *out = self.map(f),
        }
    }

    /// As [`Tensor::map`], for a [`Pointwise`] `f` whose `at` is `#[inline(always)]`: its loop
    /// inlines `f` whole (a large one too: GELU, erfc) and is compiled to SIMD, for AVX2 where
    /// the CPU has it ([`crate::simd`]).
    pub(crate) fn map_in_one_loop(&self, f: impl Pointwise<F>) -> Tensor<F> {
        let mut out = pass_output(self.numel());
        map_pass(&mut out, self.data(), &f);
        Tensor::from_parts(out, self.shape().clone())
    }

    /// As [`Tensor::map_in_one_loop`], over `out`'s elements where it may overwrite them
    /// ([`Tensor::overwritten_as`]), into a new tensor otherwise.
    pub(crate) fn map_in_one_loop_to(&self, f: impl Pointwise<F>, out: &mut Tensor<F>) {
        match out.overwritten_as(self.shape()) {
            Some(elements) => map_pass(elements, self.data(), &f),
            None => *out = self.map_in_one_loop(f),
        }
    }

    /// `self · slope(x, y)` elementwise for tensors of one shape (a smooth rule's gradient),
    /// compiled as [`Tensor::map_in_one_loop`] is.
    pub(crate) fn mul_slope_in_one_loop(&self, x: &Tensor<F>, y: &Tensor<F>, slope: impl crate::Slope<F>) -> Tensor<F> {
        debug_assert!(self.shape() == x.shape() && x.shape() == y.shape());
        let (g, x, y) = (self.data(), x.data(), y.data());
        let mut out = pass_output(g.len());
        crate::threads::split_pass(&mut out, 1, |start, part| {
            let range = start..start + part.len();
            crate::simd::mul_slope_into(part, [&g[range.clone()], &x[range.clone()], &y[range]], &slope)
        });
        Tensor::from_parts(out, self.shape().clone())
    }

    /// Combines two tensors element by element under NumPy broadcasting; `op` names the
    /// operation in the error when the shapes do not broadcast.
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 2])?;
    /// let b = Tensor::from_vec(vec![10.0, 20.0], [2])?;
    /// assert_eq!(a.zip_with(&b, "add", |x, y| x + y)?.to_vec(), vec![11.0, 22.0, 13.0, 24.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn zip_with(&self, other: &Tensor<F>, op: &'static str, f: impl Fn(F, F) -> F + Sync) -> Result<Tensor<F>> {
        if self.shape() == other.shape() {
            let (a, b) = (self.data(), other.data());
            if a.len() < ONE_PASS_FROM {
                let data = collected(a.len(), a.iter().zip(b).map(|(&x, &y)| f(x, y)));
                return Ok(Tensor::from_parts(data, self.shape().clone()));
            }
            let mut out = pass_output(a.len());
            zip_pass(&mut out, a, b, &f);
            return Ok(Tensor::from_parts(out, self.shape().clone()));
        }
        if let Some(out) = onto(self, other, &f) {
            return Ok(out);
        }
        if let Some(out) = onto(other, self, |b, a| f(a, b)) {
            return Ok(out);
        }
        let shape = self.shape().broadcast(other.shape(), op)?;
        let sa = broadcast_strides(self.dims(), shape.dims());
        let sb = broadcast_strides(other.dims(), shape.dims());
        let (da, db) = (self.data(), other.data());
        let mut out = buffer(op, &shape)?;
        walk_runs(shape.dims(), [&sa, &sb], |[ia, ib], len, inner| match inner {
            [1, 1] => out.extend(da[ia..ia + len].iter().zip(&db[ib..ib + len]).map(|(&a, &b)| f(a, b))),
            [1, 0] => out.extend(da[ia..ia + len].iter().map(|&a| f(a, db[ib]))),
            [0, 1] => out.extend(db[ib..ib + len].iter().map(|&b| f(da[ia], b))),
            [step_a, step_b] => out.extend((0..len).map(|i| f(da[ia + i * step_a], db[ib + i * step_b]))),
        });
        Ok(Tensor::from_parts(out, shape))
    }

    /// As [`Tensor::zip_with`], over `out`'s elements where it may overwrite them
    /// ([`Tensor::overwritten_as`]) and the operands have one shape or one broadcasts onto the
    /// other as a whole; into a new tensor otherwise.
    pub(crate) fn zip_to(
        &self,
        other: &Tensor<F>,
        op: &'static str,
        f: impl Fn(F, F) -> F + Sync,
        out: &mut Tensor<F>,
    ) -> Result<()> {
        if self.shape() == other.shape() {
            if let Some(elements) = out.overwritten_as(self.shape()) {
                zip_pass(elements, self.data(), other.data(), &f);
                return Ok(());
            }
        } else if let Some(how) = Onto::of(self, other) {
            if let Some(elements) = out.overwritten_as(self.shape()) {
                how.write(elements, self, other, &f);
                return Ok(());
            }
        } else if let Some(how) = Onto::of(other, self) {
            if let Some(elements) = out.overwritten_as(other.shape()) {
                how.write(elements, other, self, |b, a| f(a, b));
                return Ok(());
            }
        }
        *out = self.zip_with(other, op, f)?;
        Ok(())
    }

    /// Like [`Tensor::zip_with`] but writes into `self` when it already has the broadcast shape
    /// and shares its elements with no other tensor (used to accumulate gradients without
    /// allocating; shared elements are combined into a new buffer, not copied and then updated).
    pub fn zip_assign(&mut self, other: &Tensor<F>, op: &'static str, f: impl Fn(F, F) -> F + Sync) -> Result<()> {
        if self.shape() == other.shape() && self.owns_storage() {
            let b = other.data();
            crate::threads::split_pass(self.data_mut(), 1, |start, part| {
                part.iter_mut().zip(&b[start..]).for_each(|(a, &y)| *a = f(*a, y))
            });
            Ok(())
        } else {
            *self = self.zip_with(other, op, f)?;
            Ok(())
        }
    }
}

/// `f(x, y)` for each element `x` of `big` and `y` of `small` broadcast onto it, when `small`
/// has no more dims than `big` and is one element, `big`'s last dims (a bias) or one value per
/// row of `big` (see [`Onto`]): then the result has `big`'s shape, and nothing else about the
/// broadcast needs working out.
#[inline(always)]
fn onto<F: Float>(big: &Tensor<F>, small: &Tensor<F>, f: impl Fn(F, F) -> F + Sync) -> Option<Tensor<F>> {
    match Onto::of(big, small)? {
        Onto::One => {
            let y = small.data()[0];
            // Moved in: captured by reference, `y` was loaded again for each element and the
            // loop was not vectorized (1 − [100, 1]: 114 → 79 ns).
            Some(big.map(move |x| f(x, y)))
        }
        how @ (Onto::Trailing | Onto::Column) => {
            let mut data = pass_output(big.numel());
            how.write(&mut data, big, small, f);
            Some(Tensor::from_parts(data, big.shape().clone()))
        }
    }
}

/// How a smaller operand broadcasts onto a bigger one as a whole (see [`onto`]).
#[derive(Clone, Copy)]
enum Onto {
    /// It is one element.
    One,
    /// It is the bigger one's last dims, repeated.
    Trailing,
    /// It is one value for each row of the bigger one: its dims but the last, which is 1 (a
    /// row's maximum or sum kept as a column, subtracted from or dividing the row).
    Column,
}

impl Onto {
    fn of<F: Float>(big: &Tensor<F>, small: &Tensor<F>) -> Option<Onto> {
        if small.ndim() > big.ndim() {
            None
        } else if small.numel() == 1 {
            Some(Onto::One)
        } else if is_trailing(small.dims(), big.dims()) {
            Some(Onto::Trailing)
        } else if is_column(small.dims(), big.dims()) {
            Some(Onto::Column)
        } else {
            None
        }
    }

    /// Writes `f(x, y)` into `out` for each element `x` of `big` and `y` of `small`.
    #[inline(always)]
    fn write<F: Float>(self, out: &mut [F], big: &Tensor<F>, small: &Tensor<F>, f: impl Fn(F, F) -> F + Sync) {
        let (a, b) = (big.data(), small.data());
        match self {
            Onto::One => crate::threads::split_pass(out, 1, |start, part| map_part(part, &a[start..], |x| f(x, b[0]))),
            Onto::Trailing => crate::simd::zip_into(out, a, b, &f),
            Onto::Column => crate::simd::run_widest(ColumnZip { out, a, column: b, f: &f }),
        }
    }
}

/// True when `small` is `big` with its last dim, of at least one element, cut to 1.
fn is_column(small: &[usize], big: &[usize]) -> bool {
    match (small.split_last(), big.split_last()) {
        (Some((&1, rows)), Some((&width, big_rows))) => width > 0 && rows == big_rows,
        _ => false,
    }
}

/// `out[r·w + k] = f(a[r·w + k], column[r])` for the rows of `w` elements of `a`, one per
/// element of `column`: a loop along each row, compiled for the CPU's SIMD (it went element
/// by element through the general broadcast: [512, 64] + [512, 1] took 378 ps an element, 80
/// now, as a same-shape add).
struct ColumnZip<'a, F, Z> {
    out: &'a mut [F],
    a: &'a [F],
    column: &'a [F],
    f: &'a Z,
}

impl<F: Float, Z: Fn(F, F) -> F> Loop for ColumnZip<'_, F, Z> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let ColumnZip { out, a, column, f } = self;
        let Some(width) = a.len().checked_div(column.len()) else { return };
        for (r, &y) in column.iter().enumerate() {
            let (out, a) = (&mut out[r * width..][..width], &a[r * width..][..width]);
            for k in 0..width {
                out[k] = f(a[k], y);
            }
        }
    }
}

/// `out[i] = f(a[i])`, in one plain loop.
#[inline(always)]
fn map_part<F: Float>(out: &mut [F], a: &[F], f: impl Fn(F) -> F) {
    out.iter_mut().zip(a).for_each(|(o, &v)| *o = f(v))
}

/// `out[i] = f(a[i])` for a [`Pointwise`] `f`, compiled to SIMD and split over threads.
fn map_pass<F: Float>(out: &mut [F], a: &[F], f: &impl Pointwise<F>) {
    crate::threads::split_pass(out, 1, |start, part| crate::simd::map_into(part, &a[start..start + part.len()], f));
}

/// `out[i] = f(a[i], b[i])`, compiled to SIMD and split over threads.
#[inline(always)]
pub(super) fn zip_pass<F: Float>(out: &mut [F], a: &[F], b: &[F], f: &(impl Fn(F, F) -> F + Sync)) {
    crate::threads::split_pass(out, 1, |start, part| {
        let range = start..start + part.len();
        crate::simd::zip_into(part, &a[range.clone()], &b[range], f)
    });
}

/// `n` elements: `items` on one thread, or, for a pass large enough to split, an
/// [`overwritable`] buffer whose parts `fill(first_index, part)` writes on each thread.
#[inline(always)]
fn elementwise<F: Float>(n: usize, items: impl Iterator<Item = F>, fill: impl Fn(usize, &mut [F]) + Sync) -> Vec<F> {
    let threads = crate::threads::threads_for_elements(n);
    if threads == 1 {
        return collected(n, items);
    }
    let mut out = pass_output(n);
    crate::threads::for_each_chunk(&mut out, 1, threads, fill);
    out
}

/// An [`overwritable`] buffer of `n` elements for a pass that writes each of them. As large as
/// an input, so it fits in memory (the fallback only spells that out).
pub(super) fn pass_output<F: Float>(n: usize) -> Vec<F> {
    overwritable("map", &Shape::from([n])).unwrap_or_else(|_| vec![F::ZERO; n])
}

/// True when `small`, without its leading 1s, is the non-empty tail of `big`: broadcasting
/// then repeats `small` as a whole, row after row (so it must hold at least one element).
fn is_trailing(small: &[usize], big: &[usize]) -> bool {
    let start = small.iter().position(|&d| d != 1).unwrap_or(small.len());
    let tail = &small[start..];
    !tail.is_empty() && !tail.contains(&0) && tail.len() <= big.len() && big[big.len() - tail.len()..] == *tail
}

macro_rules! tensor_binary_operator {
    ($trait:ident, $method:ident, $name:literal, $op:tt) => {
        impl<F: Float> std::ops::$trait<&Tensor<F>> for &Tensor<F> {
            type Output = Tensor<F>;
            /// Elementwise with broadcasting.
            ///
            /// # Panics
            /// When the shapes do not broadcast; use [`Tensor::zip_with`] for a `Result`.
            #[track_caller]
            fn $method(self, rhs: &Tensor<F>) -> Tensor<F> {
                crate::error::expect_op(self.zip_with(rhs, $name, |a, b| a $op b))
            }
        }
        impl<F: Float> std::ops::$trait<F> for &Tensor<F> {
            type Output = Tensor<F>;
            fn $method(self, rhs: F) -> Tensor<F> {
                self.map(|a| a $op rhs)
            }
        }
    };
}
tensor_binary_operator!(Add, add, "add", +);
tensor_binary_operator!(Sub, sub, "sub", -);
tensor_binary_operator!(Mul, mul, "mul", *);
tensor_binary_operator!(Div, div, "div", /);

impl<F: Float> std::ops::Neg for &Tensor<F> {
    type Output = Tensor<F>;
    fn neg(self) -> Tensor<F> {
        self.map(|a| -a)
    }
}

/// `x ↦ x·2g`: the gradient of `Σ x²` from the sum's gradient `g`.
fn times_twice<F: Float>(g: F) -> impl Fn(F) -> F + Sync {
    let twice = g * F::from_f64(2.0);
    move |x| x * twice
}
