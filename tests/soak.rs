//! Soak: 2,000 training steps of micrograd's moons demo (scalar tape) and of a tensor MLP with
//! Adam, with the live heap counted by a wrapping allocator. Once warm, a step must give back
//! everything it takes: the live heap after the last step equals the one after step 200 (within
//! a few KiB of allocator-independent slack).

use rand::rngs::StdRng;
use rand::SeedableRng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use tapegrad::demo::MoonsDemo;
use tapegrad::nn::data::moons;
use tapegrad::nn::layers::{mlp, Activation};
use tapegrad::nn::optim::{Adam, Optimizer};
use tapegrad::nn::{loss, Forward, ParamStore};
use tapegrad::prelude::*;

/// Counts the bytes currently allocated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is only
// bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const STEPS: usize = 2_000;
const WARM: usize = 200;
const SLACK: isize = 4 * 1024;

/// Runs `step` STEPS times and returns the live heap after step WARM and after the last.
fn live_heap(mut step: impl FnMut()) -> (isize, isize) {
    let mut warm = 0;
    for i in 1..=STEPS {
        step();
        if i == WARM {
            warm = LIVE.load(Ordering::Relaxed);
        }
    }
    (warm, LIVE.load(Ordering::Relaxed))
}

// One test, so no other test thread allocates while the counter is read.
#[test]
fn training_steps_do_not_grow_the_heap() {
    let mut demo = MoonsDemo::<f64>::new(10, &mut StdRng::seed_from_u64(1337)).unwrap();
    let mut graph = Graph::new();
    let (warm, end) = live_heap(|| {
        demo.step_scalar(&mut graph).unwrap();
    });
    assert!(end - warm <= SLACK, "moons demo: live heap {warm} B after step {WARM}, {end} B after step {STEPS}");

    let mut rng = StdRng::seed_from_u64(7);
    let data = moons::<f32, _>(64, 0.1, &mut rng);
    let mut store = ParamStore::<f32>::new();
    let model = mlp(&mut store, &[2, 16, 16, 2], Activation::Relu, &mut rng).unwrap();
    let mut adam = Adam::new(0.01);
    let mut graph = Graph::<f32>::default();
    let mut last_loss = f32::NAN;
    let (warm, end) = live_heap(|| {
        graph.clear();
        let params = store.bind(&graph);
        let x = graph.constant(data.x.clone());
        let loss = loss::cross_entropy(model.forward(&params, x), &data.y, 0.0).unwrap();
        last_loss = loss.item();
        let grads = loss.backward();
        store.zero_grad();
        store.accumulate(&params, &grads);
        adam.step(&mut store);
    });
    assert!(end - warm <= SLACK, "tensor MLP: live heap {warm} B after step {WARM}, {end} B after step {STEPS}");
    assert!(last_loss < 0.3, "the soak should also train: final loss {last_loss}");
}
