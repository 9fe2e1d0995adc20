//! The tape: [`Graph`] records one node per op in creation order, so the tape is a
//! topological order and backward is a single reverse sweep.

use crate::error::{Error, Result};
use crate::float::Float;
use crate::op::{NodeId, Op};
use crate::shape::Shape;
use crate::tensor::Tensor;
use crate::var::Var;
use std::cell::{Cell, Ref, RefCell};

/// A node's value: scalars (0-d) live inline on the tape; other tensors in a side table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<F> {
    /// A 0-d value, held inline.
    Scalar(F),
    /// An index into the tape's tensor table.
    Tensor(u32),
}

/// The recorded nodes, structure-of-arrays: an op (16 bytes), a value (16 bytes for f64) and a
/// requires-grad flag per node — 33 bytes for a scalar node.
#[derive(Default)]
pub struct Tape<F> {
    ops: Vec<Op<F>>,
    values: Vec<Value<F>>,
    requires_grad: Vec<bool>,
    tensors: Vec<Tensor<F>>,
}

impl<F: Float> Tape<F> {
    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
    /// The op that produced node `id`.
    #[inline(always)]
    pub fn op(&self, id: NodeId) -> &Op<F> {
        &self.ops[id as usize]
    }
    /// Node `id`'s value, as stored.
    #[inline(always)]
    pub fn value(&self, id: NodeId) -> Value<F> {
        self.values[id as usize]
    }
    /// Node `id`'s value when it is a scalar.
    #[inline(always)]
    pub fn scalar(&self, id: NodeId) -> Option<F> {
        match self.values[id as usize] {
            Value::Scalar(v) => Some(v),
            Value::Tensor(_) => None,
        }
    }
    /// Node `id`'s value as a tensor (a 0-d tensor for a scalar node).
    pub fn tensor(&self, id: NodeId) -> Tensor<F> {
        match self.values[id as usize] {
            Value::Scalar(v) => Tensor::scalar(v),
            Value::Tensor(t) => self.tensors[t as usize].clone(),
        }
    }
    /// Node `id`'s shape.
    pub fn shape(&self, id: NodeId) -> Shape {
        match self.values[id as usize] {
            Value::Scalar(_) => Shape::scalar(),
            Value::Tensor(t) => self.tensors[t as usize].shape().clone(),
        }
    }
    /// Whether gradients flow to node `id`.
    #[inline(always)]
    pub fn requires_grad(&self, id: NodeId) -> bool {
        self.requires_grad[id as usize]
    }
    /// Bytes the tape holds per node, excluding tensor payloads (for the memory budget).
    pub fn bytes_per_node() -> usize {
        std::mem::size_of::<Op<F>>() + std::mem::size_of::<Value<F>>() + std::mem::size_of::<bool>()
    }
    /// Appends a node; a 0-d tensor is stored as a scalar.
    pub(crate) fn push(&mut self, op: Op<F>, value: Tensor<F>, requires_grad: bool) -> NodeId {
        let value = if value.ndim() == 0 {
            Value::Scalar(value.data()[0])
        } else {
            self.tensors.push(value);
            Value::Tensor((self.tensors.len() - 1) as u32)
        };
        self.push_value(op, value, requires_grad)
    }
    #[inline(always)]
    pub(crate) fn push_value(&mut self, op: Op<F>, value: Value<F>, requires_grad: bool) -> NodeId {
        let id = self.ops.len() as NodeId;
        self.ops.push(op);
        self.values.push(value);
        self.requires_grad.push(requires_grad);
        id
    }
}

/// The tape of one computation: create it, record ops through [`Var`] handles, call
/// `backward()` on the result, drop it (or [`Graph::clear`] it) for the next step.
///
/// ```
/// use tapegrad_graph::Graph;
/// let g = Graph::new();
/// let a = g.scalar(-4.0);
/// let b = g.scalar(2.0);
/// let c = a * b + b.powf(3.0);
/// assert_eq!(c.item(), 0.0);
/// assert_eq!(g.len(), 5);
/// ```
pub struct Graph<F = f64> {
    pub(crate) tape: RefCell<Tape<F>>,
    no_grad_depth: Cell<u32>,
}

impl<F: Float> Default for Graph<F> {
    fn default() -> Self {
        Self::empty()
    }
}

