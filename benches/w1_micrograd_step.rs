//! W1: micrograd's moons step on the scalar tape — MLP 2-16-16-1 on 100 points, hinge loss +
//! 1e-4·L2, forward + backward + SGD, 65,818 scalar nodes per step.
//! Peers: benches/peers/micrograd_w1.py (micrograd itself) and benches/peers/torch_w1.py
//! (PyTorch doing the same model with tensors).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::time::{Duration, Instant};
use tapegrad::autograd::CompileOptions;
use tapegrad::demo::MoonsDemo;
use tapegrad::graph::Tape;
use tapegrad::Graph;

/// The demo's 100 steps, over and over: one demo runs on from sample to sample, and a fresh
/// model replaces it every 100 steps (set up outside the timing). So the samples together cover
/// every step of micrograd's actual demo equally, early steps (most gradients nonzero) and late
/// ones (most zero) alike; restarting the demo in each sample would over-weight the early steps.
struct DemoSteps {
    demo: MoonsDemo<f64>,
    graph: Graph,
}

impl DemoSteps {
    fn new() -> Self {
        DemoSteps { demo: fresh_demo(), graph: Graph::new() }
    }
    fn time(&mut self, iters: u64, mut step: impl FnMut(&mut MoonsDemo<f64>, &mut Graph) -> usize) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            if self.demo.steps_done() == 100 {
                self.demo = fresh_demo();
            }
            let start = Instant::now();
            criterion::black_box(step(&mut self.demo, &mut self.graph));
            total += start.elapsed();
        }
        total
    }
}

fn fresh_demo() -> MoonsDemo<f64> {
    MoonsDemo::new(100, &mut StdRng::seed_from_u64(1337)).unwrap()
}

fn w1(c: &mut Criterion) {
    let mut demo = MoonsDemo::<f64>::new(100, &mut StdRng::seed_from_u64(1337)).unwrap();
    let nodes = demo.step_scalar(&mut Graph::new()).unwrap().nodes;
    eprintln!("W1: {nodes} scalar nodes per step, {} bytes of tape per node", Tape::<f64>::bytes_per_node());
    let mut group = c.benchmark_group("W1");
    group.throughput(Throughput::Elements(nodes as u64));
    let mut scalar = DemoSteps::new();
    group.bench_function("micrograd_moons_step_scalar", |b| {
        b.iter_custom(|iters| scalar.time(iters, |demo, g| demo.step_scalar(g).unwrap().nodes))
    });
    let replays = [
        ("micrograd_moons_step_compiled", true, true),
        ("micrograd_moons_step_compiled_unfused", true, false),
        ("micrograd_moons_step_compiled_plain", false, false),
    ];
    for (name, lanes, multiply_adds) in replays {
        let mut replay = DemoSteps::new();
        let options = CompileOptions { lanes, multiply_adds, ..CompileOptions::default() };
        let mut compiled = replay.demo.compile_scalar(options).unwrap();
        eprintln!("W1 {name}: {}", compiled.tape.stats());
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                // Every fresh demo has the same points, so one compiled tape serves them all.
                replay.time(iters, |demo, _| demo.step_compiled(&mut compiled).unwrap().nodes)
            })
        });
    }
    let mut tensor = DemoSteps::new();
    group.bench_function("micrograd_moons_step_tensor_f64", |b| {
        b.iter_custom(|iters| tensor.time(iters, |demo, g| demo.step_tensor(g).unwrap().nodes))
    });
    group.finish();
}

criterion_group!(benches, w1);
criterion_main!(benches);
