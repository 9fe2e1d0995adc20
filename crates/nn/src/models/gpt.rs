//! A small GPT: token and position embeddings, causal transformer blocks, a final norm and a
//! language-model head, after nanoGPT and makemore.

use crate::error::{Error, Result};
use crate::layers::{Embedding, LayerNorm, Linear, PositionEmbedding, TransformerBlock};
use crate::module::{Forward, Module};
use crate::params::{Bound, ParamId, ParamStore};
use rand::Rng;
use tapegrad_graph::{Float, Var};

/// The sizes of a [`Gpt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GptConfig {
    /// Tokens in the vocabulary.
    pub vocab: usize,
    /// The longest context (positions with an embedding).
    pub context: usize,
    /// The embedding width.
    pub width: usize,
    /// Attention heads per block.
    pub heads: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Whether the output head reuses the token embedding's table (weight tying, as GPT-2).
    pub tie_weights: bool,
}

/// A causal transformer language model: `[B, T]` token ids (whole numbers as floats) →
/// `[B, T, vocab]` logits for the next token at each position. Parameters are named as
/// nanoGPT's (`wte`, `wpe`, `h.0.attn.c_attn`, …, `ln_f`, `lm_head`), so weights move
/// between the two by name.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_graph::{Graph, Tensor};
/// use tapegrad_nn::{models::{Gpt, GptConfig}, Forward, ParamStore};
/// let config = GptConfig { vocab: 27, context: 16, width: 32, heads: 4, layers: 2, tie_weights: true };
/// let mut store = ParamStore::<f32>::new();
/// let gpt = Gpt::new(&mut store, config, &mut StdRng::seed_from_u64(0))?;
/// let g = Graph::<f32>::default();
/// let logits = gpt.forward(&store.bind(&g), g.constant(Tensor::zeros([4, 16])));
/// assert_eq!(logits.shape().dims(), &[4, 16, 27]);
/// assert!(store.find("lm_head.weight").is_none()); // tied to wte.weight
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Gpt {
    /// The sizes.
    pub config: GptConfig,
    /// Token embeddings `[vocab, width]`.
    pub wte: Embedding,
    /// Position embeddings `[context, width]`.
    pub wpe: PositionEmbedding,
    /// The blocks.
    pub blocks: Vec<TransformerBlock>,
    /// The final norm.
    pub ln_f: LayerNorm,
    /// The output head, unless tied to `wte`.
    pub lm_head: Option<Linear>,
}

impl Gpt {
    /// A model of the given sizes, initialised as PyTorch's layers are.
    pub fn new<F: Float, R: Rng + ?Sized>(store: &mut ParamStore<F>, config: GptConfig, rng: &mut R) -> Result<Self> {
        if config.heads == 0 || !config.width.is_multiple_of(config.heads) {
            return Err(Error::InvalidArgument {
                op: "Gpt::new",
                message: format!("{} heads must divide the width {}", config.heads, config.width),
            });
        }
        let wte = Embedding::new(store, "wte", config.vocab, config.width, rng)?;
        let wpe = PositionEmbedding::new(store, "wpe", config.context, config.width, rng)?;
        let blocks = (0..config.layers)
            .map(|i| TransformerBlock::new(store, &format!("h.{i}"), config.width, config.heads, true, rng))
            .collect::<Result<Vec<_>>>()?;
        let ln_f = LayerNorm::new(store, "ln_f", config.width, 1e-5)?;
        let lm_head = if config.tie_weights {
            None
        } else {
            Some(Linear::new(store, "lm_head", config.width, config.vocab, false, rng)?)
        };
        Ok(Gpt { config, wte, wpe, blocks, ln_f, lm_head })
    }
}

impl<F: Float> Module<F> for Gpt {
    fn parameters(&self) -> Vec<ParamId> {
        let mut ids = Module::<F>::parameters(&self.wte);
        ids.extend(Module::<F>::parameters(&self.wpe));
        for block in &self.blocks {
            ids.extend(Module::<F>::parameters(block));
        }
        ids.extend(Module::<F>::parameters(&self.ln_f));
        ids.extend(self.lm_head.iter().flat_map(Module::<F>::parameters));
        ids
    }
}

impl<F: Float> Forward<F> for Gpt {
    fn forward<'g>(&self, params: &Bound<'g, F>, tokens: Var<'g, F>) -> Var<'g, F> {
        let x = self.wpe.forward(params, self.wte.forward(params, tokens));
        let x = self.blocks.iter().fold(x, |h, block| block.forward(params, h));
        let x = self.ln_f.forward(params, x);
        match &self.lm_head {
            Some(head) => head.forward(params, x),
            None => x.matmul_t(false, params.var(self.wte.weight), true),
        }
    }
}
