//! Elementwise ops: unary, parameterised, binary (broadcasting), clamp, comparisons.

use crate::error::{expect_op, Error, Result};
use crate::float::Float;
use crate::graph::Graph;
use crate::op::{BinaryOp, Bounds, NodeId, Op, ParamOp, UnaryOp};
use crate::tensor::Tensor;
use crate::var::{IntoVar, Var};

/// Applies a unary op to every element (see [`UnaryOp::map`]).
pub fn map_unary<F: Float>(op: UnaryOp, t: &Tensor<F>) -> Tensor<F> {
    op.map(t)
}

/// Applies a binary op under broadcasting (see [`BinaryOp::zip`]).
pub fn zip_binary<F: Float>(op: BinaryOp, a: &Tensor<F>, b: &Tensor<F>) -> Result<Tensor<F>> {
    op.zip(a, b)
}

impl<'g, F: Float> Var<'g, F> {
    /// Records a unary elementwise op.
    #[inline(always)]
    #[track_caller]
    pub fn unary(self, op: UnaryOp) -> Var<'g, F> {
        let x = self.id();
        if let Some(y) = self.scalar_unary(Op::Unary(op, x), |v| op.apply(v)) {
            return y;
        }
        unary_tensor(self.graph(), x, Op::Unary(op, x), |t| map_unary(op, t))
    }

    /// Records an elementwise op with a constant parameter.
    #[inline(always)]
    #[track_caller]
    pub fn param(self, op: ParamOp, p: F) -> Var<'g, F> {
        let x = self.id();
        if let Some(y) = self.scalar_unary(Op::Param(op, x, p), |v| op.apply(v, p)) {
            return y;
        }
        unary_tensor(self.graph(), x, Op::Param(op, x, p), |t| t.map(|v| op.apply(v, p)))
    }

    /// Records a binary elementwise op with NumPy broadcasting. Two scalars take an inlined
    /// fast path; everything else goes through the tensor kernels.
    #[inline(always)]
    #[track_caller]
    pub fn try_binary(self, op: BinaryOp, rhs: Var<'g, F>) -> Result<Var<'g, F>> {
        match self.scalar_binary(op, rhs) {
            Some(v) => Ok(v),
            None => binary_tensor(self.graph(), rhs.graph(), op, self.id(), rhs.id()),
        }
    }

    /// The scalar fast path of a binary op, or `None` when an operand is a tensor (or on
    /// another graph, or the tape is full: the general path reports those).
    #[inline(always)]
    #[track_caller]
    fn scalar_binary(self, op: BinaryOp, rhs: Var<'g, F>) -> Option<Var<'g, F>> {
        let graph = self.graph();
        if !(self.is_scalar_node() && rhs.is_scalar_node() && std::ptr::eq(graph, rhs.graph())) {
            return None;
        }
        let (a, b) = (self.id(), rhs.id());
        let need = [self.requires_grad(), rhs.requires_grad()];
        let requires_grad = (need[0] || need[1]) && graph.is_recording();
        // SAFETY: the reference is used only in this block, which reads no other tape handle
        // and calls no user code.
        let tape = unsafe { graph.tape.tape_mut() }?;
        if !tape.reserve_one() {
            return None;
        }
        // SAFETY: a `Var` exists only for a node of its graph, and nodes are never removed while
        // a `Var` borrows the graph (`clear` takes `&mut self`), so both ids are below the length.
        let (x, y) = unsafe { (tape.node_unchecked(a).scalar(), tape.node_unchecked(b).scalar()) };
        let value = op.apply(x, y);
        // Two pushes rather than one push of a chosen op: a select between two ops makes the
        // compiler carry the unused bytes of the node through the stack.
        let id = if requires_grad {
            tape.push_reserved(Op::Binary(op, a, b, need), value)
        } else {
            if need[0] || need[1] {
                graph.note_read(None, "no_grad");
            }
            tape.push_reserved(Op::Constant, value)
        };
        Some(Var::new(graph, id, true, requires_grad))
    }

    /// The scalar fast path of a one-input op (`op` has input `self`), or `None` when the
    /// input is a tensor (or the tape is full).
    #[inline(always)]
    #[track_caller]
    fn scalar_unary(self, op: Op<F>, apply: impl FnOnce(F) -> F) -> Option<Var<'g, F>> {
        if !self.is_scalar_node() {
            return None;
        }
        let graph = self.graph();
        let requires_grad = self.requires_grad() && graph.is_recording();
        // SAFETY: as in `scalar_binary`.
        let tape = unsafe { graph.tape.tape_mut() }?;
        if !tape.reserve_one() {
            return None;
        }
        // SAFETY: as in `scalar_binary`.
        let value = apply(unsafe { tape.node_unchecked(self.id()) }.scalar());
        // As in `scalar_binary`: two pushes.
        let id = if requires_grad {
            tape.push_reserved(op, value)
        } else {
            if self.requires_grad() {
                graph.note_read(None, "no_grad");
            }
            tape.push_reserved(Op::Constant, value)
        };
        Some(Var::new(graph, id, true, requires_grad))
    }

    /// Records a binary op, panicking with the error's message on incompatible shapes.
    #[track_caller]
    #[inline(always)]
    pub fn binary(self, op: BinaryOp, rhs: Var<'g, F>) -> Var<'g, F> {
        match self.scalar_binary(op, rhs) {
            Some(v) => v,
            None => expect_op(binary_tensor(self.graph(), rhs.graph(), op, self.id(), rhs.id())),
        }
    }

    /// Elements limited to `[min, max]`, as `torch.clamp` with number bounds: `min(max(x, min),
    /// max)`, so `max` wins when `min > max`, and NaN stays NaN. The gradient passes only
    /// strictly inside the bounds (0 at a bound, as PyTorch 2 gives).
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.var(Tensor::from_vec(vec![0.0, 1.0, 3.0], [3])?);
    /// assert_eq!(x.clamp(0.5, 2.0).value().to_vec(), vec![0.5, 1.0, 2.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn clamp(self, min: F, max: F) -> Var<'g, F> {
        let bounds = Bounds { min, max };
        let value = crate::op::eval::clamp(&self.graph().tape().tensor_cow(self.id()), &bounds);
        expect_op(self.graph().record(Op::Clamp(self.id(), Box::new(bounds)), value, self.requires_grad()))
    }
}

