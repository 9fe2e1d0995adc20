//! Checkpointing: a 32-layer tensor MLP (Linear 256→256 + tanh, batch 256, f32), one
//! forward + backward, plain and with every 4 layers run as a `Checkpoint` segment. Prints the
//! peak heap of a step, the tape's nodes and the tensor bytes it holds after forward, then
//! criterion times both.

use criterion::{criterion_group, criterion_main, Criterion};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use tapegrad::nn::layers::{Activation, Checkpoint, Linear, Sequential};
use tapegrad::nn::{Forward, ParamStore};
use tapegrad::prelude::*;

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are only
// bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed) + layout.size() as isize;
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let live = LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed) + new_size as isize
            - layout.size() as isize;
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const LAYERS: usize = 32;
const SEGMENT: usize = 4;
const WIDTH: usize = 256;
const BATCH: usize = 256;

fn layers(store: &mut ParamStore<f32>, from: usize, count: usize, rng: &mut StdRng) -> Sequential<f32> {
    let mut model = Sequential::new();
    for k in from..from + count {
        model = model.push(Linear::new(store, &format!("layers.{k}"), WIDTH, WIDTH, true, rng).unwrap());
        model = model.push(Activation::Tanh);
    }
    model
}

/// The plain model and the checkpointed one, each with its store; the weights are equal (the
/// same seed draws them in the same order).
fn models() -> [(ParamStore<f32>, Sequential<f32>); 2] {
    let mut store = ParamStore::new();
    let plain = layers(&mut store, 0, LAYERS, &mut StdRng::seed_from_u64(0));
    let mut twin = ParamStore::new();
    let mut checked = Sequential::new();
    let mut rng = StdRng::seed_from_u64(0);
    for s in 0..LAYERS / SEGMENT {
        checked = checked.push(Checkpoint::new(layers(&mut twin, s * SEGMENT, SEGMENT, &mut rng)));
    }
    [(store, plain), (twin, checked)]
}

/// One forward and backward; returns the loss, the tape's nodes and tensor bytes after forward.
fn step(store: &ParamStore<f32>, model: &Sequential<f32>, x: &Tensor<f32>) -> (f32, usize, usize) {
    let g = Graph::<f32>::default();
    let params = store.bind(&g);
    let loss = model.forward(&params, g.constant(x.clone())).square().mean();
    let (nodes, bytes) = {
        let tape = g.tape();
        let elements: usize = tape.tensor_nodes().iter().map(|&id| tape.shape(id).numel()).sum();
        (tape.len(), elements * std::mem::size_of::<f32>())
    };
    let grads = loss.backward();
    std::hint::black_box(grads);
    (loss.item(), nodes, bytes)
}

fn checkpointing(c: &mut Criterion) {
    let [(store, plain), (twin, checked)] = models();
    let x = Tensor::randn([BATCH, WIDTH], 0.0, 1.0, &mut StdRng::seed_from_u64(1));
    let mut losses = Vec::new();
    for (name, store, model) in [("plain", &store, &plain), ("checkpointed", &twin, &checked)] {
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let (loss, nodes, bytes) = step(store, model, &x);
        let peak = PEAK.load(Ordering::Relaxed) - before;
        println!(
            "checkpoint/{name}: loss {loss:.6}, tape {nodes} nodes with {:.1} MiB of tensors after forward (the 8 MiB of weights shared with the store included), peak heap above the store of the step {:.1} MiB",
            bytes as f64 / (1 << 20) as f64,
            peak as f64 / (1 << 20) as f64
        );
        losses.push(loss);
    }
    assert_eq!(losses[0], losses[1], "the checkpointed model computes the same loss");
    let mut group = c.benchmark_group("checkpoint");
    group.sample_size(20);
    group.bench_function("mlp32_plain", |b| b.iter(|| step(&store, &plain, &x)));
    group.bench_function("mlp32_checkpoint_every_4", |b| b.iter(|| step(&twin, &checked, &x)));
    group.finish();
}

criterion_group!(benches, checkpointing);
criterion_main!(benches);
