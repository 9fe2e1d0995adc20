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
            let recorded = (0..tape.len() as u32).any(|id| tape.op(id).primitive_name() == case.records);
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

#[test]
fn every_op_forward_mode_agrees_with_reverse_mode_and_finite_differences() {
    use tapegrad::autograd::jvp;
    let mut rng = StdRng::seed_from_u64(13);
    let eps = 1e-6;
    for case in registry() {
        for shapes in &case.shapes {
            let inputs: Vec<_> = shapes.iter().map(|s| case.domain.sample(s, &mut rng)).collect();
            let tangents: Vec<_> = shapes.iter().map(|s| Tensor::uniform(s, -1.0, 1.0, &mut rng)).collect();
            let g = Graph::new();
            let xs: Vec<_> = inputs.iter().map(|t| g.var(t.clone())).collect();
            let ts: Vec<_> = tangents.iter().map(|t| g.constant(t.clone())).collect();
            let y = (case.build)(&g, &xs);
            let u = Tensor::uniform(y.shape(), -1.0, 1.0, &mut rng);
            let forward: f64 = jvp(y, &xs, &ts).unwrap().value().data().iter().zip(u.data()).map(|(a, b)| a * b).sum();
            let grads = y.try_backward_with(u.clone()).unwrap();
            let reverse: f64 = xs
                .iter()
                .zip(&tangents)
                .map(|(x, t)| grads.wrt(*x).data().iter().zip(t.data()).map(|(a, b)| a * b).sum::<f64>())
                .sum();
            let at = |step: f64| -> f64 {
                let h = Graph::new();
                let moved: Vec<_> = inputs.iter().zip(&tangents).map(|(x, t)| h.var(&(t * step) + x)).collect();
                (case.build)(&h, &moved).value().data().iter().zip(u.data()).map(|(a, b)| a * b).sum()
            };
            let numerical = (at(eps) - at(-eps)) / (2.0 * eps);
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 + 1e-3 * b.abs();
            assert!(
                close(forward, reverse),
                "{} on {shapes:?}: ⟨u, J·t⟩ = {forward}, ⟨Jᵀ·u, t⟩ = {reverse}",
                case.name
            );
            assert!(
                close(forward, numerical),
                "{} on {shapes:?}: jvp {forward}, finite differences {numerical}",
                case.name
            );
        }
    }
}
