//! One derivative rule per op, grouped by family, and [`input_grads`], which picks the rule for
//! a recorded op.

pub mod elementwise;
pub mod index;
pub mod loss;
pub mod matmul;
pub mod norm;
pub mod reduce;
pub mod shape;
pub mod softmax;
pub mod window;

use std::borrow::Borrow;
use tapegrad_graph::op::Op;
use tapegrad_graph::Float;
use tapegrad_graph::TensorAlgebra;

/// Passes the gradient reaching each input of a node with op `op`, inputs `x`, output `y` and
/// incoming gradient `g`, each already reduced to its input's shape, to `pass(input, gradient)`:
/// in input order, only for inputs where `need` is true and a gradient flows. The gradients go
/// straight to `pass` rather than into a returned collection, which the backward loops would
/// copy whole on every move.
///
/// # Panics
/// For a custom op, whose rule the backward pass and `grad` take from the op itself.
pub fn pass_input_grads<F: Float, A: TensorAlgebra<F>, X: Borrow<A>>(
    op: &Op<F>,
    x: &[X],
    y: &A,
    g: &A,
    need: &[bool],
    mut pass: impl FnMut(usize, A),
) {
    let at = |i: usize| -> &A { x[i].borrow() };
    let mut give = |i: usize, grad: Option<A>| {
        if let (Some(grad), true) = (grad, need[i]) {
            pass(i, grad)
        }
    };
    match op {
        Op::Leaf | Op::Constant | Op::StopGradient(..) => {}
        Op::Unary(k, _) => give(0, Some(elementwise::unary(*k, at(0), y, g))),
        Op::Param(k, _, p) => give(0, Some(elementwise::param(*k, *p, at(0), g))),
        Op::Binary(k, ..) => {
            let [da, db] = elementwise::binary(*k, at(0), at(1), y, g, [need[0], need[1]]);
            give(0, da.map(|d| d.sum_to(&at(0).shape())));
            give(1, db.map(|d| d.sum_to(&at(1).shape())));
        }
        Op::Clamp(_, bounds) => give(0, Some(elementwise::clamp(bounds.min, bounds.max, at(0), g))),
        Op::Reduce(k, _, axes) => give(0, Some(reduce::reduce(*k, axes, at(0), y, g))),
        Op::Matmul(_, _, transposed) => {
            let [da, db] = matmul::matmul(at(0), at(1), *transposed, g, [need[0], need[1]]);
            give(0, da);
            give(1, db);
        }
        Op::Reshape(_) => give(0, Some(shape::reshape(at(0), g))),
        Op::Permute(_, perm) => give(0, Some(shape::permute(perm, g))),
        Op::BroadcastTo(_) => give(0, Some(shape::broadcast_to(at(0), g))),
        Op::SumTo(_) => give(0, Some(shape::sum_to(at(0), g))),
        Op::Concat(args) => shape::concat(args.axis, x, g, need).into_iter().enumerate().for_each(|(i, d)| give(i, d)),
        Op::Slice(_, range) => give(0, Some(shape::slice(range, at(0), g))),
        Op::Pad(_, range) => give(0, Some(shape::pad(range, g))),
        Op::IndexSelect(_, a) => give(0, Some(index::index_select(a.axis, &a.indices, at(0), g))),
        Op::IndexAdd(_, a) => give(0, Some(index::index_add(a.axis, &a.indices, g))),
        Op::Gather(_, a) => give(0, Some(index::gather(a.axis, &a.indices, at(0), g))),
        Op::ScatterAdd(_, a) => give(0, Some(index::scatter_add(a.axis, &a.indices, g))),
        Op::Unfold(_, window) => give(0, Some(window::unfold(window, at(0), g))),
        Op::Fold(_, window) => give(0, Some(window::fold(window, g))),
        Op::Lookup(..) => give(0, Some(index::lookup(at(0), at(1), g))),
        Op::BatchNorm(args) => {
            let grads = norm::batch_norm(args.eps, &args.saved, at(0), at(1), g, [need[0], need[1], need[2]]);
            grads.into_iter().enumerate().for_each(|(i, d)| give(i, d))
        }
        Op::LayerNorm(args) => {
            let grads = norm::layer_norm(args.eps, &args.saved, at(0), at(1), g, [need[0], need[1], need[2]]);
            grads.into_iter().enumerate().for_each(|(i, d)| give(i, d))
        }
        Op::Softmax(_, axis) => give(0, Some(softmax::softmax(*axis, y, g))),
        Op::SumSquaresOf(_) => {
            (0..x.len()).for_each(|i| give(i, need[i].then(|| reduce::sum_squares_all(at(i), y, g))))
        }
        Op::Hinge(..) => {
            let [ds, dy] = loss::hinge(at(0), at(1), g, [need[0], need[1]]);
            give(0, ds);
            give(1, dy);
        }
        Op::Custom(node) => panic!("{}: a custom op's rule is its own (CustomOp::backward)", node.name),
        Op::Where(..) => {
            let [da, db] = index::where_cond(at(0), at(1), at(2), g, [need[1], need[2]]);
            give(1, da);
            give(2, db);
        }
    }
}
