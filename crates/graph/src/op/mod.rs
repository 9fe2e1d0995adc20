//! What the tape records: an [`Op`] per node, with the kinds of each op family.
//!
//! The elementwise ops are defined whole in `elementwise.rs` (kind, name, method, forward and
//! derivative in one entry each); the structural ops' rules live in `tapegrad-autograd`, one
//! per op, next to their family.

use crate::float::Float;
use crate::tensor::{Indices, SavedStats};
pub use crate::window::Window;
use smallvec::SmallVec;

mod elementwise;
pub(crate) mod eval;

pub use elementwise::{sigmoid, BinaryOp, ParamOp, UnaryOp};

/// A node's position on its graph's tape.
pub type NodeId = u32;

macro_rules! op_kinds {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v),* }
        impl $name {
            /// Every kind, for registries and exhaustive tests.
            pub const ALL: &'static [$name] = &[$($name::$v),*];
            /// The op's public name.
            pub fn name(self) -> &'static str {
                match self { $($name::$v => $s),* }
            }
        }
    };
}

op_kinds!(
    /// Reductions over a set of axes.
    ReduceOp {
        /// Σ
        Sum => "sum",
        /// max
        Max => "max",
        /// min
        Min => "min",
        /// Σ x² (an L2 penalty's term in one op, where `square` then `sum` is two)
        SumSquares => "sum_squares",
    }
);

op_kinds!(
    /// Ops that are not elementwise: their payloads are in [`Op`].
    StructuralOp {
        /// clamp(x, min, max)
        Clamp => "clamp",
        /// matrix product
        Matmul => "matmul",
        /// same elements, new shape
        Reshape => "reshape",
        /// reorder dims
        Permute => "permute",
        /// repeat along broadcast dims
        BroadcastTo => "broadcast_to",
        /// sum broadcast dims away
        SumTo => "sum_to",
        /// join along an axis
        Concat => "concat",
        /// a range along an axis
        Slice => "slice",
        /// zeros around along an axis
        Pad => "pad",
        /// pick slices along an axis
        IndexSelect => "index_select",
        /// add slices into zeros along an axis
        IndexAdd => "index_add",
        /// pick elements along an axis
        Gather => "gather",
        /// add elements into zeros along an axis
        ScatterAdd => "scatter_add",
        /// choose by a mask
        Where => "where",
        /// sliding-window patches as columns (im2col)
        Unfold => "unfold",
        /// columns added back into an image (col2im), unfold's adjoint
        Fold => "fold",
        /// rows of a table picked by a tensor of ids (an embedding)
        Lookup => "lookup",
        /// the value passed on, with a zero derivative
        StopGradient => "stop_gradient",
        /// each channel normalized by its batch statistics, then scaled and shifted
        BatchNorm => "batch_norm",
        /// each row (the last dim) normalized by its own statistics, then scaled and shifted
        LayerNorm => "layer_norm",
        /// exponentials along an axis divided by their sum
        Softmax => "softmax",
        /// Σ x² over every element of every input (an L2 penalty in one op)
        SumSquaresOf => "sum_squares_of",
        /// mean(relu(1 − s·y)) of scores and labels (a hinge loss in one op)
        Hinge => "hinge",
        /// a user-defined op (its own name is in [`CustomNode`])
        Custom => "custom",
    }
);

/// Every primitive op's name: what the op registry must cover.
pub fn primitive_op_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = UnaryOp::ALL.iter().map(|o| o.name()).collect();
    names.extend(ParamOp::ALL.iter().map(|o| o.name()));
    names.extend(BinaryOp::ALL.iter().map(|o| o.name()));
    names.extend(ReduceOp::ALL.iter().map(|o| o.name()));
    names.extend(StructuralOp::ALL.iter().map(|o| o.name()));
    names
}

