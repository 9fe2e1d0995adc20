//! micrograd's `draw_dot` neuron, shared by the examples that show it: o = tanh(x1·w1 + x2·w2 + b)
//! at x = (2, 0), w = (−3, 1), b = 6.8813735870195432 (so o = √½), every value named.

use tapegrad::prelude::*;

/// The neuron recorded on `g`: its output last, every value with its name.
pub fn tanh_neuron(g: &Graph) -> [(Var<'_, f64>, &'static str); 9] {
    let (x1, x2) = (g.scalar(2.0), g.scalar(0.0));
    let (w1, w2) = (g.scalar(-3.0), g.scalar(1.0));
    let b = g.scalar(6.881_373_587_019_543);
    let (x1w1, x2w2) = (x1 * w1, x2 * w2);
    let n = x1w1 + x2w2 + b;
    let o = n.tanh();
    [(x1, "x1"), (x2, "x2"), (w1, "w1"), (w2, "w2"), (b, "b"), (x1w1, "x1·w1"), (x2w2, "x2·w2"), (n, "n"), (o, "o")]
}
