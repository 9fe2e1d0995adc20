//! User-defined ops: a forward on tensors and a derivative rule written once in the engine's
//! own arithmetic ([`TensorAlgebra`]), so the rule runs eagerly in `backward()` and recorded in
//! [`grad`](crate::grad) — a custom op can be differentiated again, like a built-in one. An op
//! whose backward is plain tensor code implements [`CustomOpOnce`] instead: its first
//! derivative works everywhere, and asking for a second one is an error that names it.

use crate::error::{Error, Result};
use std::sync::Arc;
use tapegrad_graph::op::CustomNode;
use tapegrad_graph::TensorAlgebra;
use tapegrad_graph::{Float, Graph, Tensor, Var};

/// An op defined outside the engine, with its own derivative (PyTorch's
/// `autograd.Function`, JAX's `custom_vjp`, candle's `CustomOp`).
///
/// `backward` is written once against [`TensorAlgebra`]: on tensors it is the eager backward
/// pass, on `Var`s it records itself, so gradients of gradients, `hvp` and `jvp` work through
/// the op.
///
/// A numerically stable `softplus(x) = ln(1 + eˣ)` with its own backward:
///
/// ```
/// use tapegrad_autograd::{grad, Backward, CustomOp, CustomOps, TensorAlgebra};
/// use tapegrad_graph::{Graph, Result, Tensor};
///
/// struct StableSoftplus;
///
/// impl CustomOp<f64> for StableSoftplus {
///     fn name(&self) -> &'static str {
///         "stable_softplus"
///     }
///     fn forward(&self, x: &[&Tensor<f64>]) -> Result<Tensor<f64>> {
///         Ok(x[0].map(|v| v.max(0.0) + (-v.abs()).exp().ln_1p()))
///     }
///     fn backward<A: TensorAlgebra<f64>>(&self, x: &[&A], _y: &A, g: &A) -> Vec<Option<A>> {
///         vec![Some(g.mul(&x[0].sigmoid()))] // d/dx = σ(x)
///     }
/// }
///
/// let g = Graph::new();
/// let x = g.scalar(800.0);
/// let y = g.custom(StableSoftplus, &[x]);
/// assert_eq!(y.item(), 800.0);                     // ln(1 + e⁸⁰⁰) without overflow
/// assert_eq!(y.backward().wrt(x).item(), 1.0);
/// let x0 = g.scalar(0.0);
/// let dy = grad(g.custom(StableSoftplus, &[x0]), &[x0])[0];
/// assert_eq!(grad(dy, &[x0])[0].item(), 0.25);     // σ'(0): differentiated twice
/// ```
pub trait CustomOp<F: Float>: Send + Sync + 'static {
    /// The op's name, as the tape, DOT export and errors report it.
    fn name(&self) -> &'static str;
    /// The output from the inputs' values; an error (a shape mismatch, say) is returned by
    /// [`CustomOps::try_custom`].
    fn forward(&self, inputs: &[&Tensor<F>]) -> tapegrad_graph::Result<Tensor<F>>;
    /// The gradient reaching each input (`None` for an input it does not reach), with the
    /// input's shape, given the inputs, the output and the gradient of the output.
    fn backward<A: TensorAlgebra<F>>(&self, inputs: &[&A], output: &A, grad: &A) -> Vec<Option<A>>;
}

