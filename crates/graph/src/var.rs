//! [`Var`]: a `Copy` handle to a node on a [`Graph`]. The ops it records are in `ops/`, one
//! file per family.

use crate::error::{Error, Result};
use crate::float::Float;
use crate::graph::{Graph, Tape, Value};
use crate::op::{NodeId, Op};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::fmt;

/// A handle to one node of a [`Graph`]: cheap to copy, combined with operators and methods
/// that record new nodes.
///
/// ```
/// use tapegrad_graph::Graph;
/// let g = Graph::new();
/// let x = g.scalar(2.0);
/// let y = 3.0 * x * x + 1.0;
/// assert_eq!(y.item(), 13.0);
/// ```
#[derive(Clone, Copy)]
pub struct Var<'g, F: Float = f64> {
    graph: &'g Graph<F>,
    // The node id in the low 32 bits, and above them what the tape says of the node (which
    // never changes), so the scalar fast paths need not read it back. One integer rather than
    // separate fields keeps the handle a pair of registers.
    bits: u64,
}

/// `Var::bits` flags, above the node id.
const SCALAR: u64 = 1 << 32;
const REQUIRES_GRAD: u64 = 1 << 33;

impl<'g, F: Float> Var<'g, F> {
    /// A handle to node `id`, which holds a 0-d value when `scalar` and is not a constant when
    /// `requires_grad`.
    #[inline(always)]
    pub(crate) fn new(graph: &'g Graph<F>, id: NodeId, scalar: bool, requires_grad: bool) -> Self {
        let flags = if scalar { SCALAR } else { 0 } | if requires_grad { REQUIRES_GRAD } else { 0 };
        Var { graph, bits: u64::from(id) | flags }
    }
    /// A handle to node `id` as the tape holds it.
    pub(crate) fn from_tape(graph: &'g Graph<F>, tape: &Tape<F>, id: NodeId) -> Self {
        Var::new(graph, id, matches!(tape.value(id), Value::Scalar(_)), tape.requires_grad(id))
    }
    /// True when the node holds a 0-d value, inline on the tape.
    #[inline(always)]
    pub(crate) fn is_scalar_node(self) -> bool {
        self.bits & SCALAR != 0
    }
    /// The node's position on the tape.
    #[inline(always)]
    pub fn id(self) -> NodeId {
        self.bits as NodeId
    }
    /// The graph this handle belongs to.
    #[inline(always)]
    pub fn graph(self) -> &'g Graph<F> {
        self.graph
    }
    /// The node's value. (The read is noted: see [`Graph::note_read`].)
    #[track_caller]
    pub fn value(self) -> Tensor<F> {
        self.graph.note_read(Some(self.id()), "value");
        self.graph.tape().tensor(self.id())
    }
    /// The node's single element.
    ///
    /// # Panics
    /// When the node holds more than one element; see [`Var::try_item`].
    #[track_caller]
    pub fn item(self) -> F {
        crate::error::expect_op(self.try_item())
    }
    /// The node's single element, or [`Error::NotScalar`].
    #[track_caller]
    pub fn try_item(self) -> Result<F> {
        self.graph.note_read(Some(self.id()), "item");
        let tape = self.graph.tape();
        if self.is_scalar_node() {
            return Ok(tape.node(self.id()).scalar());
        }
        tape.tensor_cow(self.id()).try_item()
    }
    /// The node's shape.
    pub fn shape(self) -> Shape {
        self.graph.tape().shape(self.id())
    }
    /// The number of dimensions.
    pub fn ndim(self) -> usize {
        self.shape().ndim()
    }
    /// Whether gradients flow to this node.
    #[inline(always)]
    pub fn requires_grad(self) -> bool {
        self.bits & REQUIRES_GRAD != 0
    }
    /// The op that produced this node (`"leaf"` for a variable, `"constant"` for a constant).
    pub fn op_name(self) -> &'static str {
        self.graph.tape().op(self.id()).name()
    }
    /// Registers a hook that `backward()` calls with the gradient arriving at this node, once
    /// all of it has arrived and before it flows on (PyTorch's `register_hook`). The hook may
    /// read it, record ops on the graph it is given, and return a replacement of the same
    /// shape, which is what flows on and what the gradients report. Hooks live until the
    /// graph is cleared. (`grad()`, which records, does not run them.)
    ///
    /// ```
    /// use tapegrad_graph::Graph;
    /// let g = Graph::new();
    /// let h = g.scalar(3.0) * 2.0;
    /// h.register_hook(|_, grad| Some(grad.map(|v| v.clamp(-1.0, 1.0))));  // clip here
    /// assert!(g.has_hooks());
    /// ```
    ///
    /// `tapegrad_autograd::Backward` shows one at work.
    pub fn register_hook(self, hook: impl Fn(&Graph<F>, &Tensor<F>) -> Option<Tensor<F>> + 'static) {
        self.graph.add_hook(self.id(), std::rc::Rc::new(hook));
    }
    /// The same value as a new constant: gradients stop here (PyTorch's `detach`).
    #[track_caller]
    pub fn detach(self) -> Var<'g, F> {
        self.graph.note_read(Some(self.id()), "detach");
        let value = self.graph.tape().value(self.id());
        match value {
            Value::Scalar(v) => self.graph.constant_scalar(v),
            Value::Tensor(_) => {
                let value = self.graph.tape().tensor(self.id());
                self.graph.constant(value)
            }
        }
    }

    pub(crate) fn same_graph(self, other: Var<'g, F>, op: &'static str) -> Result<()> {
        if std::ptr::eq(self.graph, other.graph) {
            Ok(())
        } else {
            Err(Error::ForeignGraph { op })
        }
    }

    /// Records a tensor op: `compute` reads the tape and returns the value; the node requires
    /// grad when any of `inputs` does.
    #[track_caller]
    pub(crate) fn record_with(
        graph: &'g Graph<F>,
        inputs: &[Var<'g, F>],
        op: Op<F>,
        compute: impl FnOnce(&Tape<F>) -> Result<Tensor<F>>,
    ) -> Result<Var<'g, F>> {
        let (value, requires_grad) = {
            let value = compute(&graph.tape())?;
            (value, inputs.iter().any(|v| v.requires_grad()))
        };
        graph.record(op, value, requires_grad)
    }

    /// Records a one-input tensor op.
    #[track_caller]
    pub(crate) fn record_unary(
        self,
        op: Op<F>,
        compute: impl FnOnce(&Tensor<F>) -> Result<Tensor<F>>,
    ) -> Result<Var<'g, F>> {
        let id = self.id();
        Var::record_with(self.graph, &[self], op, |t| compute(&t.tensor_cow(id)))
    }
}

