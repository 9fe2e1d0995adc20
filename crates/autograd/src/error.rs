//! The autograd crate's error type.

use tapegrad_graph::Shape;

/// What can go wrong differentiating.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An error from recording an op.
    #[error(transparent)]
    Graph(#[from] tapegrad_graph::Error),
    /// `backward()` was called on a non-scalar.
    #[error("backward: the root has shape {shape}, but backward() needs a single element; reduce it first (sum, mean) or give a seed of that shape to backward_with")]
    NonScalarRoot {
        /// The root's shape.
        shape: Shape,
    },
    /// The seed given to `backward_with` does not have the root's shape.
    #[error("backward_with: the seed has shape {seed}, but the root has shape {root}")]
    SeedShape {
        /// The seed's shape.
        seed: Shape,
        /// The root's shape.
        root: Shape,
    },
    /// Gradients were asked about a `Var` of another graph, or of a later recording of their
    /// own graph (after `Graph::clear`).
    #[error("{op}: the Var belongs to another graph (or to a recording after Graph::clear) than these gradients")]
    ForeignVar {
        /// The call.
        op: &'static str,
    },
    /// A second derivative (or any recorded derivative, as `grad` makes) was asked of a
    /// once-differentiable custom op.
    #[error("{op}: this custom op is once differentiable (its backward is plain tensor code), so it cannot be differentiated by grad(), hvp() or jvp(); implement CustomOp to allow that")]
    NotTwiceDifferentiable {
        /// The custom op.
        op: &'static str,
    },
    /// A custom op's backward returned gradients that do not fit its inputs.
    #[error("custom op {op}: {message}")]
    CustomBackward {
        /// The custom op.
        op: &'static str,
        /// What does not fit.
        message: String,
    },
    /// A gradient hook returned a replacement of another shape than the gradient.
    #[error("gradient hook on node {node}: it returned shape {found}, but the gradient has shape {expected}")]
    HookShape {
        /// The hooked node.
        node: u32,
        /// The gradient's shape.
        expected: Shape,
        /// The replacement's shape.
        found: Shape,
    },
    /// A step-by-step account was asked of a graph with a tensor node.
    #[error(
        "explain_backward: node #{node} (`{op}`) has shape {shape}; the step-by-step account is for scalar graphs"
    )]
    NotScalar {
        /// The node.
        node: u32,
        /// Its op.
        op: &'static str,
        /// Its shape.
        shape: Shape,
    },
    /// Compiling a tape whose recording read values back (`item`, `value`, …): a replay would
    /// not take the branches those values chose.
    #[error("CompiledTape: the recording read {count} value(s) back, so a replay may not do what recording again would:\n{listed}\nrecord without reading values (or declare the reads harmless: CompileOptions::allow_value_reads)")]
    ValueReads {
        /// How many reads there were.
        count: usize,
        /// The first of them, one per line (what read which node, where).
        listed: String,
    },
    /// A compiled tape's input (or output list) that cannot be one.
    #[error("CompiledTape: input {index}: {message}")]
    CompileInput {
        /// The position in the list given.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// A compiled tape was asked for an input or output it does not have.
    #[error("CompiledTape: no {what} {index} (there are {count})")]
    NoSuchSlot {
        /// `"input"` or `"output"`.
        what: &'static str,
        /// The position asked for.
        index: usize,
        /// How many there are.
        count: usize,
    },
    /// A new input value of another shape than the recorded one.
    #[error("CompiledTape: input {index} was recorded with shape {expected}, got {found}")]
    InputShape {
        /// The input.
        index: usize,
        /// The recorded shape.
        expected: Shape,
        /// The shape given.
        found: Shape,
    },
    /// A replayed op gave a value of another shape than it recorded (a custom op whose output
    /// shape depends on its input values): the compiled tape no longer describes the step.
    #[error("CompiledTape: `{op}` gave shape {found} on replay but {expected} when recorded; a step whose shapes change cannot be replayed")]
    ReplayShape {
        /// The op.
        op: &'static str,
        /// The recorded shape.
        expected: Shape,
        /// The shape it gave.
        found: Shape,
    },
    /// Compiling a graph with gradient hooks, which a replay would not run.
    #[error("CompiledTape: the graph has gradient hooks, which a compiled tape does not run; compile a recording without them")]
    HooksNotReplayed,
    /// `backward` on a result that no gradient flows to.
    #[error("backward: the root is a constant (no input requires grad, or it was computed under no_grad); nothing to differentiate")]
    NoGradient,
    /// A gradient check found an analytic gradient that disagrees with finite differences.
    #[error("gradcheck failed for `{op}`: d output[{output}] / d input {input}[{element}]: analytic {analytic} vs numerical {numerical}")]
    GradcheckFailed {
        /// The op that produced the checked output.
        op: String,
        /// Which input.
        input: usize,
        /// The element of that input, as a multi-index.
        element: String,
        /// The element of the output (flat index).
        output: usize,
        /// The gradient from backward.
        analytic: f64,
        /// The central-difference estimate.
        numerical: f64,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[track_caller]
pub(crate) fn expect<T>(r: Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}
