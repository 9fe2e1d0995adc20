//! Derivative rules of the losses that are one op.

use tapegrad_graph::op::{BinaryOp, UnaryOp};
use tapegrad_graph::Float;
use tapegrad_graph::TensorAlgebra;

/// (∂L/∂s, ∂L/∂labels) for y = `hinge(s, labels)` = mean(relu(1 − s·labels)), where `need`
/// asks, given g = ∂L/∂y: one pass for tensors; for recorded values, the rules of the ops the
/// hinge stands for (`mean`'s product, `sum`, `relu`, `sub`, `mul`) in turn, recorded, so the
/// gradient differentiates again.
pub fn hinge<F: Float, A: TensorAlgebra<F>>(s: &A, labels: &A, g: &A, need: [bool; 2]) -> [Option<A>; 2] {
    if let Some(grads) = s.fused_hinge_grads(labels, g, need) {
        return grads;
    }
    let shape = s.shape();
    let spread = g.scale(F::ONE / F::from_usize(shape.numel())).broadcast_to(&shape);
    let product = s.mul(labels);
    let ones = product.map_const(|_| F::ONE);
    let margin = ones.sub(&product);
    let loss = margin.map_const(|v| UnaryOp::Relu.apply(v));
    let at_margin = UnaryOp::Relu.derivative(&margin, &loss, &spread);
    let [_, at_product] = BinaryOp::Sub.derivative(&ones, &product, &margin, &at_margin, [false, true]);
    let at_product = at_product.expect("sub's rule computes the side asked for");
    BinaryOp::Mul.derivative(s, labels, &product, &at_product, need)
}
