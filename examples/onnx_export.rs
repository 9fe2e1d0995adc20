//! Train here, serve anywhere: three models — an MLP, the cnn_digits conv net and a small
//! causal transformer — exported to ONNX (opset 18, weights as initializers, a dynamic batch
//! dimension), each with an input batch and tapegrad's outputs for it as `.npy` files, so
//! ONNX Runtime can be checked against tapegrad:
//!
//!     cargo run --release --example onnx_export
//!     python3 scripts/onnx/check_onnxruntime.py   # needs onnxruntime and numpy
//!
//! Each model is traced on a batch of 3 and checked on a batch of 5, so the check also shows
//! the batch dimension is dynamic.

#[path = "common/plots.rs"]
mod plots;

use rand::rngs::StdRng;
use rand::SeedableRng;
use std::path::Path;
use tapegrad::nn::layers::*;
use tapegrad::nn::models::{Gpt, GptConfig};
use tapegrad::nn::optim::{Adam, Optimizer};
use tapegrad::nn::{loss, onnx, Forward, Module, ParamStore};
use tapegrad::prelude::*;

/// `t` as a little-endian float32 `.npy` file.
fn write_npy(path: &Path, t: &Tensor<f32>) -> std::io::Result<()> {
    let shape: String = t.dims().iter().map(|d| format!("{d}, ")).collect();
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({shape}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in t.data() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes)
}

/// A few Adam steps on random data, so batch norm's running statistics and the weights are
/// not at their starting values.
fn warm_up(model: &dyn Forward<f32>, store: &mut ParamStore<f32>, x: &Tensor<f32>, classes: usize) {
    let mut opt = Adam::new(1e-2);
    let labels: Vec<usize> = (0..x.dims()[0]).map(|i| i % classes).collect();
    for _ in 0..3 {
        let g = Graph::<f32>::default();
        let params = store.bind(&g);
        let loss = loss::cross_entropy(model.forward(&params, g.constant(x.clone())), &labels, 0.0).unwrap();
        store.zero_grad();
        store.accumulate(&params, &loss.backward());
        opt.step(store);
    }
}

fn export(
    name: &str,
    model: &dyn Forward<f32>,
    store: &ParamStore<f32>,
    trace: Tensor<f32>,
    check: Tensor<f32>,
    dir: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let path = dir.join(format!("{name}.onnx"));
    onnx::save_module(model, store, trace, &path)?;
    let g = Graph::<f32>::default();
    let params = store.bind(&g);
    let output = g.no_grad(|| model.forward(&params, g.constant(check.clone()))).value();
    write_npy(&dir.join(format!("{name}_input.npy")), &check)?;
    write_npy(&dir.join(format!("{name}_output.npy")), &output)?;
    println!(
        "{name:<12} {} parameters → {} ({} bytes); input {} → output {}",
        store.numel(),
        path.display(),
        std::fs::metadata(&path)?.len(),
        check.shape(),
        output.shape()
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = plots::out_dir().join("onnx");
    std::fs::create_dir_all(&dir)?;
    let rng = &mut StdRng::seed_from_u64(0);

    let mut store = ParamStore::<f32>::new();
    let model = mlp(&mut store, &[64, 32, 10], Activation::Relu, rng)?;
    let images = |n: usize, rng: &mut StdRng| Tensor::<f32>::uniform([n, 64], 0.0, 1.0, rng);
    export("mlp", &model, &store, images(3, rng), images(5, rng), &dir)?;

    let mut store = ParamStore::<f32>::new();
    let same = ConvOptions::default().padding([1, 1]);
    let mut cnn = Sequential::new()
        .push(Unflatten(vec![1, 8, 8]))
        .push(Conv2d::new(&mut store, "conv1", 1, 8, [3, 3], same, false, rng)?)
        .push(BatchNorm::new(&mut store, "bn1", 8, 1e-5, 0.1)?)
        .push(Activation::Relu)
        .push(MaxPool2d(Window::pool([2, 2]).padding([1, 1])))
        .push(Conv2d::new(&mut store, "conv2", 8, 16, [3, 3], same.groups(2), true, rng)?)
        .push(Activation::Relu)
        .push(AvgPool2d(Window::pool([2, 2]).padding([1, 1])))
        .push(AdaptiveAvgPool2d)
        .push(Flatten)
        .push(Linear::new(&mut store, "fc", 16, 10, true, rng)?);
    warm_up(&cnn, &mut store, &images(16, rng), 10);
    cnn.set_training(false);
    export("cnn", &cnn, &store, images(3, rng), images(5, rng), &dir)?;

    let mut store = ParamStore::<f32>::new();
    let config = GptConfig { vocab: 27, context: 12, width: 32, heads: 4, layers: 2, tie_weights: true };
    let gpt = Gpt::new(&mut store, config, rng)?;
    let tokens = |n: usize, rng: &mut StdRng| {
        let ids: Vec<f32> = (0..n * 12).map(|_| rng.random_range(0..27) as f32).collect();
        Tensor::from_vec(ids, [n, 12]).expect("n × 12 tokens")
    };
    export("transformer", &gpt, &store, tokens(3, rng), tokens(5, rng), &dir)?;
    println!("\ncheck them with ONNX Runtime: python3 scripts/onnx/check_onnxruntime.py {}", dir.display());
    Ok(())
}
