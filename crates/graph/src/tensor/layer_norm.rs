//! Layer normalization's kernels: each row (the last dim) normalized by its own mean and biased
//! variance, scaled and shifted, while the row is in cache, the rows' statistics kept for the
//! backward; the three gradients in two passes (∂x, then ∂γ and ∂β; a third first when the
//! statistics were not kept) — PyTorch's `native_layer_norm` and its backward. Row sums run
//! in 8 lanes of the element type, added up in `f64`, eight rows side by side; the weight's
//! and bias's sums over rows run in the element type over blocks of 16 rows, added up in
//! `f64`. Every loop runs in the widest SIMD copy the CPU has, to the same bits in each.

use super::lanes::{block_rows, lane_sum, lane_sums, BLOCK_ROWS};
use super::{overwritable, SavedStats, Tensor};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::shape::Shape;
use crate::simd::{run_widest, Loop};

/// The row length C of `x` (its last dim), or an error unless `x` has a dim and each of
/// `params` is `[C]`.
fn row_len(x: &Shape, params: &[&Shape]) -> Result<usize> {
    let mismatch =
        |rhs: &Shape, hint: String| Error::ShapeMismatch { op: "layer_norm", lhs: x.clone(), rhs: rhs.clone(), hint };
    let Some(&c) = x.dims().last() else {
        return Err(mismatch(params[0], "; the input must have at least one dim, the one normalized".into()));
    };
    for p in params {
        if p.dims() != [c] {
            return Err(mismatch(p, format!("; weight and bias must be [{c}], the input's last dim")));
        }
    }
    Ok(c)
}

/// Rows whose terms of the weight's and bias's gradients are summed in the element type, column
/// by column, before the sums are added up in `f64`: the columns' sums run in SIMD lanes with
/// no conversion per element (this loop's share of W7's step 1.2 % → 0.9 %).
const SUMMED_ROWS: usize = 16;

/// A layer norm's output, with each row's mean and 1/√(var + ε) where they are kept.
type WithRowStats<F> = (Tensor<F>, Vec<(F, F)>);

/// Each row's mean and 1/√(var + ε) (two passes), for a block of [`block_rows`].
#[inline(always)]
fn block_stats<F: Float>(rows: [&[F]; BLOCK_ROWS], eps: f64) -> [(F, F); BLOCK_ROWS] {
    let n = rows[0].len() as f64;
    let mut mean = [F::ZERO; BLOCK_ROWS];
    for (mean, sum) in mean.iter_mut().zip(lane_sums([rows; 3], |_, v, _, _| v)) {
        *mean = F::from_f64(sum / n);
    }
    let squares = lane_sums([rows; 3], |r, v, _, _| (v - mean[r]) * (v - mean[r]));
    let mut stats = [(F::ZERO, F::ZERO); BLOCK_ROWS];
    for ((stats, mean), squares) in stats.iter_mut().zip(mean).zip(squares) {
        *stats = (mean, F::from_f64(1.0 / (squares / n + eps).sqrt()));
    }
    stats
}

