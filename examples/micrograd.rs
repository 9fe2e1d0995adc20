//! micrograd's demo in tapegrad: an MLP 2-16-16-1 learns the two moons on the **scalar** graph
//! (every weight, every multiply-add a node, as in micrograd), with an SVM max-margin loss plus
//! 1e-4·L2 and 100 full-batch SGD steps at learning rate 1.0 − 0.9·k/100.
//!
//!     cargo run --release --example micrograd            # the scalar graph
//!     cargo run --release --example micrograd -- --tensor  # the same model with tensor ops
//!
//! It prints each step's loss and accuracy, the time per step, then replays the same 100 steps
//! from one compiled recording (`CompiledTape`) and compares, and writes the decision
//! boundary, the training curve and the graph of one neuron to out/.

#[path = "common/neuron.rs"]
mod neuron;
#[path = "common/plots.rs"]
mod plots;

use rand::rngs::StdRng;
use rand::SeedableRng;
use std::time::Instant;
use tapegrad::demo::MoonsDemo;
use tapegrad::nn::Module;
use tapegrad::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tensor = std::env::args().any(|a| a == "--tensor");
    let mut rng = StdRng::seed_from_u64(1337);
    let mut demo = MoonsDemo::<f64>::new(100, &mut rng)?;
    let n_params = Module::<f64>::parameters(&demo.model).len();
    println!(
        "micrograd demo: MLP 2-16-16-1 ({n_params} parameters) on {} moons, {} graph",
        demo.data.len(),
        if tensor { "tensor" } else { "scalar" }
    );
    let mut graph = Graph::new();
    let (mut losses, mut accuracies) = (vec![], vec![]);
    let mut first_perfect = None;
    let mut stepping = std::time::Duration::ZERO;
    for k in 0..100 {
        let started = Instant::now();
        let report = if tensor { demo.step_tensor(&mut graph)? } else { demo.step_scalar(&mut graph)? };
        stepping += started.elapsed();
        println!(
            "step {k} loss {:.6}, accuracy {:.1}%  ({} nodes)",
            report.loss,
            report.accuracy * 100.0,
            report.nodes
        );
        losses.push(report.loss);
        accuracies.push(report.accuracy);
        if report.accuracy == 1.0 && first_perfect.is_none() {
            first_perfect = Some(k);
        }
    }
    let per_step = stepping.as_secs_f64() / 100.0;
    let final_accuracy = accuracies.last().copied().unwrap_or(0.0);
    match first_perfect {
        Some(k) => {
            println!("\n100% training accuracy first at step {k}; final accuracy {:.1}%", final_accuracy * 100.0)
        }
        None => println!("\nfinal accuracy {:.1}% (never 100%)", final_accuracy * 100.0),
    }
    println!("time per step (forward + backward + SGD): {:.3} ms", per_step * 1e3);
    if !tensor {
        replay_compiled(&demo, per_step)?;
    }

    let out = plots::out_dir();
    let points: Vec<[f64; 2]> = (0..demo.data.len()).map(|i| [demo.data.row(i)[0], demo.data.row(i)[1]]).collect();
    let boundary = out.join("micrograd_boundary.svg");
    plots::decision_boundary(&boundary, "decision boundary after 100 steps", &points, &demo.data.y, |x, y| {
        demo.score([x, y])
    })?;
    let curve = out.join("micrograd_training.svg");
    plots::training_curve(&curve, "micrograd demo: loss and accuracy", "step", &losses, &accuracies)?;
    let (dot, svg) = one_neuron_pictures();
    let neuron_dot = out.join("micrograd_neuron.dot");
    std::fs::write(&neuron_dot, dot)?;
    let neuron_svg = out.join("micrograd_neuron.svg");
    std::fs::write(&neuron_svg, svg)?;
    println!("wrote {} (the decision boundary)", boundary.display());
    println!("wrote {} (loss and accuracy per step)", curve.display());
    println!("wrote {} (one neuron's graph with every value and gradient)", neuron_svg.display());
    println!("wrote {} (the same graph in DOT, for Graphviz)", neuron_dot.display());
    Ok(())
}

/// micrograd's `draw_dot` example: a 2-input tanh neuron, every value and gradient labelled,
/// as DOT and as SVG.
fn one_neuron_pictures() -> (String, String) {
    let g = Graph::new();
    let names = neuron::tanh_neuron(&g);
    let o = names[8].0;
    let grads = o.backward();
    let name = |id| names.iter().find(|(v, _)| v.id() == id).map(|(_, n)| n.to_string());
    let grad = |id| grads.get_id(id).map(|t| format!("grad {:.4}", t.item()));
    let dot = g.to_dot(o, |id| grad(id).map(|grad| format!("{} | {grad}", name(id).unwrap_or_default())));
    (dot, g.to_svg(o, name, grad))
}

/// The same 100 steps again, from one recorded step compiled and replayed
/// (`CompiledTape`): the time per step, and whether every parameter ends equal to the
/// recorded run's, bit for bit.
fn replay_compiled(recorded: &MoonsDemo<f64>, recorded_step: f64) -> Result<(), Box<dyn std::error::Error>> {
    let mut demo = MoonsDemo::<f64>::new(100, &mut StdRng::seed_from_u64(1337))?;
    let mut compiled = demo.compile_scalar(tapegrad::autograd::CompileOptions::default())?;
    let started = Instant::now();
    for _ in 0..100 {
        demo.step_compiled(&mut compiled)?;
    }
    let per_step = started.elapsed().as_secs_f64() / 100.0;
    let same = recorded
        .store
        .iter()
        .zip(demo.store.iter())
        .all(|((_, p), (_, q))| p.value.item().to_bits() == q.value.item().to_bits());
    println!(
        "the same 100 steps replayed from one compiled recording (CompiledTape): {:.3} ms per step, {:.1}× faster; parameters {}",
        per_step * 1e3,
        recorded_step / per_step,
        if same { "equal to the recorded run's, bit for bit" } else { "DIFFER from the recorded run's" }
    );
    println!("  compiled: {}", compiled.tape.stats());
    Ok(())
}
