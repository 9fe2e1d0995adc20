//! The transformer block and learned position embeddings.

use super::{Activation, LayerNorm, Linear, SelfAttention};
use crate::error::Result;
use crate::module::{Forward, Module};
use crate::params::{Bound, ParamId, ParamStore};
use rand::Rng;
use tapegrad_graph::{Float, Tensor, Var};

/// A pre-norm transformer block (GPT-2's): `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))` where
/// the MLP is `Linear(C, 4C)`, GELU, `Linear(4C, C)`. Parameters are named as nanoGPT's:
/// `{name}.ln_1`, `{name}.attn.c_attn`, `{name}.attn.c_proj`, `{name}.ln_2`, `{name}.mlp.c_fc`,
/// `{name}.mlp.c_proj`.
#[derive(Clone, Debug)]
pub struct TransformerBlock {
    /// The norm before attention.
    pub ln_1: LayerNorm,
    /// The attention.
    pub attn: SelfAttention,
    /// The norm before the MLP.
    pub ln_2: LayerNorm,
    /// The MLP's widening layer.
    pub fc: Linear,
    /// The MLP's narrowing layer.
    pub fc_proj: Linear,
}

impl TransformerBlock {
    /// A block of width `width` with `heads` heads, causal or not.
    pub fn new<F: Float, R: Rng + ?Sized>(
        store: &mut ParamStore<F>,
        name: &str,
        width: usize,
        heads: usize,
        causal: bool,
        rng: &mut R,
    ) -> Result<Self> {
        let ln_1 = LayerNorm::new(store, &format!("{name}.ln_1"), width, 1e-5)?;
        let attn = SelfAttention::new(store, &format!("{name}.attn"), width, heads, causal, rng)?;
        let ln_2 = LayerNorm::new(store, &format!("{name}.ln_2"), width, 1e-5)?;
        let fc = Linear::new(store, &format!("{name}.mlp.c_fc"), width, 4 * width, true, rng)?;
        let fc_proj = Linear::new(store, &format!("{name}.mlp.c_proj"), 4 * width, width, true, rng)?;
        Ok(TransformerBlock { ln_1, attn, ln_2, fc, fc_proj })
    }
}

impl<F: Float> Module<F> for TransformerBlock {
    fn parameters(&self) -> Vec<ParamId> {
        let parts: [&dyn Module<F>; 5] = [&self.ln_1, &self.attn, &self.ln_2, &self.fc, &self.fc_proj];
        parts.iter().flat_map(|p| p.parameters()).collect()
    }
}

impl<F: Float> Forward<F> for TransformerBlock {
    fn forward<'g>(&self, params: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        let x = x + self.attn.forward(params, self.ln_1.forward(params, x));
        let hidden = Activation::Gelu.apply(self.fc.forward(params, self.ln_2.forward(params, x)));
        x + self.fc_proj.forward(params, hidden)
    }
}

/// Learned position embeddings: adds row `t` of a `[max_len, C]` table (N(0, 1) to start, as
/// `nn.Embedding`) to position `t` of a `[B, T, C]` input, `T ≤ max_len`.
#[derive(Clone, Debug)]
pub struct PositionEmbedding {
    /// The `[max_len, C]` table.
    pub weight: ParamId,
    max_len: usize,
}

impl PositionEmbedding {
    /// A table for up to `max_len` positions of width `width`, named `{name}.weight`.
    pub fn new<F: Float, R: Rng + ?Sized>(
        store: &mut ParamStore<F>,
        name: &str,
        max_len: usize,
        width: usize,
        rng: &mut R,
    ) -> Result<Self> {
        let weight = store.add(format!("{name}.weight"), Tensor::randn([max_len, width], F::ZERO, F::ONE, rng))?;
        Ok(PositionEmbedding { weight, max_len })
    }
}

impl<F: Float> Module<F> for PositionEmbedding {
    fn parameters(&self) -> Vec<ParamId> {
        vec![self.weight]
    }
}

impl<F: Float> Forward<F> for PositionEmbedding {
    fn forward<'g>(&self, params: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        let t = x.shape().dims().get(1).copied().unwrap_or(0);
        assert!(
            x.shape().ndim() == 3 && t <= self.max_len,
            "PositionEmbedding: expected a [B, T ≤ {}, C] input, got shape {}",
            self.max_len,
            x.shape()
        );
        x + params.var(self.weight).slice(0, 0, t)
    }
}
