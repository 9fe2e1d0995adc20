//! micrograd's demo, as a library so the example, the benchmarks (W1, W3) and the tests run the
//! same code: an MLP 2-16-16-1 learning the two moons with an SVM max-margin loss plus 1e-4·L2,
//! full batch, SGD with the learning rate 1.0 − 0.9·k/100.
//!
//! [`MoonsDemo::step_scalar`] records it on the **scalar** graph exactly as micrograd does
//! (65,818 nodes per step for 100 points); [`MoonsDemo::step_tensor`] records the same model
//! with tensor ops (a handful of nodes) and gives the same numbers.

use crate::autograd::{Backward, CompileOptions, CompiledTape};
use crate::graph::{Float, Graph, Tensor, Var};
use crate::nn::data::{moons, Dataset};
use crate::nn::optim::{LinearDecay, Optimizer, Schedule, Sgd};
use crate::nn::{loss, Bound, Mlp, Module, ParamId, ParamStore, Result};
use rand::Rng;

/// The L2 regularisation strength of micrograd's demo.
pub const ALPHA: f64 = 1e-4;

/// What one training step measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport<F> {
    /// The total loss before the update.
    pub loss: F,
    /// The fraction of points classified correctly before the update.
    pub accuracy: f64,
    /// The number of nodes recorded.
    pub nodes: usize,
}

/// The demo's model, data and optimizer.
pub struct MoonsDemo<F: Float> {
    /// The parameters, scalar ones named like micrograd's (`layers.0.neurons.3.w.1`).
    pub store: ParamStore<F>,
    /// The scalar model.
    pub model: Mlp,
    /// The 2-d points and their classes.
    pub data: Dataset<F>,
    labels: Vec<F>,
    schedule: LinearDecay<F>,
    sgd: Sgd<F>,
    step: usize,
    /// The model's parameters, in `Module::parameters` order (a compiled step's inputs).
    params: Vec<ParamId>,
}

impl<F: Float> MoonsDemo<F> {
    /// micrograd's setup: `n_points` moons with noise 0.1 and an `Mlp(2, [16, 16, 1])`, both
    /// drawn from `rng`.
    pub fn new<R: Rng + ?Sized>(n_points: usize, rng: &mut R) -> Result<Self> {
        let data = moons(n_points, 0.1, rng);
        let mut store = ParamStore::new();
        let model = Mlp::new(&mut store, 2, &[16, 16, 1], rng)?;
        let labels = data.signed_labels();
        let schedule = LinearDecay { start: F::ONE, end: F::from_f64(0.1), steps: 100 };
        let params = Module::<F>::parameters(&model);
        Ok(MoonsDemo { store, model, data, labels, schedule, sgd: Sgd::new(F::ONE), step: 0, params })
    }

    /// The step count so far.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// One step on the scalar graph: forward, backward and SGD, like micrograd's notebook.
    /// `graph` is cleared first and reused.
    pub fn step_scalar(&mut self, graph: &mut Graph<F>) -> Result<StepReport<F>> {
        graph.clear();
        let g = &*graph;
        let params = self.store.bind(g);
        let (total, scores) = self.record_scalar(g, &params)?;
        let accuracy = accuracy(scores.iter().map(|s| s.item()), &self.labels);
        let report = StepReport { loss: total.item(), accuracy, nodes: g.len() };
        let grads = total.try_backward()?;
        self.store.zero_grad();
        self.store.accumulate(&params, &grads);
        self.update();
        Ok(report)
    }

