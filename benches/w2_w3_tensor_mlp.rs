//! W2: MLP 784-256-128-10, batch 128, ReLU, softmax cross-entropy, one SGD step, f32, on 1 and
//! 2 threads. W3: the W1 model as tensors — MLP 2-16-16-1 on a batch of 100 moons, hinge loss
//! plus 1e-4·L2, one SGD step, f32. The steps are `tapegrad-bench`'s (crates/bench/src/workloads.rs).
//!
//! Peers: benches/peers/peer.py (W2, W3 with torch and jax), torch_w2.py and torch_w3.py.

#[allow(dead_code)] // the workloads this benchmark does not time
#[path = "../crates/bench/src/workloads.rs"]
mod workloads;

use criterion::{criterion_group, criterion_main, Criterion};

fn w2(c: &mut Criterion) {
    let mut group = c.benchmark_group("W2");
    for threads in [1, 2] {
        tapegrad::graph::set_num_threads(threads);
        let mut step = workloads::step("W2");
        group.bench_function(format!("mlp_784_256_128_10_batch128_sgd_step_{threads}_threads"), |b| b.iter(&mut step));
    }
    tapegrad::graph::set_num_threads(0);
    group.finish();
}

fn w3(c: &mut Criterion) {
    let mut step = workloads::step("W3");
    c.bench_function("W3/micrograd_model_as_tensors_batch100_f32", |b| b.iter(&mut step));
}

criterion_group!(benches, w2, w3);
criterion_main!(benches);
