//! W5: a chain of 10⁶ scalar ops, forward + backward, in a thread with a 256 KiB stack.
//! W6: the cost of recording one op on a 1-element tensor.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::{Duration, Instant};
use tapegrad::prelude::*;

const CHAIN: usize = 1_000_000;

/// y = x·w·w·…·w (10⁶ multiplies, one node each) and its backward pass; returns dy/dw.
fn chain(graph: &mut Graph) -> f64 {
    graph.clear();
    let x = graph.scalar(1.0);
    let w = graph.scalar(1.000_000_1);
    let mut y = x;
    for _ in 0..CHAIN {
        y = y * w;
    }
    y.backward().wrt(w).item()
}

fn w5(c: &mut Criterion) {
    let mut group = c.benchmark_group("W5");
    group.sample_size(10);
    group.throughput(Throughput::Elements(CHAIN as u64));
    group.bench_function("chain_1e6_scalar_ops_256KiB_stack", |b| {
        b.iter_custom(|iters| {
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let mut graph = Graph::with_capacity(CHAIN + 2);
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        criterion::black_box(chain(&mut graph));
                        total += start.elapsed();
                    }
                    total
                })
                .unwrap()
                .join()
                .unwrap()
        })
    });
    group.finish();
}

fn w6(c: &mut Criterion) {
    let mut group = c.benchmark_group("W6");
    group.bench_function("one_op_on_1_element_tensor", |b| {
        b.iter_custom(|iters| {
            let mut graph = Graph::new();
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let batch = left.min(10_000);
                graph.clear();
                let a = graph.var(Tensor::from_vec(vec![1.5], [1]).unwrap());
                let w = graph.var(Tensor::from_vec(vec![0.5], [1]).unwrap());
                let start = Instant::now();
                for _ in 0..batch {
                    criterion::black_box(a * w);
                }
                total += start.elapsed();
                left -= batch;
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, w5, w6);
criterion_main!(benches);
