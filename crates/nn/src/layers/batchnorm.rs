//! Batch normalization with running statistics.

use crate::error::Result;
use crate::module::{Forward, Module};
use crate::params::{Bound, ParamId, ParamStore};
use std::sync::{Mutex, PoisonError};
use tapegrad_graph::{Float, Tensor, Var};

/// The statistics a [`BatchNorm`] keeps for evaluation, as PyTorch's buffers.
#[derive(Clone, Debug, PartialEq)]
pub struct RunningStats<F: Float> {
    /// `running_mean`, starting at 0.
    pub mean: Tensor<F>,
    /// `running_var` (the unbiased batch variance, averaged), starting at 1.
    pub var: Tensor<F>,
    /// `num_batches_tracked`.
    pub batches: u64,
}

/// `torch.nn.BatchNorm1d` / `BatchNorm2d`: normalizes each channel (dim 1) of an `[N, C]`,
/// `[N, C, L]` or `[N, C, H, W]` input over every other dim, then scales and shifts it.
///
/// In training mode it normalizes with the batch's mean and biased variance and moves the
/// running statistics toward the batch's: `running ← (1 − momentum)·running + momentum·batch`,
/// with the *unbiased* variance, exactly as PyTorch. In evaluation mode it normalizes with the
/// running statistics. A [`summary`](crate::summary) and a [`Checkpoint`](super::Checkpoint)'s
/// second run leave the statistics alone (PyTorch's checkpoint moves them twice).
///
/// ```
/// use tapegrad_graph::{Graph, Tensor};
/// use tapegrad_nn::{layers::BatchNorm, Forward, Module, ParamStore};
/// let mut store = ParamStore::new();
/// let mut bn = BatchNorm::new(&mut store, "bn", 1, 1e-5, 0.1)?;
/// let g = Graph::new();
/// let x = g.constant(Tensor::from_vec(vec![1.0, 3.0], [2, 1])?);
/// let y = bn.forward(&store.bind(&g), x);
/// assert!((y.value().to_vec()[0] + 1.0).abs() < 1e-4);
/// let stats = bn.running();
/// assert_eq!(stats.mean.to_vec(), vec![0.2]); // 0.9·0 + 0.1·2
/// assert!((stats.var.to_vec()[0] - 1.1).abs() < 1e-12); // 0.9·1 + 0.1·2 (unbiased)
/// bn.set_training(false);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct BatchNorm<F: Float> {
    /// The `[C]` scale (γ), starting at 1.
    pub weight: ParamId,
    /// The `[C]` shift (β), starting at 0.
    pub bias: ParamId,
    eps: f64,
    momentum: f64,
    training: bool,
    running: Mutex<RunningStats<F>>,
}

/// `torch.nn.BatchNorm1d`: [`BatchNorm`] over `[N, C]` or `[N, C, L]`.
pub type BatchNorm1d<F> = BatchNorm<F>;
/// `torch.nn.BatchNorm2d`: [`BatchNorm`] over `[N, C, H, W]`.
pub type BatchNorm2d<F> = BatchNorm<F>;

impl<F: Float> BatchNorm<F> {
    /// A batch norm over `channels` channels named `{name}.weight` / `{name}.bias` (PyTorch's
    /// defaults are `eps` 1e-5 and `momentum` 0.1), in training mode.
    pub fn new(store: &mut ParamStore<F>, name: &str, channels: usize, eps: f64, momentum: f64) -> Result<Self> {
        let weight = store.add(format!("{name}.weight"), Tensor::ones([channels]))?;
        let bias = store.add(format!("{name}.bias"), Tensor::zeros([channels]))?;
        let running = RunningStats { mean: Tensor::zeros([channels]), var: Tensor::ones([channels]), batches: 0 };
        Ok(BatchNorm { weight, bias, eps, momentum, training: true, running: Mutex::new(running) })
    }
    /// A copy of the running statistics.
    pub fn running(&self) -> RunningStats<F> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
    /// Replaces the running statistics (e.g. loaded from a file).
    pub fn set_running(&self, stats: RunningStats<F>) {
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = stats;
    }
    /// Whether the layer is in training mode.
    pub fn is_training(&self) -> bool {
        self.training
    }
}

impl<F: Float> Module<F> for BatchNorm<F> {
    fn parameters(&self) -> Vec<ParamId> {
        vec![self.weight, self.bias]
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

impl<F: Float> Forward<F> for BatchNorm<F> {
    fn forward<'g>(&self, params: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        let dims = x.shape().dims().to_vec();
        let channels = self.running.lock().unwrap_or_else(PoisonError::into_inner).mean.numel();
        assert!(
            dims.len() >= 2 && dims[1] == channels,
            "BatchNorm: expected an [N, {channels}, …] input, got shape {:?}",
            dims
        );
        let (weight, bias) = (params.var(self.weight), params.var(self.bias));
        if self.training {
            // One recorded op with fused kernels (`Var::batch_norm`).
            let (y, batch) = x.batch_norm(weight, bias, self.eps);
            if super::updates_state() {
                let m = F::from_f64(self.momentum);
                let unbiased = F::from_f64(batch.count as f64 / (batch.count.max(2) - 1) as f64);
                let moved = |old: &Tensor<F>, batch: &Tensor<F>, scale: F| -> Tensor<F> {
                    old.zip_with(batch, "BatchNorm", |r, b| (F::ONE - m) * r + m * b * scale)
                        .expect("running statistics have one element per channel")
                };
                let mut stats = self.running.lock().unwrap_or_else(PoisonError::into_inner);
                stats.mean = moved(&stats.mean, &batch.mean, F::ONE);
                stats.var = moved(&stats.var, &batch.var, unbiased);
                stats.batches += 1;
            }
            return y;
        }
        // Evaluation: (x − mean)·(γ / √(var + ε)) + β with the running statistics; the
        // division and γ act on one number per channel, so the full-size passes are one
        // subtraction, one product and one addition (and each is an ONNX node).
        let mut per_channel = vec![1; dims.len()];
        per_channel[1] = channels;
        let stats = self.running();
        let mean = x.graph().constant(stats.mean.reshape(per_channel.clone()).expect("per-channel shape"));
        let var = x.graph().constant(stats.var.reshape(per_channel.clone()).expect("per-channel shape"));
        let scale = weight.reshape(per_channel.clone()) / (var + F::from_f64(self.eps)).sqrt();
        (x - mean) * scale + bias.reshape(per_channel)
    }
}
