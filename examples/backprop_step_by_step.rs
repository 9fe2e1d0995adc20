//! Backpropagation worked step by step, by tapegrad's own backward sweep: first the one-neuron
//! regression of the Backprop Explainer, then the 2-2-2 sigmoid network that is the classic
//! hand-worked example (inputs 0.05, 0.10; targets 0.01, 0.99; w1..w8 = 0.15 … 0.55).
//!
//!     cargo run --release --example backprop_step_by_step
//!
//! It prints every node the sweep visits with its value, the gradient arriving, each local
//! derivative and the product passed on; every ∂E/∂w as its three chain-rule factors; the new
//! weights and the error after one update. It writes each graph with its step table as an HTML
//! page (and the graph as SVG) to out/.

use tapegrad::autograd::{explain_backward, Explanation};
use tapegrad::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all("out")?;
    one_neuron()?;
    two_two_two()?;
    Ok(())
}

/// ŷ = w·x + b, loss = (ŷ − y)² at x = 2.1, y = 4, w = 1, b = 0; one step of SGD at 0.01.
fn one_neuron() -> Result<(), Box<dyn std::error::Error>> {
    println!("== One neuron (the Backprop Explainer): ŷ = w·x + b, loss = (ŷ − y)² ==\n");
    let (x, y, lr) = (2.1, 4.0, 0.01);
    let g = Graph::new();
    let w = g.scalar(1.0);
    let b = g.scalar(0.0);
    let wx = w * x;
    let y_hat = wx + b;
    let error = y_hat - y;
    let loss = error.powf(2.0);
    println!("ŷ = {}, loss = {}", number11(y_hat.item()), number11(loss.item()));
    let steps = explain_backward(loss)?
        .label(w, "w")
        .label(b, "b")
        .label(wx, "w·x")
        .label(y_hat, "ŷ")
        .label(error, "ŷ − y")
        .label(loss, "loss");
    println!("\n{steps}");
    let (dw, db) = (steps.grad(w), steps.grad(b));
    println!("∂loss/∂ŷ = {}, ∂loss/∂w = {}, ∂loss/∂b = {}", number11(steps.grad(y_hat)), number11(dw), number11(db));
    let (w1, b1) = (1.0 - lr * dw, 0.0 - lr * db);
    let after = (w1 * x + b1 - y).powi(2);
    println!("after one step at lr {lr}: w = {}, b = {}, loss = {}\n", number11(w1), number11(b1), number11(after));
    write_pages(&g, loss, &steps, "one_neuron", "One neuron: ŷ = w·x + b, loss = (ŷ − y)²")
}

