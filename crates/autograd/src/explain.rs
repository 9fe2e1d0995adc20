//! Backward, step by step: for a scalar graph, every node in the order the sweep visits it,
//! with its value, the gradient arriving there, and for each input the local derivative and
//! the product passed on — the table a learner writes by hand, computed by the engine's own
//! rules.

use crate::backward::input_grads_in_order;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fmt::{self, Write};
use tapegrad_graph::{significant, Float, NodeId, Tensor, Var};

/// What one input of a node receives in one step.
#[derive(Clone, Debug, PartialEq)]
pub struct Passed<F> {
    /// The input node.
    pub input: NodeId,
    /// Its value.
    pub value: F,
    /// ∂node/∂input at these values (`None` for an input no gradient flows to: a constant).
    pub local: Option<F>,
    /// What the rule passes to it: the arriving gradient times `local` (`None` for a constant).
    pub passed: Option<F>,
}

/// One node of the sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Step<F> {
    /// The node.
    pub node: NodeId,
    /// Its op (`"leaf"` for a variable).
    pub op: &'static str,
    /// Its value.
    pub value: F,
    /// ∂root/∂node: the sum of everything passed to it by the steps before.
    pub grad: F,
    /// What each input receives, in the op's input order (empty for a leaf).
    pub inputs: Vec<Passed<F>>,
}

/// The account of one backward pass over a scalar graph, from the root down (see
/// [`explain_backward`]). `Display` prints it as a table; [`Explanation::to_html`] as a page.
#[derive(Clone, Debug)]
pub struct Explanation<F> {
    /// The steps, in the order the sweep visits the nodes (the root first).
    pub steps: Vec<Step<F>>,
    labels: HashMap<NodeId, String>,
}

/// Walks backward from `root` as `backward()` does, and writes down each step: for every node
/// that lies between a leaf requiring grad and the root, its op, value and arriving gradient,
/// and for each input the local derivative (the op's rule run with an arriving gradient of 1)
/// and the product it passes on (the rule run with the real one). The graph must be scalar:
/// a tensor node is [`Error::NotScalar`].
///
/// ```
/// use tapegrad_autograd::explain_backward;
/// use tapegrad_graph::Graph;
/// let g = Graph::new();
/// let (a, b) = (g.scalar(2.0), g.scalar(-3.0));
/// let c = a * b;
/// let steps = explain_backward(c)?.label(a, "a").label(b, "b").label(c, "c");
/// let mul = &steps.steps[0];
/// assert_eq!((mul.op, mul.grad), ("mul", 1.0));
/// assert_eq!(mul.inputs[0].local, Some(-3.0)); // ∂c/∂a = b
/// println!("{steps}");
/// # Ok::<(), tapegrad_autograd::Error>(())
/// ```
pub fn explain_backward<F: Float>(root: Var<'_, F>) -> Result<Explanation<F>> {
    if !root.requires_grad() {
        return Err(Error::NoGradient);
    }
    let tape = root.graph().tape();
    let scalar = |id: NodeId| -> Result<F> {
        tape.scalar(id).ok_or_else(|| Error::NotScalar { node: id, op: tape.op(id).name(), shape: tape.shape(id) })
    };
    let mut grads: Vec<Option<F>> = vec![None; root.id() as usize + 1];
    grads[root.id() as usize] = Some(F::ONE);
    let mut steps = Vec::new();
    for i in (0..=root.id()).rev() {
        let Some(grad) = grads[i as usize] else { continue };
        let op = tape.op(i);
        let value = scalar(i)?;
        let locals = input_grads_in_order(&tape, i, &Tensor::scalar(F::ONE));
        let passes = input_grads_in_order(&tape, i, &Tensor::scalar(grad));
        let mut inputs = Vec::new();
        for ((&x, local), pass) in op.inputs().iter().zip(&locals).zip(&passes) {
            let first = |d: &Option<Tensor<F>>| d.as_ref().map(|d| d.data()[0]);
            inputs.push(Passed { input: x, value: scalar(x)?, local: first(local), passed: first(pass) });
            // An input that appears twice (x · x) receives twice: add every pass, as the sweep does.
            if let Some(d) = first(pass) {
                let slot = &mut grads[x as usize];
                *slot = Some(slot.map_or(d, |s| s + d));
            }
        }
        steps.push(Step { node: i, op: op.name(), value, grad, inputs });
    }
    Ok(Explanation { steps, labels: HashMap::new() })
}

