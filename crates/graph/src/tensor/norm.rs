//! Batch normalization's kernels: each channel's statistics, the normalized, scaled and shifted
//! output in one pass, and the three gradients in two (PyTorch's `native_batch_norm` and its
//! backward). Statistics and per-channel sums are accumulated in `f64`, as PyTorch does on CPU.

use super::{buffer, reserved, Tensor};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::shape::Shape;

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

/// An `[N, C, …]` input seen as `n` blocks of `c` channels of `s` consecutive elements.
#[derive(Clone, Copy)]
struct Channels {
    n: usize,
    c: usize,
    s: usize,
}

impl Channels {
    /// The layout of `x`, or an error unless `x` has at least 2 dims and `weight` and `bias`
    /// are `[C]`.
    fn of(x: &Shape, weight: &Shape, bias: &Shape) -> Result<Channels> {
        let mismatch = |rhs: &Shape, hint: String| Error::ShapeMismatch {
            op: "batch_norm",
            lhs: x.clone(),
            rhs: rhs.clone(),
            hint,
        };
        let dims = x.dims();
        if dims.len() < 2 {
            return Err(mismatch(weight, "; the input must be [N, C, …]".into()));
        }
        let c = dims[1];
        for p in [weight, bias] {
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
    /// `visit(channel, block)` for every run of one channel's consecutive elements, in memory
    /// order.
    fn for_each_block<'a, T>(self, data: &'a [T], mut visit: impl FnMut(usize, &'a [T])) {
        if self.s == 0 {
            return;
        }
        for (i, block) in data.chunks_exact(self.s).enumerate() {
            visit(i % self.c, block);
        }
    }
}

/// Σ f(v) over `values` in `f64`, in eight independent partial sums (one chain of dependent
/// additions waits on each one's latency).
fn sum_f64<F: Float>(values: &[F], f: impl Fn(F) -> f64) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = values.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().map(|&v| f(v)).sum();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += f(v);
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// Each channel's mean and biased variance, in two passes (the variance from the centered
/// values, not from Σx² − (Σx)², which cancels).
fn channel_stats<F: Float>(data: &[F], layout: Channels) -> (Vec<f64>, Vec<f64>) {
    let count = layout.count() as f64;
    let mut mean = vec![0.0f64; layout.c];
    layout.for_each_block(data, |ch, block| mean[ch] += sum_f64(block, F::to_f64));
    mean.iter_mut().for_each(|m| *m /= count);
    let mut var = vec![0.0f64; layout.c];
    layout.for_each_block(data, |ch, block| {
        let m = mean[ch];
        var[ch] += sum_f64(block, |v| (v.to_f64() - m) * (v.to_f64() - m));
    });
    var.iter_mut().for_each(|v| *v /= count);
    (mean, var)
}

fn per_channel<F: Float>(values: &[f64]) -> Tensor<F> {
    Tensor::from_parts(values.iter().map(|&v| F::from_f64(v)).collect(), Shape::from(vec![values.len()]))
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
        let layout = Channels::of(self.shape(), weight.shape(), bias.shape())?;
        let (mean, var) = channel_stats(self.data(), layout);
        // y = x·a + b per channel, a = γ/√(var + ε), b = β − mean·a (PyTorch's CPU kernel).
        let (w, b) = (weight.data(), bias.data());
        let scale: Vec<F> = (0..layout.c).map(|ch| F::from_f64(w[ch].to_f64() / (var[ch] + eps).sqrt())).collect();
        let shift: Vec<F> = (0..layout.c)
            .map(|ch| F::from_f64(b[ch].to_f64() - mean[ch] * w[ch].to_f64() / (var[ch] + eps).sqrt()))
            .collect();
        let mut out = buffer("batch_norm", self.shape())?;
        layout.for_each_block(self.data(), |ch, block| {
            let (a, b) = (scale[ch], shift[ch]);
            out.extend(block.iter().map(|&v| v * a + b));
        });
        let stats = ChannelStats { mean: per_channel(&mean), var: per_channel(&var), count: layout.count() };
        Ok((Tensor::from_parts(out, self.shape().clone()), stats))
    }

    /// The gradients of [`Tensor::batch_norm`] (with respect to the input, `weight` and `bias`,
    /// each where `need` asks) for the output's gradient `g`, from the input `self`: the
    /// statistics again, then one pass for each channel's Σg and Σg·x̂ and one for
    /// `∂x = γ/√(var + ε) · (g − Σg/M − x̂·Σg·x̂/M)` (M elements per channel,
    /// x̂ = (x − mean)/√(var + ε)).
    pub fn batch_norm_grads(
        &self,
        weight: &Tensor<F>,
        g: &Tensor<F>,
        eps: f64,
        need: [bool; 3],
    ) -> Result<[Option<Tensor<F>>; 3]> {
        let layout = Channels::of(self.shape(), weight.shape(), weight.shape())?;
        if g.shape() != self.shape() {
            return Err(Error::ShapeMismatch {
                op: "batch_norm",
                lhs: self.shape().clone(),
                rhs: g.shape().clone(),
                hint: "; the gradient must have the input's shape".into(),
            });
        }
        let (mean, var) = channel_stats(self.data(), layout);
        let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        let (mut sum_g, mut sum_gc) = (vec![0.0f64; layout.c], vec![0.0f64; layout.c]);
        let (x, gd) = (self.data(), g.data());
        if layout.s > 0 {
            for (i, (xb, gb)) in x.chunks_exact(layout.s).zip(gd.chunks_exact(layout.s)).enumerate() {
                let ch = i % layout.c;
                sum_g[ch] += sum_f64(gb, F::to_f64);
                let m = mean[ch];
                let mut lanes = [0.0f64; 4];
                let (xc, gc) = (xb.chunks_exact(4), gb.chunks_exact(4));
                let tail: f64 =
                    xc.remainder().iter().zip(gc.remainder()).map(|(&v, &d)| d.to_f64() * (v.to_f64() - m)).sum();
                for (xs, gs) in xc.zip(gc) {
                    for l in 0..4 {
                        lanes[l] += gs[l].to_f64() * (xs[l].to_f64() - m);
                    }
                }
                sum_gc[ch] += lanes.iter().sum::<f64>() + tail;
            }
        }
        let dx = need[0].then(|| {
            let count = layout.count() as f64;
            let w = weight.data();
            // ∂x = ((g − Σg/M) − (x − mean)·k)·a with k = Σg(x − mean)/M / (var + ε) and
            // a = γ/√(var + ε), per channel.
            let constants: Vec<[F; 4]> = (0..layout.c)
                .map(|ch| {
                    let k = sum_gc[ch] / count * inv_std[ch] * inv_std[ch];
                    [sum_g[ch] / count, mean[ch], k, w[ch].to_f64() * inv_std[ch]].map(F::from_f64)
                })
                .collect();
            let mut out = reserved(x.len());
            if layout.s > 0 {
                for (i, (xb, gb)) in x.chunks_exact(layout.s).zip(gd.chunks_exact(layout.s)).enumerate() {
                    let [mean_g, m, k, a] = constants[i % layout.c];
                    out.extend(xb.iter().zip(gb).map(|(&v, &d)| ((d - mean_g) - (v - m) * k) * a));
                }
            }
            Tensor::from_parts(out, self.shape().clone())
        });
        let dweight = need[1].then(|| {
            let sums: Vec<f64> = sum_gc.iter().zip(&inv_std).map(|(s, i)| s * i).collect();
            per_channel(&sums)
        });
        let dbias = need[2].then(|| per_channel(&sum_g));
        Ok([dx, dweight, dbias])
    }
}
