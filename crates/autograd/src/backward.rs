//! The eager backward sweep: one reverse pass over the tape, from the root down, visiting only
//! nodes that require grad and that the root's gradient reached. Scalar nodes are handled in
//! registers; tensor nodes run the same derivative rules on tensors.

use crate::error::{expect, Error, Result};
use crate::rules;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
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
    scalars: ScalarSlots<F>,
    reached: Vec<bool>,
    tensors: HashMap<NodeId, Tensor<F>, BuildHasherDefault<NodeIdHasher>>,
}

/// Hashes a node id by one multiplication: ids are distinct small integers, so SipHash's
/// protection against chosen keys buys nothing here.
#[derive(Default)]
struct NodeIdHasher(u64);

impl Hasher for NodeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// One gradient slot per node, written only when the node is first reached: only the
/// `reached` flags are zeroed up front (1 byte a node, not 8), and the first gradient reaching a
/// node is moved in rather than added to a zero.
#[derive(Debug)]
struct ScalarSlots<F> {
    values: Vec<std::mem::MaybeUninit<F>>,
}

impl<F: Float> ScalarSlots<F> {
    fn new(nodes: usize) -> Self {
        let mut values = Vec::with_capacity(nodes);
        values.resize_with(nodes, std::mem::MaybeUninit::uninit);
        ScalarSlots { values }
    }
    /// The gradient of node `i`, which must have been reached (written).
    #[inline(always)]
    fn read(&self, reached: &[bool], i: usize) -> F {
        assert!(reached[i], "gradient slot {i} read before it was written");
        // SAFETY: a slot is reached only after `add` has written it.
        unsafe { self.values[i].assume_init() }
    }
    /// Marks node `i` reached, with a zero gradient if it was not reached before.
    #[inline(always)]
    fn touch(&mut self, reached: &mut [bool], i: usize) {
        if !reached[i] {
            self.values[i].write(F::ZERO);
            reached[i] = true;
        }
    }
    /// Adds `d` to node `i`'s gradient, or moves it in when `i` is reached for the first time.
    #[inline(always)]
    fn add(&mut self, reached: &mut [bool], i: usize, d: F) {
        if reached[i] {
            // SAFETY: reached slots have been written.
            unsafe { *self.values[i].assume_init_mut() += d };
        } else {
            self.values[i].write(d);
            reached[i] = true;
        }
    }
}

impl<F: Float> Clone for ScalarSlots<F> {
    fn clone(&self) -> Self {
        ScalarSlots { values: self.values.clone() }
    }
}

impl<F: Float> Gradients<F> {
    fn new(nodes: usize) -> Self {
        Gradients { scalars: ScalarSlots::new(nodes), reached: vec![false; nodes], tensors: HashMap::default() }
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
        Some(self.tensors.get(&id).cloned().unwrap_or_else(|| Tensor::scalar(self.scalars.read(&self.reached, i))))
    }
    /// The gradient of a scalar node without building a tensor, or `None` when `v` does not
    /// reach the root (or is not a scalar node).
    #[inline]
    pub fn get_scalar(&self, v: Var<'_, F>) -> Option<F> {
        let i = v.id() as usize;
        if i >= self.reached.len() || !self.reached[i] || self.tensors.contains_key(&v.id()) {
            return None;
        }
        Some(self.scalars.read(&self.reached, i))
    }
    /// The gradient with respect to `v`: zeros of `v`'s shape when it does not reach the root.
    pub fn wrt(&self, v: Var<'_, F>) -> Tensor<F> {
        self.get(v).unwrap_or_else(|| Tensor::zeros(v.shape()))
    }
    /// The gradient of a scalar node without building a tensor (0 when it does not reach).
    #[inline]
    pub fn scalar(&self, v: Var<'_, F>) -> F {
        self.get_scalar(v).unwrap_or(F::ZERO)
    }

    #[inline(always)]
    fn add_scalar(&mut self, id: NodeId, d: F) {
        self.scalars.add(&mut self.reached, id as usize, d);
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
    fn tensor_cow(&self, tape: &Tape<F>, id: NodeId) -> Cow<'_, Tensor<F>> {
        match tape.value(id) {
            Value::Scalar(_) => Cow::Owned(Tensor::scalar(self.scalars.read(&self.reached, id as usize))),
            Value::Tensor(_) => Cow::Borrowed(&self.tensors[&id]),
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
        // SAFETY (the unchecked node reads in this loop): `i` ≤ root < len, and a node's inputs
        // were recorded before it, so their ids are below `i`.
        let node = unsafe { tape.node_unchecked(i) };
        let g = match node.value() {
            Value::Scalar(_) => grads.scalars.read(&grads.reached, i as usize),
            Value::Tensor(_) => F::ZERO,
        };
        if let (Value::Scalar(_), true) = (node.value(), g == F::ZERO) {
            if pass_zero_gradient(node.op(), &mut grads) {
                continue;
            }
        }
        let scalar_path = match (node.op(), node.value()) {
            (&Op::Unary(k, x), Value::Scalar(y)) => match unsafe { tape.node_unchecked(x) }.value() {
                Value::Scalar(xv) => {
                    let d = rules::elementwise::unary(k, &xv, &y, &g);
                    grads.add_scalar(x, d);
                    true
                }
                Value::Tensor(_) => false,
            },
            (&Op::Param(k, x, p), Value::Scalar(_)) => match unsafe { tape.node_unchecked(x) }.value() {
                Value::Scalar(xv) => {
                    let d = rules::elementwise::param(k, p, &xv, &g);
                    grads.add_scalar(x, d);
                    true
                }
                Value::Tensor(_) => false,
            },
            (&Op::Binary(k, a, b, need), Value::Scalar(y)) => {
                let (na, nb) = unsafe { (tape.node_unchecked(a), tape.node_unchecked(b)) };
                match (na.value(), nb.value()) {
                    (Value::Scalar(av), Value::Scalar(bv)) => {
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
fn pass_zero_gradient<F: Float>(op: &Op<F>, grads: &mut Gradients<F>) -> bool {
    let mut touch = |x: NodeId| grads.scalars.touch(&mut grads.reached, x as usize);
    match *op {
        Op::Unary(_, x) | Op::Param(_, x, _) => touch(x),
        Op::Binary(_, a, b, need) => {
            if need[0] {
                touch(a);
            }
            if need[1] {
                touch(b);
            }
        }
        _ => return false,
    }
    true
}

fn tensor_step<F: Float>(tape: &Tape<F>, i: NodeId, grads: &mut Gradients<F>) {
    let op = tape.op(i);
    let inputs = op.inputs();
    let need: SmallVec<[bool; 3]> = inputs.iter().map(|&x| tape.requires_grad(x)).collect();
    let values: SmallVec<[Cow<'_, Tensor<F>>; 3]> = inputs.iter().map(|&x| tape.tensor_cow(x)).collect();
    let input_grads = {
        let g = grads.tensor_cow(tape, i);
        rules::input_grads::<F, Tensor<F>, _>(op, &values, &tape.tensor_cow(i), &g, &need)
    };
    for ((&x, d), needed) in inputs.iter().zip(input_grads).zip(need) {
        if let (Some(d), true) = (d, needed) {
            grads.add_tensor(tape, x, d);
        }
    }
}