/// The 2-2-2 network: h = σ(W₁·i + b₁), o = σ(W₂·h + b₂), E = Σ ½(target − o)².
fn two_two_two() -> Result<(), Box<dyn std::error::Error>> {
    println!("== The 2-2-2 network, worked by hand (sigmoid, E = Σ ½(target − out)²) ==\n");
    let inputs = [0.05, 0.10];
    let targets = [0.01, 0.99];
    let weights = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55];
    let (b1, b2, lr) = (0.35, 0.60, 0.5);

    let g = Graph::new();
    let i = inputs.map(|v| g.constant_scalar(v));
    let w: Vec<Var<'_, f64>> = weights.iter().map(|&v| g.scalar(v)).collect();
    let (bias1, bias2) = (g.constant_scalar(b1), g.constant_scalar(b2));
    // Each weight's product is its own node, so its local derivative is the input it scales.
    let products = [w[0] * i[0], w[1] * i[1], w[2] * i[0], w[3] * i[1]];
    let net_h = [products[0] + products[1] + bias1, products[2] + products[3] + bias1];
    let out_h = net_h.map(|n| n.sigmoid());
    let products_o = [w[4] * out_h[0], w[5] * out_h[1], w[6] * out_h[0], w[7] * out_h[1]];
    let net_o = [products_o[0] + products_o[1] + bias2, products_o[2] + products_o[3] + bias2];
    let out_o = net_o.map(|n| n.sigmoid());
    let e = [(out_o[0] - targets[0]).powf(2.0) * 0.5, (out_o[1] - targets[1]).powf(2.0) * 0.5];
    let total = e[0] + e[1];

    for (name, net, out) in
        [("h1", net_h[0], out_h[0]), ("h2", net_h[1], out_h[1]), ("o1", net_o[0], out_o[0]), ("o2", net_o[1], out_o[1])]
    {
        println!("net_{name} = {:<14} out_{name} = {}", number(net.item()), number(out.item()));
    }
    println!("E_o1 = {}, E_o2 = {}, E_total = {}\n", number(e[0].item()), number(e[1].item()), number(total.item()));

    let mut steps = explain_backward(total)?.label(total, "E_total").label(e[0], "E_o1").label(e[1], "E_o2");
    for (k, &wk) in w.iter().enumerate() {
        steps = steps.label(wk, format!("w{}", k + 1));
    }
    for (k, name) in ["h1", "h2"].iter().enumerate() {
        steps = steps.label(net_h[k], format!("net_{name}")).label(out_h[k], format!("out_{name}"));
    }
    for (k, name) in ["o1", "o2"].iter().enumerate() {
        steps = steps.label(net_o[k], format!("net_{name}")).label(out_o[k], format!("out_{name}"));
    }
    println!("{steps}");

    // ∂E/∂w = ∂E/∂out · ∂out/∂net · ∂net/∂w: the gradient arriving at the neuron's output, the
    // sigmoid's local derivative, and the product node's local derivative for the weight.
    println!("Each ∂E/∂w as the product of its three chain-rule factors:");
    let neuron_of = [0, 0, 1, 1, 0, 0, 1, 1];
    let mut updated = Vec::new();
    for k in 0..8 {
        let (out, product) =
            if k < 4 { (out_h[neuron_of[k]], products[k]) } else { (out_o[neuron_of[k]], products_o[k - 4]) };
        let de_dout = steps.grad(out);
        let dout_dnet = local(&steps, out, 0);
        let dnet_dw = local(&steps, product, 0);
        let de_dw = steps.grad(w[k]);
        let new = weights[k] - lr * de_dw;
        println!(
            "  ∂E/∂w{} = {} × {} × {} = {}   → w{}⁺ = {}",
            k + 1,
            number(de_dout),
            number(dout_dnet),
            number(dnet_dw),
            number(de_dw),
            k + 1,
            number(new)
        );
        updated.push(new);
    }
    println!(
        "\nE_total before the update: {}; after one update at lr {lr} (biases fixed): {}\n",
        number(total.item()),
        number(forward_error(&inputs, &targets, &updated, b1, b2))
    );
    write_pages(&g, total, &steps, "two_two_two", "The 2-2-2 network, step by step")
}

/// The local derivative the step of `node` found for its input `k`.
fn local(steps: &Explanation<f64>, node: Var<'_, f64>, k: usize) -> f64 {
    let step = steps.step_of(node.id()).expect("the node is on the sweep");
    step.inputs[k].local.expect("the input requires grad")
}

/// E_total of the network with weights `w`, recorded on a fresh graph.
fn forward_error(inputs: &[f64; 2], targets: &[f64; 2], w: &[f64], b1: f64, b2: f64) -> f64 {
    let g = Graph::new();
    let sig = |v: f64| g.constant_scalar(v).sigmoid().item();
    let h = [sig(w[0] * inputs[0] + w[1] * inputs[1] + b1), sig(w[2] * inputs[0] + w[3] * inputs[1] + b1)];
    let o = [sig(w[4] * h[0] + w[5] * h[1] + b2), sig(w[6] * h[0] + w[7] * h[1] + b2)];
    0.5 * (targets[0] - o[0]).powi(2) + 0.5 * (targets[1] - o[1]).powi(2)
}

/// Writes the graph (SVG) and the page with the graph and the step table (HTML) to out/.
fn write_pages(
    g: &Graph,
    root: Var<'_, f64>,
    steps: &Explanation<f64>,
    file: &str,
    title: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let svg =
        g.to_svg(root, |id| steps.label_of(id), |id| steps.step_of(id).map(|s| format!("grad {}", number(s.grad))));
    let svg_path = format!("out/{file}.svg");
    std::fs::write(&svg_path, &svg)?;
    let html_path = format!("out/{file}.html");
    std::fs::write(&html_path, steps.to_html(title, &svg))?;
    println!("wrote {svg_path} (the graph) and {html_path} (the graph and every step)\n");
    Ok(())
}

/// The 2-2-2 example's numbers, to the 9 significant digits the hand-worked original gives.
fn number(v: f64) -> String {
    tapegrad::graph::significant(v, 9)
}

/// The one-neuron example's numbers, to the 11 digits its new loss is quoted with.
fn number11(v: f64) -> String {
    tapegrad::graph::significant(v, 11)
}
