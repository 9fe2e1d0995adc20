//! Derivative rules of the shape ops: each is the op's adjoint.

use std::borrow::Borrow;
use tapegrad_graph::op::Range;
use tapegrad_graph::Float;
use tapegrad_graph::TensorAlgebra;

/// reshape ← reshape back.
pub fn reshape<F: Float, A: TensorAlgebra<F>>(x: &A, g: &A) -> A {
    g.reshape(&x.shape())
}

/// permute ← the inverse permutation.
pub fn permute<F: Float, A: TensorAlgebra<F>>(perm: &[usize], g: &A) -> A {
    let mut inverse = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i;
    }
    g.permute(&inverse)
}

/// broadcast_to ← sum_to.
pub fn broadcast_to<F: Float, A: TensorAlgebra<F>>(x: &A, g: &A) -> A {
    g.sum_to(&x.shape())
}

/// sum_to ← broadcast_to.
pub fn sum_to<F: Float, A: TensorAlgebra<F>>(x: &A, g: &A) -> A {
    g.broadcast_to(&x.shape())
}

/// concat ← the matching slices of g.
pub fn concat<F: Float, A: TensorAlgebra<F>, X: Borrow<A>>(
    axis: usize,
    inputs: &[X],
    g: &A,
    need: &[bool],
) -> Vec<Option<A>> {
    let mut start = 0;
    inputs
        .iter()
        .zip(need)
        .map(|(x, &needed)| {
            let len = x.borrow().shape().dims()[axis];
            let part = needed.then(|| g.slice(axis, start, start + len));
            start += len;
            part
        })
        .collect()
}

/// slice ← pad with zeros back to the input's size.
pub fn slice<F: Float, A: TensorAlgebra<F>>(range: &Range, x: &A, g: &A) -> A {
    let size = x.shape().dims()[range.axis];
    g.pad(range.axis, range.start, size - range.end)
}

/// pad ← slice the input's part out.
pub fn pad<F: Float, A: TensorAlgebra<F>>(range: &Range, g: &A) -> A {
    g.slice(range.axis, range.start, range.end)
}
