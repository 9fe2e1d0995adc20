//! Reduction kernels over sets of axes.

use super::walk::walk_runs;
use super::{filled, overwritable, reserved, Tensor};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::shape::Shape;
use crate::simd::{run_widest, Loop};
use smallvec::SmallVec;

impl<F: Float> Tensor<F> {
    /// Folds the elements along `axes` (already resolved, sorted) with `f`, starting from
    /// `init`; the result keeps the reduced axes as size 1 when `keepdim`. A long contiguous
    /// run is folded in [`FOLD_LANES`] interleaved chains, each from `init`, which `join`
    /// combines (`init` is `join`'s identity). An error only when the result does not fit in
    /// memory (an empty tensor can have a huge reduced shape).
    pub(crate) fn fold_axes(
        &self,
        axes: &[usize],
        keepdim: bool,
        init: F,
        f: impl Fn(F, F) -> F,
        join: impl Fn(F, F) -> F,
    ) -> Result<Tensor<F>> {
        self.fold_axes_into_shape(axes, self.shape().reduced(axes, keepdim), init, f, join)
    }

    /// [`Tensor::fold_axes`] over every axis, as a number: the same folds in the same order.
    pub(crate) fn fold_all(&self, init: F, f: impl Fn(F, F) -> F, join: impl Fn(F, F) -> F) -> F {
        if self.numel() == 0 {
            init
        } else {
            fold_lanes(self.data(), init, &f, &join)
        }
    }

    /// [`Tensor::fold_axes`] with the result in `out_shape`, which holds as many elements.
    fn fold_axes_into_shape(
        &self,
        axes: &[usize],
        out_shape: Shape,
        init: F,
        f: impl Fn(F, F) -> F,
        join: impl Fn(F, F) -> F,
    ) -> Result<Tensor<F>> {
        if let Some(grouped) = self.shape().group_and_inner(axes) {
            let out = if grouped.0 == self.numel() {
                vec![fold_lanes(self.data(), init, &f, &join)]
            } else {
                let kept = self.numel() / grouped.0;
                let mut out = reserved(kept);
                out.resize(kept, init);
                fold_grouped(self.data(), grouped, init, &f, &join, &mut out);
                out
            };
            return Ok(Tensor::from_parts(out, out_shape));
        }
        let kept = self.shape().reduced(axes, true);
        let kept_strides = kept.strides();
        let out_strides: SmallVec<[usize; 4]> =
            (0..self.ndim()).map(|d| if axes.contains(&d) { 0 } else { kept_strides[d] }).collect();
        let in_strides = self.shape().strides();
        let mut out = filled("reduce", &kept, init)?;
        let data = self.data();
        walk_runs(self.dims(), [&in_strides, &out_strides], |[i, o], len, inner| match inner {
            [1, 0] => out[o] = join(out[o], fold_lanes(&data[i..i + len], init, &f, &join)),
            [1, 1] => {
                for (a, &v) in out[o..o + len].iter_mut().zip(&data[i..i + len]) {
                    *a = f(*a, v);
                }
            }
            [step_in, step_out] => {
                for j in 0..len {
                    out[o + j * step_out] = f(out[o + j * step_out], data[i + j * step_in]);
                }
            }
        });
        Ok(Tensor::from_parts(out, out_shape))
    }

    /// As [`Tensor::fold_axes`], over `out`'s elements where it may overwrite them
    /// ([`Tensor::overwritten_as`]) and the axes are consecutive; into a new tensor otherwise.
    pub(crate) fn fold_axes_to(
        &self,
        axes: &[usize],
        keepdim: bool,
        init: F,
        (f, join): (impl Fn(F, F) -> F, impl Fn(F, F) -> F),
        out: &mut Tensor<F>,
    ) -> Result<()> {
        if let Some(grouped) = self.shape().group_and_inner(axes) {
            if let Some(elements) = out.overwritten_as(&self.shape().reduced(axes, keepdim)) {
                fold_grouped(self.data(), grouped, init, &f, &join, elements);
                return Ok(());
            }
        }
        *out = self.fold_axes(axes, keepdim, init, f, join)?;
        Ok(())
    }

