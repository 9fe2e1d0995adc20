//! Pictures of a recorded graph as SVG, drawn in Rust (laid out by the `layout-rs` crate), so no
//! Graphviz is needed: micrograd's `draw_dot`, one box per value and one circle per op.

use crate::float::Float;
use crate::graph::{Graph, Value};
use crate::op::{NodeId, Op};
use crate::var::Var;
use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, RecordDef, ShapeKind};
use layout::topo::layout::VisualGraph;
use std::collections::{BTreeMap, HashMap};

/// The most value nodes [`Graph::to_svg`] draws one by one; beyond it the rest is summarised.
pub const MAX_DRAWN: usize = 120;

impl<F: Float> Graph<F> {
    /// The sub-graph `root` depends on as an SVG picture: a box per value (its name — from
    /// `name`, else `#id` —, its data or shape, and what `annotate` adds, e.g. its gradient,
    /// fields split at `" | "`) and a circle per op, laid out left to right, like micrograd's
    /// `draw_dot`. Constants are grey.
    ///
    /// A graph of more than [`MAX_DRAWN`] values is summarised, not drawn as thousands of
    /// boxes: the `MAX_DRAWN` values nearest the root (in the order backward visits them) are
    /// drawn, and one box stands for the rest, counting them by op (`… 64,800 more values:
    /// mul ×32,000, add ×32,000, …`) with an arrow to each drawn op that reads from them.
    ///
    /// ```
    /// use tapegrad_graph::Graph;
    /// let g = Graph::new();
    /// let (a, b) = (g.scalar(2.0), g.scalar(-3.0));
    /// let svg = g.to_svg(a * b + 1.0, |id| (id == a.id()).then(|| "a".to_string()), |_| None);
    /// assert!(svg.starts_with("<svg") && svg.contains("mul") && svg.contains("data -6"));
    /// assert!(svg.contains("> a <") && svg.contains("> #1 <")); // a named node, an unnamed one
    /// ```
    pub fn to_svg(
        &self,
        root: Var<'_, F>,
        name: impl Fn(NodeId) -> Option<String>,
        annotate: impl Fn(NodeId) -> Option<String>,
    ) -> String {
        let tape = self.tape();
        let mut reached = vec![false; root.id() as usize + 1];
        reached[root.id() as usize] = true;
        let mut order = Vec::new();
        for id in (0..=root.id()).rev() {
            if reached[id as usize] {
                order.push(id);
                for &input in tape.op(id).inputs().iter() {
                    reached[input as usize] = true;
                }
            }
        }
        let drawn: Vec<NodeId> = order.iter().copied().take(MAX_DRAWN).collect();
        let left_out = &order[drawn.len()..];

        let mut vg = VisualGraph::new(Orientation::LeftToRight);
        let mut handles = HashMap::new();
        let value_look = StyleAttr::new(Color::fast("black"), 1, Some(Color::fast("white")), 0, 14);
        let constant_look = StyleAttr::new(Color::fast("gray"), 1, Some(Color::fast("whitesmoke")), 0, 14);
        let op_look = StyleAttr::new(Color::fast("steelblue"), 1, Some(Color::fast("aliceblue")), 0, 14);
        for &id in drawn.iter().rev() {
            let data = match tape.value(id) {
                Value::Scalar(v) => format!("data {}", significant(v.to_f64(), 6)),
                Value::Tensor(_) => format!("shape {}", tape.shape(id)),
            };
            let title = format!(" {} ", name(id).unwrap_or_else(|| format!("#{id}")));
            let mut fields = vec![RecordDef::new_text(&title), RecordDef::new_text(&data)];
            if let Some(extra) = annotate(id) {
                fields.extend(extra.split(" | ").map(RecordDef::new_text));
            }
            let shape = ShapeKind::new_record(&RecordDef::Array(fields));
            let look = if tape.requires_grad(id) { value_look.clone() } else { constant_look.clone() };
            handles.insert(id, add(&mut vg, shape, look));
        }
        let summary = (!left_out.is_empty()).then(|| {
            let mut by_op: BTreeMap<&str, usize> = BTreeMap::new();
            for &id in left_out {
                *by_op.entry(tape.op(id).name()).or_default() += 1;
            }
            let mut counts: Vec<(&str, usize)> = by_op.into_iter().collect();
            counts.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
            let listed: Vec<String> = counts.iter().take(4).map(|(op, n)| format!("{op} ×{}", thousands(*n))).collect();
            let text = format!("… {} more values: {}", thousands(left_out.len()), listed.join(", "));
            add(&mut vg, ShapeKind::new_box(&text), constant_look.clone())
        });
        for &id in drawn.iter().rev() {
            let op = tape.op(id);
            if matches!(op, Op::Leaf | Op::Constant) {
                continue;
            }
            let op_node = add(&mut vg, ShapeKind::new_circle(op.name()), op_look.clone());
            vg.add_edge(Arrow::simple(""), op_node, handles[&id]);
            let mut from_summary = false;
            for &input in op.inputs().iter() {
                match (handles.get(&input), summary) {
                    (Some(&h), _) => vg.add_edge(Arrow::simple(""), h, op_node),
                    (None, Some(s)) if !from_summary => {
                        from_summary = true;
                        vg.add_edge(Arrow::simple(""), s, op_node);
                    }
                    (None, _) => {}
                }
            }
        }
        let mut svg = SVGWriter::new();
        vg.do_it(false, false, false, &mut svg);
        let svg = svg.finalize();
        // Without the XML declaration, so the picture can be embedded in an HTML page too.
        match svg.find("<svg") {
            Some(start) => svg[start..].to_string(),
            None => svg,
        }
    }
}

fn add(vg: &mut VisualGraph, shape: ShapeKind, look: StyleAttr) -> layout::adt::dag::NodeHandle {
    let size = get_shape_size(Orientation::LeftToRight, &shape, look.font_size, false);
    // The crate sizes text as one em per character; proportional text is about 0.6 em.
    let size = Point::new(size.x * 0.6 + 12.0, size.y + 4.0);
    vg.add_node(Element::create(shape, look, Orientation::LeftToRight, size))
}

/// `v` to `digits` significant digits, without trailing zeros: how the pictures and the
/// step-by-step tables print numbers.
///
/// ```
/// use tapegrad_graph::significant;
/// assert_eq!(significant(0.298371108760003, 9), "0.298371109");
/// assert_eq!(significant(-7.98, 6), "-7.98");
/// assert_eq!(significant(1234.5678, 3), "1235");
/// ```
pub fn significant(v: f64, digits: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (digits as i32 - 1 - v.abs().log10().floor() as i32).clamp(0, 17) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A count with its thousands grouped, for tables and pictures.
///
/// ```
/// use tapegrad_graph::thousands;
/// assert_eq!(thousands(64800), "64,800");
/// assert_eq!(thousands(999), "999");
/// ```
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
