//! A chain of modules, and the MLP builder.

use super::{Activation, Linear};
use crate::error::Result;
use crate::module::{Forward, Module};
use crate::params::{Bound, ParamId, ParamStore};
use rand::Rng;
use tapegrad_graph::{Float, Var};

/// Modules applied in order. It is `Send + Sync` (so a model can move to another thread or be
/// shared), and so must be every module pushed into it.
pub struct Sequential<F: Float> {
    /// The modules.
    pub layers: Vec<Box<dyn Forward<F> + Send + Sync>>,
}

impl<F: Float> Default for Sequential<F> {
    fn default() -> Self {
        Sequential { layers: Vec::new() }
    }
}

impl<F: Float> Sequential<F> {
    /// An empty chain.
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends a module.
    pub fn push(mut self, layer: impl Forward<F> + Send + Sync + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }
}

impl<F: Float> Module<F> for Sequential<F> {
    fn parameters(&self) -> Vec<ParamId> {
        self.layers.iter().flat_map(|l| l.parameters()).collect()
    }
    fn set_training(&mut self, training: bool) {
        for l in &mut self.layers {
            l.set_training(training);
        }
    }
}

impl<F: Float> Forward<F> for Sequential<F> {
    fn forward<'g>(&self, params: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        self.layers.iter().fold(x, |h, layer| layer.forward(params, h))
    }
    fn layers(&self) -> Vec<&dyn Forward<F>> {
        self.layers.iter().map(|l| l.as_ref() as &dyn Forward<F>).collect()
    }
}

/// A tensor MLP: `Linear` layers of the given sizes (`sizes[0]` inputs), named by their place in
/// the chain like a PyTorch `nn.Sequential` stored as `layers` (`layers.0`, `layers.2`, …),
/// with `activation` after every layer but the last.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::{layers::{mlp, Activation}, Module, ParamStore};
/// let mut store = ParamStore::<f32>::new();
/// let model = mlp(&mut store, &[784, 256, 128, 10], Activation::Relu, &mut StdRng::seed_from_u64(0))?;
/// assert_eq!(store.numel(), 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
/// assert!(store.find("layers.4.weight").is_some());
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn mlp<F: Float, R: Rng + ?Sized>(
    store: &mut ParamStore<F>,
    sizes: &[usize],
    activation: Activation,
    rng: &mut R,
) -> Result<Sequential<F>> {
    let mut model = Sequential::new();
    for k in 0..sizes.len().saturating_sub(1) {
        let index = model.layers.len();
        model = model.push(Linear::new(store, &format!("layers.{index}"), sizes[k], sizes[k + 1], true, rng)?);
        if k + 2 < sizes.len() {
            model = model.push(activation);
        }
    }
    Ok(model)
}