    /// The gradient of a max or min over `axes` (negative counts from the end; empty means
    /// all) given its values `extremum` and the gradient `g` arriving at them, both in the
    /// reduced shape (the reduced axes kept as 1 or dropped): the elements equal to their
    /// group's extremum (NaN to a NaN one) share its gradient equally, `g·(1/hits)`, the others
    /// take `g·0`, in one kernel: the rule of a recorded max or min (where the extremum is NaN,
    /// the NaN elements take the gradient, as with PyTorch's `max()`).
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 3.0, 3.0, 2.0, 0.0, -1.0], [2, 3])?;
    /// let max = x.max_axes(&[1], false)?;
    /// let g = Tensor::from_vec(vec![1.0, 6.0], [2])?;
    /// assert_eq!(x.extremum_grad(&max, &g, &[1])?.to_vec(), vec![0.0, 0.5, 0.5, 6.0, 0.0, 0.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn extremum_grad(&self, extremum: &Tensor<F>, g: &Tensor<F>, axes: &[isize]) -> Result<Tensor<F>> {
        let axes = self.shape().axes("extremum_grad", axes)?;
        let kept = self.shape().reduced(&axes, true);
        for t in [extremum, g] {
            if t.numel() != kept.numel() {
                return Err(Error::ShapeMismatch {
                    op: "extremum_grad",
                    lhs: self.shape().clone(),
                    rhs: t.shape().clone(),
                    hint: format!("; the extremum and its gradient take the reduced shape {kept}"),
                });
            }
        }
        let (x, extremum, g) = (self.data(), extremum.data(), g.data());
        let hit = |v: F, m: F| v == m || (v.is_nan() && m.is_nan());
        let share_of = |v: F, m: F, share: F| if hit(v, m) { share } else { F::ZERO };
        // Each group's hits, then the share of each hit, 1/hits, in place.
        let mut share = filled("extremum_grad", &kept, F::ZERO)?;
        let mut out = overwritable("extremum_grad", self.shape())?;
        if let Some((group, inner)) = self.shape().group_and_inner(&axes) {
            // [outer, group, inner]: the groups' elements lie `inner` apart, so each row of
            // `inner` elements is compared with the `inner` extrema side by side.
            let block = group * inner;
            for ((((x, out), m), share), g) in x
                .chunks_exact(block)
                .zip(out.chunks_exact_mut(block))
                .zip(extremum.chunks_exact(inner))
                .zip(share.chunks_exact_mut(inner))
                .zip(g.chunks_exact(inner))
            {
                for row in x.chunks_exact(inner) {
                    share.iter_mut().zip(row).zip(m).for_each(|((s, &v), &m)| *s += share_of(v, m, F::ONE));
                }
                share.iter_mut().for_each(|s| *s = F::ONE / *s);
                for (out, row) in out.chunks_exact_mut(inner).zip(x.chunks_exact(inner)) {
                    for (((o, &v), &m), (&s, &g)) in out.iter_mut().zip(row).zip(m).zip(share.iter().zip(g)) {
                        *o = g * share_of(v, m, s);
                    }
                }
            }
        } else {
            let kept_strides = kept.strides();
            let group_strides: SmallVec<[usize; 4]> =
                (0..self.ndim()).map(|d| if axes.contains(&d) { 0 } else { kept_strides[d] }).collect();
            let strides = [&self.shape().strides()[..], &group_strides[..]];
            walk_runs(self.dims(), strides, |[i, o], len, [step_in, step_out]| {
                for j in 0..len {
                    let o = o + j * step_out;
                    share[o] += share_of(x[i + j * step_in], extremum[o], F::ONE);
                }
            });
            share.iter_mut().for_each(|s| *s = F::ONE / *s);
            walk_runs(self.dims(), strides, |[i, o], len, [step_in, step_out]| {
                for j in 0..len {
                    let (i, o) = (i + j * step_in, o + j * step_out);
                    out[i] = g[o] * share_of(x[i], extremum[o], share[o]);
                }
            });
        }
        Ok(Tensor::from_parts(out, self.shape().clone()))
    }

    /// Sum over `axes` (negative counts from the end; empty means all).
    pub fn sum_axes(&self, axes: &[isize], keepdim: bool) -> Result<Tensor<F>> {
        let axes = self.shape().axes("sum", axes)?;
        self.fold_axes(&axes, keepdim, F::ZERO, |a, b| a + b, |a, b| a + b)
    }

    /// Maximum over `axes`; an error on an empty reduction.
    pub fn max_axes(&self, axes: &[isize], keepdim: bool) -> Result<Tensor<F>> {
        let axes = self.shape().axes("max", axes)?;
        self.check_nonempty("max", &axes)?;
        let max = |a: F, b: F| if b > a || b.is_nan() { b } else { a };
        self.fold_axes(&axes, keepdim, F::NEG_INFINITY, max, max)
    }

    /// Minimum over `axes`; an error on an empty reduction.
    pub fn min_axes(&self, axes: &[isize], keepdim: bool) -> Result<Tensor<F>> {
        let axes = self.shape().axes("min", axes)?;
        self.check_nonempty("min", &axes)?;
        let min = |a: F, b: F| if b < a || b.is_nan() { b } else { a };
        self.fold_axes(&axes, keepdim, F::INFINITY, min, min)
    }

    /// An error when a reduced axis is empty (max and min of nothing are undefined); other
    /// axes may be empty, as in PyTorch, giving an empty result.
    pub(crate) fn check_nonempty(&self, op: &'static str, axes: &[usize]) -> Result<()> {
        if axes.iter().any(|&a| self.dims()[a] == 0) {
            return Err(Error::Empty { op, what: "the reduced axis" });
        }
        Ok(())
    }

    /// Sums broadcast dimensions away so the result has `shape` (the reverse of broadcasting:
    /// what every gradient of a broadcast operand goes through).
    pub fn sum_to(&self, shape: &Shape) -> Result<Tensor<F>> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        if !shape.broadcasts_to(self.shape()) {
            return Err(self.sum_to_mismatch(shape));
        }
        let axes = self.summed_to(shape);
        self.fold_axes_into_shape(&axes, shape.clone(), F::ZERO, |a, b| a + b, |a, b| a + b)
    }

    /// The error when `shape` does not broadcast to this tensor's, so nothing sums to it.
    fn sum_to_mismatch(&self, shape: &Shape) -> Error {
        let hint = "; the target must broadcast to the source".into();
        Error::ShapeMismatch { op: "sum_to", lhs: self.shape().clone(), rhs: shape.clone(), hint }
    }

    /// The axes [`Tensor::sum_to`] sums to reach `shape` (which broadcasts to this shape).
    fn summed_to(&self, shape: &Shape) -> SmallVec<[usize; 4]> {
        let lead = self.ndim() - shape.ndim();
        (0..self.ndim()).filter(|&d| d < lead || (shape.dims()[d - lead] == 1 && self.dims()[d] != 1)).collect()
    }

    /// `out += self.sum_to(out's shape)` in place, where `out` shares its elements with no other
    /// tensor, is smaller than this tensor, and the sums are over consecutive axes into at most
    /// 64 elements (a bias's gradient over a batch): each sum is taken whole, as
    /// [`Tensor::sum_to`] takes it, and then added, so `out` gets the bits of
    /// `out + self.sum_to(…)` without the sums' tensor. `Ok(false)`, `out` untouched, where
    /// it cannot (the caller adds the sums instead).
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let g = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [3, 2])?;
    /// let mut bias_grad = Tensor::from_vec(vec![0.5f32, 0.5], [2])?;
    /// assert!(g.sum_to_add_to(&mut bias_grad)?);
    /// assert_eq!(bias_grad.to_vec(), vec![9.5, 12.5]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn sum_to_add_to(&self, out: &mut Tensor<F>) -> Result<bool> {
        const MOST: usize = 64;
        let shape = out.shape().clone();
        if self.shape() == &shape || out.numel() > MOST {
            return Ok(false);
        }
        if !shape.broadcasts_to(self.shape()) {
            return Err(self.sum_to_mismatch(&shape));
        }
        let Some(grouped) = self.shape().group_and_inner(&self.summed_to(&shape)) else { return Ok(false) };
        let Some(out) = out.overwritten_as(&shape) else { return Ok(false) };
        let mut sums = [F::ZERO; MOST];
        let sums = &mut sums[..out.len()];
        let add = |a: F, b: F| a + b;
        fold_grouped(self.data(), grouped, F::ZERO, &add, &add, sums);
        for (o, &s) in out.iter_mut().zip(sums.iter()) {
            *o += s;
        }
        Ok(true)
    }
}

