//! Graphviz DOT export of the part of a tape that a result depends on, micrograd style.

use crate::float::Float;
use crate::graph::{Graph, Value};
use crate::op::{NodeId, Op};
use crate::var::Var;
use std::fmt::Write;

impl<F: Float> Graph<F> {
    /// The sub-graph `root` depends on, in DOT: one box per value (its data, or its shape for
    /// tensors) and one ellipse per op, like micrograd's `draw_dot`.
    ///
    /// ```
    /// use tapegrad_graph::Graph;
    /// let g = Graph::new();
    /// let (a, b) = (g.scalar(2.0), g.scalar(-3.0));
    /// let dot = g.to_dot(a * b, |_| None);
    /// assert!(dot.starts_with("digraph"));
    /// assert!(dot.contains("mul"));
    /// ```
    ///
    /// `annotate` may add a line to a node's label, e.g. its gradient.
    pub fn to_dot(&self, root: Var<'_, F>, annotate: impl Fn(NodeId) -> Option<String>) -> String {
        let tape = self.tape();
        let mut reached = vec![false; root.id() as usize + 1];
        reached[root.id() as usize] = true;
        for id in (0..=root.id()).rev() {
            if reached[id as usize] {
                for &input in tape.op(id).inputs().iter() {
                    reached[input as usize] = true;
                }
            }
        }
        let mut out = String::from("digraph tapegrad {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
        for id in 0..=root.id() {
            if !reached[id as usize] {
                continue;
            }
            let data = match tape.value(id) {
                Value::Scalar(v) => format!("data {:.4}", v),
                Value::Tensor(_) => format!("shape {}", tape.shape(id)),
            };
            let extra = annotate(id).map(|s| format!(" | {s}")).unwrap_or_default();
            let kind = if tape.requires_grad(id) { "" } else { ", style=dashed" };
            let _ = writeln!(out, "  n{id} [shape=record, label=\"{{ #{id} | {data}{extra} }}\"{kind}];");
            let op = tape.op(id);
            if !matches!(op, Op::Leaf | Op::Constant) {
                let _ = writeln!(out, "  op{id} [label=\"{}\"];", op.name());
                let _ = writeln!(out, "  op{id} -> n{id};");
                for &input in op.inputs().iter() {
                    let _ = writeln!(out, "  n{input} -> op{id};");
                }
            }
        }
        out.push_str("}\n");
        out
    }
}
