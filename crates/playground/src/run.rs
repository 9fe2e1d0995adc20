//! One Playground run: its data, its network (tapegrad `Linear` layers in a `ParamStore`), and
//! training with the Playground's semantics — per batch, the gradient of the mean of
//! ½(out − label)² (the Playground accumulates per example and divides by the batch size: the
//! same number), an SGD step, then the regularization step on the weights.

use crate::data::{features, generate, Point};
use crate::settings::{Activation, Regularization, Settings};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use tapegrad_autograd::Backward;
use tapegrad_graph::{Graph, Tensor, Var};
use tapegrad_nn::layers::Linear;
use tapegrad_nn::optim::{Optimizer, Sgd};
use tapegrad_nn::{Bound, Forward, ParamStore};

/// The decision heatmap's side: 100×100 points over [−6, 6]².
pub const HEATMAP: usize = 100;
/// Each neuron's small heatmap takes every 4th point of the big one: 25×25.
pub const NEURON_MAP: usize = 25;
/// The square the heatmaps cover: [−EXTENT, EXTENT]².
pub const EXTENT: f64 = 6.0;

/// Everything the page draws after a step.
#[derive(Clone, Debug, Serialize)]
pub struct Frame {
    /// Epochs trained.
    pub epoch: usize,
    /// Mean ½(out − label)² over the training points.
    pub train_loss: f64,
    /// The same over the test points.
    pub test_loss: f64,
    /// The output over the 100×100 grid, row by row from the top (y = 6) and left (x = −6),
    /// in thousandths.
    pub output: Vec<i16>,
    /// Every neuron's output over the 25×25 grid, per layer (the output layer last), in
    /// thousandths.
    pub neurons: Vec<Vec<Vec<i16>>>,
    /// The weights of each layer, `[to][from]`.
    pub weights: Vec<Vec<Vec<f64>>>,
    /// The biases of each layer.
    pub biases: Vec<Vec<f64>>,
}

/// One run of the Playground.
pub struct Run {
    /// Its settings.
    pub settings: Settings,
    /// The training points.
    pub train: Vec<Point>,
    /// The test points.
    pub test: Vec<Point>,
    /// Epochs trained.
    pub epoch: usize,
    store: ParamStore<f64>,
    layers: Vec<Linear>,
    optimizer: Sgd<f64>,
    shuffle: StdRng,
}

impl Run {
    /// A run with fresh data and initial weights, both drawn from the settings' seed.
    pub fn new(settings: Settings) -> Run {
        let mut rng = StdRng::seed_from_u64(settings.seed);
        let mut points = generate(settings.dataset, settings.noise, &mut rng);
        points.shuffle(&mut rng);
        let n_train = (points.len() * settings.train_ratio as usize / 100).max(1);
        let test = points.split_off(n_train);
        let mut run = Run {
            optimizer: Sgd::new(settings.learning_rate),
            settings,
            train: points,
            test,
            epoch: 0,
            store: ParamStore::new(),
            layers: Vec::new(),
            shuffle: rng,
        };
        run.reset();
        run
    }

    /// New initial weights (U(−0.5, 0.5), biases 0.1, from the seed), epoch 0; same data.
    pub fn reset(&mut self) {
        let mut rng = StdRng::seed_from_u64(self.settings.seed.wrapping_mul(7919).wrapping_add(17));
        self.store = ParamStore::new();
        let mut sizes = vec![self.inputs().len()];
        sizes.extend(&self.settings.hidden);
        sizes.push(1);
        self.layers = sizes
            .windows(2)
            .enumerate()
            .map(|(k, io)| {
                let layer = Linear::new(&mut self.store, &format!("layers.{k}"), io[0], io[1], true, &mut rng)
                    .expect("small layers fit in memory");
                let weights = Tensor::uniform([io[1], io[0]], -0.5, 0.5, &mut rng);
                self.store.set_value(layer.weight, weights).expect("the shape it was made with");
                self.store.set_value(layer.bias.expect("a bias"), Tensor::full([io[1]], 0.1)).expect("its shape");
                layer
            })
            .collect();
        self.optimizer = Sgd::new(self.settings.learning_rate);
        self.epoch = 0;
    }

