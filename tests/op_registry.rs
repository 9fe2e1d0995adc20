//! Every op in the registry passes the f64 gradient check on every shape case, and the
//! second-order check; each case records the primitive it names, and every primitive op is
//! recorded by some case.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::autograd::registry::registry;
use tapegrad::autograd::{gradcheck, gradgradcheck};
use tapegrad::graph::op::primitive_op_names;
use tapegrad::prelude::*;

#[test]
fn every_case_records_its_primitive_and_every_primitive_has_a_case() {
    let mut rng = StdRng::seed_from_u64(3);
    for case in registry() {
        for shapes in &case.shapes {
            let g = Graph::new();
            let vars: Vec<_> = shapes.iter().map(|s| g.var(case.domain.sample(s, &mut rng))).collect();
            (case.build)(&g, &vars);
            let tape = g.tape();
            let recorded = (0..tape.len() as u32).any(|id| tape.op(id).name() == case.records);
            assert!(recorded, "case `{}` on shapes {shapes:?} records no `{}` node", case.name, case.records);
        }
    }
    let covered: Vec<&str> = registry().iter().map(|c| c.records).collect();
    let missing: Vec<&str> = primitive_op_names().into_iter().filter(|n| !covered.contains(n)).collect();
    assert!(missing.is_empty(), "ops without a registry case: {missing:?}");
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
    for case in registry() {
        for shapes in &case.shapes {
            let inputs: Vec<_> = shapes.iter().map(|s| case.domain.sample(s, &mut rng)).collect();
            if let Err(e) = gradgradcheck(case.build, &inputs) {
                panic!("{} on shapes {shapes:?} (second order): {e}", case.name);
            }
        }
    }
}
