//! # tapegrad-nn
//!
//! Neural-network building blocks on tapegrad's tape: a [`ParamStore`] of named parameters
//! bound into each step's graph, the [`Module`] and [`Forward`] traits, micrograd's
//! [`Neuron`] / [`Layer`] / [`Mlp`] on the scalar graph, tensor layers ([`layers`]: linear,
//! convolutions, poolings, normalizations, attention, transformer blocks), whole models
//! ([`models`]), losses ([`loss`]), optimizers and schedules ([`optim`]), initializers
//! ([`init`]), data sets and loaders ([`data`]), safetensors files ([`io`]), a model
//! [`summary`] and ONNX export ([`onnx`]).
//!
//! ## A training loop
//!
//! Each step: **bind** the parameters into a fresh (or cleared) graph, run the **forward**
//! pass, compute the **loss**, **zero** the gradients the store accumulated last step,
//! **backward** and **accumulate** into the store, and let the optimizer **step**. Gradients
//! add up across `accumulate` calls until `zero_grad`, so several micro-batches can make one
//! step — and a loop that forgets `zero_grad` keeps adding old gradients in.
//!
//! ```
//! use rand::{rngs::StdRng, SeedableRng};
//! use tapegrad_autograd::Backward;
//! use tapegrad_graph::{Graph, Tensor};
//! use tapegrad_nn::layers::{mlp, Activation};
//! use tapegrad_nn::optim::{Adam, Optimizer};
//! use tapegrad_nn::{data, loss, Forward, ParamStore};
//!
//! let mut rng = StdRng::seed_from_u64(0);
//! let data = data::moons::<f32, _>(100, 0.1, &mut rng);
//! let mut store = ParamStore::<f32>::new();
//! let model = mlp(&mut store, &[2, 16, 2], Activation::Relu, &mut rng)?;
//! let mut opt = Adam::new(1e-2);
//! let mut graph = Graph::<f32>::default();
//! for _ in 0..100 {
//!     graph.clear(); // reuse the tape's memory
//!     let params = store.bind(&graph); // 1. bind
//!     let logits = model.forward(&params, graph.constant(data.x.clone())); // 2. forward
//!     let loss = loss::cross_entropy(logits, &data.y, 0.0)?; // 3. loss
//!     store.zero_grad(); // 4. forget last step's gradients
//!     store.accumulate(&params, &loss.backward()); // 5. backward, into the store
//!     drop(params);
//!     opt.step(&mut store); // 6. update
//! }
//! # Ok::<(), tapegrad_nn::Error>(())
//! ```
//!
//! Switch layers with a training mode (`Dropout`, `BatchNorm`) with
//! [`Module::set_training`] before evaluating. To write a layer of your own, implement
//! [`Module`] (its parameter keys) and [`Forward`] (its computation); the `custom_module`
//! example builds a residual block that way.
//!
//! The micrograd blocks work on lists of scalars:
//!
//! ```
//! use rand::{rngs::StdRng, SeedableRng};
//! use tapegrad_autograd::Backward;
//! use tapegrad_graph::Graph;
//! use tapegrad_nn::{loss, optim::{Optimizer, Sgd}, Mlp, ParamStore};
//!
//! let mut rng = StdRng::seed_from_u64(1337);
//! let mut store = ParamStore::new();
//! let model = Mlp::new(&mut store, 2, &[4, 1], &mut rng)?;
//! let mut opt = Sgd::new(0.1);
//! let g = Graph::new();
//! let p = store.bind(&g);
//! let x = [g.constant_scalar(1.0), g.constant_scalar(-1.0)];
//! let score = model.forward_one(&p, &x);
//! let loss = loss::hinge_scalars(&[score], &[1.0])?;
//! store.zero_grad();
//! store.accumulate(&p, &loss.backward());
//! opt.step(&mut store);
//! # Ok::<(), tapegrad_nn::Error>(())
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod compiled;
pub mod data;
mod error;
pub mod init;
pub mod io;
pub mod layers;
pub mod loss;
mod micrograd;
pub mod models;
mod module;
pub mod onnx;
pub mod optim;
mod params;
mod summary;

pub use compiled::CompiledStep;
pub use error::{Error, Result};
pub use micrograd::{BoundMlp, Layer, Mlp, Neuron};
pub use module::{Forward, Module};
pub use params::{Bound, Param, ParamId, ParamStore, PostAccumulateHook};
pub use summary::{summary, Summary, SummaryRow};
