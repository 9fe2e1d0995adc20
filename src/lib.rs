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

pub use tapegrad_autograd as autograd;
pub use tapegrad_graph as graph;
pub use tapegrad_nn as nn;

pub use tapegrad_graph::{Error, Float, Graph, Indices, Shape, Tensor, Var};

/// Everything a model or an exercise usually needs, in one `use`.
pub mod prelude {
    pub use tapegrad_autograd::{grad, gradcheck, gradgradcheck, Backward, Gradients};
    pub use tapegrad_graph::{Float, Graph, Indices, IntoVar, Shape, Tensor, Var};
}
