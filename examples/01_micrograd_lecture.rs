//! Tutorial 1 — micrograd's lecture, in tapegrad: a value, its gradient, the chain rule.
//!
//!     cargo run --release --example 01_micrograd_lecture
//!
//! Builds the lecture's L = (a·b + c)·f and prints every gradient, draws it; then the tanh
//! neuron with its gradients, drawn; then trains an MLP 3-4-4-1 of tanh neurons, built by
//! hand from scalars, on the lecture's four examples. Pictures go to out/.

#[path = "common/neuron.rs"]
mod neuron;

use tapegrad::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all("out")?;

    println!("== L = (a·b + c)·f ==");
    let g = Graph::new();
    let (a, b, c, f) = (g.scalar(2.0), g.scalar(-3.0), g.scalar(10.0), g.scalar(-2.0));
    let e = a * b;
    let d = e + c;
    let l = d * f;
    let grads = l.backward();
    let names = [(a, "a"), (b, "b"), (c, "c"), (e, "e"), (d, "d"), (f, "f"), (l, "L")];
    for (v, name) in names {
        println!("{name:>2} = {:>5}   dL/d{name} = {:>3}", v.item(), grads.wrt(v).item());
    }
    println!("(dL/da = dL/de · de/da = f · b = 6: the chain rule, done by backward())");
    draw(&g, l, &names, &grads, "out/01_expression.svg")?;

    println!("\n== A neuron: o = tanh(x1·w1 + x2·w2 + b) ==");
    let g = Graph::new();
    let names = neuron::tanh_neuron(&g);
    let o = names[8].0;
    let grads = o.backward();
    for (v, name) in names {
        println!("{name:>6} = {:>9.4}   do/d{name} = {:.4}", v.item(), grads.wrt(v).item());
    }
    draw(&g, o, &names, &grads, "out/01_neuron.svg")?;

    println!("\n== An MLP 3-4-4-1 of tanh neurons, trained on four examples ==");
    let xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]];
    let ys = [1.0, -1.0, -1.0, 1.0];
    let sizes = [3, 4, 4, 1];
    let mut rng = StdRng::seed_from_u64(42);
    // Every weight and bias, layer by layer, neuron by neuron: (inputs + 1) numbers per neuron.
    let count: usize = sizes.windows(2).map(|w| (w[0] + 1) * w[1]).sum();
    let mut params: Vec<f64> = (0..count).map(|_| rng.random_range(-1.0..1.0)).collect();
    println!("{count} parameters");
    for step in 0..=20 {
        let g = Graph::new();
        let p: Vec<Var<'_, f64>> = params.iter().map(|&v| g.scalar(v)).collect();
        let mut loss = g.constant_scalar(0.0);
        let mut predictions = Vec::new();
        for (x, &y) in xs.iter().zip(&ys) {
            let out = mlp(&g, &p, &sizes, x);
            predictions.push(out.item());
            loss = loss + (out - y).powf(2.0);
        }
        if step % 5 == 0 {
            let shown: Vec<String> = predictions.iter().map(|v| format!("{v:+.3}")).collect();
            println!(
                "step {step:>2}: loss {:.5}, predictions [{}] (targets [+1, -1, -1, +1])",
                loss.item(),
                shown.join(", ")
            );
        }
        if step == 20 {
            break;
        }
        let grads = loss.backward();
        for (value, var) in params.iter_mut().zip(&p) {
            *value -= 0.1 * grads.wrt(*var).item();
        }
    }
    Ok(())
}

/// The MLP's output for one example: each neuron is tanh(Σ xᵢ·wᵢ + b), its numbers taken in
/// order from `p`.
fn mlp<'g>(g: &'g Graph, p: &[Var<'g, f64>], sizes: &[usize], x: &[f64]) -> Var<'g, f64> {
    let mut h: Vec<Var<'g, f64>> = x.iter().map(|&v| g.constant_scalar(v)).collect();
    let mut next = 0;
    for layer in sizes.windows(2) {
        let (nin, nout) = (layer[0], layer[1]);
        h = (0..nout)
            .map(|_| {
                let weights = &p[next..next + nin];
                let bias = p[next + nin];
                next += nin + 1;
                weights.iter().zip(&h).fold(bias, |sum, (&w, &xi)| sum + w * xi).tanh()
            })
            .collect();
    }
    h[0]
}

/// Draws `root`'s graph with each named value's data and gradient, and says where.
fn draw(
    g: &Graph,
    root: Var<'_, f64>,
    names: &[(Var<'_, f64>, &str)],
    grads: &Gradients<f64>,
    path: &str,
) -> std::io::Result<()> {
    let name = |id| names.iter().find(|(v, _)| v.id() == id).map(|(_, n)| n.to_string());
    let svg = g.to_svg(root, name, |id| grads.get_id(id).map(|t| format!("grad {:.4}", t.item())));
    std::fs::write(path, svg)?;
    println!("wrote {path} (the graph with every value and gradient)");
    Ok(())
}
