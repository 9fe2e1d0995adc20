//! micrograd's demo end to end: the scalar graph has micrograd's node count, reaches 100%
//! training accuracy within the 100 steps, and the tensor version computes the same numbers.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::demo::MoonsDemo;
use tapegrad::prelude::*;

#[test]
fn the_demo_reaches_full_accuracy_on_the_scalar_graph() {
    let mut demo = MoonsDemo::<f64>::new(100, &mut StdRng::seed_from_u64(1337)).unwrap();
    let mut graph = Graph::new();
    let first = demo.step_scalar(&mut graph).unwrap();
    assert_eq!(first.nodes, 65_818, "micrograd records 65,818 nodes per step");
    let mut last = first;
    for _ in 1..100 {
        last = demo.step_scalar(&mut graph).unwrap();
    }
    assert_eq!(last.accuracy, 1.0);
    assert!(last.loss < 0.1 * first.loss, "loss {} → {}", first.loss, last.loss);
}

#[test]
fn scalar_and_tensor_steps_agree() {
    let mut scalar = MoonsDemo::<f64>::new(100, &mut StdRng::seed_from_u64(5)).unwrap();
    let mut tensor = MoonsDemo::<f64>::new(100, &mut StdRng::seed_from_u64(5)).unwrap();
    let mut graph = Graph::new();
    for step in 0..5 {
        let a = scalar.step_scalar(&mut graph).unwrap();
        let b = tensor.step_tensor(&mut graph).unwrap();
        assert!((a.loss - b.loss).abs() < 1e-12 * a.loss, "step {step}: {} vs {}", a.loss, b.loss);
        assert_eq!(a.accuracy, b.accuracy);
    }
    for ((_, p), (_, q)) in scalar.store.iter().zip(tensor.store.iter()) {
        assert!((p.value.item() - q.value.item()).abs() < 1e-12, "{}", p.name);
    }
}