    /// The indices of the features that feed the network.
    pub fn inputs(&self) -> Vec<usize> {
        (0..7).filter(|&k| self.settings.features[k]).collect()
    }

    /// The active features of `points`, as a `[n, inputs]` tensor.
    fn feature_matrix(&self, points: impl Iterator<Item = (f64, f64)>) -> Tensor<f64> {
        let inputs = self.inputs();
        let mut rows = Vec::new();
        let mut n = 0;
        for (x, y) in points {
            let f = features(x, y);
            rows.extend(inputs.iter().map(|&k| f[k]));
            n += 1;
        }
        Tensor::from_vec(rows, [n, inputs.len()]).expect("one row per point")
    }

    /// The network's output for `x`, and every layer's activations (the output layer last).
    fn forward<'g>(&self, params: &Bound<'g, f64>, x: Var<'g, f64>) -> Vec<Var<'g, f64>> {
        let mut h = x;
        let mut activations = Vec::new();
        for (k, layer) in self.layers.iter().enumerate() {
            let z = layer.forward(params, h);
            let last = k + 1 == self.layers.len();
            h = if last {
                if self.settings.dataset.is_regression() {
                    z
                } else {
                    z.tanh()
                }
            } else {
                match self.settings.activation {
                    Activation::Relu => z.relu(),
                    Activation::Tanh => z.tanh(),
                    Activation::Sigmoid => z.sigmoid(),
                    Activation::Linear => z,
                }
            };
            activations.push(h);
        }
        activations
    }

    /// Mean ½(out − label)² over `points`, recorded on `g`.
    fn loss<'g>(&self, g: &'g Graph, params: &Bound<'g, f64>, points: &[Point]) -> Var<'g, f64> {
        let x = g.constant(self.feature_matrix(points.iter().map(|p| (p.x, p.y))));
        let out = *self.forward(params, x).last().expect("an output layer");
        let labels = Tensor::from_vec(points.iter().map(|p| p.label).collect(), [points.len(), 1]).expect("one each");
        (out - g.constant(labels)).square().mean() * 0.5
    }

    /// One epoch: every training point once, in batches of the batch size (a new order each
    /// epoch), each followed by an SGD step and the regularization step.
    pub fn train_epoch(&mut self) {
        let mut order: Vec<usize> = (0..self.train.len()).collect();
        order.shuffle(&mut self.shuffle);
        for batch in order.chunks(self.settings.batch_size) {
            let points: Vec<Point> = batch.iter().map(|&i| self.train[i]).collect();
            let g = Graph::new();
            let params = self.store.bind(&g);
            let loss = self.loss(&g, &params, &points);
            let grads = loss.backward();
            self.store.zero_grad();
            self.store.accumulate(&params, &grads);
            drop(params);
            self.optimizer.step(&mut self.store);
            self.regularize();
        }
        self.epoch += 1;
    }

    /// w −= lr·rate·R′(w) on every weight (not the biases); under L1 a weight that would
    /// cross 0 stops at 0, as in the Playground.
    fn regularize(&mut self) {
        let step = self.settings.learning_rate * self.settings.regularization_rate;
        if self.settings.regularization == Regularization::None || step == 0.0 {
            return;
        }
        for layer in &self.layers {
            let w = &self.store[layer.weight].value;
            let updated = w.map(|v| match self.settings.regularization {
                Regularization::L2 => v - step * v,
                Regularization::L1 => {
                    let next = v - step * v.signum();
                    if next * v < 0.0 {
                        0.0
                    } else {
                        next
                    }
                }
                Regularization::None => v,
            });
            self.store.set_value(layer.weight, updated).expect("same shape");
        }
    }

