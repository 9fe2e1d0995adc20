//! Anomaly mode: the first NaN or infinity, in forward or backward, is an error naming the op,
//! its input shapes, its node and the line that recorded it; off, nothing changes.

use tapegrad::autograd::Error as AutogradError;
use tapegrad::graph::{Anomaly, Error as GraphError, Phase};
use tapegrad::prelude::*;

fn anomaly_of(e: AutogradError) -> Anomaly {
    match e {
        AutogradError::Graph(GraphError::Anomaly(found)) => *found,
        other => panic!("expected an anomaly, got {other}"),
    }
}

#[test]
fn the_first_nan_in_forward_is_named_with_its_op_shapes_node_and_line() {
    let g = Graph::new();
    let x = g.var(Tensor::from_vec(vec![1.0, -1.0], [2]).unwrap());
    let mut line = 0;
    let found = g
        .detect_anomaly(|| {
            let y = x * 2.0;
            line = line!() + 1;
            let bad = y.log(); // NaN at -2: the first bad node
            let worse = (bad * 3.0).exp().sum(); // NaN too, but later
            worse.item()
        })
        .unwrap_err();
    let GraphError::Anomaly(found) = found else { panic!("expected an anomaly, got {found}") };
    assert_eq!(found.phase, Phase::Forward);
    assert_eq!(found.op, "log");
    assert_eq!(found.found, "NaN");
    assert_eq!(found.input_shapes, vec![Shape::from([2])]);
    let at = found.location.expect("recorded in anomaly mode");
    assert!(at.file().ends_with("anomaly.rs"), "{}", at.file());
    assert_eq!(at.line(), line);
    let message = GraphError::Anomaly(found.clone()).to_string();
    assert!(
        message.contains("`log`") && message.contains("[2]") && message.contains(&format!("anomaly.rs:{line}")),
        "{message}"
    );
    // The scope ended: the graph is back to normal.
    assert!(!g.is_detecting_anomaly());
}

#[test]
fn scalar_ops_are_watched_too_and_an_infinite_leaf_is_the_first_bad_node() {
    let g = Graph::new();
    let found = g.detect_anomaly(|| {
        let a = g.scalar(1.0);
        let b = a / 0.0; // inf, on the scalar fast path
        b - b // NaN
    });
    let GraphError::Anomaly(found) = found.unwrap_err() else { panic!() };
    assert_eq!((found.op, found.found), ("div", "inf"));

    let g = Graph::new();
    let found = g.detect_anomaly(|| g.scalar(f64::NAN).exp());
    let GraphError::Anomaly(found) = found.unwrap_err() else { panic!() };
    assert_eq!((found.op, found.node), ("leaf", 0));
}

#[test]
fn a_gradient_born_non_finite_in_backward_is_named() {
    // √x at 0 is finite; its derivative there is not.
    let g = Graph::new();
    let x = g.var(Tensor::from_vec(vec![4.0, 0.0], [2]).unwrap());
    let result = g
        .detect_anomaly(|| {
            let line = line!() + 1;
            let y = x.sqrt().sum();
            (line, y.try_backward())
        })
        .unwrap();
    let found = anomaly_of(result.1.unwrap_err());
    assert_eq!(found.phase, Phase::Backward);
    assert_eq!((found.op, found.input, found.found), ("sqrt", Some(0), "inf"));
    assert_eq!(found.location.unwrap().line(), result.0);

    // Scalars: the same, and `backward()` panics with the message.
    let g = Graph::new();
    let x = g.scalar(0.0);
    g.set_detect_anomaly(true);
    let y = x.sqrt() * 3.0;
    let message = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| y.backward())).unwrap_err();
    let message = message.downcast_ref::<String>().unwrap();
    assert!(message.contains("the derivative of `sqrt`"), "{message}");
}

#[test]
fn off_nothing_is_checked_and_values_and_gradients_are_the_same_either_way() {
    let run = |watch: bool| {
        let g = Graph::new();
        g.set_detect_anomaly(watch);
        let a = g.scalar(-4.0);
        let b = g.scalar(2.0);
        let t = g.var(Tensor::from_vec(vec![0.5, -1.5, 2.0], [3]).unwrap());
        let c = a * b + b.powf(3.0) - 1.0 / a;
        let y = (c.relu() + c.tanh() + c.sigmoid()) * (t.tanh() * t).sum();
        let grads = y.backward();
        (y.item(), grads.wrt(a).item(), grads.wrt(b).item(), grads.wrt(t).to_vec(), g.len())
    };
    assert_eq!(run(false), run(true));

    // Off, an infinite gradient is simply returned.
    let g = Graph::new();
    let x = g.scalar(0.0);
    assert_eq!(x.sqrt().backward().wrt(x).item(), f64::INFINITY);
}

#[test]
fn a_forward_anomaly_stops_backward_with_the_first_bad_node() {
    let g = Graph::new();
    g.set_detect_anomaly(true);
    let x = g.scalar(-1.0);
    let y = x.sqrt().exp();
    assert_eq!(anomaly_of(y.try_backward().unwrap_err()).op, "sqrt");
    // `clear` forgets the nodes but stays in anomaly mode.
    let mut g = g;
    g.clear();
    assert!(g.is_detecting_anomaly() && g.anomaly().is_none());
    let x = g.scalar(4.0);
    assert_eq!(x.sqrt().backward().wrt(x).item(), 0.25);
    assert!(g.recorded_at(x.id()).is_some());
}

/// A user-defined op whose forward makes a NaN.
struct Broken;

impl CustomOpOnce<f64> for Broken {
    fn name(&self) -> &'static str {
        "broken"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> tapegrad::graph::Result<Tensor<f64>> {
        Ok(x[0].map(|_| f64::NAN))
    }
    fn backward(&self, _x: &[&Tensor<f64>], _y: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
        vec![Some(g.clone())]
    }
}

#[test]
fn custom_ops_are_named_by_their_own_name() {
    let g = Graph::new();
    let x = g.var(Tensor::ones([2, 3]));
    let found = g.detect_anomaly(|| g.custom_once(Broken, &[x]).sum()).unwrap_err();
    let GraphError::Anomaly(found) = found else { panic!() };
    assert_eq!((found.op, found.input_shapes.clone()), ("broken", vec![Shape::from([2, 3])]));
}
