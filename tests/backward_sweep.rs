//! The backward sweep's shortcuts give the same gradients as the plain rules: a gradient carried
//! from node i + 1 to node i, nodes reached only by zeros, and the hand-over between scalar and
//! tensor nodes.

use tapegrad::autograd::gradcheck;
use tapegrad::prelude::*;

#[test]
fn a_zero_gradient_still_reaches_the_inputs() {
    let g = Graph::new();
    let (x, w, unused) = (g.scalar(-1.0), g.scalar(2.0), g.scalar(5.0));
    let data = g.constant_scalar(3.0);
    let dead = (x * w).relu(); // x·w < 0: ReLU passes an exact 0 down
    let y = dead * data + 1.0;
    let grads = y.backward();
    assert_eq!(grads.get_scalar(w), Some(0.0));
    assert_eq!(grads.get_scalar(x), Some(0.0));
    assert_eq!(grads.get_scalar(dead), Some(3.0));
    assert_eq!(grads.get_scalar(data), None, "constants get no gradient");
    assert_eq!(grads.get_scalar(unused), None, "not an input of y");
    assert_eq!(grads.wrt(w).item(), 0.0);
}

#[test]
fn a_node_fed_by_the_next_node_and_by_later_ones_sums_both() {
    let g = Graph::new();
    let xv: f64 = 0.7;
    let x = g.scalar(xv);
    let t = x.sin();
    let u = t * t; // both inputs are the node just before u
    let v = u + t; // u comes from the node just before, t from further up
    let y = v * x;
    let expected = (2.0 * xv.sin() * xv.cos() + xv.cos()) * xv + xv.sin().powi(2) + xv.sin();
    let grads = y.backward();
    assert!((grads.scalar(x) - expected).abs() < 1e-14, "{} vs {expected}", grads.scalar(x));
    assert!((grads.scalar(t) - (2.0 * xv.sin() + 1.0) * xv).abs() < 1e-14);
}

#[test]
fn a_leaf_used_by_consecutive_nodes_sums_every_use() {
    let g = Graph::new();
    let (x, w) = (g.scalar(1.25), g.scalar(1.001));
    let mut y = x;
    for _ in 0..1000 {
        y = y * w;
    }
    let expected = 1000.0 * 1.25 * 1.001f64.powi(999);
    let got = y.backward().scalar(w);
    assert!((got - expected).abs() < 1e-12 * expected, "{got} vs {expected}");
}

#[test]
fn scalar_and_tensor_nodes_hand_gradients_over() {
    // Scalars built from a leaf used many times in a row, clamped (a scalar node on the tensor
    // path), stacked into a tensor, reduced to a scalar again: every path between the two kinds
    // of node, checked against finite differences.
    gradcheck(mixed, &[Tensor::from_vec(vec![0.3, -0.2], [2]).unwrap()]).unwrap();
}

fn mixed<'g>(_: &'g Graph, v: &[Var<'g, f64>]) -> Var<'g, f64> {
    let w = v[0].sum();
    let clamped = w.clamp(-1.0, 1.0); // a scalar node that takes the tensor path
    let mut chain = w;
    for _ in 0..5 {
        chain = chain * w + 0.5;
    }
    let parts = [chain, w * w, chain.tanh(), w];
    let stacked = Var::stack(&parts, 0);
    let squashed = (stacked * stacked).sum().sqrt();
    squashed * w + chain * clamped
}

#[test]
fn gradients_match_across_repeated_sweeps_of_one_graph() {
    let g = Graph::new();
    let (a, b) = (g.scalar(0.5), g.scalar(-1.5));
    let mut y = a;
    for k in 0..50 {
        y = if k % 3 == 0 { (y * b).relu() + a } else { y * a - b };
    }
    let first = y.backward();
    let second = y.backward();
    assert_eq!(first.get_scalar(a), second.get_scalar(a));
    assert_eq!(first.get_scalar(b), second.get_scalar(b));
}

#[test]
fn recording_while_the_tape_is_borrowed_panics_with_a_message() {
    let g = Graph::new();
    let x = g.scalar(2.0);
    let tape = g.tape();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| x * x)).unwrap_err();
    drop(tape);
    let message = panic.downcast_ref::<&str>().copied().or(panic.downcast_ref::<String>().map(String::as_str));
    assert!(message.unwrap().contains("while its tape was borrowed"), "{message:?}");
    assert_eq!((x * x).item(), 4.0, "recording works again once the borrow ends");
}

#[test]
fn a_scalar_node_on_the_tensor_path_adds_to_an_input_shared_with_scalar_nodes() {
    let g = Graph::new();
    let w = g.scalar(0.25);
    let c = w.clamp(-1.0, 1.0);
    let p = w * w;
    let y = p + c;
    let grads = y.backward();
    assert_eq!(grads.scalar(w), 1.5);
}

#[test]
fn slices_of_one_tensor_add_their_gradients_into_its_parts() {
    // Three overlapping slices, as q, k and v are cut from one projection: the first slice's
    // gradient is padded with zeros, the later ones are added into their parts in place.
    let g = Graph::new();
    let x = g.var(Tensor::from_vec((0..12).map(f64::from).collect(), [2, 6]).unwrap());
    let weights = |v: f64, cols: usize| g.constant(Tensor::full([2, cols], v));
    let (a, b, c) = (x.slice(-1, 0, 2), x.slice(-1, 2, 4), x.slice(-1, 1, 5));
    let y = (a * weights(1.0, 2)).sum() + (b * weights(10.0, 2)).sum() + (c * weights(100.0, 4)).sum();
    let grads = y.backward();
    let row = [1.0, 101.0, 110.0, 110.0, 100.0, 0.0];
    assert_eq!(grads.wrt(x).data(), [row, row].concat());
    assert_eq!(grads.wrt(c).data(), &[100.0; 8], "the slice's own gradient is left as it was");
    gradcheck(
        |_, v| (v[0].slice(-1, 0, 2).sin().sum() + v[0].slice(-1, 1, 5).exp().sum()) * v[0].slice(-1, 4, 6).sum(),
        &[Tensor::from_vec(vec![0.1, -0.4, 0.7, 0.2, -0.3, 0.5], [1, 6]).unwrap()],
    )
    .unwrap();
}

#[test]
fn a_slice_adding_into_a_gradient_shared_with_another_node_leaves_that_one_alone() {
    // `w = x + 1` hands its gradient to `x` uncopied; the slice, swept after it, must not add
    // into `w`'s gradient through the shared buffer.
    let g = Graph::new();
    let x = g.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [4]).unwrap());
    let part = x.slice(0, 1, 3);
    let w = x + 1.0;
    let y = (w * g.constant(Tensor::full([4], 2.0))).sum() + (part * g.constant(Tensor::full([2], 5.0))).sum();
    let grads = y.backward();
    assert_eq!(grads.wrt(x).data(), &[2.0, 7.0, 7.0, 2.0]);
    assert_eq!(grads.wrt(w).data(), &[2.0; 4]);
}