    /// The training and test losses.
    pub fn losses(&self) -> (f64, f64) {
        let g = Graph::new();
        let params = self.store.bind(&g);
        g.no_grad(|| {
            let of = |points: &[Point]| if points.is_empty() { 0.0 } else { self.loss(&g, &params, points).item() };
            (of(&self.train), of(&self.test))
        })
    }

    /// What the page draws now.
    pub fn frame(&self) -> Frame {
        let step = 2.0 * EXTENT / HEATMAP as f64;
        let grid = (0..HEATMAP).flat_map(|row| {
            (0..HEATMAP).map(move |col| (-EXTENT + (col as f64 + 0.5) * step, EXTENT - (row as f64 + 0.5) * step))
        });
        let g = Graph::new();
        let params = self.store.bind(&g);
        let x = g.constant(self.feature_matrix(grid));
        let activations = g.no_grad(|| self.forward(&params, x));
        let thousandths = |v: f64| (v * 1000.0).round().clamp(-32000.0, 32000.0) as i16;
        let output =
            activations.last().expect("an output layer").value().data().iter().map(|&v| thousandths(v)).collect();
        let every = HEATMAP / NEURON_MAP;
        let neurons = activations
            .iter()
            .map(|a| {
                let a = a.value();
                let width = a.shape().dims()[1];
                (0..width)
                    .map(|j| {
                        (0..NEURON_MAP)
                            .flat_map(|r| {
                                (0..NEURON_MAP).map(move |c| (r * every + every / 2) * HEATMAP + c * every + every / 2)
                            })
                            .map(|i| thousandths(a.data()[i * width + j]))
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let (train_loss, test_loss) = self.losses();
        let weights = self.layers.iter().map(|l| rows(&self.store[l.weight].value)).collect();
        let biases = self.layers.iter().map(|l| self.store[l.bias.expect("a bias")].value.data().to_vec()).collect();
        Frame { epoch: self.epoch, train_loss, test_loss, output, neurons, weights, biases }
    }

    /// Sets the weight from neuron `from` of layer `layer − 1` (or input `from` for layer 0)
    /// to neuron `to` of layer `layer`.
    pub fn set_weight(&mut self, layer: usize, to: usize, from: usize, value: f64) -> Result<(), String> {
        let id = self.layers.get(layer).ok_or_else(|| format!("there is no layer {layer}"))?.weight;
        self.set_element(id, to, from, value)
    }

    /// Sets the bias of neuron `neuron` of layer `layer`.
    pub fn set_bias(&mut self, layer: usize, neuron: usize, value: f64) -> Result<(), String> {
        let id = self.layers.get(layer).ok_or_else(|| format!("there is no layer {layer}"))?.bias.expect("a bias");
        self.set_element(id, 0, neuron, value)
    }

    fn set_element(&mut self, id: tapegrad_nn::ParamId, row: usize, col: usize, value: f64) -> Result<(), String> {
        if !value.is_finite() {
            return Err(format!("{value} is not a finite number"));
        }
        let tensor = &self.store[id].value;
        let dims = tensor.shape().dims().to_vec();
        let (rows, cols) = if dims.len() == 2 { (dims[0], dims[1]) } else { (1, dims[0]) };
        if row >= rows || col >= cols {
            return Err(format!("there is no weight ({row}, {col}) in a layer of {rows}×{cols}"));
        }
        let mut data = tensor.data().to_vec();
        data[row * cols + col] = value;
        let updated = Tensor::from_vec(data, dims).map_err(|e| e.to_string())?;
        self.store.set_value(id, updated).map_err(|e| e.to_string())
    }
}

/// A `[rows, cols]` tensor as nested rows.
fn rows(t: &Tensor<f64>) -> Vec<Vec<f64>> {
    let cols = t.shape().dims()[1];
    t.data().chunks(cols).map(|r| r.to_vec()).collect()
}
