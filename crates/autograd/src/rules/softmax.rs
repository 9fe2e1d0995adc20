//! The derivative rule of softmax.

use tapegrad_graph::{Float, TensorAlgebra};

/// ∂L/∂x for y = softmax(x) along `axis`: `y·(g − Σ g·y)`, the sum along the axis.
///
/// Tensors take the fused kernel ([`Tensor::softmax_grad`](tapegrad_graph::Tensor::softmax_grad));
/// recorded values compose it from recorded ops, so it is differentiable again.
pub fn softmax<F: Float, A: TensorAlgebra<F>>(axis: usize, y: &A, g: &A) -> A {
    if let Some(dx) = y.fused_softmax_grad(g, axis) {
        return dx;
    }
    y.mul(&g.sub(&g.mul(y).sum_keepdim(&[axis])))
}
