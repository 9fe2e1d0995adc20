//! The graph crate's error type.

use crate::shape::Shape;

/// Everything that can go wrong building tensors or recording ops.
///
/// Operators such as `a + b` panic with the `Display` text of these variants; every op also has
/// a `try_` form that returns them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Two shapes that an op needs to agree (or broadcast) do not.
    #[error("{op}: shapes {lhs} and {rhs} are incompatible{hint}")]
    ShapeMismatch {
        /// The op that was called.
        op: &'static str,
        /// The first operand's shape.
        lhs: Shape,
        /// The second operand's shape.
        rhs: Shape,
        /// What the op needed, starting with `"; "`, or empty.
        hint: String,
    },
    /// A number of elements does not fit a shape.
    #[error("{op}: {len} elements cannot have shape {shape} ({expected} elements)")]
    ElementCount {
        /// The op that was called.
        op: &'static str,
        /// The shape asked for.
        shape: Shape,
        /// How many elements that shape holds.
        expected: usize,
        /// How many elements there are.
        len: usize,
    },
    /// An axis outside `-ndim..ndim`.
    #[error("{op}: axis {axis} is out of range for a tensor of shape {shape} ({ndim} dims)")]
    BadAxis {
        /// The op that was called.
        op: &'static str,
        /// The axis given.
        axis: isize,
        /// The tensor's shape.
        shape: Shape,
        /// Its number of dimensions.
        ndim: usize,
    },
    /// An index past the end of an axis.
    #[error("{op}: index {index} is out of range for size {size}")]
    IndexOutOfRange {
        /// The op that was called.
        op: &'static str,
        /// The index given.
        index: usize,
        /// The size of the indexed axis.
        size: usize,
    },
    /// [`Op::eval`](crate::op::Op::eval) was asked to run a node that is not computed from
    /// its inputs there: a leaf, a constant, or a custom op (whose forward is its own).
    #[error("{op}: this node has no forward computation to run again (leaves and constants hold values; a custom op computes its own)")]
    NoForward {
        /// The node's op.
        op: &'static str,
    },
    /// An op that needs at least one element (or one input) got none.
    #[error("{op}: {what} is empty")]
    Empty {
        /// The op that was called.
        op: &'static str,
        /// What was empty.
        what: &'static str,
    },
    /// An op that needs a single element got a tensor of another size.
    #[error("{op}: expected a single element, got a tensor of shape {shape}")]
    NotScalar {
        /// The op that was called.
        op: &'static str,
        /// The shape it got.
        shape: Shape,
    },
    /// Some other argument is invalid; the message says which and why.
    #[error("{op}: {message}")]
    InvalidArgument {
        /// The op that was called.
        op: &'static str,
        /// What is wrong, in words.
        message: String,
    },
    /// A shape whose element count does not fit in memory (or in `usize`).
    #[error("{op}: shape {shape} has more elements than fit in memory")]
    TooLarge {
        /// The op that was called.
        op: &'static str,
        /// The shape asked for.
        shape: Shape,
    },
    /// The graph already holds as many nodes as it may (see
    /// [`Graph::with_max_nodes`](crate::Graph::with_max_nodes)).
    #[error("{op}: the graph is full ({max_nodes} nodes); clear it or record fewer ops")]
    TapeFull {
        /// The op that was called.
        op: &'static str,
        /// The most nodes the graph may hold.
        max_nodes: usize,
    },
    /// Anomaly mode found a NaN or an infinity (see
    /// [`Graph::detect_anomaly`](crate::Graph::detect_anomaly)).
    #[error("anomaly: {0}")]
    Anomaly(Box<crate::anomaly::Anomaly>),
    /// Handles from two different graphs were combined.
    #[error("{op}: the operands belong to different graphs")]
    ForeignGraph {
        /// The op that was called.
        op: &'static str,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Unwraps a `try_` result for an operator, panicking with the error's message.
#[track_caller]
#[inline]
pub(crate) fn expect_op<T>(r: Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}
