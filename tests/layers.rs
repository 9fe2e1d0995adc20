//! Every layer passes the gradient check with respect to its input and its parameters, and the
//! micrograd blocks keep micrograd's defaults and parameter order.

#[path = "common/check_layer.rs"]
mod check_layer;

use check_layer::check_layer;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::nn::layers::{mlp, Activation, Dropout, Embedding, LayerNorm, Linear};
use tapegrad::nn::{Bound, Forward, Mlp, Module, ParamStore};
use tapegrad::prelude::*;

#[test]
fn linear_layernorm_activations_and_mlp_pass_gradcheck() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut store = ParamStore::new();
    let linear = Linear::new(&mut store, "fc", 3, 2, true, &mut rng).unwrap();
    let x = Tensor::randn([4, 3], 0.0, 1.0, &mut rng);
    check_layer(&linear, &store, x.clone());
    let norm = LayerNorm::new(&mut store, "norm", 3, 1e-5).unwrap();
    let scale = store.find("norm.weight").unwrap();
    store.set_value(scale, Tensor::randn([3], 1.0, 0.3, &mut rng)).unwrap();
    check_layer(&norm, &store, x.clone());
    for act in [
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Gelu,
        Activation::Softplus,
        Activation::Softmax,
        Activation::LeakyRelu(0.2),
    ] {
        check_layer(&act, &store, x.clone());
    }
    let mut mlp_store = ParamStore::new();
    let net = mlp(&mut mlp_store, &[3, 5, 2], Activation::Tanh, &mut rng).unwrap();
    check_layer(&net, &mlp_store, x);
}

#[test]
fn linear_is_x_times_weight_transposed_plus_bias() {
    let mut store = ParamStore::new();
    let linear = Linear::new(&mut store, "fc", 2, 3, true, &mut StdRng::seed_from_u64(0)).unwrap();
    store.set_value(linear.weight, Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [3, 2]).unwrap()).unwrap();
    store.set_value(linear.bias.unwrap(), Tensor::from_vec(vec![0.5, 0.0, -0.5], [3]).unwrap()).unwrap();
    let g = Graph::new();
    let y = linear.forward(&store.bind(&g), g.constant(Tensor::from_vec(vec![1.0, -1.0], [1, 2]).unwrap()));
    assert_eq!(y.value().to_vec(), vec![-0.5, -1.0, -1.5]);
    // PyTorch's default init: U(-1/sqrt(in), 1/sqrt(in))
    let big = Linear::new(&mut store, "big", 100, 50, true, &mut StdRng::seed_from_u64(1)).unwrap();
    assert!(store[big.weight].value.data().iter().all(|v| v.abs() <= 0.1));
}

#[test]
fn layernorm_normalizes_the_last_dim() {
    let mut store = ParamStore::new();
    let norm = LayerNorm::new(&mut store, "ln", 4, 1e-5).unwrap();
    let g = Graph::new();
    let y = norm.forward(&store.bind(&g), g.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [1, 4]).unwrap()));
    let v = y.value().to_vec();
    let mean: f64 = v.iter().sum::<f64>() / 4.0;
    let var: f64 = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 4.0;
    assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-4);
}

#[test]
fn embedding_gathers_rows_and_adds_up_their_gradients() {
    let mut store = ParamStore::new();
    let emb = Embedding::new(&mut store, "emb", 5, 3, &mut StdRng::seed_from_u64(2)).unwrap();
    let g = Graph::new();
    let params = store.bind(&g);
    let ids = Indices::new(vec![1, 4, 1, 0], [2, 2]).unwrap();
    let out = emb.try_lookup(&params, &ids).unwrap();
    assert_eq!(out.shape().dims(), &[2, 2, 3]);
    let grad = out.sum().backward().wrt(params.var(emb.weight));
    assert_eq!(grad.to_vec(), vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    assert!(emb.try_lookup(&params, &Indices::from(vec![5])).is_err());
}

#[test]
fn dropout_masks_in_training_and_passes_through_in_eval() {
    let mut drop = Dropout::new(0.5, 3).unwrap();
    let store = ParamStore::<f64>::new();
    let g = Graph::new();
    let x = g.var(Tensor::ones([1000]));
    let y = drop.forward(&store.bind(&g), x).value();
    let kept = y.data().iter().filter(|&&v| v != 0.0).count();
    assert!((400..600).contains(&kept), "kept {kept}");
    assert!(y.data().iter().all(|&v| v == 0.0 || v == 2.0));
    Module::<f64>::set_training(&mut drop, false);
    assert_eq!(drop.forward(&store.bind(&g), x).value(), Tensor::ones([1000]));
    assert!(Dropout::new(1.0, 0).is_err());
    // with a fixed mask, dropout is differentiable like a constant factor
    gradcheck(|_, v| Dropout::new(0.3, 9).unwrap().forward(&Bound::new(), v[0]), &[Tensor::ones([6])]).unwrap();
}

#[test]
fn micrograd_mlp_has_micrograds_defaults_and_order() {
    let mut store = ParamStore::new();
    let model = Mlp::new(&mut store, 2, &[16, 16, 1], &mut StdRng::seed_from_u64(1337)).unwrap();
    let params = Module::<f64>::parameters(&model);
    assert_eq!(params.len(), 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1);
    // micrograd's order: per layer, per neuron, its weights then its bias
    let names: Vec<&str> = params.iter().take(4).map(|&p| store[p].name.as_str()).collect();
    assert_eq!(
        names,
        ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b", "layers.0.neurons.1.w.0"]
    );
    for &p in &params {
        let v = store[p].value.item();
        if store[p].name.ends_with(".b") {
            assert_eq!(v, 0.0);
        } else {
            assert!((-1.0..1.0).contains(&v));
        }
    }
    assert!(
        model.layers[0].neurons[0].nonlin && model.layers[1].neurons[0].nonlin && !model.layers[2].neurons[0].nonlin
    );
    let g = Graph::new();
    let p = store.bind(&g);
    let out = model.forward(&p, &[g.constant_scalar(0.3), g.constant_scalar(-0.2)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].item(), model.bind(&p).forward(&[g.constant_scalar(0.3), g.constant_scalar(-0.2)])[0].item());
}

#[test]
fn embedding_passes_gradcheck_for_its_table() {
    let mut store = ParamStore::new();
    let emb = Embedding::new(&mut store, "emb", 4, 3, &mut StdRng::seed_from_u64(6)).unwrap();
    let ids = Indices::new(vec![3, 1, 3], [3]).unwrap();
    let table = store[emb.weight].value.clone();
    gradcheck(
        |_, v| {
            let mut bound = Bound::new();
            bound.insert(emb.weight, v[0]);
            emb.lookup(&bound, &ids).sin()
        },
        &[table],
    )
    .unwrap();
}
