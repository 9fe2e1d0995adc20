//! Derivative rule of the matrix product.

use tapegrad_graph::Float;
use tapegrad_graph::TensorAlgebra;

/// (∂L/∂a, ∂L/∂b) for y = op(a)·op(b), where `op` transposes when `transposed` says so:
/// with A = op(a), B = op(b), ∂A = g·Bᵀ and ∂B = Aᵀ·g, transposed back where the operand was,
/// and broadcast batch dims summed away.
pub fn matmul<F: Float, A: TensorAlgebra<F>>(
    a: &A,
    b: &A,
    transposed: [bool; 2],
    g: &A,
    need: [bool; 2],
) -> [Option<A>; 2] {
    if g.shape().numel() == 0 {
        // An empty product passes nothing back, and the batched products below could be far
        // larger than memory (an empty batch of huge dims against a non-empty matrix).
        return [need[0].then(|| a.map_const(|_| F::ZERO)), need[1].then(|| b.map_const(|_| F::ZERO))];
    }
    let [ta, tb] = transposed;
    [
        need[0].then(|| if ta { b.matmul_t(tb, g, true) } else { g.matmul_t(false, b, !tb) }.sum_to(&a.shape())),
        need[1].then(|| if tb { g.matmul_t(true, a, ta) } else { a.matmul_t(!ta, g, false) }.sum_to(&b.shape())),
    ]
}
