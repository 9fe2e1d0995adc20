//! Frames per second of the Playground, server-side: one frame is one epoch of training plus
//! every heatmap (the 100×100 output and each neuron's 25×25) and the JSON the page receives,
//! at the Playground's defaults (circle, 250 training points, 4-2 tanh, batch 10).

use criterion::{criterion_group, criterion_main, Criterion};
use tapegrad_playground::server::handle;
use tapegrad_playground::{Run, Settings};

fn frames(c: &mut Criterion) {
    let mut run = Run::new(Settings::default());
    let mut playing = false;
    c.bench_function("playground/frame_default", |b| {
        b.iter(|| handle(&mut run, &mut playing, r#"{"cmd":"step"}"#));
    });
}

criterion_group!(benches, frames);
criterion_main!(benches);
