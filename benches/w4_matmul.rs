//! W4: f32 matrix product 1024×1024×1024 through tapegrad's matmul kernel, on 1 and 2 threads.
//! Peer: benches/peers/torch_w4.py.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::Tensor;

fn w4(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(4);
    let n = 1024;
    let a = Tensor::<f32>::randn([n, n], 0.0, 1.0, &mut rng);
    let b = Tensor::<f32>::randn([n, n], 0.0, 1.0, &mut rng);
    let mut group = c.benchmark_group("W4");
    group.sample_size(20);
    group.throughput(Throughput::Elements(2 * (n * n * n) as u64));
    for threads in [1, 2] {
        tapegrad::graph::set_num_threads(threads);
        group
            .bench_function(format!("matmul_1024_f32_{threads}_threads"), |bench| bench.iter(|| a.matmul(&b).unwrap()));
    }
    tapegrad::graph::set_num_threads(0);
    group.finish();
}

criterion_group!(benches, w4);
criterion_main!(benches);
