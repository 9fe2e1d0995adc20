//! # tapegrad
//!
//! A reverse-mode automatic differentiation engine: a tape that records scalar and tensor ops
//! on one graph, backpropagation over it in one reverse sweep, gradients of gradients, a public
//! gradient check, and neural-network building blocks on top.
//!
//! ```
//! use tapegrad::prelude::*;
//!
//! let g = Graph::new();
//! let a = g.scalar(-4.0);
//! let b = g.scalar(2.0);
//! let c = a * b + b.powf(3.0) - 1.0 / a;
//! let y = c.relu() + c.tanh() + c.exp().log() + c.sigmoid();
//! let grads = y.backward();
//! println!("y = {}, dy/da = {}", y.item(), grads.wrt(a).item());
//! ```
//!
//! The crates: [`graph`] (tensors, the tape, forward ops), [`autograd`] (backward, `grad`,
//! gradcheck) and [`nn`] (layers, losses, optimizers, data, weight files).

#![forbid(unsafe_code)]

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub mod demo;
mod error;

pub use error::{Error, Result};
/// The random-number crate tapegrad's initializers and data sets take their RNG from, so a
/// model needs no extra dependency to seed one.
pub use rand;
pub use tapegrad_autograd as autograd;
pub use tapegrad_graph as graph;
pub use tapegrad_nn as nn;

pub use tapegrad_graph::{
    num_threads, set_num_threads, ConvOptions, Float, Graph, Indices, Shape, Tensor, Var, Window,
};

/// Everything a model, a training script or an exercise usually needs, in one `use`.
///
/// ```
/// use tapegrad::prelude::*;
/// let mut rng = StdRng::seed_from_u64(0);
/// let mut store = ParamStore::<f32>::new();
/// let model = mlp(&mut store, &[2, 8, 2], Activation::Relu, &mut rng)?;
/// let mut opt = Adam::new(0.01);
/// let g = Graph::<f32>::default();
/// let params = store.bind(&g);
/// let x = g.constant(Tensor::ones([4, 2]));
/// let loss = loss::cross_entropy(model.forward(&params, x), &[0, 1, 0, 1], 0.0)?;
/// store.zero_grad();
/// store.accumulate(&params, &loss.backward());
/// opt.step(&mut store);
/// # Ok::<(), tapegrad::Error>(())
/// ```
pub mod prelude {
    pub use crate::{Error, Result};
    pub use rand::rngs::StdRng;
    pub use rand::{Rng, SeedableRng};
    pub use tapegrad_autograd::{
        checkpoint, grad, gradcheck, gradgradcheck, hessian, hvp, jacfwd, jacobian, jvp, Backward, CustomOp,
        CustomOpOnce, CustomOps, Gradients,
    };
    pub use tapegrad_graph::{ConvOptions, Float, Graph, Indices, IntoVar, Shape, Tensor, Var, Window};
    pub use tapegrad_nn::data::Dataset;
    pub use tapegrad_nn::layers::{
        mlp, Activation, AdaptiveAvgPool2d, AvgPool2d, BatchNorm, Checkpoint, Conv1d, Conv2d, Dropout, Embedding,
        Flatten, GroupNorm, LayerNorm, Linear, MaxPool2d, PositionEmbedding, SelfAttention, Sequential,
        TransformerBlock, Unflatten,
    };
    pub use tapegrad_nn::optim::{Adagrad, Adam, AdamW, Optimizer, RmsProp, Sgd};
    pub use tapegrad_nn::{loss, Forward, Layer, Mlp, Module, Neuron, ParamId, ParamStore};
}