/// [`Tensor::fold_axes`] over the middle axis of `[outer, group, inner]` blocks of `data`
/// ([`Shape::group_and_inner`]), into `out` (one element per `outer · inner`).
#[inline(always)]
fn fold_grouped<F: Float>(
    data: &[F],
    (group, inner): (usize, usize),
    init: F,
    f: &impl Fn(F, F) -> F,
    join: &impl Fn(F, F) -> F,
    out: &mut [F],
) {
    if group == data.len() {
        out[0] = fold_lanes(data, init, f, join);
    } else if inner > 1 {
        // Each outer block's rows folded into its `inner` results — a pool's max over
        // `[N, C, taps, L]` windows walked run by run took 1.4× as long.
        out.fill(init);
        if inner <= CHAINED_COLUMNS {
            run_widest(FoldRows { acc: out, data, group, inner, init, f, join });
        } else {
            for (acc, block) in out.chunks_exact_mut(inner).zip(data.chunks_exact(group * inner)) {
                fold_rows(acc, block, f);
            }
        }
    } else {
        for (sum, chunk) in out.iter_mut().zip(data.chunks_exact(group)) {
            *sum = fold_lanes(chunk, init, f, join);
        }
    }
}

/// Chains a long contiguous run is folded in: a sum of n elements waits on n/16 dependent
/// additions, not n (a sum of 131,072 `f32` took 107 µs in one chain).
const FOLD_LANES: usize = 16;

