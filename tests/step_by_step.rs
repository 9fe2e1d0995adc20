//! Backward step by step and graph pictures: the worked examples learners know, with their
//! published numbers, computed by the engine's own sweep; and pictures that stay readable.

use tapegrad::autograd::{draw_svg, explain_backward, Error};
use tapegrad::graph::MAX_DRAWN;
use tapegrad::prelude::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn the_one_neuron_of_the_backprop_explainer() {
    // x = 2.1, y = 4, w = 1, b = 0: ŷ = 2.1, loss 3.61; ∂loss/∂ŷ = −3.8, ∂w = −7.98, ∂b = −3.8.
    let g = Graph::new();
    let (w, b) = (g.scalar(1.0), g.scalar(0.0));
    let y_hat = w * 2.1 + b;
    let loss = (y_hat - 4.0).powf(2.0);
    let steps = explain_backward(loss).unwrap();
    assert!(close(loss.item(), 3.61, 1e-12));
    assert!(close(steps.grad(y_hat), -3.8, 1e-12));
    assert!(close(steps.grad(w), -7.98, 1e-12));
    assert!(close(steps.grad(b), -3.8, 1e-12));
    let (w1, b1) = (1.0 - 0.01 * steps.grad(w), -0.01 * steps.grad(b));
    assert!(close(w1, 1.0798, 1e-12) && close(b1, 0.038, 1e-12));
    assert!(close((w1 * 2.1 + b1 - 4.0).powi(2), 2.8710591364, 1e-10));

    // The account agrees with backward() on every node, and visits the root first.
    let grads = loss.backward();
    assert_eq!(steps.steps[0].node, loss.id());
    for step in &steps.steps {
        assert_eq!(step.grad, grads.get_id(step.node).unwrap().item(), "node #{}", step.node);
    }
    // Each pass is the arriving gradient times the local derivative.
    for step in &steps.steps {
        for p in &step.inputs {
            if let (Some(local), Some(passed)) = (p.local, p.passed) {
                assert!(close(passed, step.grad * local, 1e-12));
            }
        }
    }
}

#[test]
fn the_two_two_two_network_worked_by_hand() {
    let g = Graph::new();
    let i = [g.constant_scalar(0.05), g.constant_scalar(0.10)];
    let w: Vec<_> = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55].iter().map(|&v| g.scalar(v)).collect();
    let out_h = [(w[0] * i[0] + w[1] * i[1] + 0.35).sigmoid(), (w[2] * i[0] + w[3] * i[1] + 0.35).sigmoid()];
    let p5 = w[4] * out_h[0];
    let out_o1 = (p5 + w[5] * out_h[1] + 0.60).sigmoid();
    let out_o2 = (w[6] * out_h[0] + w[7] * out_h[1] + 0.60).sigmoid();
    let total = (out_o1 - 0.01).powf(2.0) * 0.5 + (out_o2 - 0.99).powf(2.0) * 0.5;
    assert!(close(total.item(), 0.298371109, 5e-10));
    let steps = explain_backward(total).unwrap();
    // ∂E/∂w5 = ∂E/∂out_o1 × ∂out_o1/∂net_o1 × ∂net_o1/∂w5 = 0.74136507 × 0.186815602 × 0.593269992.
    let step_of = |v: Var<'_, f64>| steps.steps.iter().find(|s| s.node == v.id()).unwrap().clone();
    assert!(close(steps.grad(out_o1), 0.74136507, 5e-9));
    assert!(close(step_of(out_o1).inputs[0].local.unwrap(), 0.186815602, 5e-10));
    assert!(close(step_of(p5).inputs[0].local.unwrap(), 0.593269992, 5e-10));
    assert!(close(steps.grad(w[4]), 0.082167041, 5e-10));
    assert!(close(steps.grad(w[0]), 0.000438568, 5e-10));
    // One update at 0.5 (biases fixed) brings the error to 0.291027774.
    let new: Vec<f64> = w.iter().map(|&wk| wk.item() - 0.5 * steps.grad(wk)).collect();
    let h = [
        g.constant_scalar(new[0] * 0.05 + new[1] * 0.10 + 0.35).sigmoid().item(),
        g.constant_scalar(new[2] * 0.05 + new[3] * 0.10 + 0.35).sigmoid().item(),
    ];
    let o = [
        g.constant_scalar(new[4] * h[0] + new[5] * h[1] + 0.60).sigmoid().item(),
        g.constant_scalar(new[6] * h[0] + new[7] * h[1] + 0.60).sigmoid().item(),
    ];
    let after = 0.5 * (0.01 - o[0]).powi(2) + 0.5 * (0.99 - o[1]).powi(2);
    assert!(close(after, 0.291027774, 5e-10), "{after}");

    // The table names labelled nodes and shows constants as such; the page holds both parts.
    let steps = steps.label(w[4], "w5").label(total, "E_total");
    let table = steps.to_string();
    assert!(table.contains("w5") && table.contains("E_total") && table.contains("constant"), "{table}");
    let page = steps.to_html("2-2-2", &g.to_svg(total, |_| None, |_| None));
    assert!(page.contains("<svg") && page.contains("<table>") && page.contains("w5"));
}

#[test]
fn an_input_used_twice_shows_each_use_and_sums_them() {
    let g = Graph::new();
    let a = g.scalar(3.0);
    let steps = explain_backward(a - a * 2.0).unwrap();
    let sub = &steps.steps[0];
    assert_eq!(sub.op, "sub");
    assert_eq!((sub.inputs[0].local, sub.inputs[1].local), (Some(1.0), Some(-1.0)));
    assert_eq!(steps.grad(a), -1.0); // 1 − 2
    let square = explain_backward(a * a).unwrap();
    assert_eq!(square.grad(a), 6.0);
}

#[test]
fn tensor_graphs_and_constants_are_refused_with_a_reason() {
    let g = Graph::new();
    let x = g.var(Tensor::ones([2, 2]));
    let err = explain_backward(x.sum()).unwrap_err();
    assert!(matches!(err, Error::NotScalar { op: "leaf", .. }), "{err}");
    assert!(err.to_string().contains("[2, 2]"));
    assert_eq!(explain_backward(g.constant_scalar(1.0).exp()).unwrap_err(), Error::NoGradient);
}

#[test]
fn pictures_show_data_and_gradients_and_summarise_large_graphs() {
    let g = Graph::new();
    let (a, b) = (g.scalar(2.0), g.scalar(-3.0));
    let svg = draw_svg((a * b).tanh()).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{}", &svg[..svg.len().min(200)]);
    for text in ["mul", "tanh", "data 2", "data -3", "grad 1"] {
        assert!(svg.contains(text), "{text} missing");
    }

    // 20,000 nodes: the picture draws the last MAX_DRAWN values and one summary box.
    let x = g.scalar(1.0);
    let mut y = x;
    for k in 0..10_000 {
        y = if k % 2 == 0 { y * 1.0001 } else { y + 0.5 };
    }
    let svg = draw_svg(y).unwrap();
    assert!(svg.contains("more values") && svg.contains("mul ×") && svg.contains("add ×"), "no summary");
    let boxes = svg.matches("data ").count();
    assert!(boxes <= MAX_DRAWN, "{boxes} values drawn");
    assert!(svg.len() < 1 << 20, "{} bytes", svg.len());
}
