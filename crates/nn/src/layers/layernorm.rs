//! Layer normalization.

use crate::error::Result;
use crate::module::{Forward, Module};
use crate::params::{Bound, ParamId, ParamStore};
use tapegrad_graph::{Float, Tensor, Var};

/// `torch.nn.LayerNorm` over the last dim: `(x − mean) / √(var + eps) · weight + bias`, with
/// the biased variance, weight 1 and bias 0 to start.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    /// The `[dim]` scale.
    pub weight: ParamId,
    /// The `[dim]` shift.
    pub bias: ParamId,
    eps: f64,
}

impl LayerNorm {
    /// A layer norm over a last dim of size `dim`, named `{name}.weight` / `{name}.bias`
    /// (`eps` is PyTorch's 1e-5 by default: pass it explicitly).
    pub fn new<F: Float>(store: &mut ParamStore<F>, name: &str, dim: usize, eps: f64) -> Result<Self> {
        let weight = store.add(format!("{name}.weight"), Tensor::ones([dim]))?;
        let bias = store.add(format!("{name}.bias"), Tensor::zeros([dim]))?;
        Ok(LayerNorm { weight, bias, eps })
    }
}

impl<F: Float> Module<F> for LayerNorm {
    fn parameters(&self) -> Vec<ParamId> {
        vec![self.weight, self.bias]
    }
}

impl<F: Float> Forward<F> for LayerNorm {
    fn forward<'g>(&self, params: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        x.layer_norm(params.var(self.weight), params.var(self.bias), self.eps)
    }
}
