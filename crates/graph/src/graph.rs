//! The tape: [`Graph`] records one node per op in creation order, so the tape is a
//! topological order and backward is a single reverse sweep.

use crate::error::{Error, Result};
use crate::float::Float;
use crate::op::{NodeId, Op};
use crate::shape::Shape;
use crate::tape_cell::{TapeCell, TapeRef};
use crate::tensor::Tensor;
use crate::var::Var;
use std::cell::Cell;

/// A node's value: scalars (0-d) live inline on the tape; other tensors in a side table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<F> {
    /// A 0-d value, held inline.
    Scalar(F),
    /// An index into the tape's tensor table.
    Tensor(u32),
}

/// One recorded node: the op that made it (which also says whether gradients flow to it) and,
/// for a scalar node, its value.
#[derive(Clone, Debug)]
pub struct Node<F> {
    op: Op<F>,
    scalar: F,
}

impl<F: Float> Node<F> {
    /// The op that produced the node.
    #[inline(always)]
    pub fn op(&self) -> &Op<F> {
        &self.op
    }
    /// The value of a scalar node (for a tensor node, the index of its tensor: ask
    /// [`Tape::value`], which tells them apart).
    #[inline(always)]
    pub fn scalar(&self) -> F {
        self.scalar
    }
    /// Whether gradients flow to the node.
    #[inline(always)]
    pub fn requires_grad(&self) -> bool {
        !matches!(self.op, Op::Constant)
    }
}

/// The most nodes a graph holds: ids are `u32`, so the 2³²-th node is refused.
pub const MAX_NODES: usize = u32::MAX as usize;

/// Tensor table indices up to this are exact in every [`Float`] (f32 has a 24-bit mantissa).
const EXACT_INDEX: usize = 1 << 24;

/// The recorded nodes, in creation order: an op (16 bytes) and a scalar value (8 bytes for f64)
/// per node, 24 bytes in all. Tensor values live in a side table, with the ids of their nodes,
/// so a scalar node carries no tag saying which kind it is.
pub struct Tape<F> {
    nodes: Vec<Node<F>>,
    tensors: Vec<Tensor<F>>,
    /// The node of each entry of `tensors`, in increasing order.
    tensor_nodes: Vec<NodeId>,
    /// How many nodes own heap memory (boxed op payloads); while there are none, clearing or
    /// dropping the tape skips the per-node destructors.
    nodes_owning_heap: usize,
    /// How many nodes fit before the next (cold) check: the capacity, but never more than
    /// `max_nodes`, so a full tape is noticed on the same compare that notices a full buffer.
    room: usize,
    /// The most nodes this tape may hold.
    max_nodes: usize,
    /// True in anomaly mode: `room` stays 0, so every op takes the general (watched) path.
    watched: bool,
}

impl<F> Tape<F> {
    fn forget_plain_nodes(&mut self) {
        if self.nodes_owning_heap == 0 {
            // SAFETY: shrinking to 0 is always within capacity, and no node owns heap memory
            // (every payload-carrying op is counted in `nodes_owning_heap`), so skipping their
            // destructors leaks nothing.
            unsafe { self.nodes.set_len(0) }
        }
        self.nodes.clear();
        self.tensors.clear();
        self.tensor_nodes.clear();
        self.nodes_owning_heap = 0;
    }
}

impl<F> Drop for Tape<F> {
    fn drop(&mut self) {
        self.forget_plain_nodes();
    }
}

