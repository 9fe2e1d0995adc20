//! Derivative rule of the matrix product.

use crate::algebra::TensorAlgebra;
use tapegrad_graph::Float;

/// (∂L/∂a, ∂L/∂b) for y = a·b: g·bᵀ and aᵀ·g, with broadcast batch dims summed away.
pub fn matmul<F: Float, A: TensorAlgebra<F>>(a: &A, b: &A, g: &A, need: [bool; 2]) -> [Option<A>; 2] {
    [
        need[0].then(|| g.matmul_t(false, b, true).sum_to(&a.shape())),
        need[1].then(|| a.matmul_t(true, g, false).sum_to(&b.shape())),
    ]
}
