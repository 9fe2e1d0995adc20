//! Every op in the registry passes the f64 gradient check on every shape case, and the
//! second-order check; every primitive op has a registry entry.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::autograd::registry::registry;
use tapegrad::autograd::{gradcheck, gradgradcheck};
use tapegrad::graph::op::primitive_op_names;

#[test]
fn every_primitive_op_has_a_registry_entry() {
    let registered: Vec<&str> = registry().iter().map(|c| c.name).collect();
    let missing: Vec<&str> = primitive_op_names().into_iter().filter(|n| !registered.contains(n)).collect();
    assert!(missing.is_empty(), "ops without a registry entry: {missing:?}");
}

#[test]
fn every_op_passes_gradcheck() {
    let mut rng = StdRng::seed_from_u64(7);
    for case in registry() {
        for shapes in &case.shapes {
            let inputs: Vec<_> = shapes.iter().map(|s| case.domain.sample(s, &mut rng)).collect();
            if let Err(e) = gradcheck(case.build, &inputs) {
                panic!("{} on shapes {shapes:?}: {e}", case.name);
            }
        }
    }
}

#[test]
fn every_op_passes_second_order_check() {
    let mut rng = StdRng::seed_from_u64(11);
    for case in registry().into_iter().filter(|c| c.second_order) {
        for shapes in &case.shapes {
            let inputs: Vec<_> = shapes.iter().map(|s| case.domain.sample(s, &mut rng)).collect();
            if let Err(e) = gradgradcheck(case.build, &inputs) {
                panic!("{} on shapes {shapes:?} (second order): {e}", case.name);
            }
        }
    }
}