impl<F: Float> Tape<F> {
    fn new(max_nodes: usize) -> Self {
        Tape {
            nodes: Vec::new(),
            tensors: Vec::new(),
            tensor_nodes: Vec::new(),
            nodes_owning_heap: 0,
            room: 0,
            max_nodes: max_nodes.min(MAX_NODES),
            watched: false,
        }
    }
    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
    /// Node `id`.
    #[inline(always)]
    pub fn node(&self, id: NodeId) -> &Node<F> {
        &self.nodes[id as usize]
    }
    /// Node `id`, without a bounds check: for the hot loops, whose ids come from `Var`s of this
    /// graph or from the inputs of recorded ops, both always below [`Tape::len`]. The backward
    /// sweep of `tapegrad-autograd` is its one user; it is not part of the public API.
    ///
    /// # Safety
    /// `id` must be below [`Tape::len`].
    #[doc(hidden)]
    #[inline(always)]
    pub unsafe fn node_unchecked(&self, id: NodeId) -> &Node<F> {
        debug_assert!((id as usize) < self.nodes.len());
        // SAFETY: the caller guarantees `id < len`.
        unsafe { self.nodes.get_unchecked(id as usize) }
    }
    /// The ids of the tensor nodes (those whose value is not 0-d), in increasing order; every
    /// other node is a scalar node.
    #[inline(always)]
    pub fn tensor_nodes(&self) -> &[NodeId] {
        &self.tensor_nodes
    }
    /// The op that produced node `id`.
    #[inline(always)]
    pub fn op(&self, id: NodeId) -> &Op<F> {
        &self.nodes[id as usize].op
    }
    /// Node `id`'s value, as stored.
    #[inline]
    pub fn value(&self, id: NodeId) -> Value<F> {
        let node = &self.nodes[id as usize];
        // A tensor node holds its table index as its scalar (exact below 2²⁴ even in f32); no
        // scalar node's id is in `tensor_nodes`, so a match is proof.
        let guess = node.scalar.to_f64() as usize;
        if self.tensor_nodes.get(guess) == Some(&id) {
            return Value::Tensor(guess as u32);
        }
        if self.tensor_nodes.len() <= EXACT_INDEX {
            return Value::Scalar(node.scalar);
        }
        match self.tensor_nodes.binary_search(&id) {
            Ok(t) => Value::Tensor(t as u32),
            Err(_) => Value::Scalar(node.scalar),
        }
    }
    /// Node `id`'s value when it is a scalar.
    #[inline]
    pub fn scalar(&self, id: NodeId) -> Option<F> {
        match self.value(id) {
            Value::Scalar(v) => Some(v),
            Value::Tensor(_) => None,
        }
    }
    /// Node `id`'s value as a tensor (a 0-d tensor for a scalar node).
    pub fn tensor(&self, id: NodeId) -> Tensor<F> {
        self.tensor_cow(id).into_owned()
    }
    /// Node `id`'s value as a tensor, borrowed from the tape when it is one (a new 0-d tensor
    /// for a scalar node).
    pub fn tensor_cow(&self, id: NodeId) -> std::borrow::Cow<'_, Tensor<F>> {
        match self.value(id) {
            Value::Scalar(v) => std::borrow::Cow::Owned(Tensor::scalar(v)),
            Value::Tensor(t) => std::borrow::Cow::Borrowed(&self.tensors[t as usize]),
        }
    }
    /// Node `id`'s shape.
    pub fn shape(&self, id: NodeId) -> Shape {
        match self.value(id) {
            Value::Scalar(_) => Shape::scalar(),
            Value::Tensor(t) => self.tensors[t as usize].shape().clone(),
        }
    }
    /// Whether gradients flow to node `id`.
    #[inline(always)]
    pub fn requires_grad(&self, id: NodeId) -> bool {
        !matches!(self.nodes[id as usize].op, Op::Constant)
    }
    /// Bytes the tape holds per node, excluding tensor payloads (for the memory budget).
    pub fn bytes_per_node() -> usize {
        std::mem::size_of::<Node<F>>()
    }
    /// The most nodes this tape may hold.
    pub fn max_nodes(&self) -> usize {
        self.max_nodes
    }
    /// Appends a node (a 0-d tensor is stored as a scalar), or `None` when the tape is full.
    pub(crate) fn push(&mut self, op: Op<F>, value: Tensor<F>) -> Option<NodeId> {
        if self.nodes.len() >= self.room && !self.make_room() {
            return None;
        }
        if value.ndim() == 0 {
            return Some(self.push_scalar(op, value.data()[0]));
        }
        let id = self.nodes.len() as NodeId;
        let index = F::from_usize(self.tensors.len());
        self.tensors.push(value);
        self.tensor_nodes.push(id);
        Some(self.push_scalar(op, index))
    }
    /// Appends a node whose value is `scalar` (or a tensor node, just after its tensor was
    /// listed), into the room made by [`Tape::reserve_one`].
    #[inline(always)]
    fn push_scalar(&mut self, op: Op<F>, scalar: F) -> NodeId {
        debug_assert!(self.nodes.len() < self.nodes.capacity());
        let id = self.nodes.len() as NodeId;
        self.nodes_owning_heap += op.owns_heap() as usize;
        self.nodes.push(Node { op, scalar });
        id
    }
    /// Makes room for one more node on a fast path; false when the tape holds `max_nodes`
    /// already, or in anomaly mode (whose watching is on the general path). The scalar fast
    /// paths call it before computing the node's value, so no value is held across the
    /// allocator call (which would force it through the stack on every op).
    #[inline(always)]
    pub(crate) fn reserve_one(&mut self) -> bool {
        self.nodes.len() < self.room || self.grow()
    }
    #[cold]
    #[inline(never)]
    fn grow(&mut self) -> bool {
        !self.watched && self.make_room()
    }
    /// Makes room for one more node; false when the tape holds `max_nodes` already.
    fn make_room(&mut self) -> bool {
        if self.nodes.len() >= self.max_nodes {
            return false;
        }
        self.reserve(1);
        true
    }
    fn reserve(&mut self, nodes: usize) {
        self.nodes.reserve(nodes.min(self.max_nodes));
        self.set_watched(self.watched);
    }
    /// Enters or leaves anomaly mode: while watched, the room is 0, so fast paths always
    /// fall through to the general path.
    pub(crate) fn set_watched(&mut self, on: bool) {
        self.watched = on;
        self.room = if on { 0 } else { self.nodes.capacity().min(self.max_nodes) };
    }
    /// Appends a scalar node whose op owns no heap memory, into the room made by
    /// [`Tape::reserve_one`].
    #[inline(always)]
    pub(crate) fn push_reserved(&mut self, op: Op<F>, scalar: F) -> NodeId {
        // Were the op dropped when the check panics, it would be built in memory first and
        // read back whole, a store-forwarding stall of ~12 cycles per node (W1 0.41 → 0.70 ms);
        // it owns no heap memory, so not dropping it leaks nothing.
        let op = std::mem::ManuallyDrop::new(op);
        let id = self.nodes.len();
        assert!(id < self.nodes.capacity() && !op.owns_heap());
        // SAFETY: `id` is below the capacity, so the slot is allocated, and it is past the
        // length, so nothing is overwritten; the op owns no heap memory, so
        // `nodes_owning_heap` stays right.
        unsafe {
            self.nodes.as_mut_ptr().add(id).write(Node { op: std::mem::ManuallyDrop::into_inner(op), scalar });
            self.nodes.set_len(id + 1);
        }
        id as NodeId
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
    pub(crate) tape: TapeCell<F>,
    no_grad_depth: Cell<u32>,
    generation: u64,
    hooks: std::cell::RefCell<Vec<(NodeId, GradHook<F>)>>,
    pub(crate) anomaly_log: std::cell::RefCell<Option<Box<crate::anomaly::AnomalyLog>>>,
    /// Whether anomaly mode is on (kept apart from the log so the check is one load).
    pub(crate) detecting_anomaly: Cell<bool>,
    /// Where the recording code read values back (see [`Graph::note_read`]).
    pub(crate) reads: std::cell::RefCell<crate::reads::ReadLog>,
}

