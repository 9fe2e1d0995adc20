//! The model-building layers: convolutions, poolings, normalizations and attention pass the
//! gradient check through their parameters; batch norm's modes and running statistics; the
//! causal mask; `Embedding` inside `Sequential`; the model summary.

#[path = "common/check_layer.rs"]
mod check_layer;

use check_layer::check_layer;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::nn::layers::*;
use tapegrad::nn::models::{Gpt, GptConfig};
use tapegrad::nn::{summary, Forward, Module, ParamStore};
use tapegrad::prelude::*;

#[test]
fn conv_pool_norm_and_attention_layers_pass_gradcheck() {
    let rng = &mut StdRng::seed_from_u64(21);
    let mut store = ParamStore::new();
    let image = Tensor::randn([2, 4, 5, 5], 0.0, 1.0, rng);
    let conv =
        Conv2d::new(&mut store, "c", 4, 6, [3, 2], ConvOptions::default().stride([2, 1]).groups(2), true, rng).unwrap();
    check_layer(&conv, &store, image.clone());
    let conv1 =
        Conv1d::new(&mut store, "c1", 4, 2, 3, ConvOptions::default().padding([2]).dilation([2]), false, rng).unwrap();
    check_layer(&conv1, &store, Tensor::randn([2, 4, 6], 0.0, 1.0, rng));
    check_layer(&MaxPool2d(Window::pool([2, 2])), &store, image.clone());
    check_layer(&AvgPool2d(Window::new([3, 3]).padding([1, 1])), &store, image.clone());
    check_layer(&AdaptiveAvgPool2d, &store, image.clone());
    check_layer(&Flatten, &store, image.clone());
    let bn = BatchNorm::new(&mut store, "bn", 4, 1e-5, 0.1).unwrap();
    check_layer(&bn, &store, image.clone());
    let gn = GroupNorm::new(&mut store, "gn", 2, 4, 1e-5).unwrap();
    store.set_value(gn.weight, Tensor::randn([4], 1.0, 0.3, rng)).unwrap();
    check_layer(&gn, &store, image);
    let tokens = Tensor::randn([2, 4, 8], 0.0, 1.0, rng);
    let attn = SelfAttention::new(&mut store, "attn", 8, 2, true, rng).unwrap();
    check_layer(&attn, &store, tokens.clone());
    let block = TransformerBlock::new(&mut store, "h", 8, 4, false, rng).unwrap();
    check_layer(&block, &store, tokens.clone());
    let pos = PositionEmbedding::new(&mut store, "wpe", 6, 8, rng).unwrap();
    check_layer(&pos, &store, tokens);
}

#[test]
fn conv2d_layer_computes_the_cross_correlation() {
    let mut store = ParamStore::new();
    let conv = Conv2d::new(
        &mut store,
        "c",
        1,
        1,
        [2, 2],
        ConvOptions::default().padding([1, 1]),
        true,
        &mut StdRng::seed_from_u64(0),
    )
    .unwrap();
    store.set_value(conv.weight, Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [1, 1, 2, 2]).unwrap()).unwrap();
    store.set_value(conv.bias.unwrap(), Tensor::from_vec(vec![0.5], [1]).unwrap()).unwrap();
    let g = Graph::new();
    let x = g.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [1, 1, 2, 2]).unwrap());
    let y = conv.forward(&store.bind(&g), x);
    // Padded input 4×4 → 3×3; e.g. the corner sees only x[0,0]·w[1,1] = 1·4.
    assert_eq!(y.shape().dims(), &[1, 1, 3, 3]);
    let want = [4.0, 11.0, 6.0, 14.0, 30.0, 14.0, 6.0, 11.0, 4.0].map(|v| v + 0.5);
    assert_eq!(y.value().to_vec(), want.to_vec());
}

#[test]
fn batch_norm_uses_batch_statistics_in_training_and_running_ones_in_evaluation() {
    let mut store = ParamStore::new();
    let mut bn = BatchNorm::new(&mut store, "bn", 2, 1e-5, 0.5).unwrap();
    let x = Tensor::from_vec(vec![1.0, 10.0, 3.0, 20.0, 5.0, 30.0], [3, 2]).unwrap();
    let g = Graph::new();
    let y = bn.forward(&store.bind(&g), g.constant(x.clone()));
    let col0: Vec<f64> = y.value().to_vec().iter().step_by(2).copied().collect();
    let s = (8.0f64 / 3.0 + 1e-5).sqrt(); // biased variance of 1, 3, 5
    assert!(col0.iter().zip([-2.0 / s, 0.0, 2.0 / s]).all(|(a, b)| (a - b).abs() < 1e-12), "{col0:?}");
    let stats = bn.running();
    assert_eq!(stats.mean.to_vec(), vec![1.5, 10.0]); // 0.5·0 + 0.5·(3, 20)
    let var = stats.var.to_vec(); // unbiased 4 and 100
    assert!((var[0] - 2.5).abs() < 1e-12 && (var[1] - 50.5).abs() < 1e-12, "{var:?}");
    bn.set_training(false);
    let y = bn.forward(&store.bind(&g), g.constant(x));
    let expect0 = (1.0 - 1.5) / (2.5f64 + 1e-5).sqrt();
    assert!((y.value().to_vec()[0] - expect0).abs() < 1e-12);
    assert_eq!(bn.running().batches, 1, "evaluation leaves the statistics alone");
}

