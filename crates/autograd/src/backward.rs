//! The eager backward sweep: one reverse pass over the tape, from the root down, visiting only
//! nodes that require grad and that the root's gradient reached. Scalar nodes are handled in
//! registers; tensor nodes run the same derivative rules on tensors.

use crate::error::{expect, Error, Result};
use crate::rules;
use smallvec::SmallVec;
use std::collections::HashMap;
use tapegrad_graph::op::Op;
use tapegrad_graph::{Float, NodeId, Tape, Tensor, Value, Var};

/// The gradients of one backward pass, by node: returned by value, so nothing accumulates in
/// the graph and calling backward twice gives the same answer.
///
/// ```
/// use tapegrad_autograd::Backward;
/// use tapegrad_graph::Graph;
/// let g = Graph::new();
/// let (a, b) = (g.scalar(3.0), g.scalar(4.0));
/// let y = a * b;
/// let grads = y.backward();
/// assert_eq!(grads.wrt(a).item(), 4.0);
/// assert!(grads.get(g.scalar(1.0)).is_none()); // not an input of y
/// ```
#[derive(Clone, Debug)]
pub struct Gradients<F: Float> {
    scalars: Vec<F>,
    reached: Vec<bool>,
    tensors: HashMap<NodeId, Tensor<F>>,
}

impl<F: Float> Gradients<F> {
    fn new(nodes: usize) -> Self {
        Gradients { scalars: vec![F::ZERO; nodes], reached: vec![false; nodes], tensors: HashMap::new() }
    }
    /// The gradient with respect to `v`, or `None` when `v` does not lie between a
    /// requires-grad leaf and the root.
    pub fn get(&self, v: Var<'_, F>) -> Option<Tensor<F>> {
        self.get_id(v.id())
    }
    /// The gradient of node `id`, or `None`.
    pub fn get_id(&self, id: NodeId) -> Option<Tensor<F>> {
        let i = id as usize;
        if i >= self.reached.len() || !self.reached[i] {
            return None;
        }
        Some(self.tensors.get(&id).cloned().unwrap_or_else(|| Tensor::scalar(self.scalars[i])))
    }
    /// The gradient with respect to `v`: zeros of `v`'s shape when it does not reach the root.
    pub fn wrt(&self, v: Var<'_, F>) -> Tensor<F> {
        self.get(v).unwrap_or_else(|| Tensor::zeros(v.shape()))
    }
    /// The gradient of a scalar node without building a tensor (0 when it does not reach).
    #[inline]
    pub fn scalar(&self, v: Var<'_, F>) -> F {
        let i = v.id() as usize;
        match self.tensors.get(&v.id()) {
            Some(t) => t.data().first().copied().unwrap_or(F::ZERO),
            None => self.scalars.get(i).copied().unwrap_or(F::ZERO),
        }
    }

    #[inline(always)]
    fn add_scalar(&mut self, id: NodeId, d: F) {
        self.scalars[id as usize] += d;
        self.reached[id as usize] = true;
    }
    fn add_tensor(&mut self, tape: &Tape<F>, id: NodeId, d: Tensor<F>) {
        if let Value::Scalar(_) = tape.value(id) {
            self.add_scalar(id, d.data()[0]);
            return;
        }
        self.reached[id as usize] = true;
        match self.tensors.entry(id) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(d);
            }
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let sum = e.get_mut().zip_assign(&d, "accumulate", |a, b| a + b);
                debug_assert!(sum.is_ok());
            }
        }
    }
    fn tensor_of(&self, tape: &Tape<F>, id: NodeId) -> Tensor<F> {
        match tape.value(id) {
            Value::Scalar(_) => Tensor::scalar(self.scalars[id as usize]),
            Value::Tensor(_) => self.tensors[&id].clone(),
        }
    }
}

/// `backward()` and friends on a [`Var`]; in the prelude.
pub trait Backward<F: Float> {
    /// The gradients of this single-element result with respect to every node it depends on.
    ///
    /// # Panics
    /// When the result has more than one element; see [`Backward::try_backward`].
    fn backward(self) -> Gradients<F>;
    /// The gradients, or [`Error::NonScalarRoot`].
    fn try_backward(self) -> Result<Gradients<F>>;
    /// The gradients with `seed` as the gradient of the result (any shape, like PyTorch's
    /// `y.backward(gradient)`).
    fn backward_with(self, seed: Tensor<F>) -> Result<Gradients<F>>;
}

