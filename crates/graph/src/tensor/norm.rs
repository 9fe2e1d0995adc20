//! Batch normalization's kernels: each channel's statistics, the normalized, scaled and shifted
//! output in one pass, and the three gradients in two (PyTorch's `native_batch_norm` and its
//! backward). Statistics and per-channel sums are accumulated in `f64`, as PyTorch does on CPU.

use super::lanes::add_lanes;
use super::{overwritable, Tensor};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::shape::Shape;
use std::sync::{Arc, Mutex, PoisonError};

/// A batch's statistics, one per channel: what [`Tensor::batch_norm`] normalized with.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelStats<F: Float> {
    /// Each channel's mean, `[C]`.
    pub mean: Tensor<F>,
    /// Each channel's biased variance (divided by the count), `[C]`.
    pub var: Tensor<F>,
    /// How many elements each channel has (`N` times the spatial size): the running
    /// variance's unbiased estimate is `var · count / (count − 1)`.
    pub count: usize,
}

/// A normalization's statistics as its forward computed them, kept for its backward with the
/// input they describe (PyTorch's `save_mean` / `save_invstd`): the backward reads them
/// instead of passing over the input again. A recorded batch or layer normalization carries
/// one ([`Op::BatchNorm`](crate::op::Op::BatchNorm), [`Op::LayerNorm`](crate::op::Op::LayerNorm));
/// its clones share it.
///
/// Kept statistics are only used for that very input: holding the input keeps its elements
/// from being written (a tensor is written in place only through its one handle), so a
/// tensor sharing its buffer and shape has the same values. Anything else — another input, or
/// an input an optimizer has since updated — has its statistics computed again.
///
/// ```
/// use tapegrad_graph::{SavedStats, Tensor};
/// let x = Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0], [2, 2])?;
/// let (w, b, saved) = (Tensor::ones([2]), Tensor::zeros([2]), SavedStats::default());
/// let (y, _) = x.batch_norm_saving(&w, &b, 1e-5, &saved)?;
/// let from_saved = x.batch_norm_grads_saved(&w, &y, 1e-5, [true; 3], &saved)?;
/// assert_eq!(from_saved, x.batch_norm_grads(&w, &y, 1e-5, [true; 3])?);
/// # Ok::<(), tapegrad_graph::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct SavedStats<F> {
    slot: Arc<Mutex<Option<Saved<F>>>>,
}

/// Kept statistics with the input they are of.
struct Saved<F> {
    input: Tensor<F>,
    stats: Kept<F>,
}

/// Batch normalization's statistics (each channel's mean and biased variance, in `f64`) or
/// layer normalization's (each row's mean and 1/√(var + ε), in the element type).
enum Kept<F> {
    Channels { mean: Vec<f64>, var: Vec<f64> },
    Rows(Vec<(F, F)>),
}

impl<F: Float> SavedStats<F> {
    fn keep(&self, input: &Tensor<F>, stats: Kept<F>) {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(Saved { input: input.clone(), stats });
    }

    /// Keeps layer normalization's row statistics of `input`.
    pub(super) fn keep_rows(&self, input: &Tensor<F>, rows: Vec<(F, F)>) {
        self.keep(input, Kept::Rows(rows));
    }

    /// True when statistics are kept and they are `input`'s.
    pub fn holds_stats_of(&self, input: &Tensor<F>) -> bool {
        let slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref().is_some_and(|s| s.is_of(input))
    }

    /// The statistics kept for `input` as `unpack` reads them (`Err` for the other kind),
    /// taken out (so the input is no longer held); `None`, with nothing taken, when none are
    /// kept, they are another tensor's or of the other kind.
    fn take_for<T>(&self, input: &Tensor<F>, unpack: impl FnOnce(Kept<F>) -> Result<T, Kept<F>>) -> Option<T> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        let saved = slot.take_if(|s| s.is_of(input))?;
        match unpack(saved.stats) {
            Ok(stats) => Some(stats),
            Err(stats) => {
                *slot = Some(Saved { input: saved.input, stats });
                None
            }
        }
    }

    /// Batch normalization's statistics kept for `input` (each channel's mean and variance),
    /// taken out; `None` unless kept for it.
    fn take_channels_for(&self, input: &Tensor<F>) -> Option<(Vec<f64>, Vec<f64>)> {
        self.take_for(input, |kept| match kept {
            Kept::Channels { mean, var } => Ok((mean, var)),
            rows @ Kept::Rows(_) => Err(rows),
        })
    }

    /// Layer normalization's statistics kept for `input` (each row's mean and 1/√(var + ε)),
    /// taken out; `None` unless kept for it.
    pub(super) fn take_rows_for(&self, input: &Tensor<F>) -> Option<Vec<(F, F)>> {
        self.take_for(input, |kept| match kept {
            Kept::Rows(rows) => Ok(rows),
            channels @ Kept::Channels { .. } => Err(channels),
        })
    }
}

