//! Group normalization.

use crate::error::{Error, Result};
use crate::module::{Forward, Module};
use crate::params::{Bound, ParamId, ParamStore};
use tapegrad_graph::{Float, Tensor, Var};

/// `torch.nn.GroupNorm`: splits the channels (dim 1) of an `[N, C, …]` input into `groups`
/// groups, normalizes each group of each example over its channels and positions (biased
/// variance), then scales and shifts each channel. It behaves the same in training and
/// evaluation.
#[derive(Clone, Debug)]
pub struct GroupNorm {
    /// The `[C]` scale, starting at 1.
    pub weight: ParamId,
    /// The `[C]` shift, starting at 0.
    pub bias: ParamId,
    groups: usize,
    channels: usize,
    eps: f64,
}

impl GroupNorm {
    /// A group norm of `channels` channels in `groups` groups (PyTorch's default `eps` is 1e-5).
    pub fn new<F: Float>(
        store: &mut ParamStore<F>,
        name: &str,
        groups: usize,
        channels: usize,
        eps: f64,
    ) -> Result<Self> {
        if groups == 0 || !channels.is_multiple_of(groups) {
            return Err(Error::InvalidArgument {
                op: "GroupNorm::new",
                message: format!("{groups} groups must divide the {channels} channels"),
            });
        }
        let weight = store.add(format!("{name}.weight"), Tensor::ones([channels]))?;
        let bias = store.add(format!("{name}.bias"), Tensor::zeros([channels]))?;
        Ok(GroupNorm { weight, bias, groups, channels, eps })
    }
}

impl<F: Float> Module<F> for GroupNorm {
    fn parameters(&self) -> Vec<ParamId> {
        vec![self.weight, self.bias]
    }
}

impl<F: Float> Forward<F> for GroupNorm {
    fn forward<'g>(&self, params: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        let shape = x.shape();
        let dims = shape.dims();
        assert!(
            dims.len() >= 2 && dims[1] == self.channels,
            "GroupNorm: expected an [N, {}, …] input, got shape {shape}",
            self.channels
        );
        let grouped = x.reshape([dims[0], self.groups, shape.numel() / (dims[0] * self.groups).max(1)]);
        let centered = grouped - grouped.mean_axis(-1, true);
        let variance = centered.square().mean_axis(-1, true);
        let normalized = (centered / (variance + F::from_f64(self.eps)).sqrt()).reshape(shape.clone());
        let mut per_channel = vec![1; dims.len()];
        per_channel[1] = self.channels;
        normalized * params.var(self.weight).reshape(per_channel.clone()) + params.var(self.bias).reshape(per_channel)
    }
}