impl<F: Float> Tensor<F> {
    /// Layer normalization over the last dim: each row normalized by its own mean and biased
    /// variance, `(x − mean)/√(var + ε)`, then scaled by `weight` and shifted by `bias` (both
    /// `[C]`, C the last dim) — `torch.nn.functional.layer_norm` with `normalized_shape =
    /// [C]`. An error unless the shapes fit.
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 3.0, 0.0, 4.0], [2, 2])?;
    /// let y = x.layer_norm(&Tensor::ones([2]), &Tensor::zeros([2]), 0.0)?;
    /// assert_eq!(y.to_vec(), vec![-1.0, 1.0, -1.0, 1.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn layer_norm(&self, weight: &Tensor<F>, bias: &Tensor<F>, eps: f64) -> Result<Tensor<F>> {
        let (y, _) = self.normalize_rows(weight, bias, eps, false)?;
        Ok(y)
    }

    /// [`Tensor::layer_norm`], keeping each row's statistics in `saved` for
    /// [`Tensor::layer_norm_grads_saved`], which then does not compute them again (as
    /// [`Tensor::batch_norm_saving`] does for batch normalization).
    ///
    /// ```
    /// use tapegrad_graph::{SavedStats, Tensor};
    /// let x = Tensor::from_vec(vec![1.0, 3.0, 0.0, 4.0], [2, 2])?;
    /// let (w, b, saved) = (Tensor::ones([2]), Tensor::zeros([2]), SavedStats::default());
    /// let y = x.layer_norm_saving(&w, &b, 1e-5, &saved)?;
    /// assert!(saved.holds_stats_of(&x));
    /// let from_saved = x.layer_norm_grads_saved(&w, &y, 1e-5, [true; 3], &saved)?;
    /// assert_eq!(from_saved, x.layer_norm_grads(&w, &y, 1e-5, [true; 3])?);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn layer_norm_saving(
        &self,
        weight: &Tensor<F>,
        bias: &Tensor<F>,
        eps: f64,
        saved: &SavedStats<F>,
    ) -> Result<Tensor<F>> {
        let (y, stats) = self.normalize_rows(weight, bias, eps, true)?;
        saved.keep_rows(self, stats);
        Ok(y)
    }

    /// [`Tensor::layer_norm`], and each row's mean and 1/√(var + ε) when `keep` asks (none
    /// otherwise).
    fn normalize_rows(&self, weight: &Tensor<F>, bias: &Tensor<F>, eps: f64, keep: bool) -> Result<WithRowStats<F>> {
        let c = row_len(self.shape(), &[weight.shape(), bias.shape()])?;
        let (x, w, b) = (self.data(), weight.data(), bias.data());
        let mut out = overwritable("layer_norm", self.shape())?;
        let mut stats = Vec::new();
        if keep && !out.is_empty() {
            stats.resize(out.len() / c, (F::ZERO, F::ZERO));
            crate::threads::split_pass_with(&mut out, &mut stats, c, |first_row, y, stats| {
                let x = &x[first_row * c..];
                run_widest(NormalizeRows { x, weight: w, bias: b, eps, y, stats: Some(stats) })
            });
        } else if !out.is_empty() {
            crate::threads::split_pass(&mut out, c, |first_row, y| {
                let x = &x[first_row * c..];
                run_widest(NormalizeRows { x, weight: w, bias: b, eps, y, stats: None })
            });
        }
        Ok((Tensor::from_parts(out, self.shape().clone()), stats))
    }

    /// The gradients of [`Tensor::layer_norm`] (with respect to the input, `weight` and `bias`,
    /// each where `need` asks) for the output's gradient `g`, from the input `self`. With
    /// x_hat = (x − mean)·r, r = 1/√(var + ε) and d = g·γ per row of C:
    /// ∂x = r·(d − Σd/C − x_hat·Σd·x_hat/C), ∂γ = Σ_rows g·x_hat, ∂β = Σ_rows g. The rows'
    /// statistics are computed again (see [`Tensor::layer_norm_grads_saved`] to reuse the
    /// forward's).
    pub fn layer_norm_grads(
        &self,
        weight: &Tensor<F>,
        g: &Tensor<F>,
        eps: f64,
        need: [bool; 3],
    ) -> Result<[Option<Tensor<F>>; 3]> {
        self.layer_norm_grads_from(weight, g, eps, need, None)
    }

    /// [`Tensor::layer_norm_grads`] with the rows' statistics [`Tensor::layer_norm_saving`]
    /// kept in `saved`, taken out, when they are `self`'s; computed again otherwise. Kept
    /// statistics carry the forward's ε (in 1/√(var + ε)); `eps` is used only to compute them
    /// again, so it should be the forward's.
    pub fn layer_norm_grads_saved(
        &self,
        weight: &Tensor<F>,
        g: &Tensor<F>,
        eps: f64,
        need: [bool; 3],
        saved: &SavedStats<F>,
    ) -> Result<[Option<Tensor<F>>; 3]> {
        self.layer_norm_grads_from(weight, g, eps, need, Some(saved))
    }

    fn layer_norm_grads_from(
        &self,
        weight: &Tensor<F>,
        g: &Tensor<F>,
        eps: f64,
        need: [bool; 3],
        saved: Option<&SavedStats<F>>,
    ) -> Result<[Option<Tensor<F>>; 3]> {
        let c = row_len(self.shape(), &[weight.shape()])?;
        super::norm::gradient_fits("layer_norm", self.shape(), g.shape())?;
        let (x, gd, w) = (self.data(), g.data(), weight.data());
        // Rows of no elements (C = 0) have no chunks to walk; their gradients are all empty or 0.
        let c_rows = c.max(1);
        let kept = saved.and_then(|s| s.take_rows_for(self));
        let stats = kept.unwrap_or_else(|| run_widest(RowStats { x, c: c_rows, eps }));
        let dx = if need[0] {
            let mut out = overwritable("layer_norm", self.shape())?;
            crate::threads::split_pass(&mut out, c, |first_row, part| {
                let (x, g, stats) = (&x[first_row * c..], &gd[first_row * c..], &stats[first_row..]);
                run_widest(InputGradRows { x, g, weight: w, stats, dx: part })
            });
            Some(Tensor::from_parts(out, self.shape().clone()))
        } else {
            None
        };
        let sums = (need[1] || need[2]).then(|| run_widest(ParamGradSums { x, g: gd, stats: &stats, c }));
        let per_c =
            |values: &[f64]| Tensor::from_parts(values.iter().map(|&v| F::from_f64(v)).collect(), Shape::from(vec![c]));
        let (dweight, dbias) = match &sums {
            Some((sum_gx_hat, sum_g)) => (need[1].then(|| per_c(sum_gx_hat)), need[2].then(|| per_c(sum_g))),
            None => (None, None),
        };
        Ok([dx, dweight, dbias])
    }
}

