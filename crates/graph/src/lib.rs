//! # tapegrad-graph
//!
//! The forward half of tapegrad: [`Tensor`] (n-dimensional, row-major, copy-on-write storage,
//! f32 or f64), the kernels that compute on it, the tape ([`Graph`]) that records one node per
//! op, the [`Var`] handles that record them, and DOT export.
//!
//! The tape is structure-of-arrays and append-only, so creation order is a topological order
//! and the backward sweep (in `tapegrad-autograd`) is one reverse loop. Scalars (0-d values) are
//! stored inline on the tape and computed without touching the heap; tensors share one tape
//! with them and broadcast against them.
//!
//! ```
//! use tapegrad_graph::{Graph, Tensor};
//! let g = Graph::new();
//! let x = g.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 2])?);
//! let w = g.var(Tensor::ones([2, 3]));
//! let h = x.matmul(w).relu().sum();
//! assert_eq!(h.item(), 30.0);
//! # Ok::<(), tapegrad_graph::Error>(())
//! ```
//!
//! ## Names
//!
//! - An op that can fail on its arguments or shapes comes in two forms with the same
//!   arguments: `x` panics with the error's message (like `a + b`), `try_x` returns the
//!   [`Error`]: `reshape`/`try_reshape`, `pow`/`try_pow`, `argmax`/`try_argmax`.
//! - A reduction comes in three: every element (`sum`), one axis (`sum_axis(axis, keepdim)`)
//!   and a set of axes (`sum_axes(&axes, keepdim)`), each with its `try_`.
//! - Tensor methods compute on data and record nothing; those that can fail return `Result`.
//! - `Graph::new()` makes a `Graph<f64>` (the type's default, and what float literals infer);
//!   `Graph::<f32>::default()` any other; `with_capacity` and `with_max_nodes` are generic.
//!
//! The [`op`] module is what the tape records, for tools that read it (DOT export, the
//! backward sweep); recording goes through [`Var`] and [`Graph`].

#![warn(missing_docs)]

mod algebra;
mod anomaly;
mod dot;
mod draw;
mod error;
mod float;
mod graph;
mod helper_threads;
pub mod op;
mod ops;
mod reads;
mod shape;
mod simd;
mod special;
mod tape_cell;
mod tensor;
mod threads;
mod var;
mod window;

pub use algebra::{Algebra, Slope, TensorAlgebra};
pub use anomaly::{non_finite, Anomaly, Phase};
pub use draw::{significant, thousands, MAX_DRAWN};
pub use error::{Error, Result};
pub use float::Float;
pub use graph::{GradHook, Graph, Node, Tape, Value, MAX_NODES};
pub use op::NodeId;
pub use ops::{map_unary, zip_binary};
pub use reads::{ValueRead, MAX_LOGGED_READS};
pub use shape::Shape;
pub use tape_cell::TapeRef;
pub use tensor::{release_pooled_buffers, ChannelStats, Indices, SavedStats, Tensor};
pub use threads::{num_threads, set_num_threads};
pub use var::{IntoVar, Var};
pub use window::{ConvOptions, Window};
