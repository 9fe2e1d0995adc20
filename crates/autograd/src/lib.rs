//! # tapegrad-autograd
//!
//! The backward half of tapegrad: the reverse sweep ([`Backward::backward`]) that returns
//! [`Gradients`] by value, one derivative rule per op (in `rules/`, grouped by family), recorded
//! differentiation ([`grad`]) for gradients of gradients, Hessian-vector products, Jacobians and
//! Hessians, the public [`gradcheck`] / [`gradgradcheck`], and the [`registry`] of every
//! differentiable op.
//!
//! Each derivative rule is written once, generic over [`Algebra`]: on plain numbers it is the
//! scalar fast path, on tensors the eager path, on `Var`s it records itself and so can be
//! differentiated again.
//!
//! ```
//! use tapegrad_autograd::{grad, Backward};
//! use tapegrad_graph::Graph;
//! let g = Graph::new();
//! let x = g.scalar(3.0);
//! let y = x.powf(3.0);
//! assert_eq!(y.backward().wrt(x).item(), 27.0);
//! let dy = grad(y, &[x])[0];
//! assert_eq!(dy.backward().wrt(x).item(), 18.0);
//! ```

#![warn(missing_docs)]

mod backward;
mod checkpoint;
mod compiled;
mod custom;
mod error;
mod explain;
mod forward;
mod grad;
mod gradcheck;
pub mod registry;
mod rules;

pub use backward::{Backward, Gradients};
pub use checkpoint::{checkpoint, try_checkpoint};
pub use compiled::{CompileOptions, CompileStats, CompiledTape, StepTime, StepTimes};
pub use custom::{CustomOp, CustomOpOnce, CustomOps};
pub use error::{Error, Result};
pub use explain::{draw_svg, explain_backward, Explanation, Passed, Step};
pub use grad::{grad, grad_with, hessian, hvp, jacfwd, jacobian, jvp, try_grad};
pub use gradcheck::{gradcheck, gradgradcheck, ATOL, EPS, RTOL};
pub use tapegrad_graph::{Algebra, TensorAlgebra};