impl<F: Float> Backward<F> for Var<'_, F> {
    #[track_caller]
    fn backward(self) -> Gradients<F> {
        expect(self.try_backward())
    }
    fn try_backward(self) -> Result<Gradients<F>> {
        let shape = self.shape();
        if shape.numel() != 1 {
            return Err(Error::NonScalarRoot { shape });
        }
        Ok(sweep(self, Tensor::ones(shape)))
    }
    fn backward_with(self, seed: Tensor<F>) -> Result<Gradients<F>> {
        let root = self.shape();
        if seed.shape() != &root {
            return Err(Error::SeedShape { seed: seed.shape().clone(), root });
        }
        Ok(sweep(self, seed))
    }
}

fn sweep<F: Float>(root: Var<'_, F>, seed: Tensor<F>) -> Gradients<F> {
    let tape = root.graph().tape();
    let mut grads = Gradients::new(root.id() as usize + 1);
    if !tape.requires_grad(root.id()) {
        return grads;
    }
    grads.add_tensor(&tape, root.id(), seed);
    for i in (0..=root.id()).rev() {
        if !grads.reached[i as usize] {
            continue;
        }
        let node = tape.node(i);
        if let (Value::Scalar(_), true) = (node.value(), grads.scalars[i as usize] == F::ZERO) {
            if pass_zero_gradient(node.op(), &mut grads.reached) {
                continue;
            }
        }
        let scalar_path = match (node.op(), node.value()) {
            (&Op::Unary(k, x), Value::Scalar(y)) => match tape.node(x).value() {
                Value::Scalar(xv) => {
                    let d = rules::elementwise::unary(k, &xv, &y, &grads.scalars[i as usize]);
                    grads.add_scalar(x, d);
                    true
                }
                Value::Tensor(_) => false,
            },
            (&Op::Param(k, x, p), Value::Scalar(_)) => match tape.node(x).value() {
                Value::Scalar(xv) => {
                    let d = rules::elementwise::param(k, p, &xv, &grads.scalars[i as usize]);
                    grads.add_scalar(x, d);
                    true
                }
                Value::Tensor(_) => false,
            },
            (&Op::Binary(k, a, b, need), Value::Scalar(y)) => {
                let (na, nb) = (tape.node(a), tape.node(b));
                match (na.value(), nb.value()) {
                    (Value::Scalar(av), Value::Scalar(bv)) => {
                        let g = grads.scalars[i as usize];
                        let [da, db] = rules::elementwise::binary(k, &av, &bv, &y, &g, need);
                        if let Some(da) = da {
                            grads.add_scalar(a, da);
                        }
                        if let Some(db) = db {
                            grads.add_scalar(b, db);
                        }
                        true
                    }
                    _ => false,
                }
            }
            (Op::Leaf | Op::Constant, _) => true,
            _ => false,
        };
        if !scalar_path {
            tensor_step(&tape, i, &mut grads);
        }
    }
    grads
}

/// A scalar node whose gradient is exactly 0 gives its inputs nothing to add, so they are only
/// marked as reached (the skipped work is most of a step once a hinge or ReLU saturates).
/// Returns false for ops this does not cover.
#[inline(always)]
fn pass_zero_gradient<F: Float>(op: &Op<F>, reached: &mut [bool]) -> bool {
    match *op {
        Op::Unary(_, x) | Op::Param(_, x, _) => reached[x as usize] = true,
        Op::Binary(_, a, b, need) => {
            reached[a as usize] |= need[0];
            reached[b as usize] |= need[1];
        }
        _ => return false,
    }
    true
}

fn tensor_step<F: Float>(tape: &Tape<F>, i: NodeId, grads: &mut Gradients<F>) {
    let op = tape.op(i);
    let inputs = op.inputs();
    let need: SmallVec<[bool; 3]> = inputs.iter().map(|&x| tape.requires_grad(x)).collect();
    let values: SmallVec<[Tensor<F>; 3]> = inputs.iter().map(|&x| tape.tensor(x)).collect();
    let g = grads.tensor_of(tape, i);
    let input_grads = rules::input_grads(op, &values, &tape.tensor(i), &g, &need);
    for ((&x, d), needed) in inputs.iter().zip(input_grads).zip(need) {
        if let (Some(d), true) = (d, needed) {
            grads.add_tensor(tape, x, d);
        }
    }
}