// The loops below run in the widest SIMD copy the CPU has ([`run_widest`]): compiled once for
// the baseline, layer norm's share of W7's step was 9 %. Their sums are in fixed lanes, so
// every copy gives the same bits.

/// [`Tensor::layer_norm`] over whole rows of `weight.len()` (> 0): `y` from `x`, and each row's
/// [`block_stats`] into `stats` when given.
struct NormalizeRows<'a, F> {
    x: &'a [F],
    weight: &'a [F],
    bias: &'a [F],
    eps: f64,
    y: &'a mut [F],
    stats: Option<&'a mut [(F, F)]>,
}

impl<F: Float> Loop for NormalizeRows<'_, F> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let NormalizeRows { x, weight, bias, eps, y, stats } = self;
        let c = weight.len();
        let mut kept_blocks = stats.map(|stats| stats.chunks_mut(BLOCK_ROWS));
        for (y, x) in y.chunks_mut(BLOCK_ROWS * c).zip(x.chunks(BLOCK_ROWS * c)) {
            let mut kept = kept_blocks.as_mut().and_then(|blocks| blocks.next());
            let rows = block_rows(x, c);
            for (r, ((y, row), (mean, inv_std))) in
                y.chunks_exact_mut(c).zip(rows).zip(block_stats(rows, eps)).enumerate()
            {
                if let Some(kept) = kept.as_deref_mut() {
                    kept[r] = (mean, inv_std);
                }
                for (((y, &v), &w), &b) in y.iter_mut().zip(row).zip(weight).zip(bias) {
                    *y = (v - mean) * inv_std * w + b;
                }
            }
        }
    }
}

/// Each row's [`block_stats`], rows of `c` (> 0).
struct RowStats<'a, F> {
    x: &'a [F],
    c: usize,
    eps: f64,
}

impl<F: Float> Loop for RowStats<'_, F> {
    type Output = Vec<(F, F)>;
    #[inline(always)]
    fn run(self) -> Vec<(F, F)> {
        let rows = self.x.len() / self.c;
        let mut stats = Vec::with_capacity(rows + BLOCK_ROWS);
        for x in self.x.chunks(BLOCK_ROWS * self.c) {
            stats.extend(block_stats(block_rows(x, self.c), self.eps));
        }
        stats.truncate(rows);
        stats
    }
}

/// ∂x of [`Tensor::layer_norm_grads`] over whole rows of `weight.len()`, each row's
/// [`block_stats`] given. One row at a time: its two sums are independent, and taken eight rows
/// side by side they were no faster.
struct InputGradRows<'a, F> {
    x: &'a [F],
    g: &'a [F],
    weight: &'a [F],
    stats: &'a [(F, F)],
    dx: &'a mut [F],
}

impl<F: Float> Loop for InputGradRows<'_, F> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let InputGradRows { x, g, weight, stats, dx } = self;
        // Rows of no elements (C = 0) have no chunks to walk.
        let c = weight.len().max(1);
        let n = c as f64;
        let rows = x.chunks_exact(c).zip(g.chunks_exact(c));
        for ((dx, (row, g)), &(mean, inv_std)) in dx.chunks_exact_mut(c).zip(rows).zip(stats) {
            let mean_d = F::from_f64(lane_sum(g, weight, row, |g, w, _| g * w) / n);
            let mean_dx_hat = F::from_f64(lane_sum(g, weight, row, |g, w, v| g * w * (v - mean)) / n) * inv_std;
            for (((dx, &v), &g), &w) in dx.iter_mut().zip(row).zip(g).zip(weight) {
                let x_hat = (v - mean) * inv_std;
                *dx = (g * w - mean_d - x_hat * mean_dx_hat) * inv_std;
            }
        }
    }
}