impl<F: Float> fmt::Debug for Var<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Var(#{} {} = {})", self.id(), self.op_name(), self.graph.tape().tensor(self.id()))
    }
}

impl<F: Float> fmt::Display for Var<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.value(), f)
    }
}

/// Anything that can stand as an operand next to a [`Var`]: another `Var`, a number (a scalar
/// constant) or a [`Tensor`] (a tensor constant).
pub trait IntoVar<'g, F: Float> {
    /// The operand as a node on `graph`.
    #[track_caller]
    fn into_var(self, graph: &'g Graph<F>) -> Var<'g, F>;
}

impl<'g, F: Float> IntoVar<'g, F> for Var<'g, F> {
    #[inline(always)]
    #[track_caller]
    fn into_var(self, _: &'g Graph<F>) -> Var<'g, F> {
        self
    }
}

impl<'g, F: Float> IntoVar<'g, F> for F {
    #[inline(always)]
    #[track_caller]
    fn into_var(self, graph: &'g Graph<F>) -> Var<'g, F> {
        graph.constant_scalar(self)
    }
}

impl<'g, F: Float> IntoVar<'g, F> for Tensor<F> {
    #[track_caller]
    fn into_var(self, graph: &'g Graph<F>) -> Var<'g, F> {
        graph.constant(self)
    }
}