/// `values` folded with `f` in [`FOLD_LANES`] chains, element k into chain k mod
/// [`FOLD_LANES`], each from `init`; the chains are then joined pairwise with `join`. Fewer
/// than two elements a chain are folded in one.
#[inline(always)]
fn fold_lanes<F: Float>(values: &[F], init: F, f: &impl Fn(F, F) -> F, join: &impl Fn(F, F) -> F) -> F {
    fold_pair_lanes(values, values, init, &|acc, v, _| f(acc, v), join)
}

/// [`fold_lanes`] over the pairs `(a[k], b[k])` (slices of one length): the same chains in
/// the same order, so folding `f(acc, a, b) = acc + h(a, b)` gives the bits a sum of the
/// elementwise `h(a, b)` gives, without the elementwise tensor.
#[inline(always)]
pub(super) fn fold_pair_lanes<F: Float>(
    a: &[F],
    b: &[F],
    init: F,
    f: &impl Fn(F, F, F) -> F,
    join: &impl Fn(F, F) -> F,
) -> F {
    debug_assert_eq!(a.len(), b.len());
    if a.len() < 2 * FOLD_LANES {
        return a.iter().zip(b).fold(init, |acc, (&u, &v)| f(acc, u, v));
    }
    let mut lanes = [init; FOLD_LANES];
    let (mut chunks_a, mut chunks_b) = (a.chunks_exact(FOLD_LANES), b.chunks_exact(FOLD_LANES));
    for (chunk_a, chunk_b) in (&mut chunks_a).zip(&mut chunks_b) {
        for l in 0..FOLD_LANES {
            lanes[l] = f(lanes[l], chunk_a[l], chunk_b[l]);
        }
    }
    for ((lane, &u), &v) in lanes.iter_mut().zip(chunks_a.remainder()).zip(chunks_b.remainder()) {
        *lane = f(*lane, u, v);
    }
    let mut width = FOLD_LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            lanes[l] = join(lanes[l], lanes[l + width]);
        }
    }
    lanes[0]
}

/// Columns of at most this many elements (a bias's gradient) are folded in blocks held in
/// registers over all the rows; wider ones row by row, each row read once.
const REGISTER_FOLD_COLUMNS: usize = 256;

/// Columns [`fold_rows`] and [`FoldRows`] keep in registers at once.
const FOLD_BLOCK: usize = 16;

/// `acc[j] = f(acc[j], row[j])` for each row of `data` (rows of `acc.len()` elements) in turn.
/// Every column is folded in row order; narrow ones keep [`FOLD_BLOCK`] columns in registers,
/// where adding each row to `acc` in memory waited on the last row's store (a [100, 16] →
/// [16] sum, a layer's bias gradient, took 0.7 µs).
#[inline(always)]
fn fold_rows<F: Float>(acc: &mut [F], data: &[F], f: impl Fn(F, F) -> F) {
    let kept = acc.len();
    let mut j = 0;
    if kept <= REGISTER_FOLD_COLUMNS {
        while j + FOLD_BLOCK <= kept {
            let mut block: [F; FOLD_BLOCK] = std::array::from_fn(|l| acc[j + l]);
            for row in data.chunks_exact(kept) {
                let row = &row[j..j + FOLD_BLOCK];
                for l in 0..FOLD_BLOCK {
                    block[l] = f(block[l], row[l]);
                }
            }
            acc[j..j + FOLD_BLOCK].copy_from_slice(&block);
            j += FOLD_BLOCK;
        }
    }
    if j < kept {
        for row in data.chunks_exact(kept) {
            for (a, &v) in acc[j..].iter_mut().zip(&row[j..]) {
                *a = f(*a, v);
            }
        }
    }
}

