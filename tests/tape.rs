//! The tape's behaviour: requires-grad propagation, no_grad, detach, reuse, deep graphs and
//! element types.

use tapegrad::prelude::*;

#[test]
fn constants_get_no_gradient_and_do_not_reach() {
    let g = Graph::new();
    let x = g.constant(Tensor::from_vec(vec![1.0, 2.0], [2]).unwrap());
    let w = g.var(Tensor::from_vec(vec![3.0, 4.0], [2]).unwrap());
    let unrelated = g.var(Tensor::ones([2]));
    let y = (x * w).sum();
    let grads = y.backward();
    assert_eq!(grads.wrt(w).to_vec(), vec![1.0, 2.0]);
    assert!(grads.get(x).is_none());
    assert!(grads.get(unrelated).is_none());
    assert_eq!(grads.wrt(unrelated).to_vec(), vec![0.0, 0.0]);
    assert!(!(x * 2.0).requires_grad());
}

#[test]
fn no_grad_and_detach_stop_history() {
    let g = Graph::new();
    let x = g.scalar(2.0);
    let frozen = g.no_grad(|| x * x);
    assert!(!frozen.requires_grad());
    assert_eq!(frozen.item(), 4.0);
    assert!(g.is_recording());
    let y = x * frozen + x.detach() * x;
    assert_eq!(y.backward().wrt(x).item(), 4.0 + 2.0);
}

#[test]
fn clear_reuses_the_graph() {
    let mut g = Graph::new();
    for step in 0..3 {
        g.clear();
        let x = g.scalar(step as f64);
        let y = x * x;
        assert_eq!(y.backward().wrt(x).item(), 2.0 * step as f64);
        assert_eq!(g.len(), 2);
    }
}

#[test]
fn a_million_node_chain_backpropagates_in_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let g = Graph::new();
            let x = g.scalar(1.0);
            let mut y = x;
            for _ in 0..1_000_000 {
                y = y.sin() + y;
            }
            y.backward().wrt(x).item()
        })
        .unwrap();
    assert!(handle.join().unwrap().is_finite());
}

#[test]
fn scalar_nodes_take_24_bytes_of_tape() {
    assert!(tapegrad::graph::Tape::<f64>::bytes_per_node() <= 48);
    assert_eq!(tapegrad::graph::Tape::<f64>::bytes_per_node(), 24);
    assert!(tapegrad::graph::Tape::<f32>::bytes_per_node() <= 24);
}

#[test]
fn f32_graphs_work_like_f64() {
    let g = Graph::<f32>::default();
    let x = g.var(Tensor::from_vec(vec![1.0f32, -2.0, 3.0], [3]).unwrap());
    let y = (x * x).sum();
    assert_eq!(y.backward().wrt(x).to_vec(), vec![2.0f32, -4.0, 6.0]);
    let s = g.scalar(2.0f32);
    assert_eq!((3.0f32 * s).item(), 6.0);
}

#[test]
fn intermediate_gradients_are_visible() {
    // micrograd shows every node's gradient; so do Gradients
    let g = Graph::new();
    let a = g.scalar(2.0);
    let b = g.scalar(-3.0);
    let e = a * b;
    let l = e + 10.0;
    let grads = l.backward();
    assert_eq!(grads.wrt(e).item(), 1.0);
    assert_eq!((grads.wrt(a).item(), grads.wrt(b).item()), (-3.0, 2.0));
}

#[test]
fn dot_export_names_ops_and_values() {
    let g = Graph::new();
    let (a, b) = (g.scalar(2.0), g.scalar(-3.0));
    let y = (a * b).tanh();
    let grads = y.backward();
    let dot = g.to_dot(y, |id| grads.get_id(id).map(|t| format!("grad {:.4}", t.item())));
    assert!(dot.contains("mul") && dot.contains("tanh"), "{dot}");
    assert!(dot.contains("data 2.0000") && dot.contains("grad"), "{dot}");
}

#[test]
fn scalar_nodes_whose_values_look_like_tensor_indices_stay_scalars() {
    use tapegrad::graph::Value;
    let g = Graph::new();
    let t0 = g.var(Tensor::from_vec(vec![5.0, 6.0], [2]).unwrap());
    let s0 = g.scalar(0.0);
    let t1 = g.constant(Tensor::from_vec(vec![7.0], [1]).unwrap());
    let s1 = g.scalar(1.0);
    let s2 = g.constant_scalar(2.0);
    let t2 = t0 * s1 + t1;
    let tape = g.tape();
    assert_eq!(tape.value(s0.id()), Value::Scalar(0.0));
    assert_eq!(tape.value(s1.id()), Value::Scalar(1.0));
    assert_eq!(tape.value(s2.id()), Value::Scalar(2.0));
    assert_eq!(tape.value(t0.id()), Value::Tensor(0));
    assert_eq!(tape.value(t1.id()), Value::Tensor(1));
    assert!(matches!(tape.value(t2.id()), Value::Tensor(_)));
    assert_eq!(tape.tensor_nodes().len(), 4, "t0, t1, t0·s1 and t2");
    drop(tape);
    assert_eq!(t2.value().to_vec(), vec![12.0, 13.0]);
    assert_eq!(s0.shape().ndim(), 0);
    assert_eq!(t1.shape().dims(), &[1]);
}