/// An op defined outside the engine whose backward is plain tensor code ("once
/// differentiable", like PyTorch's `@once_differentiable`): first derivatives work everywhere;
/// a second derivative through it is [`Error::NotTwiceDifferentiable`], never a wrong number.
///
/// A straight-through sign (the identity's gradient, as in binarised networks):
///
/// ```
/// use tapegrad_autograd::{try_grad, Backward, CustomOpOnce, CustomOps, Error};
/// use tapegrad_graph::{Graph, Result, Tensor};
///
/// struct StraightThroughSign;
///
/// impl CustomOpOnce<f64> for StraightThroughSign {
///     fn name(&self) -> &'static str {
///         "straight_through_sign"
///     }
///     fn forward(&self, x: &[&Tensor<f64>]) -> Result<Tensor<f64>> {
///         Ok(x[0].map(|v| if v >= 0.0 { 1.0 } else { -1.0 }))
///     }
///     fn backward(&self, _x: &[&Tensor<f64>], _y: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
///         vec![Some(g.clone())]
///     }
/// }
///
/// let g = Graph::new();
/// let x = g.scalar(-0.3);
/// let y = g.custom_once(StraightThroughSign, &[x]) * 2.0;
/// assert_eq!(y.item(), -2.0);
/// assert_eq!(y.backward().wrt(x).item(), 2.0);
/// let err = try_grad(y, &[x]).unwrap_err();
/// assert_eq!(err, Error::NotTwiceDifferentiable { op: "straight_through_sign" });
/// ```
pub trait CustomOpOnce<F: Float>: Send + Sync + 'static {
    /// The op's name.
    fn name(&self) -> &'static str;
    /// The output from the inputs' values.
    fn forward(&self, inputs: &[&Tensor<F>]) -> tapegrad_graph::Result<Tensor<F>>;
    /// The gradient reaching each input, as plain tensors.
    fn backward(&self, inputs: &[&Tensor<F>], output: &Tensor<F>, grad: &Tensor<F>) -> Vec<Option<Tensor<F>>>;
}