impl<F: Float> Saved<F> {
    fn is_of(&self, input: &Tensor<F>) -> bool {
        self.input.shares_storage(input) && self.input.shape() == input.shape()
    }
}

impl<F> std::fmt::Debug for SavedStats<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.slot.lock().is_ok_and(|s| s.is_some());
        write!(f, "SavedStats {{ kept: {kept} }}")
    }
}

/// An `[N, C, …]` input seen as `n` blocks of `c` channels of `s` consecutive elements.
#[derive(Clone, Copy)]
struct Channels {
    n: usize,
    c: usize,
    s: usize,
}

impl Channels {
    /// The layout of `x`, or an error unless `x` has at least 2 dims and each of `params` is
    /// `[C]`.
    fn of(x: &Shape, params: &[&Shape]) -> Result<Channels> {
        let mismatch = |rhs: &Shape, hint: String| Error::ShapeMismatch {
            op: "batch_norm",
            lhs: x.clone(),
            rhs: rhs.clone(),
            hint,
        };
        let dims = x.dims();
        if dims.len() < 2 {
            return Err(mismatch(params[0], "; the input must be [N, C, …]".into()));
        }
        let c = dims[1];
        for p in params {
            if p.dims() != [c] {
                return Err(mismatch(p, format!("; weight and bias must be [{c}], one per channel")));
            }
        }
        // Saturating: only a tensor with no elements can have dims whose product overflows,
        // and then it is 0 whenever one of them is.
        Ok(Channels { n: dims[0], c, s: dims[2..].iter().fold(1, |p: usize, &d| p.saturating_mul(d)) })
    }

    /// Elements per channel.
    fn count(self) -> usize {
        self.n.saturating_mul(self.s)
    }

    /// Threads for a pass over the input.
    fn threads(self) -> usize {
        crate::threads::threads_for_elements(self.count().saturating_mul(self.c))
    }

    /// For every channel, the `K` sums that `add_block(channel, start, lanes)` adds each of
    /// its blocks (the `s` elements from `start` on) into, in eight partial sums per sum (see
    /// [`add_lanes`]) carried from block to block and added up at the end. The channels are
    /// split over threads, so each sum is the same whatever their number.
    fn sums<const K: usize>(self, add_block: impl Fn(usize, usize, &mut [[f64; 8]; K]) + Sync) -> Vec<[f64; K]> {
        let mut lanes = vec![[[0.0; 8]; K]; self.c];
        if self.s > 0 {
            crate::threads::for_each_chunk(&mut lanes, 1, self.threads(), |first, part| {
                for example in 0..self.n {
                    for (i, lanes) in part.iter_mut().enumerate() {
                        add_block(first + i, (example * self.c + first + i) * self.s, lanes);
                    }
                }
            });
        }
        lanes.iter().map(|sums| sums.map(|lanes| lanes.iter().sum())).collect()
    }

    /// An output of the input's size whose every block is `write(channel, start, block)`,
    /// the examples split over threads.
    fn map_blocks<F: Float>(self, shape: &Shape, write: impl Fn(usize, usize, &mut [F]) + Sync) -> Result<Vec<F>> {
        let mut out = overwritable("batch_norm", shape)?;
        if self.s == 0 {
            return Ok(out);
        }
        let example = self.c * self.s;
        crate::threads::for_each_chunk(&mut out, example, self.threads(), |first, part| {
            for (i, block) in part.chunks_exact_mut(self.s).enumerate() {
                write(i % self.c, first * example + i * self.s, block);
            }
        });
        Ok(out)
    }
}