/// ∂γ's and ∂β's sums over the rows, Σ g·x̂ and Σ g, rows of `c` (which may be 0) with their
/// [`block_stats`], [`SUMMED_ROWS`] at a time in the element type.
struct ParamGradSums<'a, F> {
    x: &'a [F],
    g: &'a [F],
    stats: &'a [(F, F)],
    c: usize,
}

impl<F: Float> Loop for ParamGradSums<'_, F> {
    type Output = (Vec<f64>, Vec<f64>);
    #[inline(always)]
    fn run(self) -> (Vec<f64>, Vec<f64>) {
        let ParamGradSums { x, g, stats, c } = self;
        let (mut sum_gx_hat, mut sum_g) = (vec![0.0f64; c], vec![0.0f64; c]);
        let (mut block_gx_hat, mut block_g) = (vec![F::ZERO; c], vec![F::ZERO; c]);
        let rows = x.chunks_exact(c.max(1)).zip(g.chunks_exact(c.max(1))).zip(stats);
        let last = stats.len().saturating_sub(1);
        for (r, ((row, g), &(mean, inv_std))) in rows.enumerate() {
            for (((s, t), &v), &g) in block_gx_hat.iter_mut().zip(block_g.iter_mut()).zip(row).zip(g) {
                *s += g * (v - mean) * inv_std;
                *t += g;
            }
            if r % SUMMED_ROWS == SUMMED_ROWS - 1 || r == last {
                for (sum, block) in
                    sum_gx_hat.iter_mut().zip(&mut block_gx_hat).chain(sum_g.iter_mut().zip(&mut block_g))
                {
                    *sum += block.to_f64();
                    *block = F::ZERO;
                }
            }
        }
        (sum_gx_hat, sum_g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fused kernels against the formulas composed of plain tensor ops, in `f64`, over 21
    /// rows (blocks of 16 rows' parameter sums and of eight rows' statistics, and partial ones).
    #[test]
    fn kernels_match_the_composed_formulas() {
        let rng = &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(3);
        let x = Tensor::<f64>::uniform([3, 7, 5], -2.0, 3.0, rng);
        let (w, b) = (Tensor::uniform([5], 0.5, 1.5, rng), Tensor::uniform([5], -1.0, 1.0, rng));
        let g = Tensor::<f64>::uniform([3, 7, 5], -1.0, 1.0, rng);
        let y = x.layer_norm(&w, &b, 1e-5).unwrap();
        let [dx, dw, db] = x.layer_norm_grads(&w, &g, 1e-5, [true; 3]).unwrap();
        let (dx, dw, db) = (dx.unwrap().to_vec(), dw.unwrap().to_vec(), db.unwrap().to_vec());
        let (xs, gs, ws, bs) = (x.to_vec(), g.to_vec(), w.to_vec(), b.to_vec());
        let (mut want_dw, mut want_db) = (vec![0.0; 5], vec![0.0; 5]);
        for r in 0..21 {
            let row = &xs[r * 5..r * 5 + 5];
            let mean = row.iter().sum::<f64>() / 5.0;
            let inv_std = 1.0 / (row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 5.0 + 1e-5).sqrt();
            let x_hat: Vec<f64> = row.iter().map(|v| (v - mean) * inv_std).collect();
            let d: Vec<f64> = (0..5).map(|k| gs[r * 5 + k] * ws[k]).collect();
            let mean_d = d.iter().sum::<f64>() / 5.0;
            let mean_dx_hat = (0..5).map(|k| d[k] * x_hat[k]).sum::<f64>() / 5.0;
            for k in 0..5 {
                assert!((y.to_vec()[r * 5 + k] - (x_hat[k] * ws[k] + bs[k])).abs() < 1e-12);
                assert!((dx[r * 5 + k] - inv_std * (d[k] - mean_d - x_hat[k] * mean_dx_hat)).abs() < 1e-12);
                want_dw[k] += gs[r * 5 + k] * x_hat[k];
                want_db[k] += gs[r * 5 + k];
            }
        }
        for k in 0..5 {
            assert!((dw[k] - want_dw[k]).abs() < 1e-12 && (db[k] - want_db[k]).abs() < 1e-12);
        }
        assert!(x.layer_norm(&Tensor::ones([7]), &b, 1e-5).is_err());
        assert!(Tensor::<f64>::scalar(1.0).layer_norm(&w, &b, 1e-5).is_err());
        // Empty rows and no rows: empty results and zero parameter gradients, no panic.
        for dims in [[3, 0], [0, 5]] {
            let (x, c) = (Tensor::<f64>::zeros(dims), dims[1]);
            let (w, b) = (Tensor::ones([c]), Tensor::zeros([c]));
            assert_eq!(x.layer_norm(&w, &b, 1e-5).unwrap().numel(), 0);
            let [dx, dw, db] = x.layer_norm_grads(&w, &x, 1e-5, [true; 3]).unwrap();
            assert_eq!(dx.unwrap().numel(), 0);
            assert!(dw.unwrap().to_vec().iter().chain(&db.unwrap().to_vec()).all(|&v| v == 0.0));
        }
    }

    /// Split over two threads (rows are independent), the result is the one-thread result, and
    /// the AVX2 copy's is the widest copy's (the formulas' test above has a block cut short).
    #[test]
    fn two_threads_give_the_one_thread_result() {
        let rng = &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(4);
        let x = Tensor::<f32>::uniform([64, 16, 64], -2.0, 3.0, rng);
        let (w, b) = (Tensor::uniform([64], 0.5, 1.5, rng), Tensor::uniform([64], -1.0, 1.0, rng));
        let g = Tensor::<f32>::uniform([64, 16, 64], -1.0, 1.0, rng);
        let run = |threads| {
            crate::set_num_threads(threads);
            let y = x.layer_norm(&w, &b, 1e-5).unwrap().to_vec();
            let grads = x.layer_norm_grads(&w, &g, 1e-5, [true; 3]).unwrap();
            (y, grads.map(|t| t.unwrap().to_vec()))
        };
        let one = run(1);
        assert_eq!(run(2), one);
        crate::set_num_threads(0);
        // And in AVX2 (the widest copy may be AVX-512), as in the baseline copy under Miri.
        let avx2 = crate::simd::SimdLevel::at_most_avx2(|| run(1));
        assert_eq!(avx2, one);
    }

    /// The statistics the forward keeps give the backward the bits it computes without them,
    /// on one thread and on two whose parts end mid-block (1,003 rows), and are taken by it;
    /// kept for one input, they are not used for another, nor by batch norm's backward.
    #[test]
    fn kept_statistics_give_the_computed_gradients() {
        let rng = &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(5);
        let x = Tensor::<f32>::uniform([1003, 64], -2.0, 3.0, rng);
        let other = Tensor::<f32>::uniform([1003, 64], -2.0, 3.0, rng);
        let (w, b) = (Tensor::uniform([64], 0.5, 1.5, rng), Tensor::uniform([64], -1.0, 1.0, rng));
        let g = Tensor::<f32>::uniform([1003, 64], -1.0, 1.0, rng);
        for threads in [1, 2] {
            crate::set_num_threads(threads);
            let saved = SavedStats::default();
            let y = x.layer_norm_saving(&w, &b, 1e-5, &saved).unwrap();
            assert_eq!(y, x.layer_norm(&w, &b, 1e-5).unwrap());
            assert!(saved.holds_stats_of(&x) && !saved.holds_stats_of(&other));
            let computed = other.layer_norm_grads(&w, &g, 1e-5, [true; 3]).unwrap();
            assert_eq!(other.layer_norm_grads_saved(&w, &g, 1e-5, [true; 3], &saved).unwrap(), computed);
            assert!(saved.holds_stats_of(&x), "kept for x, not taken for another input");
            x.batch_norm_grads_saved(&w, &g, 1e-5, [true; 3], &saved).unwrap();
            assert!(saved.holds_stats_of(&x), "rows' statistics, not taken by batch norm");
            let computed = x.layer_norm_grads(&w, &g, 1e-5, [true; 3]).unwrap();
            assert_eq!(x.layer_norm_grads_saved(&w, &g, 1e-5, [true; 3], &saved).unwrap(), computed);
            assert!(!saved.holds_stats_of(&x), "taken by the backward");
        }
        crate::set_num_threads(0);
    }
}