/// Applies user-defined ops to `Var`s of a graph: one recorded node each.
pub trait CustomOps<F: Float> {
    /// Records `op` over `inputs`.
    ///
    /// # Panics
    /// When the forward fails; see [`CustomOps::try_custom`].
    #[track_caller]
    fn custom<'g>(&'g self, op: impl CustomOp<F>, inputs: &[Var<'g, F>]) -> Var<'g, F> {
        crate::error::expect(self.try_custom(op, inputs))
    }
    /// Records `op` over `inputs`, or the forward's error (or a foreign-graph error).
    fn try_custom<'g>(&'g self, op: impl CustomOp<F>, inputs: &[Var<'g, F>]) -> Result<Var<'g, F>>;
    /// Records a once-differentiable `op` over `inputs`.
    ///
    /// # Panics
    /// When the forward fails; see [`CustomOps::try_custom_once`].
    #[track_caller]
    fn custom_once<'g>(&'g self, op: impl CustomOpOnce<F>, inputs: &[Var<'g, F>]) -> Var<'g, F> {
        crate::error::expect(self.try_custom_once(op, inputs))
    }
    /// Records a once-differentiable `op` over `inputs`, or the forward's error.
    fn try_custom_once<'g>(&'g self, op: impl CustomOpOnce<F>, inputs: &[Var<'g, F>]) -> Result<Var<'g, F>>;
}

impl<F: Float> CustomOps<F> for Graph<F> {
    #[track_caller]
    fn try_custom<'g>(&'g self, op: impl CustomOp<F>, inputs: &[Var<'g, F>]) -> Result<Var<'g, F>> {
        record(self, Arc::new(Twice(op)), inputs)
    }
    #[track_caller]
    fn try_custom_once<'g>(&'g self, op: impl CustomOpOnce<F>, inputs: &[Var<'g, F>]) -> Result<Var<'g, F>> {
        record(self, Arc::new(Once(op)), inputs)
    }
}

#[track_caller]
pub(crate) fn record<'g, F: Float>(
    graph: &'g Graph<F>,
    rule: Arc<dyn Rule<F>>,
    inputs: &[Var<'g, F>],
) -> Result<Var<'g, F>> {
    let name = rule.name();
    let forward = rule.clone();
    // The node keeps the rule as `Arc<dyn Rule<F>>` inside an `Any`, which the backward pass
    // downcasts back (see `rule_of`).
    let opaque: Arc<dyn std::any::Any + Send + Sync> = Arc::new(rule);
    Ok(graph.record_custom(name, inputs, opaque, |values| forward.forward(values))?)
}

/// The rule stored in a custom node.
fn rule_of<F: Float>(node: &CustomNode) -> Result<&dyn Rule<F>> {
    match node.rule.downcast_ref::<Arc<dyn Rule<F>>>() {
        Some(rule) => Ok(rule.as_ref()),
        None => Err(Error::CustomBackward { op: node.name, message: "the node was not recorded by CustomOps".into() }),
    }
}

/// Checks what a custom backward returned: one entry per input, each of its input's shape.
fn checked<A: TensorAlgebra<F>, F: Float>(
    op: &'static str,
    inputs: &[&A],
    grads: Vec<Option<A>>,
) -> Result<Vec<Option<A>>> {
    if grads.len() != inputs.len() {
        let message = format!("backward returned {} gradients for {} inputs", grads.len(), inputs.len());
        return Err(Error::CustomBackward { op, message });
    }
    for (k, (d, x)) in grads.iter().zip(inputs).enumerate() {
        if let Some(d) = d {
            if d.shape() != x.shape() {
                let message = format!("the gradient of input {k} has shape {}, the input {}", d.shape(), x.shape());
                return Err(Error::CustomBackward { op, message });
            }
        }
    }
    Ok(grads)
}

/// A custom node's forward, run again on new input values (a compiled tape's replay).
pub(crate) fn forward<F: Float>(node: &CustomNode, inputs: &[&Tensor<F>]) -> Result<Tensor<F>> {
    Ok(rule_of::<F>(node)?.forward(inputs)?)
}

/// The eager backward of a custom node.
///
/// # Panics
/// When the op's backward returns gradients that do not fit its inputs (a bug in the op; the
/// message names it).
pub(crate) fn tensor_grads<F: Float>(
    node: &CustomNode,
    inputs: &[&Tensor<F>],
    output: &Tensor<F>,
    grad: &Tensor<F>,
) -> Vec<Option<Tensor<F>>> {
    let run = || {
        let rule = rule_of::<F>(node)?;
        checked(node.name, inputs, rule.backward_tensors(inputs, output, grad))
    };
    crate::error::expect(run())
}

/// The recorded backward of a custom node.
pub(crate) fn var_grads<'g, F: Float>(
    node: &CustomNode,
    inputs: &[&Var<'g, F>],
    output: &Var<'g, F>,
    grad: &Var<'g, F>,
) -> Result<Vec<Option<Var<'g, F>>>> {
    let rule = rule_of::<F>(node)?;
    checked(node.name, inputs, rule.backward_vars(inputs, output, grad)?)
}

/// A custom op with its rule made object-safe: one entry point per algebra.
pub(crate) trait Rule<F: Float>: Send + Sync {
    fn name(&self) -> &'static str;
    fn forward(&self, inputs: &[&Tensor<F>]) -> tapegrad_graph::Result<Tensor<F>>;
    fn backward_tensors(&self, inputs: &[&Tensor<F>], output: &Tensor<F>, grad: &Tensor<F>) -> Vec<Option<Tensor<F>>>;
    /// The recorded backward, or the error of an op that cannot be differentiated twice.
    fn backward_vars<'g>(
        &self,
        inputs: &[&Var<'g, F>],
        output: &Var<'g, F>,
        grad: &Var<'g, F>,
    ) -> Result<Vec<Option<Var<'g, F>>>>;
}

struct Twice<T>(T);
struct Once<T>(T);

impl<F: Float, T: CustomOp<F>> Rule<F> for Twice<T> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn forward(&self, inputs: &[&Tensor<F>]) -> tapegrad_graph::Result<Tensor<F>> {
        self.0.forward(inputs)
    }
    fn backward_tensors(&self, inputs: &[&Tensor<F>], output: &Tensor<F>, grad: &Tensor<F>) -> Vec<Option<Tensor<F>>> {
        self.0.backward(inputs, output, grad)
    }
    fn backward_vars<'g>(
        &self,
        inputs: &[&Var<'g, F>],
        output: &Var<'g, F>,
        grad: &Var<'g, F>,
    ) -> Result<Vec<Option<Var<'g, F>>>> {
        Ok(self.0.backward(inputs, output, grad))
    }
}

impl<F: Float, T: CustomOpOnce<F>> Rule<F> for Once<T> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn forward(&self, inputs: &[&Tensor<F>]) -> tapegrad_graph::Result<Tensor<F>> {
        self.0.forward(inputs)
    }
    fn backward_tensors(&self, inputs: &[&Tensor<F>], output: &Tensor<F>, grad: &Tensor<F>) -> Vec<Option<Tensor<F>>> {
        self.0.backward(inputs, output, grad)
    }
    fn backward_vars<'g>(&self, _: &[&Var<'g, F>], _: &Var<'g, F>, _: &Var<'g, F>) -> Result<Vec<Option<Var<'g, F>>>> {
        Err(Error::NotTwiceDifferentiable { op: self.0.name() })
    }
}
