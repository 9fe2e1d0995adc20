//! W1: micrograd's moons step on the scalar tape — MLP 2-16-16-1 on 100 points, hinge loss +
//! 1e-4·L2, forward + backward + SGD, 65,818 scalar nodes per step.
//! Peers: benches/peers/micrograd_w1.py (micrograd itself) and benches/peers/torch_w1.py
//! (PyTorch doing the same model with tensors).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::time::{Duration, Instant};
use tapegrad::demo::MoonsDemo;
use tapegrad::graph::Tape;
use tapegrad::Graph;

/// The demo's 100 steps, over and over: a fresh model every 100 steps (set up outside the
/// timing), so the figure is the mean step of micrograd's actual demo, not of a long-converged
/// model.
fn time_demo_steps(iters: u64, step: impl Fn(&mut MoonsDemo<f64>, &mut Graph) -> usize) -> Duration {
    let mut graph = Graph::new();
    let mut total = Duration::ZERO;
    let mut demo = MoonsDemo::<f64>::new(100, &mut StdRng::seed_from_u64(1337)).unwrap();
    for _ in 0..iters {
        if demo.steps_done() == 100 {
            demo = MoonsDemo::new(100, &mut StdRng::seed_from_u64(1337)).unwrap();
        }
        let start = Instant::now();
        criterion::black_box(step(&mut demo, &mut graph));
        total += start.elapsed();
    }
    total
}

fn w1(c: &mut Criterion) {
    let mut demo = MoonsDemo::<f64>::new(100, &mut StdRng::seed_from_u64(1337)).unwrap();
    let nodes = demo.step_scalar(&mut Graph::new()).unwrap().nodes;
    eprintln!("W1: {nodes} scalar nodes per step, {} bytes of tape per node", Tape::<f64>::bytes_per_node());
    let mut group = c.benchmark_group("W1");
    group.throughput(Throughput::Elements(nodes as u64));
    group.bench_function("micrograd_moons_step_scalar", |b| {
        b.iter_custom(|iters| time_demo_steps(iters, |demo, g| demo.step_scalar(g).unwrap().nodes))
    });
    group.bench_function("micrograd_moons_step_tensor_f64", |b| {
        b.iter_custom(|iters| time_demo_steps(iters, |demo, g| demo.step_tensor(g).unwrap().nodes))
    });
    group.finish();
}

criterion_group!(benches, w1);
criterion_main!(benches);
