//! A conv net and a small transformer, built here and in PyTorch (float64) from the same
//! initial weights, trained 5 Adam steps on the same batches: every loss, gradient and
//! parameter matches to 1e-10 (fixtures: scripts/fixtures/torch_models.py).

use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::HashMap;
use tapegrad::nn::io::tensors_from_safetensors_bytes;
use tapegrad::nn::layers::{
    Activation, AdaptiveAvgPool2d, AvgPool2d, BatchNorm, Conv2d, Flatten, GroupNorm, Linear, MaxPool2d, Sequential,
};
use tapegrad::nn::models::{Gpt, GptConfig};
use tapegrad::nn::optim::{Adam, Optimizer};
use tapegrad::nn::{loss, Forward, ParamStore};
use tapegrad::prelude::*;

const TOLERANCE: f64 = 1e-10;

fn fixture(bytes: &[u8]) -> HashMap<String, Tensor<f64>> {
    tensors_from_safetensors_bytes(bytes, "fixture").unwrap().into_iter().collect()
}

fn close(what: &str, got: &Tensor<f64>, want: &Tensor<f64>) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (i, (a, b)) in got.data().iter().zip(want.data()).enumerate() {
        assert!((a - b).abs() <= TOLERANCE * (1.0 + b.abs()), "{what}[{i}]: tapegrad {a}, PyTorch {b}");
    }
}

/// Loads the fixture's initial weights into `store`, trains 5 steps of `model` with Adam
/// (lr 0.01) and checks the loss, every gradient and every parameter at each step.
fn train_and_compare(
    store: &mut ParamStore,
    model: &dyn Forward<f64>,
    fx: &HashMap<String, Tensor<f64>>,
    loss_of: impl for<'g> Fn(Var<'g, f64>, &[usize]) -> Var<'g, f64>,
) {
    let ids: Vec<_> = store.iter().map(|(id, p)| (id, p.name.clone())).collect();
    assert_eq!(ids.len(), fx.keys().filter(|k| k.starts_with("init.")).count(), "parameter count");
    for (id, name) in &ids {
        store.set_value(*id, fx[&format!("init.{name}")].clone()).unwrap();
    }
    let mut opt = Adam::new(0.01);
    for k in 0..5 {
        let x = fx[&format!("x.{k}")].clone();
        let labels: Vec<usize> = fx[&format!("y.{k}")].data().iter().map(|&v| v as usize).collect();
        store.zero_grad();
        let g = Graph::new();
        let bound = store.bind(&g);
        let out = model.forward(&bound, g.constant(x));
        let loss = loss_of(out, &labels);
        close(&format!("loss {k}"), &loss.value(), &Tensor::scalar(fx["loss"].data()[k]));
        store.accumulate(&bound, &loss.backward());
        for (id, name) in &ids {
            close(&format!("grad {k} {name}"), store[*id].grad.as_ref().unwrap(), &fx[&format!("grad.{k}.{name}")]);
        }
        opt.step(store);
        for (id, name) in &ids {
            close(&format!("step {k} {name}"), &store[*id].value, &fx[&format!("step.{k}.{name}")]);
        }
    }
}

#[test]
fn conv_net_matches_pytorch_for_five_adam_steps() {
    let fx = fixture(include_bytes!("fixtures/torch_cnn.safetensors"));
    let mut store = ParamStore::new();
    let rng = &mut StdRng::seed_from_u64(0);
    let pad = ConvOptions::default().padding([1, 1]);
    let model = Sequential::new()
        .push(Conv2d::new(&mut store, "0", 1, 4, [3, 3], pad, true, rng).unwrap())
        .push(BatchNorm::new(&mut store, "1", 4, 1e-5, 0.1).unwrap())
        .push(Activation::Relu)
        .push(MaxPool2d(Window::pool([2, 2])))
        .push(Conv2d::new(&mut store, "4", 4, 8, [3, 3], pad.groups(2), true, rng).unwrap())
        .push(GroupNorm::new(&mut store, "5", 2, 8, 1e-5).unwrap())
        .push(Activation::Relu)
        .push(AvgPool2d(Window::pool([2, 2])))
        .push(AdaptiveAvgPool2d)
        .push(Flatten)
        .push(Linear::new(&mut store, "10", 8, 10, true, rng).unwrap());
    train_and_compare(&mut store, &model, &fx, |logits, labels| loss::cross_entropy(logits, labels, 0.0).unwrap());
}

#[test]
fn batch_norm_running_statistics_match_pytorch() {
    let fx = fixture(include_bytes!("fixtures/torch_cnn.safetensors"));
    // The first layer's output is what the batch norm sees; its running statistics after the
    // 5 training batches depend on the conv weights of each step.
    let mut store = ParamStore::new();
    let conv = Conv2d::new(
        &mut store,
        "0",
        1,
        4,
        [3, 3],
        ConvOptions::default().padding([1, 1]),
        true,
        &mut StdRng::seed_from_u64(0),
    )
    .unwrap();
    let bn = BatchNorm::new(&mut store, "1", 4, 1e-5, 0.1).unwrap();
    for k in 0..5 {
        let step = if k == 0 { "init".to_string() } else { format!("step.{}", k - 1) };
        store.set_value(conv.weight, fx[&format!("{step}.0.weight")].clone()).unwrap();
        store.set_value(conv.bias.unwrap(), fx[&format!("{step}.0.bias")].clone()).unwrap();
        let g = Graph::new();
        let bound = store.bind(&g);
        bn.forward(&bound, conv.forward(&bound, g.constant(fx[&format!("x.{k}")].clone())));
    }
    let stats = bn.running();
    close("running_mean", &stats.mean, &fx["final.running_mean"]);
    close("running_var", &stats.var, &fx["final.running_var"]);
    assert_eq!(stats.batches, 5);
}

#[test]
fn transformer_matches_pytorch_for_five_adam_steps() {
    let fx = fixture(include_bytes!("fixtures/torch_gpt.safetensors"));
    let mut store = ParamStore::new();
    let config = GptConfig { vocab: 7, context: 5, width: 8, heads: 2, layers: 2, tie_weights: true };
    let model = Gpt::new(&mut store, config, &mut StdRng::seed_from_u64(0)).unwrap();
    train_and_compare(&mut store, &model, &fx, |logits, labels| {
        let flat = logits.reshape([labels.len(), 7]);
        loss::cross_entropy(flat, labels, 0.0).unwrap()
    });
}