/// Each channel's mean and biased variance, in two passes (the variance from the centered
/// values, not from Σx² − (Σx)², which cancels).
fn channel_stats<F: Float>(x: &[F], layout: Channels) -> (Vec<f64>, Vec<f64>) {
    let count = layout.count() as f64;
    let s = layout.s;
    let block = |start: usize| &x[start..start + s];
    let mean: Vec<f64> = layout
        .sums(|_, start, [lanes]| add_lanes(lanes, block(start), block(start), block(start), |v, _, _| v))
        .iter()
        .map(|[t]| t / count)
        .collect();
    let var = layout
        .sums(|ch, start, [lanes]| {
            let m = F::from_f64(mean[ch]);
            add_lanes(lanes, block(start), block(start), block(start), |v, _, _| (v - m) * (v - m))
        })
        .iter()
        .map(|[t]| t / count)
        .collect();
    (mean, var)
}

/// An error unless a normalization's output gradient has its input's shape.
pub(super) fn gradient_fits(op: &'static str, x: &Shape, g: &Shape) -> Result<()> {
    if g == x {
        return Ok(());
    }
    Err(Error::ShapeMismatch {
        op,
        lhs: x.clone(),
        rhs: g.clone(),
        hint: "; the gradient must have the input's shape".into(),
    })
}

fn per_channel<F: Float>(values: impl Iterator<Item = f64>) -> Tensor<F> {
    let values: Vec<F> = values.map(F::from_f64).collect();
    let c = values.len();
    Tensor::from_parts(values, Shape::from(vec![c]))
}

