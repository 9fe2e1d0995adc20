//! The ops a [`Var`](crate::Var) records, one file per family.

mod elementwise;
mod index;
mod loss;
mod matmul;
mod norm;
mod operators;
mod reduce;
mod shape;
mod softmax;
mod window;

pub use elementwise::{map_unary, zip_binary};