/// The operation that produced a node, with its inputs. Large payloads are boxed so a
/// scalar node's record stays 16 bytes. Whether gradients flow to a node is part of its op:
/// every op but [`Op::Constant`] requires grad.
#[derive(Clone, Debug)]
pub enum Op<F> {
    /// A variable: a leaf that gradients flow to.
    Leaf,
    /// A value no gradient flows to: input data, a constant, or a result computed only from
    /// constants or under `no_grad`.
    Constant,
    /// An elementwise op of one input.
    Unary(UnaryOp, NodeId),
    /// An elementwise op of one input and a constant.
    Param(ParamOp, NodeId, F),
    /// An elementwise op of two inputs, with whether each input requires grad (kept here so
    /// the backward sweep need not look the inputs up to know).
    Binary(BinaryOp, NodeId, NodeId, [bool; 2]),
    /// clamp to `[min, max]`.
    Clamp(NodeId, Box<Bounds<F>>),
    /// A reduction over `axes`.
    Reduce(ReduceOp, NodeId, Box<Axes>),
    /// Matrix product `op(a)·op(b)` of two operands of at least 2 dims, where `op` transposes
    /// the last two dims when its flag is set.
    Matmul(NodeId, NodeId, [bool; 2]),
    /// Reshape to the node's own shape.
    Reshape(NodeId),
    /// Permute dims.
    Permute(NodeId, Box<Dims>),
    /// Broadcast to the node's own shape.
    BroadcastTo(NodeId),
    /// Sum down to the node's own shape.
    SumTo(NodeId),
    /// Concatenation of the inputs along an axis.
    Concat(Box<ConcatArgs>),
    /// `start..end` along an axis.
    Slice(NodeId, Box<Range>),
    /// `start` zeros before, and enough after to reach the node's own shape, along an axis.
    Pad(NodeId, Box<Range>),
    /// Slices picked along an axis.
    IndexSelect(NodeId, Box<IndexArgs>),
    /// Slices added into zeros of the node's own shape.
    IndexAdd(NodeId, Box<IndexArgs>),
    /// Elements picked along an axis.
    Gather(NodeId, Box<IndexArgs>),
    /// Elements added into zeros of the node's own shape.
    ScatterAdd(NodeId, Box<IndexArgs>),
    /// `where(cond, a, b)`; `cond` is never differentiated.
    Where(NodeId, NodeId, NodeId),
    /// The window's patches of an `[N, C, H, W]` input as `[N, C·kh·kw, L]` columns.
    Unfold(NodeId, Box<Window>),
    /// `[N, C·kh·kw, L]` columns added back into an image of the node's own shape.
    Fold(NodeId, Box<Window>),
    /// Rows of a `[count, dim]` table picked by the ids (whole numbers) held in the second
    /// input: `ids.shape + [dim]`. The ids are never differentiated.
    Lookup(NodeId, NodeId),
    /// The input's value with a zero derivative (a recorded stop-gradient); with the flag,
    /// non-finite elements read as 0 (the shift that keeps `logsumexp` finite).
    StopGradient(NodeId, bool),
    /// Batch normalization (training mode) of the first input `[N, C, …]` over every dim but
    /// dim 1, scaled by the second input and shifted by the third (both `[C]`).
    BatchNorm(Box<NormArgs<F>>),
    /// Layer normalization of the first input over its last dim (each row by its own mean and
    /// biased variance), scaled by the second input and shifted by the third (both `[C]`, C the
    /// last dim).
    LayerNorm(Box<NormArgs<F>>),
    /// Softmax along an axis (resolved).
    Softmax(NodeId, usize),
    /// Σ x² over every element of every input, as one scalar: an L2 penalty over many
    /// parameters as one node, where one `sum_squares` per parameter and their sum take two
    /// nodes a parameter.
    SumSquaresOf(Box<Vec<NodeId>>),
    /// The hinge loss `mean(relu(1 − s·y))` of scores (the first input) against labels (the
    /// second, of the same shape), as one scalar: one node where `mul`, `sub`, `relu`, `sum`
    /// and `mean`'s product take five.
    Hinge(NodeId, NodeId),
    /// A user-defined op (`tapegrad_autograd::CustomOp`).
    Custom(Box<CustomNode>),
}

/// A batch or layer normalization's inputs (input, weight, bias) and ε, with the statistics
/// its forward kept for its backward.
#[derive(Clone, Debug)]
pub struct NormArgs<F> {
    /// Input, weight and bias.
    pub inputs: [NodeId; 3],
    /// Added to the variance before its square root.
    pub eps: f64,
    /// The input's statistics from the last forward, which the backward takes.
    pub saved: SavedStats<F>,
}

/// A recorded user-defined op: its name, inputs, and the object that knows its derivative
/// (kept opaque here; `tapegrad-autograd` gives it meaning).
#[derive(Clone, Debug)]
pub struct CustomNode {
    /// The op's name, as it reports it.
    pub name: &'static str,
    /// The input nodes, in order.
    pub inputs: Vec<NodeId>,
    /// The derivative rule.
    pub rule: std::sync::Arc<dyn std::any::Any + Send + Sync>,
}

/// A few dims or axes (a permutation, the axes of a reduction), read as a slice.
#[derive(Clone, Debug, PartialEq)]
pub struct Dims(SmallVec<[usize; 4]>);

impl Dims {
    /// The dims in `values`.
    pub fn new(values: &[usize]) -> Self {
        Dims(SmallVec::from_slice(values))
    }
}

impl std::ops::Deref for Dims {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        &self.0
    }
}

