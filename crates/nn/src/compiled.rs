//! A training step recorded once and replayed ([`CompiledStep`]): the parameter plumbing of a
//! [`CompiledTape`] for a [`ParamStore`].

use crate::error::Result;
use crate::params::Incoming;
use crate::{Bound, ParamId, ParamStore};
use tapegrad_autograd::{CompileOptions, CompiledTape, StepTimes};
use tapegrad_graph::{Float, Graph, Var};

/// A loss over a store's parameters, recorded once and compiled: each [`CompiledStep::step`]
/// replays it on the parameters' current values — forward and backward, no recording — and adds
/// the gradients to the store, like `accumulate` after `backward`. For fixed-shape steps, whose
/// graph is the same every time; the recording must not branch on values it reads back
/// (compiling refuses one that reads them).
///
/// ```
/// use tapegrad_graph::Tensor;
/// use tapegrad_nn::layers::Linear;
/// use tapegrad_nn::optim::{Optimizer, Sgd};
/// use tapegrad_nn::{loss, CompiledStep, Forward, ParamStore};
/// use rand::SeedableRng;
/// let mut store = ParamStore::<f64>::new();
/// let layer = Linear::new(&mut store, "fc", 2, 1, true, &mut rand::rngs::StdRng::seed_from_u64(0))?;
/// let x = Tensor::from_vec(vec![1.0, 2.0, -1.0, 0.5], [2, 2])?;
/// let y = Tensor::from_vec(vec![1.0, -1.0], [2, 1])?;
/// let mut step = CompiledStep::new(&store, |g, params| {
///     Ok(loss::mse(layer.forward(params, g.constant(x.clone())), g.constant(y.clone()))?)
/// })?;
/// let mut sgd = Sgd::new(0.1);
/// let first = step.step(&mut store)?;
/// sgd.step(&mut store);
/// store.zero_grad();
/// assert!(step.step(&mut store)? < first);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub struct CompiledStep<F: Float> {
    tape: CompiledTape<F>,
    params: Vec<ParamId>,
}

impl<F: Float> CompiledStep<F> {
    /// Records `loss` on a fresh graph with `store`'s parameters bound, and compiles it with
    /// the default [`CompileOptions`].
    pub fn new(
        store: &ParamStore<F>,
        loss: impl for<'g> FnOnce(&'g Graph<F>, &Bound<'g, F>) -> Result<Var<'g, F>>,
    ) -> Result<Self> {
        Self::with_options(store, CompileOptions::default(), loss)
    }

    /// [`CompiledStep::new`] with `options`.
    pub fn with_options(
        store: &ParamStore<F>,
        options: CompileOptions,
        loss: impl for<'g> FnOnce(&'g Graph<F>, &Bound<'g, F>) -> Result<Var<'g, F>>,
    ) -> Result<Self> {
        let graph = Graph::<F>::default();
        let bound = store.bind(&graph);
        let value = loss(&graph, &bound)?;
        let params: Vec<ParamId> = store.iter().filter(|(_, p)| !p.frozen).map(|(id, _)| id).collect();
        let inputs: Vec<Var<'_, F>> = params.iter().map(|&p| bound.var(p)).collect();
        let tape = CompiledTape::with_options(&inputs, &[value], options)?;
        Ok(CompiledStep { tape, params })
    }

    /// Replays the step on the store's current values, adds each parameter's gradient to its
    /// `grad`, and returns the loss.
    pub fn step(&mut self, store: &mut ParamStore<F>) -> Result<F> {
        self.set_inputs(store)?;
        self.tape.backward()?;
        for (k, &p) in self.params.iter().enumerate() {
            let d = match store.get(p) {
                Some(param) if param.value.ndim() == 0 => Incoming::Scalar(self.tape.grad_scalar(k)?),
                _ => Incoming::Tensor(self.tape.grad(k)?),
            };
            store.accumulate_gradient(p, d);
        }
        Ok(self.tape.output_scalar(0)?)
    }

    /// Times `replays` replays of the step on the parameters' current values, step by step
    /// ([`CompiledTape::profile`]), leaving the store as it was: its gradients are not touched.
    pub fn profile(&mut self, store: &ParamStore<F>, replays: usize) -> Result<StepTimes> {
        self.set_inputs(store)?;
        Ok(self.tape.profile(replays)?)
    }

    fn set_inputs(&mut self, store: &ParamStore<F>) -> Result<()> {
        for (k, &p) in self.params.iter().enumerate() {
            let Some(param) = store.get(p) else { continue };
            self.tape.set_input(k, &param.value)?;
        }
        Ok(())
    }

    /// The compiled tape.
    pub fn tape(&self) -> &CompiledTape<F> {
        &self.tape
    }
}
