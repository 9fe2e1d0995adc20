//! Derivative rules of the indexing ops: select ↔ add and gather ↔ scatter are adjoint pairs.

use tapegrad_graph::TensorAlgebra;
use tapegrad_graph::{Float, Indices};

/// index_select ← index_add into the input's size.
pub fn index_select<F: Float, A: TensorAlgebra<F>>(axis: usize, idx: &Indices, x: &A, g: &A) -> A {
    g.index_add(axis, idx, x.shape().dims()[axis])
}

/// index_add ← index_select.
pub fn index_add<F: Float, A: TensorAlgebra<F>>(axis: usize, idx: &Indices, g: &A) -> A {
    g.index_select(axis, idx)
}

/// gather ← scatter_add into the input's shape.
pub fn gather<F: Float, A: TensorAlgebra<F>>(axis: usize, idx: &Indices, x: &A, g: &A) -> A {
    g.scatter_add(axis, idx, &x.shape())
}

/// scatter_add ← gather.
pub fn scatter_add<F: Float, A: TensorAlgebra<F>>(axis: usize, idx: &Indices, g: &A) -> A {
    g.gather(axis, idx)
}

/// where(c, a, b) ← g where c holds to a, elsewhere to b; broadcast dims summed away.
pub fn where_cond<F: Float, A: TensorAlgebra<F>>(c: &A, a: &A, b: &A, g: &A, need: [bool; 2]) -> [Option<A>; 2] {
    let chosen = c.map_const(|v| if v != F::ZERO { F::ONE } else { F::ZERO });
    [
        need[0].then(|| g.mul(&chosen).sum_to(&a.shape())),
        need[1].then(|| g.mul(&chosen.neg().add_scalar(F::ONE)).sum_to(&b.shape())),
    ]
}

/// lookup ← the gradient's rows added into zeros of the table's shape at the ids.
pub fn lookup<F: Float, A: TensorAlgebra<F>>(table: &A, ids: &A, g: &A) -> A {
    let rows = table.shape().dims()[0];
    let dim = table.shape().dims()[1];
    let flat = ids.ids();
    let flat = tapegrad_graph::Indices::from(flat.data().to_vec());
    g.reshape(&tapegrad_graph::Shape::from(vec![flat.data().len(), dim])).index_add(0, &flat, rows)
}