impl Graph<f64> {
    /// An empty `f64` graph, the element type of micrograd-style code and gradient checks.
    /// For another element type use [`Graph::empty`]: `Graph::<f32>::empty()`.
    pub fn new() -> Self {
        Self::empty()
    }
}

impl<F: Float> Graph<F> {
    /// An empty graph of any element type: `Graph::<f32>::empty()`.
    pub fn empty() -> Self {
        Graph {
            tape: RefCell::new(Tape { ops: vec![], values: vec![], requires_grad: vec![], tensors: vec![] }),
            no_grad_depth: Cell::new(0),
        }
    }
    /// An empty graph with room for `nodes` nodes.
    pub fn with_capacity(nodes: usize) -> Self {
        let g = Self::empty();
        {
            let mut t = g.tape.borrow_mut();
            t.ops.reserve(nodes);
            t.values.reserve(nodes);
            t.requires_grad.reserve(nodes);
        }
        g
    }
    /// Forgets every node but keeps the memory, for the next training step.
    pub fn clear(&mut self) {
        let t = self.tape.get_mut();
        t.ops.clear();
        t.values.clear();
        t.requires_grad.clear();
        t.tensors.clear();
    }
    /// The number of recorded nodes.
    pub fn len(&self) -> usize {
        self.tape.borrow().len()
    }
    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Read access to the tape (for the backward sweep and tools such as DOT export).
    ///
    /// # Panics
    /// When called while an op is being recorded on this graph (never from user code).
    pub fn tape(&self) -> Ref<'_, Tape<F>> {
        self.tape.borrow()
    }

    /// A scalar leaf that requires grad (micrograd's `Value(x)`).
    #[inline]
    pub fn scalar(&self, v: F) -> Var<'_, F> {
        self.leaf(Value::Scalar(v), true)
    }
    /// A scalar constant: no gradient is computed for it.
    #[inline]
    pub fn constant_scalar(&self, v: F) -> Var<'_, F> {
        self.leaf(Value::Scalar(v), false)
    }
    /// A tensor leaf that requires grad.
    pub fn var(&self, t: Tensor<F>) -> Var<'_, F> {
        self.tensor_leaf(t, true)
    }
    /// A tensor constant (input data): no gradient is computed for it.
    pub fn constant(&self, t: Tensor<F>) -> Var<'_, F> {
        self.tensor_leaf(t, false)
    }
    /// Runs `f` without recording history: every op inside makes a constant, like PyTorch's
    /// `torch.no_grad()`.
    ///
    /// ```
    /// use tapegrad_graph::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(3.0);
    /// let y = g.no_grad(|| x * x);
    /// assert!(!y.requires_grad());
    /// ```
    pub fn no_grad<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore<'a>(&'a Cell<u32>);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() - 1);
            }
        }
        self.no_grad_depth.set(self.no_grad_depth.get() + 1);
        let _restore = Restore(&self.no_grad_depth);
        f()
    }
    /// False inside [`Graph::no_grad`].
    pub fn is_recording(&self) -> bool {
        self.no_grad_depth.get() == 0
    }
    /// A handle to an existing node.
    pub fn node(&self, id: NodeId) -> Result<Var<'_, F>> {
        if (id as usize) < self.len() {
            Ok(Var::new(self, id))
        } else {
            Err(Error::IndexOutOfRange { op: "Graph::node", index: id as i64, size: self.len() })
        }
    }

    fn tensor_leaf(&self, t: Tensor<F>, requires_grad: bool) -> Var<'_, F> {
        let id = self.tape.borrow_mut().push(Op::Leaf, t, requires_grad);
        Var::new(self, id)
    }
    #[inline(always)]
    fn leaf(&self, v: Value<F>, requires_grad: bool) -> Var<'_, F> {
        let id = self.tape.borrow_mut().push_value(Op::Leaf, v, requires_grad);
        Var::new(self, id)
    }

    /// Records an op; under `no_grad`, or when no input requires grad, the node is a
    /// constant leaf.
    pub(crate) fn record(&self, op: Op<F>, value: Tensor<F>, inputs_require_grad: bool) -> Var<'_, F> {
        let requires_grad = inputs_require_grad && self.is_recording();
        let op = if requires_grad { op } else { Op::Leaf };
        let id = self.tape.borrow_mut().push(op, value, requires_grad);
        Var::new(self, id)
    }
}