#[test]
fn checkpointed_batch_norm_moves_its_statistics_once() {
    let mut store = ParamStore::new();
    let plain = BatchNorm::new(&mut store, "bn", 3, 1e-5, 0.1).unwrap();
    let wrapped = Checkpoint::new(BatchNorm::new(&mut store, "bn2", 3, 1e-5, 0.1).unwrap());
    let x = Tensor::randn([4, 3], 0.0, 2.0, &mut StdRng::seed_from_u64(1));
    let g = Graph::new();
    let bound = store.bind(&g);
    plain.forward(&bound, g.constant(x.clone())).square().sum().backward();
    wrapped.forward(&bound, g.constant(x)).square().sum().backward(); // runs the segment again
    let (once, checkpointed) = (plain.running(), wrapped.module().running());
    assert_eq!(checkpointed.batches, 1);
    assert_eq!((once.mean, once.var), (checkpointed.mean, checkpointed.var));
}

#[test]
fn causal_attention_does_not_look_ahead() {
    let mut store = ParamStore::new();
    let attn = SelfAttention::new(&mut store, "attn", 4, 2, true, &mut StdRng::seed_from_u64(3)).unwrap();
    let x = Tensor::randn([1, 5, 4], 0.0, 1.0, &mut StdRng::seed_from_u64(4));
    let g = Graph::new();
    let xv = g.var(x);
    let y = attn.forward(&store.bind(&g), xv);
    // Position 2's output depends on positions 0..=2 only.
    let dx = y.slice(1, 2, 3).sum().backward().wrt(xv);
    let per_position: Vec<f64> =
        (0..5).map(|t| dx.slice(1, t, t + 1).unwrap().data().iter().map(|v| v.abs()).sum()).collect();
    assert!(per_position[..3].iter().all(|&v| v > 0.0), "{per_position:?}");
    assert_eq!(&per_position[3..], &[0.0, 0.0]);
}

#[test]
fn embedding_sits_in_a_sequential() {
    let rng = &mut StdRng::seed_from_u64(5);
    let mut store = ParamStore::new();
    let model = Sequential::new()
        .push(Embedding::new(&mut store, "emb", 10, 4, rng).unwrap())
        .push(Flatten)
        .push(Linear::new(&mut store, "out", 12, 10, true, rng).unwrap());
    let g = Graph::new();
    let ids = g.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 9.0, 0.0, 0.0], [2, 3]).unwrap());
    let bound = store.bind(&g);
    let logits = model.forward(&bound, ids);
    assert_eq!(logits.shape().dims(), &[2, 10]);
    let grads = loss::cross_entropy(logits, &[1, 2], 0.0).unwrap().backward();
    let table = grads.wrt(bound.var(store.find("emb.weight").unwrap()));
    assert!(table.slice(0, 9, 10).unwrap().data().iter().any(|&v| v != 0.0));
    assert!(table.slice(0, 5, 6).unwrap().data().iter().all(|&v| v == 0.0), "row 5 was never looked up");
}

#[test]
fn summary_lists_layers_shapes_and_parameters_and_changes_nothing() {
    let rng = &mut StdRng::seed_from_u64(6);
    let mut store = ParamStore::<f32>::new();
    let pad = ConvOptions::default().padding([1, 1]);
    let bn = BatchNorm::new(&mut store, "1", 8, 1e-5, 0.1).unwrap();
    let model = Sequential::new()
        .push(Conv2d::new(&mut store, "0", 1, 8, [3, 3], pad, true, rng).unwrap())
        .push(bn)
        .push(Activation::Relu)
        .push(MaxPool2d(Window::pool([2, 2])))
        .push(Sequential::new().push(Flatten).push(Linear::new(&mut store, "5", 8 * 16, 10, true, rng).unwrap()));
    let before = store.iter().map(|(_, p)| p.value.clone()).collect::<Vec<_>>();
    let s = summary(&model, &store, [64, 1, 8, 8]);
    let rows: Vec<(&str, &str, Vec<usize>, usize)> =
        s.rows.iter().map(|r| (r.path.as_str(), r.layer.as_str(), r.output.dims().to_vec(), r.params)).collect();
    assert_eq!(
        rows,
        vec![
            ("0", "Conv2d", vec![64, 8, 8, 8], 8 * 9 + 8),
            ("1", "BatchNorm", vec![64, 8, 8, 8], 16),
            ("2", "Relu", vec![64, 8, 8, 8], 0),
            ("3", "MaxPool2d(2×2, stride 2×2)", vec![64, 8, 4, 4], 0),
            ("4.0", "Flatten", vec![64, 128], 0),
            ("4.1", "Linear", vec![64, 10], 1290),
        ]
    );
    assert_eq!((s.total, s.trainable), (80 + 16 + 1290, 80 + 16 + 1290));
    let table = s.to_string();
    assert!(table.contains("Total params: 1,386 (trainable 1,386), input [64, 1, 8, 8]"), "{table}");
    assert!(table.contains("4.1  Linear"), "{table}");
    assert_eq!(store.iter().map(|(_, p)| p.value.clone()).collect::<Vec<_>>(), before);
}

#[test]
fn gpt_summary_and_untied_head() {
    let mut store = ParamStore::<f32>::new();
    let config = GptConfig { vocab: 27, context: 8, width: 16, heads: 4, layers: 2, tie_weights: false };
    let gpt = Gpt::new(&mut store, config, &mut StdRng::seed_from_u64(7)).unwrap();
    let s = summary(&gpt, &store, [2, 8]);
    assert_eq!(s.rows.len(), 1);
    assert_eq!(s.rows[0].output.dims(), &[2, 8, 27]);
    assert_eq!(s.total, store.numel());
    assert!(store.find("lm_head.weight").is_some());
}