/// The input nodes of an op, read as a slice (held inline: most ops have one to three).
#[derive(Clone, Debug, PartialEq)]
pub struct Inputs(SmallVec<[NodeId; 3]>);

impl std::ops::Deref for Inputs {
    type Target = [NodeId];
    fn deref(&self) -> &[NodeId] {
        &self.0
    }
}

/// The axes of a reduction (resolved and sorted) and whether they are kept as size 1.
#[derive(Clone, Debug, PartialEq)]
pub struct Axes {
    /// The reduced axes.
    pub axes: Dims,
    /// Whether the reduced axes stay as size 1.
    pub keepdim: bool,
}

/// The bounds of a clamp.
#[derive(Clone, Debug, PartialEq)]
pub struct Bounds<F> {
    /// The lower bound.
    pub min: F,
    /// The upper bound.
    pub max: F,
}

/// The inputs of a concatenation and the axis they are joined along.
#[derive(Clone, Debug, PartialEq)]
pub struct ConcatArgs {
    /// The inputs, in order.
    pub inputs: Vec<NodeId>,
    /// The axis (resolved).
    pub axis: usize,
}

/// An axis (resolved) and the indices an indexing op uses along it.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexArgs {
    /// The axis.
    pub axis: usize,
    /// The indices.
    pub indices: Indices,
}

/// An axis and a range on it.
#[derive(Clone, Debug, PartialEq)]
pub struct Range {
    /// The axis.
    pub axis: usize,
    /// First index (slice) or zeros before (pad).
    pub start: usize,
    /// One past the last index (slice), or past the input's values (pad: zeros before + its size).
    pub end: usize,
}

