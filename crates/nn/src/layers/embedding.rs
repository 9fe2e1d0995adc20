//! A lookup table of vectors.

use crate::error::{Error, Result};
use crate::module::Module;
use crate::params::{Bound, ParamId, ParamStore};
use rand::Rng;
use tapegrad_graph::{Float, Indices, Tensor, Var};

/// `torch.nn.Embedding`: row `i` of a `[count, dim]` weight (initialised N(0, 1)) for each
/// index; the gradient adds up per row.
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
    /// The vectors of `ids`, shaped `ids.shape() + [dim]`; an index ≥ `count` is an error.
    pub fn forward<'g, F: Float>(&self, params: &Bound<'g, F>, ids: &Indices) -> Result<Var<'g, F>> {
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