/// Rows up to this many elements wide are folded by [`FoldRows`]: in the widest SIMD copy,
/// blocks of 16 columns in [`ROW_CHAINS`] chains (sums over the rows of [100, 16], [1024, 16],
/// [64, 128] took 0.66–0.73× the time, [512, 64] 0.95×). Wider ones lost by it ([512, 256]
/// 10.3–10.4 → 12.8–14.0 µs) and are folded by [`fold_rows`].
const CHAINED_COLUMNS: usize = 128;

/// Chains of rows a block of narrow columns is folded in: row r goes into chain r mod
/// [`ROW_CHAINS`], so a column's folds wait on every fourth row's, not on each.
const ROW_CHAINS: usize = 4;

/// `acc[j] = f(acc[j], row[j])` for each row of each block of `data` (`[outer, group,
/// inner]`: a block's `group` rows of `inner`, at most [`CHAINED_COLUMNS`], folded into its
/// `inner` elements of `acc`), in the widest SIMD copy the CPU has. Each block of
/// [`FOLD_BLOCK`] columns is held in registers, over 8 rows or more in [`ROW_CHAINS`] chains
/// joined at the end as `(c₀ ⊕ c₁) ⊕ (c₂ ⊕ c₃)`, chain 0 starting from `acc`; the columns
/// after the last block, and every column over fewer rows, are folded in row order.
struct FoldRows<'a, F, G, J> {
    acc: &'a mut [F],
    data: &'a [F],
    group: usize,
    inner: usize,
    init: F,
    f: &'a G,
    join: &'a J,
}

impl<F: Float, G: Fn(F, F) -> F, J: Fn(F, F) -> F> Loop for FoldRows<'_, F, G, J> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let FoldRows { acc, data, group, inner, init, f, join } = self;
        for (acc, block) in acc.chunks_exact_mut(inner).zip(data.chunks_exact(group * inner)) {
            let mut j = 0;
            while j + FOLD_BLOCK <= inner {
                fold_column_block(&mut acc[j..j + FOLD_BLOCK], block, (inner, j), init, (f, join));
                j += FOLD_BLOCK;
            }
            if j < inner {
                for row in block.chunks_exact(inner) {
                    for (a, &v) in acc[j..].iter_mut().zip(&row[j..]) {
                        *a = f(*a, v);
                    }
                }
            }
        }
    }
}

/// Folds columns `first..first + FOLD_BLOCK` of the rows of `data` (`inner` elements each)
/// into `acc` with `f`, in [`ROW_CHAINS`] chains (chain 0 from `acc`, the others from `init`,
/// `join`'s identity) joined with `join`, where there are rows enough; in one otherwise.
#[inline(always)]
fn fold_column_block<F: Float>(
    acc: &mut [F],
    data: &[F],
    (inner, first): (usize, usize),
    init: F,
    (f, join): (&impl Fn(F, F) -> F, &impl Fn(F, F) -> F),
) {
    #[inline(always)]
    fn with<F: Copy>(op: &impl Fn(F, F) -> F, chain: &mut [F; FOLD_BLOCK], values: &[F]) {
        let values = &values[..FOLD_BLOCK];
        for l in 0..FOLD_BLOCK {
            chain[l] = op(chain[l], values[l]);
        }
    }
    let rows = data.chunks_exact(inner).map(|row| &row[first..first + FOLD_BLOCK]);
    let mut chains = [[init; FOLD_BLOCK]; ROW_CHAINS];
    chains[0].copy_from_slice(acc);
    if data.len() < 2 * ROW_CHAINS * inner {
        for row in rows {
            with(f, &mut chains[0], row);
        }
        acc.copy_from_slice(&chains[0]);
        return;
    }
    let [mut c0, mut c1, mut c2, mut c3] = chains;
    let mut four = data.chunks_exact(ROW_CHAINS * inner);
    for rows in &mut four {
        with(f, &mut c0, &rows[first..]);
        with(f, &mut c1, &rows[inner + first..]);
        with(f, &mut c2, &rows[2 * inner + first..]);
        with(f, &mut c3, &rows[3 * inner + first..]);
    }
    for (chain, row) in [&mut c0, &mut c1, &mut c2].into_iter().zip(four.remainder().chunks_exact(inner)) {
        with(f, chain, &row[first..]);
    }
    let (mut left, mut right) = (c0, c2);
    with(join, &mut left, &c1);
    with(join, &mut right, &c3);
    with(join, &mut left, &right);
    acc.copy_from_slice(&left);
}
