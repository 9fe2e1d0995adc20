//! # tapegrad-nn
//!
//! Neural-network building blocks on tapegrad's tape: a [`ParamStore`] of named parameters
//! bound into each step's graph, the [`Module`] and [`Forward`] traits, micrograd's
//! [`Neuron`] / [`Layer`] / [`Mlp`] on the scalar graph, tensor layers ([`layers`]), losses
//! ([`loss`]), whole models ([`models`]), optimizers and schedules ([`optim`]), initializers ([`init`]), data sets and
//! loaders ([`data`]), and safetensors weight files ([`io`]).
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
//! store.accumulate(&p, &loss.backward());
//! opt.step(&mut store);
//! # Ok::<(), tapegrad_nn::Error>(())
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

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

pub use error::{Error, Result};
pub use micrograd::{BoundMlp, Layer, Mlp, Neuron};
pub use module::{Forward, Module};
pub use params::{Bound, Param, ParamId, ParamStore, PostAccumulateHook};
pub use summary::{summary, Summary, SummaryRow};
