//! A fused user-defined op against its composition: SiLU, `x·σ(x)`, on a [256, 1024] f32
//! tensor, forward + backward. Composed, it records two nodes and its backward runs the rules of
//! `mul` and `sigmoid` (five elementwise passes); fused as one `CustomOpOnce`, the forward is one
//! pass and the backward is one pass over `x` and the gradient.

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{rngs::StdRng, SeedableRng};
use tapegrad::prelude::*;

/// SiLU in one pass each way: y = x·σ(x), dy/dx = σ(x)·(1 + x·(1 − σ(x))).
struct FusedSilu;

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl CustomOpOnce<f32> for FusedSilu {
    fn name(&self) -> &'static str {
        "silu"
    }
    fn forward(&self, x: &[&Tensor<f32>]) -> tapegrad::graph::Result<Tensor<f32>> {
        Ok(x[0].map(|v| v * sigmoid(v)))
    }
    fn backward(&self, x: &[&Tensor<f32>], _y: &Tensor<f32>, g: &Tensor<f32>) -> Vec<Option<Tensor<f32>>> {
        let dx = g.zip_with(x[0], "silu", |g, v| {
            let s = sigmoid(v);
            g * s * (1.0 + v * (1.0 - s))
        });
        vec![Some(dx.expect("the gradient has the input's shape"))]
    }
}

fn custom_op(c: &mut Criterion) {
    let x = Tensor::<f32>::randn([256, 1024], 0.0, 1.0, &mut StdRng::seed_from_u64(0));
    let composed = {
        let g = Graph::<f32>::default();
        let v = g.var(x.clone());
        (v * v.sigmoid()).sum().backward().wrt(v)
    };
    let fused = {
        let g = Graph::<f32>::default();
        let v = g.var(x.clone());
        g.custom_once(FusedSilu, &[v]).sum().backward().wrt(v)
    };
    assert!(fused.allclose(&composed, 1e-5, 1e-6), "the fused op must compute what the composition does");
    let mut group = c.benchmark_group("custom_op");
    group.bench_function("silu_composed_forward_backward", |b| {
        b.iter(|| {
            let g = Graph::<f32>::default();
            let v = g.var(x.clone());
            (v * v.sigmoid()).sum().backward().wrt(v)
        })
    });
    group.bench_function("silu_fused_forward_backward", |b| {
        b.iter(|| {
            let g = Graph::<f32>::default();
            let v = g.var(x.clone());
            g.custom_once(FusedSilu, &[v]).sum().backward().wrt(v)
        })
    });
    group.finish();
}

criterion_group!(benches, custom_op);
criterion_main!(benches);
