//! micrograd's building blocks on the scalar graph: [`Neuron`], [`Layer`] and [`Mlp`], with
//! micrograd's defaults (weights U(−1, 1), bias 0, ReLU everywhere but the last layer) and its
//! parameter order.

use crate::error::Result;
use crate::module::Module;
use crate::params::{Bound, ParamId, ParamStore};
use rand::Rng;
use tapegrad_graph::{Float, Tensor, Var};

/// One neuron: `y = f(Σ xᵢ·wᵢ + b)` with f = ReLU, or the identity when `nonlin` is false.
#[derive(Clone, Debug)]
pub struct Neuron {
    /// One scalar weight per input.
    pub weights: Vec<ParamId>,
    /// The scalar bias.
    pub bias: ParamId,
    /// Whether ReLU is applied.
    pub nonlin: bool,
}

impl Neuron {
    /// A neuron of `nin` inputs named `{name}.w.{i}` and `{name}.b`, weights drawn from
    /// U(−1, 1) with `rng`, bias 0.
    pub fn new<F: Float, R: Rng + ?Sized>(
        store: &mut ParamStore<F>,
        name: &str,
        nin: usize,
        nonlin: bool,
        rng: &mut R,
    ) -> Result<Self> {
        let weights = (0..nin)
            .map(|i| store.add(format!("{name}.w.{i}"), Tensor::scalar(F::from_f64(rng.random_range(-1.0..1.0)))))
            .collect::<Result<_>>()?;
        let bias = store.add(format!("{name}.b"), Tensor::scalar(F::ZERO))?;
        Ok(Neuron { weights, bias, nonlin })
    }
    /// The neuron's output for scalar inputs `x`.
    ///
    /// # Panics
    /// When `x` has a different length than the neuron's inputs.
    pub fn forward<'g, F: Float>(&self, params: &Bound<'g, F>, x: &[Var<'g, F>]) -> Var<'g, F> {
        assert_eq!(
            x.len(),
            self.weights.len(),
            "Neuron::forward: {} inputs for {} weights",
            x.len(),
            self.weights.len()
        );
        let mut act = params.var(self.bias);
        for (w, xi) in self.weights.iter().zip(x) {
            act = params.var(*w) * *xi + act;
        }
        if self.nonlin {
            act.relu()
        } else {
            act
        }
    }
}

impl<F: Float> Module<F> for Neuron {
    fn parameters(&self) -> Vec<ParamId> {
        let mut p = self.weights.clone();
        p.push(self.bias);
        p
    }
}

/// A layer of neurons sharing the same inputs.
#[derive(Clone, Debug)]
pub struct Layer {
    /// The neurons, in order.
    pub neurons: Vec<Neuron>,
}

impl Layer {
    /// `nout` neurons of `nin` inputs each, named `{name}.neurons.{j}`.
    pub fn new<F: Float, R: Rng + ?Sized>(
        store: &mut ParamStore<F>,
        name: &str,
        nin: usize,
        nout: usize,
        nonlin: bool,
        rng: &mut R,
    ) -> Result<Self> {
        let neurons = (0..nout)
            .map(|j| Neuron::new(store, &format!("{name}.neurons.{j}"), nin, nonlin, rng))
            .collect::<Result<_>>()?;
        Ok(Layer { neurons })
    }
    /// One output per neuron.
    pub fn forward<'g, F: Float>(&self, params: &Bound<'g, F>, x: &[Var<'g, F>]) -> Vec<Var<'g, F>> {
        self.neurons.iter().map(|n| n.forward(params, x)).collect()
    }
}

impl<F: Float> Module<F> for Layer {
    fn parameters(&self) -> Vec<ParamId> {
        self.neurons.iter().flat_map(|n| Module::<F>::parameters(n)).collect()
    }
}

/// micrograd's multi-layer perceptron: `Mlp::new(store, 2, &[16, 16, 1], rng)`.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_graph::Graph;
/// use tapegrad_nn::{Mlp, Module, ParamStore};
/// let mut store = ParamStore::new();
/// let model = Mlp::new(&mut store, 2, &[16, 16, 1], &mut StdRng::seed_from_u64(1337))?;
/// assert_eq!(Module::<f64>::parameters(&model).len(), 337);
/// let g = Graph::new();
/// let p = store.bind(&g);
/// let score = model.forward_one(&p, &[g.constant_scalar(1.0), g.constant_scalar(-0.5)]);
/// assert!(score.item().is_finite());
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Mlp {
    /// The layers, in order.
    pub layers: Vec<Layer>,
}

impl Mlp {
    /// Layers of sizes `nouts` after `nin` inputs, named `layers.{k}`; ReLU on all but the last.
    pub fn new<F: Float, R: Rng + ?Sized>(
        store: &mut ParamStore<F>,
        nin: usize,
        nouts: &[usize],
        rng: &mut R,
    ) -> Result<Self> {
        let mut sizes = vec![nin];
        sizes.extend_from_slice(nouts);
        let layers = (0..nouts.len())
            .map(|k| Layer::new(store, &format!("layers.{k}"), sizes[k], sizes[k + 1], k + 1 != nouts.len(), rng))
            .collect::<Result<_>>()?;
        Ok(Mlp { layers })
    }
    /// The outputs of the last layer.
    pub fn forward<'g, F: Float>(&self, params: &Bound<'g, F>, x: &[Var<'g, F>]) -> Vec<Var<'g, F>> {
        let mut act = x.to_vec();
        for layer in &self.layers {
            act = layer.forward(params, &act);
        }
        act
    }
    /// The single output of a network whose last layer has one neuron.
    ///
    /// # Panics
    /// When the last layer has more than one neuron.
    pub fn forward_one<'g, F: Float>(&self, params: &Bound<'g, F>, x: &[Var<'g, F>]) -> Var<'g, F> {
        let out = self.forward(params, x);
        assert_eq!(out.len(), 1, "Mlp::forward_one: the last layer has {} neurons", out.len());
        out[0]
    }
}

impl Mlp {
    /// Looks every parameter's leaf up once, for evaluating the network on many inputs in one
    /// graph (micrograd's demo scores 100 points per step).
    pub fn bind<'g, F: Float>(&self, params: &Bound<'g, F>) -> BoundMlp<'g, F> {
        let layers = self
            .layers
            .iter()
            .map(|layer| {
                layer
                    .neurons
                    .iter()
                    .map(|n| BoundNeuron {
                        weights: n.weights.iter().map(|&w| params.var(w)).collect(),
                        bias: params.var(n.bias),
                        nonlin: n.nonlin,
                    })
                    .collect()
            })
            .collect();
        BoundMlp { layers }
    }
}

struct BoundNeuron<'g, F: Float> {
    weights: Vec<Var<'g, F>>,
    bias: Var<'g, F>,
    nonlin: bool,
}

/// An [`Mlp`] whose parameters are bound into one graph: see [`Mlp::bind`].
pub struct BoundMlp<'g, F: Float> {
    layers: Vec<Vec<BoundNeuron<'g, F>>>,
}

impl<'g, F: Float> BoundMlp<'g, F> {
    /// The outputs of the last layer for scalar inputs `x` (the same nodes, in the same order,
    /// as [`Mlp::forward`]).
    pub fn forward(&self, x: &[Var<'g, F>]) -> Vec<Var<'g, F>> {
        let widest = self.layers.iter().map(Vec::len).max().unwrap_or(0).max(x.len());
        let mut act = Vec::with_capacity(widest);
        act.extend_from_slice(x);
        let mut next = Vec::with_capacity(widest);
        for layer in &self.layers {
            next.clear();
            for n in layer {
                let mut sum = n.bias;
                for (w, xi) in n.weights.iter().zip(&act) {
                    sum = *w * *xi + sum;
                }
                next.push(if n.nonlin { sum.relu() } else { sum });
            }
            std::mem::swap(&mut act, &mut next);
        }
        act
    }
}

impl<F: Float> Module<F> for Mlp {
    fn parameters(&self) -> Vec<ParamId> {
        self.layers.iter().flat_map(|l| Module::<F>::parameters(l)).collect()
    }
}
