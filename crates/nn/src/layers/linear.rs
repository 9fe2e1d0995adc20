//! A fully connected layer.

use crate::error::Result;
use crate::module::{Forward, Module};
use crate::params::{Bound, ParamId, ParamStore};
use rand::Rng;
use tapegrad_graph::{Float, Tensor, Var};

/// `y = x·Wᵀ + b` with a `[out, in]` weight, as `torch.nn.Linear`, initialised like PyTorch:
/// weight and bias from U(−1/√in, 1/√in).
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_graph::{Graph, Tensor};
/// use tapegrad_nn::{layers::Linear, Forward, ParamStore};
/// let mut store = ParamStore::<f32>::new();
/// let layer = Linear::new(&mut store, "fc", 3, 2, true, &mut StdRng::seed_from_u64(0))?;
/// let g = Graph::<f32>::default();
/// let y = layer.forward(&store.bind(&g), g.constant(Tensor::ones([4, 3])));
/// assert_eq!(y.shape().dims(), &[4, 2]);
/// assert_eq!(store[layer.weight].name, "fc.weight");
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Linear {
    /// The `[out, in]` weight.
    pub weight: ParamId,
    /// The `[out]` bias, if any.
    pub bias: Option<ParamId>,
}

impl Linear {
    /// A layer named `name` (parameters `{name}.weight`, `{name}.bias`).
    pub fn new<F: Float, R: Rng + ?Sized>(
        store: &mut ParamStore<F>,
        name: &str,
        inputs: usize,
        outputs: usize,
        bias: bool,
        rng: &mut R,
    ) -> Result<Self> {
        let bound = 1.0 / (inputs.max(1) as f64).sqrt();
        let (lo, hi) = (F::from_f64(-bound), F::from_f64(bound));
        let weight = store.add(format!("{name}.weight"), Tensor::uniform([outputs, inputs], lo, hi, rng))?;
        let bias =
            if bias { Some(store.add(format!("{name}.bias"), Tensor::uniform([outputs], lo, hi, rng))?) } else { None };
        Ok(Linear { weight, bias })
    }
}

impl<F: Float> Module<F> for Linear {
    fn parameters(&self) -> Vec<ParamId> {
        std::iter::once(self.weight).chain(self.bias).collect()
    }
}

impl<F: Float> Forward<F> for Linear {
    fn forward<'g>(&self, params: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        let y = x.matmul_t(false, params.var(self.weight), true);
        match self.bias {
            Some(b) => y + params.var(b),
            None => y,
        }
    }
}
