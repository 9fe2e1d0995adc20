//! W2: MLP 784-256-128-10, batch 128, ReLU, softmax cross-entropy, one SGD step, f32, on 1 and
//! 2 threads. W3: the W1 model as tensors — MLP 2-16-16-1 on a batch of 100 moons, hinge loss
//! plus 1e-4·L2, one SGD step, f32.
//!
//! Peers: benches/peers/torch_w2.py and benches/peers/torch_w3.py.

use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::nn::data::moons;
use tapegrad::nn::layers::{mlp, Activation, Sequential};
use tapegrad::nn::optim::{Optimizer, Sgd};
use tapegrad::nn::{loss, Bound, Forward, Module, ParamStore};
use tapegrad::prelude::*;

/// One training step: bind, forward, loss, backward, accumulate, SGD.
fn step(
    graph: &mut Graph<f32>,
    store: &mut ParamStore<f32>,
    model: &Sequential<f32>,
    opt: &mut Sgd<f32>,
    loss_of: impl for<'g> Fn(&Bound<'g, f32>, Var<'g, f32>) -> Var<'g, f32>,
    x: &Tensor<f32>,
) -> f32 {
    graph.clear();
    let value = {
        let params = store.bind(graph);
        let out = model.forward(&params, graph.constant(x.clone()));
        let loss = loss_of(&params, out);
        let grads = loss.backward();
        store.zero_grad();
        store.accumulate(&params, &grads);
        loss.item()
    };
    graph.clear();
    opt.step(store);
    value
}

fn w2(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    let mut store = ParamStore::<f32>::new();
    let model = mlp(&mut store, &[784, 256, 128, 10], Activation::Relu, &mut rng).unwrap();
    let x = Tensor::<f32>::uniform([128, 784], 0.0, 1.0, &mut rng);
    let labels: Vec<usize> = (0..128).map(|_| rng.random_range(0..10)).collect();
    let mut opt = Sgd::new(0.01);
    let mut graph = Graph::<f32>::default();
    let mut group = c.benchmark_group("W2");
    for threads in [1, 2] {
        tapegrad::graph::set_num_threads(threads);
        group.bench_function(format!("mlp_784_256_128_10_batch128_sgd_step_{threads}_threads"), |b| {
            b.iter(|| {
                step(
                    &mut graph,
                    &mut store,
                    &model,
                    &mut opt,
                    |_, logits| loss::cross_entropy(logits, &labels, 0.0).unwrap(),
                    &x,
                )
            })
        });
    }
    tapegrad::graph::set_num_threads(0);
    group.finish();
}

fn w3(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1337);
    let data = moons::<f32, _>(100, 0.1, &mut rng);
    let signs = Tensor::from_vec(data.signed_labels(), [100, 1]).unwrap();
    let mut store = ParamStore::<f32>::new();
    let model = mlp(&mut store, &[2, 16, 16, 1], Activation::Relu, &mut rng).unwrap();
    let ids = model.parameters();
    let mut opt = Sgd::new(0.1);
    let mut graph = Graph::<f32>::default();
    c.bench_function("W3/micrograd_model_as_tensors_batch100_f32", |b| {
        b.iter(|| {
            step(
                &mut graph,
                &mut store,
                &model,
                &mut opt,
                |params, scores| {
                    let weights: Vec<_> = ids.iter().map(|&p| params.var(p)).collect();
                    let data_loss = loss::hinge(scores, scores.graph().constant(signs.clone())).unwrap();
                    data_loss + loss::l2_penalty(&weights).unwrap() * 1e-4
                },
                &data.x,
            )
        })
    });
}

criterion_group!(benches, w2, w3);
criterion_main!(benches);
