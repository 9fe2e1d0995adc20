//! A lookup table of vectors.

use crate::error::{Error, Result};
use crate::module::{Forward, Module};
use crate::params::{Bound, ParamId, ParamStore};
use rand::Rng;
use tapegrad_graph::{Float, Indices, Tensor, Var};

/// `torch.nn.Embedding`: row `i` of a `[count, dim]` weight (initialised N(0, 1)) for each
/// index; the gradient adds up per row.
///
/// As a [`Forward`] layer it takes the indices as a tensor of whole numbers (a batch of token
/// ids, `[N, T]` → `[N, T, dim]`), so it sits first in a [`Sequential`](super::Sequential);
/// [`Embedding::lookup`] takes [`Indices`].
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_graph::{Graph, Tensor};
/// use tapegrad_nn::{layers::Embedding, Forward, ParamStore};
/// let mut store = ParamStore::new();
/// let emb = Embedding::new(&mut store, "wte", 27, 10, &mut StdRng::seed_from_u64(0))?;
/// let g = Graph::new();
/// let tokens = g.constant(Tensor::from_vec(vec![0.0, 5.0, 26.0, 1.0, 2.0, 3.0], [2, 3])?);
/// assert_eq!(emb.forward(&store.bind(&g), tokens).shape().dims(), &[2, 3, 10]);
/// assert!(emb.try_forward(&store.bind(&g), g.constant(Tensor::from_vec(vec![27.0], [1])?)).is_err());
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Embedding {
    /// The `[count, dim]` table.
    pub weight: ParamId,
    count: usize,
    dim: usize,
}

impl Embedding {
    /// A table of `count` vectors of size `dim`, named `{name}.weight`.
    pub fn new<F: Float, R: Rng + ?Sized>(
        store: &mut ParamStore<F>,
        name: &str,
        count: usize,
        dim: usize,
        rng: &mut R,
    ) -> Result<Self> {
        let weight = store.add(format!("{name}.weight"), Tensor::randn([count, dim], F::ZERO, F::ONE, rng))?;
        Ok(Embedding { weight, count, dim })
    }
    /// The vectors of the indices held in `ids` (whole numbers as floats), shaped
    /// `ids.shape() + [dim]`; a negative, fractional or too large index is an error.
    pub fn try_forward<'g, F: Float>(&self, params: &Bound<'g, F>, ids: Var<'g, F>) -> Result<Var<'g, F>> {
        params.var(self.weight).try_lookup(ids).map_err(|e| match e {
            tapegrad_graph::Error::InvalidArgument { message, .. } => {
                Error::InvalidArgument { op: "Embedding::forward", message }
            }
            other => other.into(),
        })
    }
    /// The vectors of `ids`, shaped `ids.shape() + [dim]`.
    ///
    /// # Panics
    /// When an index is ≥ `count`, with [`Embedding::try_lookup`]'s message.
    pub fn lookup<'g, F: Float>(&self, params: &Bound<'g, F>, ids: &Indices) -> Var<'g, F> {
        self.try_lookup(params, ids).unwrap_or_else(|e| panic!("{e}"))
    }
    /// The vectors of `ids`, shaped `ids.shape() + [dim]`; an index ≥ `count` is an error.
    pub fn try_lookup<'g, F: Float>(&self, params: &Bound<'g, F>, ids: &Indices) -> Result<Var<'g, F>> {
        if let Some(&bad) = ids.data().iter().find(|&&i| i >= self.count) {
            return Err(Error::InvalidArgument {
                op: "Embedding::forward",
                message: format!("index {bad} but the table has {} rows", self.count),
            });
        }
        let flat = Indices::from(ids.data().to_vec());
        let rows = params.var(self.weight).try_index_select(0, &flat)?;
        let mut shape = ids.shape().dims().to_vec();
        shape.push(self.dim);
        Ok(rows.try_reshape(shape)?)
    }
}

impl<F: Float> Module<F> for Embedding {
    fn parameters(&self) -> Vec<ParamId> {
        vec![self.weight]
    }
}

impl<F: Float> Forward<F> for Embedding {
    /// # Panics
    /// On an index that is not a whole number below `count`, with
    /// [`Embedding::try_forward`]'s message.
    fn forward<'g>(&self, params: &Bound<'g, F>, ids: Var<'g, F>) -> Var<'g, F> {
        self.try_forward(params, ids).unwrap_or_else(|e| panic!("{e}"))
    }
}