impl<F: Float> Tensor<F> {
    /// Batch normalization of an `[N, C, …]` tensor over every dim but the channels (dim 1):
    /// `(x − mean) / √(var + eps) · weight + bias` with each channel's batch mean and biased
    /// variance, `weight` and `bias` `[C]` (`torch.nn.functional.batch_norm` in training
    /// mode). Returns the statistics it used too.
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0], [2, 2])?;
    /// let (y, stats) = x.batch_norm(&Tensor::ones([2]), &Tensor::zeros([2]), 0.0)?;
    /// assert_eq!(y.to_vec(), vec![-1.0, -1.0, 1.0, 1.0]);
    /// assert_eq!((stats.mean.to_vec(), stats.var.to_vec()), (vec![2.0, 20.0], vec![1.0, 100.0]));
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn batch_norm(&self, weight: &Tensor<F>, bias: &Tensor<F>, eps: f64) -> Result<(Tensor<F>, ChannelStats<F>)> {
        self.batch_norm_keeping(weight, bias, eps, None)
    }

    /// [`Tensor::batch_norm`], keeping its statistics in `saved` for
    /// [`Tensor::batch_norm_grads_saved`].
    pub fn batch_norm_saving(
        &self,
        weight: &Tensor<F>,
        bias: &Tensor<F>,
        eps: f64,
        saved: &SavedStats<F>,
    ) -> Result<(Tensor<F>, ChannelStats<F>)> {
        self.batch_norm_keeping(weight, bias, eps, Some(saved))
    }

    fn batch_norm_keeping(
        &self,
        weight: &Tensor<F>,
        bias: &Tensor<F>,
        eps: f64,
        saved: Option<&SavedStats<F>>,
    ) -> Result<(Tensor<F>, ChannelStats<F>)> {
        let layout = Channels::of(self.shape(), &[weight.shape(), bias.shape()])?;
        let (mean, var) = channel_stats(self.data(), layout);
        if let Some(saved) = saved {
            saved.keep(self, Kept::Channels { mean: mean.clone(), var: var.clone() });
        }
        // y = x·a + b per channel, a = γ/√(var + ε), b = β − mean·a (PyTorch's CPU kernel).
        let (w, b) = (weight.data(), bias.data());
        let (scale, shift): (Vec<F>, Vec<F>) = (0..layout.c)
            .map(|ch| {
                let a = w[ch].to_f64() / (var[ch] + eps).sqrt();
                (F::from_f64(a), F::from_f64(b[ch].to_f64() - mean[ch] * a))
            })
            .unzip();
        let x = self.data();
        let out = layout.map_blocks(self.shape(), |ch, start, block| {
            let (a, b) = (scale[ch], shift[ch]);
            block.iter_mut().zip(&x[start..]).for_each(|(y, &v)| *y = v * a + b);
        })?;
        let stats = ChannelStats {
            mean: per_channel(mean.into_iter()),
            var: per_channel(var.into_iter()),
            count: layout.count(),
        };
        Ok((Tensor::from_parts(out, self.shape().clone()), stats))
    }

    /// The gradients of [`Tensor::batch_norm`] (with respect to the input, `weight` and `bias`,
    /// each where `need` asks) for the output's gradient `g`, from the input `self`: the
    /// statistics again (see [`Tensor::batch_norm_grads_saved`] to reuse the forward's), then
    /// one pass for each channel's Σg and Σg·x̂ and one for
    /// `∂x = γ/√(var + ε) · (g − Σg/M − x̂·Σg·x̂/M)` (M elements per channel,
    /// x̂ = (x − mean)/√(var + ε)).
    pub fn batch_norm_grads(
        &self,
        weight: &Tensor<F>,
        g: &Tensor<F>,
        eps: f64,
        need: [bool; 3],
    ) -> Result<[Option<Tensor<F>>; 3]> {
        self.batch_norm_grads_from(weight, g, eps, need, None)
    }

    /// [`Tensor::batch_norm_grads`] with the statistics the forward kept in `saved` when they
    /// are this input's (taking them out), computed again otherwise: the same values either
    /// way, two passes over the input fewer with them.
    pub fn batch_norm_grads_saved(
        &self,
        weight: &Tensor<F>,
        g: &Tensor<F>,
        eps: f64,
        need: [bool; 3],
        saved: &SavedStats<F>,
    ) -> Result<[Option<Tensor<F>>; 3]> {
        self.batch_norm_grads_from(weight, g, eps, need, Some(saved))
    }

    fn batch_norm_grads_from(
        &self,
        weight: &Tensor<F>,
        g: &Tensor<F>,
        eps: f64,
        need: [bool; 3],
        saved: Option<&SavedStats<F>>,
    ) -> Result<[Option<Tensor<F>>; 3]> {
        let layout = Channels::of(self.shape(), &[weight.shape()])?;
        gradient_fits("batch_norm", self.shape(), g.shape())?;
        let (x, gd) = (self.data(), g.data());
        let (mean, var) = saved.and_then(|s| s.take_channels_for(self)).unwrap_or_else(|| channel_stats(x, layout));
        let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        let s = layout.s;
        // Each channel's Σg and Σg·(x − mean).
        let sums = layout.sums(|ch, start, [sum_g, sum_gc]| {
            let (xb, gb) = (&x[start..start + s], &gd[start..start + s]);
            let m = F::from_f64(mean[ch]);
            add_lanes(sum_g, gb, gb, gb, |d, _, _| d);
            add_lanes(sum_gc, xb, gb, gb, |v, d, _| d * (v - m));
        });
        let dx = if need[0] {
            let count = layout.count() as f64;
            let w = weight.data();
            // ∂x = ((g − Σg/M) − (x − mean)·k)·a with k = Σg(x − mean)/M / (var + ε) and
            // a = γ/√(var + ε), per channel.
            let constants: Vec<[F; 4]> = (0..layout.c)
                .map(|ch| {
                    let [sum_g, sum_gc] = sums[ch];
                    let k = sum_gc / count * inv_std[ch] * inv_std[ch];
                    [sum_g / count, mean[ch], k, w[ch].to_f64() * inv_std[ch]].map(F::from_f64)
                })
                .collect();
            let out = layout.map_blocks(self.shape(), |ch, start, block| {
                let [mean_g, m, k, a] = constants[ch];
                for ((y, &v), &d) in block.iter_mut().zip(&x[start..]).zip(&gd[start..]) {
                    *y = ((d - mean_g) - (v - m) * k) * a;
                }
            })?;
            Some(Tensor::from_parts(out, self.shape().clone()))
        } else {
            None
        };
        let dweight = need[1].then(|| per_channel(sums.iter().zip(&inv_std).map(|([_, sum_gc], i)| sum_gc * i)));
        let dbias = need[2].then(|| per_channel(sums.iter().map(|[sum_g, _]| *sum_g)));
        Ok([dx, dweight, dbias])
    }
}
