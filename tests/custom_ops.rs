//! User-defined ops: recorded as one node, differentiated by their own rule (twice where they
//! allow it), refused with a clear error where they do not, and seen by DOT export; forward
//! mode over them and over built-in ops.

use tapegrad::autograd::{hvp, jacfwd, jacobian, jvp, try_grad, Error};
use tapegrad::prelude::*;

/// `x³` with its own rule, written once for tensors and recorded `Var`s.
struct Cube;

impl CustomOp<f64> for Cube {
    fn name(&self) -> &'static str {
        "cube"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> tapegrad::graph::Result<Tensor<f64>> {
        Ok(x[0].map(|v| v * v * v))
    }
    fn backward<A: tapegrad::autograd::TensorAlgebra<f64>>(&self, x: &[&A], _y: &A, g: &A) -> Vec<Option<A>> {
        vec![Some(g.mul(&x[0].mul(x[0]).scale(3.0)))]
    }
}

/// A rule that forgets an input: a bug the engine must name.
struct Forgetful;

impl CustomOp<f64> for Forgetful {
    fn name(&self) -> &'static str {
        "forgetful"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> tapegrad::graph::Result<Tensor<f64>> {
        x[0].zip_with(x[1], "forgetful", |a, b| a + b)
    }
    fn backward<A: tapegrad::autograd::TensorAlgebra<f64>>(&self, _x: &[&A], _y: &A, g: &A) -> Vec<Option<A>> {
        vec![Some(g.clone())]
    }
}

#[test]
fn a_custom_op_is_one_node_with_its_own_first_second_and_forward_derivatives() {
    let g = Graph::new();
    let x = g.scalar(2.0);
    let before = g.len();
    let y = g.custom(Cube, &[x]);
    assert_eq!(g.len(), before + 1);
    assert_eq!(y.op_name(), "cube");
    assert_eq!(y.item(), 8.0);
    assert_eq!(y.backward().wrt(x).item(), 12.0);
    let hv = hvp(y, &[x], &[g.constant_scalar(1.0)]).unwrap();
    assert_eq!(hv[0].item(), 12.0); // 6x
    assert_eq!(jvp(y, &[x], &[g.constant_scalar(0.5)]).unwrap().item(), 6.0);
    let t = g.var(Tensor::from_vec(vec![1.0, -1.0], [2]).unwrap());
    let cubed = g.custom(Cube, &[t]);
    assert_eq!(jacobian(cubed, t).unwrap().to_vec(), vec![3.0, 0.0, 0.0, 3.0]);
    assert_eq!(jacfwd(cubed, t).unwrap().to_vec(), vec![3.0, 0.0, 0.0, 3.0]);
    assert!(g.to_dot(y, |_| None).contains("cube"));
}

#[test]
fn a_custom_backward_that_does_not_fit_its_inputs_is_named() {
    let g = Graph::new();
    let (a, b) = (g.scalar(1.0), g.scalar(2.0));
    let y = g.custom(Forgetful, &[a, b]);
    assert_eq!(y.item(), 3.0);
    let err = try_grad(y, &[a]).unwrap_err();
    assert_eq!(err.to_string(), "custom op forgetful: backward returned 1 gradients for 2 inputs");
    let forward_error = g.try_custom(Forgetful, &[g.var(Tensor::ones([2])), g.var(Tensor::ones([3]))]).unwrap_err();
    assert!(matches!(forward_error, Error::Graph(tapegrad::graph::Error::ShapeMismatch { op: "forgetful", .. })));
}

#[test]
fn forward_over_reverse_is_a_hessian_vector_product() {
    let g = Graph::new();
    let x = g.var(Tensor::from_vec(vec![0.5, -1.0, 2.0], [3]).unwrap());
    let y = (x.sin() * x).sum() + (x * x).sum().square();
    let v = g.constant(Tensor::from_vec(vec![1.0, 2.0, -0.5], [3]).unwrap());
    let by_forward = jvp(grad(y, &[x])[0], &[x], &[v]).unwrap().value();
    let by_reverse = hvp(y, &[x], &[v]).unwrap()[0].value();
    assert!(by_forward.allclose(&by_reverse, 1e-12, 1e-12), "{by_forward} vs {by_reverse}");
}
