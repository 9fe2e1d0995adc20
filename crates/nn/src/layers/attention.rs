//! Multi-head self-attention.

use super::Linear;
use crate::error::{Error, Result};
use crate::module::{Forward, Module};
use crate::params::{Bound, ParamId, ParamStore};
use rand::Rng;
use tapegrad_graph::{Float, Tensor, Var};

/// Multi-head self-attention over `[B, T, C]` (as nanoGPT's `CausalSelfAttention`, with the
/// mask optional): one `Linear` makes queries, keys and values (`{name}.c_attn`, `[3C, C]`),
/// each head attends with `softmax(q·kᵀ/√(C/heads))`, and `{name}.c_proj` mixes the heads.
/// With `causal`, position `t` sees only positions `≤ t`.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_graph::{Graph, Tensor};
/// use tapegrad_nn::{layers::SelfAttention, Forward, ParamStore};
/// let mut store = ParamStore::new();
/// let attn = SelfAttention::new(&mut store, "attn", 8, 2, true, &mut StdRng::seed_from_u64(0))?;
/// let g = Graph::new();
/// let y = attn.forward(&store.bind(&g), g.constant(Tensor::ones([3, 5, 8])));
/// assert_eq!(y.shape().dims(), &[3, 5, 8]);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SelfAttention {
    /// Queries, keys and values: `[C] → [3C]`.
    pub qkv: Linear,
    /// The output projection: `[C] → [C]`.
    pub proj: Linear,
    heads: usize,
    causal: bool,
}

impl SelfAttention {
    /// Attention of `heads` heads over width `width` (a multiple of `heads`), causal or not.
    pub fn new<F: Float, R: Rng + ?Sized>(
        store: &mut ParamStore<F>,
        name: &str,
        width: usize,
        heads: usize,
        causal: bool,
        rng: &mut R,
    ) -> Result<Self> {
        if heads == 0 || !width.is_multiple_of(heads) {
            return Err(Error::InvalidArgument {
                op: "SelfAttention::new",
                message: format!("{heads} heads must divide the width {width}"),
            });
        }
        let qkv = Linear::new(store, &format!("{name}.c_attn"), width, 3 * width, true, rng)?;
        let proj = Linear::new(store, &format!("{name}.c_proj"), width, width, true, rng)?;
        Ok(SelfAttention { qkv, proj, heads, causal })
    }
}

impl<F: Float> Module<F> for SelfAttention {
    fn parameters(&self) -> Vec<ParamId> {
        let mut ids = Module::<F>::parameters(&self.qkv);
        ids.extend(Module::<F>::parameters(&self.proj));
        ids
    }
}

impl<F: Float> Forward<F> for SelfAttention {
    fn forward<'g>(&self, params: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        let shape = x.shape();
        let &[b, t, c] = shape.dims() else {
            panic!("SelfAttention: expected a [B, T, C] input, got shape {shape}");
        };
        let (h, d) = (self.heads, c / self.heads);
        let qkv = self.qkv.forward(params, x);
        let head = |part: usize| qkv.slice(-1, part * c, (part + 1) * c).reshape([b, t, h, d]).permute(&[0, 2, 1, 3]);
        let (q, k, v) = (head(0), head(1), head(2));
        let mut scores = q.matmul_t(false, k, true) * F::from_f64(1.0 / (d as f64).sqrt());
        if self.causal {
            // −∞ added where a query would see a later key: the same scores as selecting −∞
            // there, and the addition's gradient is the incoming one, passed on uncopied.
            let hidden = (0..t * t).map(|i| if i % t <= i / t { F::ZERO } else { F::NEG_INFINITY }).collect();
            let hidden = Tensor::from_vec(hidden, [t, t]).expect("a [T, T] mask");
            scores = scores + x.graph().constant(hidden);
        }
        let mixed = scores.softmax(-1).matmul(v).permute(&[0, 2, 1, 3]).reshape([b, t, c]);
        self.proj.forward(params, mixed)
    }
}
