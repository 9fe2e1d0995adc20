//! Normalization: batch and layer normalization, each one recorded op.

use crate::error::{expect_op, Result};
use crate::float::Float;
use crate::op::{NormArgs, Op};
use crate::tensor::ChannelStats;
use crate::tensor::SavedStats;
use crate::var::Var;

impl<'g, F: Float> Var<'g, F> {
    /// Batch normalization of an `[N, C, …]` input in training mode: each channel (dim 1)
    /// normalized by its mean and biased variance over every other dim, then scaled by
    /// `weight` and shifted by `bias` (both `[C]`) — `torch.nn.functional.batch_norm` with
    /// `training=True`. One recorded op with a fused kernel forward and backward (its gradient
    /// is recorded op by op under `grad`, so it is differentiable again). Returns the batch's
    /// statistics too, for running averages.
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.var(Tensor::from_vec(vec![1.0, 3.0, 5.0, 7.0], [4, 1])?);
    /// let (y, stats) = x.batch_norm(g.var(Tensor::ones([1])), g.var(Tensor::zeros([1])), 1e-5);
    /// assert_eq!(stats.mean.to_vec(), vec![4.0]);
    /// assert!((y.value().to_vec()[0] + 3.0 / 5f64.sqrt()).abs() < 1e-5);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn batch_norm(self, weight: Var<'g, F>, bias: Var<'g, F>, eps: f64) -> (Var<'g, F>, ChannelStats<F>) {
        expect_op(self.try_batch_norm(weight, bias, eps))
    }

    /// [`Var::batch_norm`], or an error unless the input is `[N, C, …]` and `weight` and
    /// `bias` are `[C]`.
    #[track_caller]
    pub fn try_batch_norm(
        self,
        weight: Var<'g, F>,
        bias: Var<'g, F>,
        eps: f64,
    ) -> Result<(Var<'g, F>, ChannelStats<F>)> {
        self.same_graph(weight, "batch_norm")?;
        self.same_graph(bias, "batch_norm")?;
        let inputs = [self.id(), weight.id(), bias.id()];
        let mut stats = None;
        let saved = SavedStats::default();
        let op = Op::BatchNorm(Box::new(NormArgs { inputs, eps, saved: saved.clone() }));
        let y = Var::record_with(self.graph(), &[self, weight, bias], op, |t| {
            let (x, weight, bias) = (t.tensor_cow(inputs[0]), t.tensor_cow(inputs[1]), t.tensor_cow(inputs[2]));
            let (y, batch) = x.batch_norm_saving(&weight, &bias, eps, &saved)?;
            stats = Some(batch);
            Ok(y)
        })?;
        Ok((y, stats.expect("recorded")))
    }

    /// Layer normalization over the last dim: each row normalized by its own mean and biased
    /// variance, then scaled by `weight` and shifted by `bias` (both `[C]`, C the last dim) —
    /// `torch.nn.functional.layer_norm` with `normalized_shape = [C]`. One recorded op with a
    /// fused kernel forward and backward (its gradient is recorded op by op under `grad`, so
    /// it is differentiable again).
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.var(Tensor::from_vec(vec![1.0, 3.0], [1, 2])?);
    /// let y = x.layer_norm(g.var(Tensor::ones([2])), g.var(Tensor::zeros([2])), 0.0);
    /// assert_eq!(y.value().to_vec(), vec![-1.0, 1.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn layer_norm(self, weight: Var<'g, F>, bias: Var<'g, F>, eps: f64) -> Var<'g, F> {
        expect_op(self.try_layer_norm(weight, bias, eps))
    }

    /// [`Var::layer_norm`], or an error unless the input has a dim and `weight` and `bias`
    /// are `[C]`, C its last dim.
    #[track_caller]
    pub fn try_layer_norm(self, weight: Var<'g, F>, bias: Var<'g, F>, eps: f64) -> Result<Var<'g, F>> {
        self.same_graph(weight, "layer_norm")?;
        self.same_graph(bias, "layer_norm")?;
        let inputs = [self.id(), weight.id(), bias.id()];
        let saved = SavedStats::default();
        let op = Op::LayerNorm(Box::new(NormArgs { inputs, eps, saved: saved.clone() }));
        Var::record_with(self.graph(), &[self, weight, bias], op, |t| {
            let (x, weight, bias) = (t.tensor_cow(inputs[0]), t.tensor_cow(inputs[1]), t.tensor_cow(inputs[2]));
            x.layer_norm_saving(&weight, &bias, eps, &saved)
        })
    }
}
