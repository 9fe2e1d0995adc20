//! Picking positions rather than values: argmax / argmin, top-k, and sampling classes from
//! probabilities. None of these is differentiable; `Var::topk` gathers its values so they are.

use super::layout::outer_inner;
use super::{Indices, Tensor};
use crate::error::{Error, Result};
use crate::float::Float;
use rand::Rng;

impl<F: Float> Tensor<F> {
    /// The index of the largest element along `axis` (that axis removed from the shape), the
    /// first one on ties, and a NaN's if there is one — as `torch.argmax`.
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let scores = Tensor::from_vec(vec![0.1, 0.7, 0.2, 0.9, 0.05, 0.05], [2, 3])?;
    /// assert_eq!(scores.argmax(-1)?.data(), &[1, 0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn argmax(&self, axis: isize) -> Result<Indices> {
        self.arg_best("argmax", axis, |candidate, best| candidate > best)
    }
    /// The index of the smallest element along `axis`, as [`Tensor::argmax`] (`torch.argmin`).
    pub fn argmin(&self, axis: isize) -> Result<Indices> {
        self.arg_best("argmin", axis, |candidate, best| candidate < best)
    }

    fn arg_best(&self, op: &'static str, axis: isize, better: impl Fn(F, F) -> bool) -> Result<Indices> {
        let (axis, size, outer, inner) = self.lanes(op, axis)?;
        if size == 0 {
            return Err(Error::Empty { op, what: "the reduced axis" });
        }
        let data = self.data();
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| data[(o * size + k) * inner + i];
                let mut best = 0;
                for k in 1..size {
                    let (v, b) = (at(k), at(best));
                    if !b.is_nan() && (v.is_nan() || better(v, b)) {
                        best = k;
                    }
                }
                out.push(best);
            }
        }
        let shape = self.shape().reduced(&[axis], false);
        Indices::new(out, shape)
    }

    /// The positions of the `k` largest elements along `axis`, largest first (NaN counts as
    /// largest, ties keep their order), as `torch.topk(…).indices`; the values are
    /// `gather(axis, &indices)` (see `Var::topk`).
    pub fn topk_indices(&self, k: usize, axis: isize) -> Result<Indices> {
        let (axis, size, outer, inner) = self.lanes("topk", axis)?;
        if k > size {
            return Err(Error::InvalidArgument {
                op: "topk",
                message: format!("k = {k} is more than the {size} elements along axis {axis}"),
            });
        }
        let data = self.data();
        let mut out = vec![0; outer * k * inner];
        let mut order: Vec<usize> = Vec::with_capacity(size);
        for o in 0..outer {
            for i in 0..inner {
                let at = |j: usize| data[(o * size + j) * inner + i];
                order.clear();
                order.extend(0..size);
                order.sort_by(|&p, &q| {
                    let (a, b) = (at(p), at(q));
                    match (a.is_nan(), b.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Less,
                        (false, true) => std::cmp::Ordering::Greater,
                        _ => b.partial_cmp(&a).unwrap_or(std::cmp::Ordering::Equal),
                    }
                });
                for (rank, &j) in order.iter().take(k).enumerate() {
                    out[(o * k + rank) * inner + i] = j;
                }
            }
        }
        let mut shape = self.shape().clone();
        shape.0[axis] = k;
        Indices::new(out, shape)
    }

    /// Draws `samples` class indices per row from a `[classes]` or `[rows, classes]` tensor of
    /// non-negative weights (probabilities, not necessarily normalised), with replacement and
    /// the caller's RNG, as `torch.multinomial(…, replacement=True)`. The result is
    /// `[samples]` or `[rows, samples]`.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_graph::Tensor;
    /// let probs = Tensor::from_vec(vec![0.0, 1.0, 0.0], [3])?;
    /// let drawn = probs.multinomial(5, &mut StdRng::seed_from_u64(0))?;
    /// assert_eq!(drawn.data(), &[1, 1, 1, 1, 1]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn multinomial<R: Rng + ?Sized>(&self, samples: usize, rng: &mut R) -> Result<Indices> {
        if self.ndim() != 1 && self.ndim() != 2 {
            return Err(Error::InvalidArgument {
                op: "multinomial",
                message: format!("needs [classes] or [rows, classes] weights, got shape {}", self.shape()),
            });
        }
        let classes = self.dims()[self.ndim() - 1];
        let rows = if self.ndim() == 2 { self.dims()[0] } else { 1 };
        let mut out = Vec::new();
        out.try_reserve_exact(rows.saturating_mul(samples))
            .map_err(|_| Error::TooLarge { op: "multinomial", shape: [rows, samples].into() })?;
        for r in 0..rows {
            let row = &self.data()[r * classes..(r + 1) * classes];
            let mut total = 0.0;
            for &w in row {
                let w = w.to_f64();
                if !(w >= 0.0 && w.is_finite()) {
                    return Err(Error::InvalidArgument {
                        op: "multinomial",
                        message: format!("row {r} has the weight {w}; weights must be finite and non-negative"),
                    });
                }
                total += w;
            }
            if total <= 0.0 {
                return Err(Error::InvalidArgument {
                    op: "multinomial",
                    message: format!("row {r} has no positive weight"),
                });
            }
            for _ in 0..samples {
                let mut target = rng.random::<f64>() * total;
                let mut chosen = classes - 1;
                for (c, &w) in row.iter().enumerate() {
                    let w = w.to_f64();
                    if target < w {
                        chosen = c;
                        break;
                    }
                    target -= w;
                }
                // Rounding can leave the draw past the last class with weight: take that one.
                while row[chosen].to_f64() == 0.0 {
                    chosen -= 1;
                }
                out.push(chosen);
            }
        }
        let shape: crate::shape::Shape = if self.ndim() == 2 { [rows, samples].into() } else { [samples].into() };
        Indices::new(out, shape)
    }

    /// The resolved axis, its size, and the products of the dims before and after it.
    fn lanes(&self, op: &'static str, axis: isize) -> Result<(usize, usize, usize, usize)> {
        let axis = self.shape().axis(op, axis)?;
        let (outer, inner) = outer_inner(self.dims(), axis);
        Ok((axis, self.dims()[axis], outer, inner))
    }
}