/// A gradient hook (see [`Var::register_hook`]): called with the graph and the gradient
/// arriving at its node; returns a replacement, or `None` to keep it.
pub type GradHook<F> = std::rc::Rc<dyn Fn(&Graph<F>, &Tensor<F>) -> Option<Tensor<F>>>;

/// Hands out recording generations: unique over every graph of the process and every
/// [`Graph::clear`], so one number names both the graph and its current recording.
static NEXT_GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_generation() -> u64 {
    NEXT_GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// An empty graph of any element type: `Graph::<f32>::default()`.
impl<F: Float> Default for Graph<F> {
    fn default() -> Self {
        Self::with_max_nodes(MAX_NODES)
    }
}

impl Graph<f64> {
    /// An empty `f64` graph — `Graph`'s default element type, the one of micrograd-style code
    /// and gradient checks, and what float literals infer. For another element type use
    /// `Graph::<f32>::default()`; the other constructors are generic.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<F: Float> Graph<F> {
    /// An empty graph with room for `nodes` nodes.
    pub fn with_capacity(nodes: usize) -> Self {
        let g = Self::default();
        g.tape.write(|t| t.reserve(nodes));
        g
    }
    /// An empty graph that records at most `max_nodes` nodes (never more than [`MAX_NODES`],
    /// the limit of every graph): a budget for memory or for runaway loops. Recording past it
    /// is [`Error::TapeFull`] from the `try_` ops and a panic with that message from the others.
    ///
    /// ```
    /// use tapegrad_graph::{Error, Graph};
    /// let g = Graph::<f64>::with_max_nodes(2);
    /// let x = g.scalar(1.0);
    /// let y = g.scalar(2.0);
    /// assert!(matches!(x.try_add(y), Err(Error::TapeFull { op: "add", max_nodes: 2 })));
    /// ```
    pub fn with_max_nodes(max_nodes: usize) -> Self {
        Graph {
            tape: TapeCell::new(Tape::new(max_nodes)),
            no_grad_depth: Cell::new(0),
            generation: next_generation(),
            hooks: std::cell::RefCell::new(Vec::new()),
            anomaly_log: std::cell::RefCell::new(None),
            detecting_anomaly: Cell::new(false),
            reads: std::cell::RefCell::new(crate::reads::ReadLog::default()),
        }
    }
    /// Forgets every node but keeps the memory, for the next training step. Results computed
    /// from the old nodes (such as `Gradients`) no longer answer for the new ones.
    pub fn clear(&mut self) {
        self.tape.get_mut().forget_plain_nodes();
        self.hooks.get_mut().clear();
        self.clear_anomaly_log();
        *self.reads.get_mut() = crate::reads::ReadLog::default();
        self.generation = next_generation();
    }
    /// Adds a gradient hook to node `id` (see [`Var::register_hook`]).
    pub(crate) fn add_hook(&self, id: NodeId, hook: GradHook<F>) {
        self.hooks.borrow_mut().push((id, hook));
    }
    /// True when some node has a gradient hook.
    pub fn has_hooks(&self) -> bool {
        !self.hooks.borrow().is_empty()
    }
    /// The hooks of node `id`, in the order they were registered (cloned out, so they can run
    /// while the graph records).
    pub fn hooks_of(&self, id: NodeId) -> Vec<GradHook<F>> {
        self.hooks.borrow().iter().filter(|(n, _)| *n == id).map(|(_, h)| h.clone()).collect()
    }
    /// Names this graph and its current recording: unique in the process, and new after every
    /// [`Graph::clear`]. Results tied to nodes (gradients) keep it to refuse nodes they do not
    /// describe.
    pub fn generation(&self) -> u64 {
        self.generation
    }
    /// The number of recorded nodes.
    pub fn len(&self) -> usize {
        self.tape.read().len()
    }
    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Read access to the tape (for the backward sweep and tools such as DOT export).
    ///
    /// Recording an op on this graph while the returned guard is alive panics.
    pub fn tape(&self) -> TapeRef<'_, F> {
        self.tape.read()
    }

    /// A scalar leaf that requires grad (micrograd's `Value(x)`).
    #[inline]
    pub fn scalar(&self, v: F) -> Var<'_, F> {
        self.leaf(v, true)
    }
    /// A scalar constant: no gradient is computed for it.
    #[inline]
    pub fn constant_scalar(&self, v: F) -> Var<'_, F> {
        self.leaf(v, false)
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
            Ok(Var::from_tape(self, &self.tape(), id))
        } else {
            Err(Error::IndexOutOfRange { op: "Graph::node", index: id as usize, size: self.len() })
        }
    }

    #[track_caller]
    fn tensor_leaf(&self, t: Tensor<F>, requires_grad: bool) -> Var<'_, F> {
        let op = if requires_grad { Op::Leaf } else { Op::Constant };
        let scalar = t.ndim() == 0;
        let pushed = if self.is_detecting_anomaly() {
            self.push_watched(op, t, requires_grad)
        } else {
            self.tape.write(|tape| tape.push(op, t))
        };
        match pushed {
            Some(id) => Var::new(self, id, scalar, requires_grad),
            None => self.full("leaf"),
        }
    }
    #[inline(always)]
    #[track_caller]
    fn leaf(&self, v: F, requires_grad: bool) -> Var<'_, F> {
        let op = if requires_grad { Op::Leaf } else { Op::Constant };
        let id = self.tape.write(|tape| if tape.reserve_one() { Some(tape.push_reserved(op, v)) } else { None });
        match id {
            Some(id) => Var::new(self, id, true, requires_grad),
            // A full tape, or anomaly mode: the general path tells them apart.
            None => self.tensor_leaf(Tensor::scalar(v), requires_grad),
        }
    }
    #[cold]
    #[track_caller]
    fn full(&self, op: &'static str) -> ! {
        panic!("{}", Error::TapeFull { op, max_nodes: self.tape().max_nodes() })
    }

    /// Records a user-defined op over `inputs`: `compute` gets their values and returns the
    /// output; `rule` is the derivative rule's object, opaque here. The building block of
    /// `tapegrad_autograd::CustomOps` (use that, which pairs the rule with the op).
    #[track_caller]
    pub fn record_custom<'g>(
        &'g self,
        name: &'static str,
        inputs: &[Var<'g, F>],
        rule: std::sync::Arc<dyn std::any::Any + Send + Sync>,
        compute: impl FnOnce(&[&Tensor<F>]) -> Result<Tensor<F>>,
    ) -> Result<Var<'g, F>> {
        for v in inputs {
            if !std::ptr::eq(v.graph(), self) {
                return Err(Error::ForeignGraph { op: name });
            }
        }
        let ids: Vec<NodeId> = inputs.iter().map(|v| v.id()).collect();
        let op = Op::Custom(Box::new(crate::op::CustomNode { name, inputs: ids.clone(), rule }));
        Var::record_with(self, inputs, op, |tape| {
            let values: Vec<std::borrow::Cow<'_, Tensor<F>>> = ids.iter().map(|&i| tape.tensor_cow(i)).collect();
            let refs: Vec<&Tensor<F>> = values.iter().map(|v| v.as_ref()).collect();
            compute(&refs)
        })
    }

    /// Records an op; under `no_grad`, or when no input requires grad, the node is a
    /// constant leaf. [`Error::TapeFull`] when the graph holds its most nodes.
    #[track_caller]
    pub(crate) fn record(&self, op: Op<F>, value: Tensor<F>, inputs_require_grad: bool) -> Result<Var<'_, F>> {
        let requires_grad = inputs_require_grad && self.is_recording();
        if inputs_require_grad && !requires_grad {
            self.note_read(None, "no_grad");
        }
        let name = op.name();
        let scalar = value.ndim() == 0;
        let pushed = if self.is_detecting_anomaly() {
            self.push_watched(op, value, requires_grad)
        } else {
            let op = if requires_grad { op } else { Op::Constant };
            self.tape.write(|tape| tape.push(op, value))
        };
        match pushed {
            Some(id) => Ok(Var::new(self, id, scalar, requires_grad)),
            None => Err(Error::TapeFull { op: name, max_nodes: self.tape().max_nodes() }),
        }
    }
}