impl<F: Float> Op<F> {
    /// The op's public name: `"leaf"` for a variable, `"constant"` for a constant.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Leaf => "leaf",
            Op::Constant => "constant",
            Op::Unary(k, _) => k.name(),
            Op::Param(k, _, _) => k.name(),
            Op::Binary(k, ..) => k.name(),
            Op::Reduce(k, _, _) => k.name(),
            Op::Clamp(..)
            | Op::Matmul(..)
            | Op::Reshape(..)
            | Op::Permute(..)
            | Op::BroadcastTo(..)
            | Op::SumTo(..)
            | Op::Concat(..)
            | Op::Slice(..)
            | Op::Pad(..)
            | Op::IndexSelect(..)
            | Op::IndexAdd(..)
            | Op::Gather(..)
            | Op::ScatterAdd(..)
            | Op::Where(..)
            | Op::Unfold(..)
            | Op::Fold(..)
            | Op::Lookup(..)
            | Op::StopGradient(..)
            | Op::BatchNorm(..)
            | Op::LayerNorm(..)
            | Op::Softmax(..)
            | Op::SumSquaresOf(..)
            | Op::Hinge(..) => self.structural().map_or("", StructuralOp::name),
            Op::Custom(node) => node.name,
        }
    }
    /// The primitive this node is an instance of, as [`primitive_op_names`] lists them: the
    /// name, except `"custom"` for every user-defined op.
    pub fn primitive_name(&self) -> &'static str {
        match self {
            Op::Custom(..) => StructuralOp::Custom.name(),
            other => other.name(),
        }
    }
    /// The kind of a structural op (`None` for leaves and the elementwise and reduction
    /// families, which have kinds of their own).
    pub fn structural(&self) -> Option<StructuralOp> {
        Some(match self {
            Op::Leaf | Op::Constant | Op::Unary(..) | Op::Param(..) | Op::Binary(..) | Op::Reduce(..) => return None,
            Op::Clamp(..) => StructuralOp::Clamp,
            Op::Matmul(..) => StructuralOp::Matmul,
            Op::Reshape(..) => StructuralOp::Reshape,
            Op::Permute(..) => StructuralOp::Permute,
            Op::BroadcastTo(..) => StructuralOp::BroadcastTo,
            Op::SumTo(..) => StructuralOp::SumTo,
            Op::Concat(..) => StructuralOp::Concat,
            Op::Slice(..) => StructuralOp::Slice,
            Op::Pad(..) => StructuralOp::Pad,
            Op::IndexSelect(..) => StructuralOp::IndexSelect,
            Op::IndexAdd(..) => StructuralOp::IndexAdd,
            Op::Gather(..) => StructuralOp::Gather,
            Op::ScatterAdd(..) => StructuralOp::ScatterAdd,
            Op::Where(..) => StructuralOp::Where,
            Op::Unfold(..) => StructuralOp::Unfold,
            Op::Fold(..) => StructuralOp::Fold,
            Op::Lookup(..) => StructuralOp::Lookup,
            Op::StopGradient(..) => StructuralOp::StopGradient,
            Op::BatchNorm(..) => StructuralOp::BatchNorm,
            Op::LayerNorm(..) => StructuralOp::LayerNorm,
            Op::Softmax(..) => StructuralOp::Softmax,
            Op::SumSquaresOf(..) => StructuralOp::SumSquaresOf,
            Op::Hinge(..) => StructuralOp::Hinge,
            Op::Custom(..) => StructuralOp::Custom,
        })
    }
    /// True when the op's payload is on the heap (boxed): the tape skips the destructors of
    /// nodes whose ops all answer false, so every variant says which it is (no default arm).
    #[inline(always)]
    pub fn owns_heap(&self) -> bool {
        match self {
            Op::Clamp(..)
            | Op::Reduce(..)
            | Op::Permute(..)
            | Op::Concat(..)
            | Op::Slice(..)
            | Op::Pad(..)
            | Op::IndexSelect(..)
            | Op::IndexAdd(..)
            | Op::Gather(..)
            | Op::ScatterAdd(..)
            | Op::Unfold(..)
            | Op::Fold(..)
            | Op::BatchNorm(..)
            | Op::LayerNorm(..)
            | Op::SumSquaresOf(..)
            | Op::Custom(..) => true,
            Op::Leaf
            | Op::Constant
            | Op::Unary(..)
            | Op::Param(..)
            | Op::Binary(..)
            | Op::Matmul(..)
            | Op::Reshape(..)
            | Op::BroadcastTo(..)
            | Op::SumTo(..)
            | Op::Where(..)
            | Op::Lookup(..)
            | Op::StopGradient(..)
            | Op::Softmax(..)
            | Op::Hinge(..) => false,
        }
    }
    /// Whether gradients flow from the op's output to its input `pos`: not to the ids of a
    /// lookup, the condition of a where, or through a stop-gradient. (A custom op may still
    /// return no gradient for an input when it runs.)
    pub fn passes_gradient(&self, pos: usize) -> bool {
        match self {
            Op::Lookup(..) => pos == 0,
            Op::Where(..) => pos != 0,
            Op::StopGradient(..) | Op::Leaf | Op::Constant => false,
            Op::Unary(..)
            | Op::Param(..)
            | Op::Binary(..)
            | Op::Clamp(..)
            | Op::Reduce(..)
            | Op::Matmul(..)
            | Op::Reshape(..)
            | Op::Permute(..)
            | Op::BroadcastTo(..)
            | Op::SumTo(..)
            | Op::Concat(..)
            | Op::Slice(..)
            | Op::Pad(..)
            | Op::IndexSelect(..)
            | Op::IndexAdd(..)
            | Op::Gather(..)
            | Op::ScatterAdd(..)
            | Op::Unfold(..)
            | Op::Fold(..)
            | Op::BatchNorm(..)
            | Op::LayerNorm(..)
            | Op::Softmax(..)
            | Op::SumSquaresOf(..)
            | Op::Hinge(..)
            | Op::Custom(..) => true,
        }
    }
    /// The input nodes, in order.
    pub fn inputs(&self) -> Inputs {
        match self {
            Op::Leaf | Op::Constant => Inputs(SmallVec::new()),
            Op::Unary(_, x)
            | Op::Param(_, x, _)
            | Op::Clamp(x, _)
            | Op::Reduce(_, x, _)
            | Op::Reshape(x)
            | Op::Permute(x, _)
            | Op::BroadcastTo(x)
            | Op::SumTo(x)
            | Op::Slice(x, _)
            | Op::Pad(x, _)
            | Op::IndexSelect(x, _)
            | Op::IndexAdd(x, _)
            | Op::Gather(x, _)
            | Op::ScatterAdd(x, _)
            | Op::Unfold(x, _)
            | Op::Fold(x, _)
            | Op::StopGradient(x, _)
            | Op::Softmax(x, _) => Inputs(smallvec::smallvec![*x]),
            Op::Binary(_, a, b, _) | Op::Matmul(a, b, _) | Op::Lookup(a, b) | Op::Hinge(a, b) => {
                Inputs(smallvec::smallvec![*a, *b])
            }
            Op::Where(c, a, b) => Inputs(smallvec::smallvec![*c, *a, *b]),
            Op::Concat(args) => Inputs(args.inputs.iter().copied().collect()),
            Op::SumSquaresOf(inputs) => Inputs(inputs.iter().copied().collect()),
            Op::BatchNorm(args) => Inputs(args.inputs.iter().copied().collect()),
            Op::LayerNorm(args) => Inputs(args.inputs.iter().copied().collect()),
            Op::Custom(node) => Inputs(node.inputs.iter().copied().collect()),
        }
    }
}