macro_rules! comparisons {
    ($($(#[$m:meta])* $name:ident $try_name:ident => $cmp:tt),* $(,)?) => {
        impl<'g, F: Float> Var<'g, F> {
            $(
                $(#[$m])*
                /// The result is a constant mask of 0s and 1s (never differentiated), for
                /// [`Var::where_cond`] or as a factor.
                #[track_caller]
                pub fn $name(self, other: impl IntoVar<'g, F>) -> Var<'g, F> {
                    expect_op(self.$try_name(other))
                }
                /// The fallible form of the comparison of the same name. The mask is computed
                /// now, so comparing a value that gradients flow to is noted as a value read
                /// ([`Graph::note_read`](crate::Graph::note_read)).
                #[track_caller]
                pub fn $try_name(self, other: impl IntoVar<'g, F>) -> Result<Var<'g, F>> {
                    let other = other.into_var(self.graph());
                    self.same_graph(other, stringify!($name))?;
                    if self.requires_grad() || other.requires_grad() {
                        self.graph().note_read(Some(self.id()), stringify!($name));
                    }
                    let mask = {
                        let tape = self.graph().tape();
                        tape.tensor_cow(self.id()).zip_with(&tape.tensor_cow(other.id()), stringify!($name), |a, b| {
                            if a $cmp b { F::ONE } else { F::ZERO }
                        })?
                    };
                    Ok(self.graph().constant(mask))
                }
            )*
        }
    };
}
comparisons!(
    /// 1 where `self > other`.
    gt try_gt => >,
    /// 1 where `self < other`.
    lt try_lt => <,
    /// 1 where `self >= other`.
    ge try_ge => >=,
    /// 1 where `self <= other`.
    le try_le => <=,
    /// 1 where `self == other`.
    eq try_eq => ==,
);

// The tensor paths of the elementwise ops take ids rather than `Var`s, so the hot scalar path
// never needs its operands in memory.

/// Records a one-input op on a tensor node (or on a scalar node of a full tape, which panics).
#[inline(never)]
#[track_caller]
fn unary_tensor<'g, F: Float>(
    graph: &'g Graph<F>,
    x: NodeId,
    op: Op<F>,
    compute: impl FnOnce(&Tensor<F>) -> Tensor<F>,
) -> Var<'g, F> {
    let (value, requires_grad) = {
        let tape = graph.tape();
        (compute(&tape.tensor_cow(x)), tape.requires_grad(x))
    };
    expect_op(graph.record(op, value, requires_grad))
}

/// Records a binary op with at least one tensor operand (or operands of two graphs).
#[inline(never)]
#[track_caller]
fn binary_tensor<'g, F: Float>(
    graph: &'g Graph<F>,
    rhs_graph: &'g Graph<F>,
    op: BinaryOp,
    a: NodeId,
    b: NodeId,
) -> Result<Var<'g, F>> {
    if !std::ptr::eq(graph, rhs_graph) {
        return Err(Error::ForeignGraph { op: op.name() });
    }
    let (value, need) = {
        let tape = graph.tape();
        (zip_binary(op, &tape.tensor_cow(a), &tape.tensor_cow(b))?, [tape.requires_grad(a), tape.requires_grad(b)])
    };
    graph.record(Op::Binary(op, a, b, need), value, need[0] || need[1])
}