    /// The scalar step's loss and scores, recorded without reading a value back.
    fn record_scalar<'g>(&self, g: &'g Graph<F>, params: &Bound<'g, F>) -> Result<(Var<'g, F>, Vec<Var<'g, F>>)> {
        let model = self.model.bind(params);
        let scores: Vec<Var<'_, F>> = (0..self.data.len())
            .map(|i| {
                let inputs: Vec<_> = self.data.row(i).iter().map(|&v| g.constant_scalar(v)).collect();
                model.forward(&inputs)[0]
            })
            .collect();
        let data_loss = loss::hinge_scalars(&scores, &self.labels)?;
        let squares: Vec<_> = self.params.iter().map(|&p| params.var(p) * params.var(p)).collect();
        let reg_loss = g.constant_scalar(F::from_f64(ALPHA)) * loss::sum_scalars(g, &squares);
        Ok((data_loss + reg_loss, scores))
    }

    /// Records the scalar step once and compiles it ([`CompiledTape`]): its inputs are the
    /// parameters, its outputs the loss and the score of every point. Replay it with
    /// [`MoonsDemo::step_compiled`]; the steps equal [`MoonsDemo::step_scalar`]'s bit for bit.
    pub fn compile_scalar(&self, options: CompileOptions) -> Result<CompiledStep<F>> {
        let graph = Graph::<F>::default();
        let params = self.store.bind(&graph);
        let (total, scores) = self.record_scalar(&graph, &params)?;
        let inputs: Vec<Var<'_, F>> = self.params.iter().map(|&p| params.var(p)).collect();
        let outputs: Vec<Var<'_, F>> = std::iter::once(total).chain(scores).collect();
        let tape = CompiledTape::with_options(&inputs, &outputs, options)?;
        Ok(CompiledStep { tape, points: self.data.x.clone(), recorded: graph.len() })
    }

    /// One step by replaying a compiled tape: the parameters go in, forward and backward run
    /// with no recording, and SGD updates the parameters as in [`MoonsDemo::step_scalar`].
    ///
    /// A compiled step holds the points it was recorded on: it serves any demo with the same
    /// points (such as a fresh one from the same seed) and refuses the others.
    pub fn step_compiled(&mut self, step: &mut CompiledStep<F>) -> Result<StepReport<F>> {
        if step.points != self.data.x {
            let message = "the compiled step was recorded on other points (compile this demo's own step)".to_string();
            return Err(crate::nn::Error::InvalidArgument { op: "step_compiled", message });
        }
        for (k, &p) in self.params.iter().enumerate() {
            step.tape.set_input_scalar(k, self.store[p].value.item())?;
        }
        step.tape.backward()?;
        let scores = (1..step.tape.num_outputs()).map(|k| step.tape.output_scalar(k));
        let scores: Vec<F> = scores.collect::<std::result::Result<_, _>>()?;
        let report = StepReport {
            loss: step.tape.output_scalar(0)?,
            accuracy: accuracy(scores.into_iter(), &self.labels),
            nodes: step.recorded,
        };
        for (k, &p) in self.params.iter().enumerate() {
            set_grad(&mut self.store, p, step.tape.grad_scalar(k)?);
        }
        self.update();
        Ok(report)
    }

    /// One step of the same model with tensor ops: the scalar weights are gathered into
    /// `[out, in]` matrices, the batch is one `[n, 2]` tensor, and the gradients are scattered
    /// back, so both steps train the very same parameters.
    pub fn step_tensor(&mut self, graph: &mut Graph<F>) -> Result<StepReport<F>> {
        graph.clear();
        let g = &*graph;
        let layers: Vec<(Var<'_, F>, Var<'_, F>)> =
            self.model.layers.iter().map(|layer| self.layer_tensors(g, layer)).collect::<Result<_>>()?;
        let mut act = g.constant(self.data.x.clone());
        for (k, (w, b)) in layers.iter().enumerate() {
            act = act.try_matmul(w.t())?.try_add(*b)?;
            if k + 1 < layers.len() {
                act = act.relu();
            }
        }
        let labels = g.constant(Tensor::from_vec(self.labels.clone(), [self.labels.len(), 1])?);
        let data_loss = loss::hinge(act, labels)?;
        let reg =
            layers.iter().map(|(w, b)| w.square().sum() + b.square().sum()).reduce(|a, b| a + b).expect("three layers");
        let total = data_loss + reg * F::from_f64(ALPHA);
        let accuracy = accuracy(act.value().data().iter().copied(), &self.labels);
        let report = StepReport { loss: total.item(), accuracy, nodes: g.len() };
        let grads = total.try_backward()?;
        self.store.zero_grad();
        for (layer, (w, b)) in self.model.layers.iter().zip(&layers) {
            let (dw, db) = (grads.wrt(*w), grads.wrt(*b));
            for (j, neuron) in layer.neurons.iter().enumerate() {
                let n_in = neuron.weights.len();
                for (i, &p) in neuron.weights.iter().enumerate() {
                    set_grad(&mut self.store, p, dw.data()[j * n_in + i]);
                }
                set_grad(&mut self.store, neuron.bias, db.data()[j]);
            }
        }
        self.update();
        Ok(report)
    }

    fn layer_tensors<'g>(&self, g: &'g Graph<F>, layer: &crate::nn::Layer) -> Result<(Var<'g, F>, Var<'g, F>)> {
        let n_in = layer.neurons[0].weights.len();
        let value = |p: ParamId| self.store[p].value.item();
        let w: Vec<F> = layer.neurons.iter().flat_map(|n| n.weights.iter().map(|&p| value(p))).collect();
        let b: Vec<F> = layer.neurons.iter().map(|n| value(n.bias)).collect();
        let n_out = layer.neurons.len();
        Ok((g.var(Tensor::from_vec(w, [n_out, n_in])?), g.var(Tensor::from_vec(b, [n_out])?)))
    }

    fn update(&mut self) {
        self.sgd.set_lr(self.schedule.lr(self.step));
        self.sgd.step(&mut self.store);
        self.step += 1;
    }

    /// The model's score for one point (positive means class 1).
    pub fn score(&self, point: [F; 2]) -> F {
        let g = Graph::<F>::default();
        let params = self.store.bind(&g);
        let inputs = [g.constant_scalar(point[0]), g.constant_scalar(point[1])];
        self.model.forward_one(&params, &inputs).item()
    }
}

/// The demo's scalar step, compiled by [`MoonsDemo::compile_scalar`].
pub struct CompiledStep<F: Float> {
    /// The compiled tape: the parameters in, the loss and the scores out.
    pub tape: CompiledTape<F>,
    points: Tensor<F>,
    recorded: usize,
}

fn set_grad<F: Float>(store: &mut ParamStore<F>, p: ParamId, grad: F) {
    if let Some(param) = store.get_mut(p) {
        param.grad = Some(Tensor::scalar(grad));
    }
}

fn accuracy<F: Float>(scores: impl Iterator<Item = F>, labels: &[F]) -> f64 {
    let correct = scores.zip(labels).filter(|(s, y)| (*s > F::ZERO) == (**y > F::ZERO)).count();
    correct as f64 / labels.len() as f64
}