impl<F: Float> Explanation<F> {
    /// Names `v` in the table and the page (micrograd's `label`), instead of `#id`.
    pub fn label(mut self, v: Var<'_, F>, name: impl Into<String>) -> Self {
        self.labels.insert(v.id(), name.into());
        self
    }
    /// The name of node `id`: its label, or `#id`.
    pub fn name(&self, id: NodeId) -> String {
        self.label_of(id).unwrap_or_else(|| format!("#{id}"))
    }
    /// The label given to node `id`, if any.
    pub fn label_of(&self, id: NodeId) -> Option<String> {
        self.labels.get(&id).cloned()
    }
    /// ∂root/∂node for `v`, as the explanation computed it (0 if the sweep did not reach it).
    pub fn grad(&self, v: Var<'_, F>) -> F {
        self.grad_of(v.id())
    }
    /// ∂root/∂node for node `id` (0 if the sweep did not reach it).
    pub fn grad_of(&self, id: NodeId) -> F {
        self.step_of(id).map_or(F::ZERO, |s| s.grad)
    }
    /// The step of node `id`, if the sweep reached it.
    pub fn step_of(&self, id: NodeId) -> Option<&Step<F>> {
        self.steps.iter().find(|s| s.node == id)
    }
    /// A self-contained HTML page: `graph_svg` (a picture of the graph, e.g. from
    /// `Graph::to_svg`) above the step table.
    pub fn to_html(&self, title: &str, graph_svg: &str) -> String {
        let mut rows = String::new();
        for (k, step) in self.steps.iter().enumerate() {
            let span = step.inputs.len().max(1);
            let head = format!(
                "<td rowspan=\"{span}\">{}</td><td rowspan=\"{span}\">{}</td><td rowspan=\"{span}\">{}</td><td rowspan=\"{span}\">{}</td><td rowspan=\"{span}\">{}</td>",
                k + 1,
                escape(&self.name(step.node)),
                step.op,
                number(step.value),
                number(step.grad)
            );
            if step.inputs.is_empty() {
                let _ = writeln!(
                    rows,
                    "<tr>{head}<td colspan=\"3\" class=\"leaf\">a leaf: its gradient is final</td></tr>"
                );
            }
            for (j, p) in step.inputs.iter().enumerate() {
                let cells = format!(
                    "<td>{}</td><td>{}</td><td>{}</td>",
                    escape(&self.name(p.input)),
                    p.local.map_or("— (constant)".into(), number),
                    p.passed.map_or("—".into(), number)
                );
                let _ = writeln!(rows, "<tr>{}{cells}</tr>", if j == 0 { head.as_str() } else { "" });
            }
        }
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title><style>\n\
             body {{ font-family: sans-serif; margin: 2em; color: #222; }}\n\
             table {{ border-collapse: collapse; font-family: monospace; }}\n\
             td, th {{ border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }}\n\
             th {{ background: #f0f0f0; }} td.leaf {{ text-align: left; color: #777; }}\n\
             .graph {{ overflow-x: auto; }}\n\
             </style></head><body>\n<h1>{title}</h1>\n<div class=\"graph\">{graph_svg}</div>\n\
             <p>The backward sweep visits each node once, from the output down. A node's gradient is\n\
             the sum of what its consumers passed it; it passes each input its gradient times the\n\
             local derivative.</p>\n<table>\n<tr><th>step</th><th>node</th><th>op</th><th>value</th>\
             <th>gradient arriving</th><th>input</th><th>local ∂node/∂input</th><th>passes on</th></tr>\n\
             {rows}</table>\n</body></html>\n",
            title = escape(title)
        )
    }
}

impl<F: Float> fmt::Display for Explanation<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>4}  {:<8} {:<10} {:>14} {:>14}   {:<8} {:>14} {:>14}",
            "step", "node", "op", "value", "grad arriving", "input", "local ∂", "passes on"
        )?;
        for (k, step) in self.steps.iter().enumerate() {
            let head = format!(
                "{:>4}  {:<8} {:<10} {:>14} {:>14}",
                k + 1,
                self.name(step.node),
                step.op,
                number(step.value),
                number(step.grad)
            );
            if step.inputs.is_empty() {
                writeln!(f, "{head}   (leaf)")?;
            }
            for (j, p) in step.inputs.iter().enumerate() {
                let lead = if j == 0 { head.clone() } else { " ".repeat(head.chars().count()) };
                writeln!(
                    f,
                    "{lead}   {:<8} {:>14} {:>14}",
                    self.name(p.input),
                    p.local.map_or("constant".into(), number),
                    p.passed.map_or("—".into(), number)
                )?;
            }
        }
        Ok(())
    }
}

/// A number as a learner reads it: 10 significant digits, no trailing zeros.
fn number<F: Float>(v: F) -> String {
    significant(v.to_f64(), 10)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// micrograd's `draw_dot` as SVG: the graph `root` depends on, each value with its data and
/// its gradient (from one `backward()`), each op a circle (see `Graph::to_svg`).
///
/// ```
/// use tapegrad_autograd::draw_svg;
/// use tapegrad_graph::Graph;
/// let g = Graph::new();
/// let (a, b) = (g.scalar(2.0), g.scalar(-3.0));
/// let svg = draw_svg(a * b)?;
/// assert!(svg.contains("grad -3")); // ∂(a·b)/∂a = b
/// # Ok::<(), tapegrad_autograd::Error>(())
/// ```
pub fn draw_svg<F: Float>(root: Var<'_, F>) -> Result<String> {
    use crate::backward::Backward;
    let shape = root.shape();
    let grads = if root.requires_grad() && shape.numel() == 1 { Some(root.try_backward()?) } else { None };
    Ok(root.graph().to_svg(
        root,
        |_| None,
        |id| {
            let g = grads.as_ref()?.get_id(id)?;
            Some(if g.numel() == 1 {
                format!("grad {}", significant(g.data()[0].to_f64(), 6))
            } else {
                let norm = g.data().iter().map(|v| v.to_f64() * v.to_f64()).sum::<f64>().sqrt();
                format!("‖grad‖ {}", significant(norm, 6))
            })
        },
    ))
}
