//! The small matrix products of W3 (a 2-16-16-1 MLP on a batch of 100, forward and backward)
//! and W7 (attention's 16×16 heads): each is one `matmul_t` call, so the figures include the
//! call's fixed cost (shape checks, the output buffer) beside the arithmetic.

use criterion::{criterion_group, criterion_main, Criterion};
use tapegrad::Tensor;

fn small_products(c: &mut Criterion) {
    let matrix = |rows: usize, cols: usize| {
        Tensor::<f32>::from_vec((0..rows * cols).map(|i| (i % 7) as f32 * 0.1 - 0.3).collect(), [rows, cols])
            .expect("rows·cols values")
    };
    // (name, a, transpose a, b, transpose b): the product op(a)·op(b).
    let cases = [
        ("x·W1 100x2·2x16", matrix(100, 2), false, matrix(2, 16), false),
        ("h·W3 100x16·16x1", matrix(100, 16), false, matrix(16, 1), false),
        ("xT·g 2x100·100x16", matrix(100, 2), true, matrix(100, 16), false),
        ("hT·g 16x100·100x1", matrix(100, 16), true, matrix(100, 1), false),
        ("gT·x 16x100·100x2", matrix(100, 16), true, matrix(100, 2), false),
        ("g·W3T 100x1·1x16", matrix(100, 1), false, matrix(16, 1), true),
        ("h·W2 100x16·16x16", matrix(100, 16), false, matrix(16, 16), false),
        ("hT·g 16x100·100x16", matrix(100, 16), true, matrix(100, 16), false),
        ("g·W2T 100x16·16x16", matrix(100, 16), false, matrix(16, 16), true),
        ("head 16x16·16x16", matrix(16, 16), false, matrix(16, 16), false),
        ("head 16x16·16x16T", matrix(16, 16), false, matrix(16, 16), true),
    ];
    tapegrad::graph::set_num_threads(1);
    let mut group = c.benchmark_group("small_products");
    for (name, a, transpose_a, b, transpose_b) in &cases {
        group.bench_function(*name, |bench| {
            bench.iter(|| a.matmul_t(*transpose_a, b, *transpose_b).expect("matching inner dimensions"))
        });
    }
    group.finish();
    tapegrad::graph::set_num_threads(0);
}

criterion_group!(benches, small_products);
criterion_main!(benches);
