//! One derivative rule per op, grouped by family, and [`input_grads`], which picks the rule for
//! a recorded op.

pub mod elementwise;
pub mod index;
pub mod matmul;
pub mod norm;
pub mod reduce;
pub mod shape;
pub mod softmax;
pub mod window;

use smallvec::SmallVec;
use std::borrow::Borrow;
use tapegrad_graph::op::Op;
use tapegrad_graph::Float;
use tapegrad_graph::TensorAlgebra;

/// The gradient reaching each input of a node with op `op`, inputs `x`, output `y` and
/// incoming gradient `g`, each already reduced to its input's shape; `None` where `need` is
/// false.
///
/// # Panics
/// For a custom op, whose rule the backward pass and `grad` take from the op itself.
pub fn input_grads<F: Float, A: TensorAlgebra<F>, X: Borrow<A>>(
    op: &Op<F>,
    x: &[X],
    y: &A,
    g: &A,
    need: &[bool],
) -> SmallVec<[Option<A>; 3]> {
    let at = |i: usize| -> &A { x[i].borrow() };
    let one = |grad: A| smallvec::smallvec![Some(grad)];
    let two = |[a, b]: [Option<A>; 2]| smallvec::smallvec![a, b];
    match op {
        Op::Leaf | Op::Constant => SmallVec::new(),
        Op::Unary(k, _) => one(elementwise::unary(*k, at(0), y, g)),
        Op::Param(k, _, p) => one(elementwise::param(*k, *p, at(0), g)),
        Op::Binary(k, ..) => {
            let [da, db] = elementwise::binary(*k, at(0), at(1), y, g, [need[0], need[1]]);
            two([da.map(|d| d.sum_to(&at(0).shape())), db.map(|d| d.sum_to(&at(1).shape()))])
        }
        Op::Clamp(_, bounds) => one(elementwise::clamp(bounds.min, bounds.max, at(0), g)),
        Op::Reduce(k, _, axes) => one(reduce::reduce(*k, axes, at(0), y, g)),
        Op::Matmul(_, _, transposed) => two(matmul::matmul(at(0), at(1), *transposed, g, [need[0], need[1]])),
        Op::Reshape(_) => one(shape::reshape(at(0), g)),
        Op::Permute(_, perm) => one(shape::permute(perm, g)),
        Op::BroadcastTo(_) => one(shape::broadcast_to(at(0), g)),
        Op::SumTo(_) => one(shape::sum_to(at(0), g)),
        Op::Concat(args) => shape::concat(args.axis, x, g, need).into_iter().collect(),
        Op::Slice(_, range) => one(shape::slice(range, at(0), g)),
        Op::Pad(_, range) => one(shape::pad(range, g)),
        Op::IndexSelect(_, a) => one(index::index_select(a.axis, &a.indices, at(0), g)),
        Op::IndexAdd(_, a) => one(index::index_add(a.axis, &a.indices, g)),
        Op::Gather(_, a) => one(index::gather(a.axis, &a.indices, at(0), g)),
        Op::ScatterAdd(_, a) => one(index::scatter_add(a.axis, &a.indices, g)),
        Op::Unfold(_, window) => one(window::unfold(window, at(0), g)),
        Op::Fold(_, window) => one(window::fold(window, g)),
        Op::Lookup(..) => smallvec::smallvec![Some(index::lookup(at(0), at(1), g)), None],
        Op::StopGradient(..) => smallvec::smallvec![None],
        Op::BatchNorm(args) => {
            norm::batch_norm(args.eps, &args.saved, at(0), at(1), g, [need[0], need[1], need[2]]).into_iter().collect()
        }
        Op::LayerNorm(args) => {
            norm::layer_norm(args.eps, &args.saved, at(0), at(1), g, [need[0], need[1], need[2]]).into_iter().collect()
        }
        Op::Softmax(_, axis) => one(softmax::softmax(*axis, y, g)),
        Op::Custom(node) => panic!("{}: a custom op's rule is its own (CustomOp::backward)", node.name),
        Op::Where(..) => {
            let [da, db] = index::where_cond(at(0), at(1), at(2), g, [need[1], need[2]]);
            smallvec::smallvec![None, da, db]
        }
    }
}
