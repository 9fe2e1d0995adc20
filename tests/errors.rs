//! Bad input gives the specific error variant, with a message naming the op and the shapes;
//! the panicking operators panic with that same message.

use tapegrad::autograd::Error as GradError;
use tapegrad::graph::Error;
use tapegrad::prelude::*;

fn t(shape: &[usize]) -> Tensor<f64> {
    Tensor::ones(shape)
}

#[test]
fn incompatible_shapes() {
    let g = Graph::new();
    let (a, b) = (g.var(t(&[2, 3])), g.var(t(&[4])));
    let err = a.try_add(b).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { op: "add", .. }), "{err:?}");
    assert_eq!(err.to_string(), "add: shapes [2, 3] and [4] are incompatible; they cannot be broadcast together");
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a + b)).unwrap_err();
    assert_eq!(panic.downcast_ref::<String>().unwrap(), &err.to_string());
    // The one-op hinge takes labels of the scores' shape (`loss::hinge` broadcasts first).
    let err = a.try_hinge(g.constant(t(&[3]))).unwrap_err();
    assert_eq!(err.to_string(), "hinge: shapes [2, 3] and [3] are incompatible; scores and labels need one shape");
}

#[test]
fn matmul_inner_dimensions() {
    let g = Graph::new();
    let err = g.var(t(&[2, 3])).try_matmul(g.var(t(&[2, 3]))).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { op: "matmul", .. }));
    assert_eq!(err.to_string(), "matmul: shapes [2, 3] and [2, 3] are incompatible; inner dimensions 3 and 2 differ");
    let err = g.scalar(1.0).try_matmul(g.var(t(&[2]))).unwrap_err();
    assert!(err.to_string().contains("at least one dimension"), "{err}");
}

#[test]
fn bad_axis() {
    let g = Graph::new();
    let x = g.var(t(&[2, 3]));
    let err = x.try_sum_axes(&[2], false).unwrap_err();
    assert_eq!(err, Error::BadAxis { op: "sum", axis: 2, shape: [2, 3].into(), ndim: 2 });
    assert_eq!(err.to_string(), "sum: axis 2 is out of range for a tensor of shape [2, 3] (2 dims)");
    assert!(matches!(x.try_softmax(-3).unwrap_err(), Error::BadAxis { axis: -3, .. }));
    assert!(matches!(x.try_transpose(0, 5).unwrap_err(), Error::BadAxis { op: "transpose", .. }));
}

#[test]
fn non_scalar_backward() {
    let g = Graph::new();
    let x = g.var(t(&[2, 2]));
    let err = (x * 2.0).try_backward().unwrap_err();
    assert_eq!(err, GradError::NonScalarRoot { shape: [2, 2].into() });
    assert!(err.to_string().contains("backward_with"), "{err}");
    let err = (x * 2.0).try_backward_with(t(&[3])).unwrap_err();
    assert!(matches!(err, GradError::SeedShape { .. }));
    assert!(tapegrad::autograd::try_grad(x * 2.0, &[x]).is_err());
}

#[test]
fn index_out_of_range() {
    let g = Graph::new();
    let x = g.var(t(&[3, 2]));
    let err = x.try_index_select(0, &Indices::from(vec![0, 3])).unwrap_err();
    assert_eq!(err, Error::IndexOutOfRange { op: "index_select", index: 3, size: 3 });
    assert_eq!(err.to_string(), "index_select: index 3 is out of range for size 3");
    let err = x.try_gather(1, &Indices::new(vec![0, 2, 1], [3, 1]).unwrap()).unwrap_err();
    assert!(matches!(err, Error::IndexOutOfRange { op: "gather", index: 2, size: 2 }));
    assert!(matches!(x.try_slice(0, 1, 4).unwrap_err(), Error::IndexOutOfRange { op: "slice", .. }));
}

#[test]
fn empty_inputs() {
    let g = Graph::new();
    let empty = g.var(Tensor::zeros([0, 3]));
    assert_eq!(empty.try_max_axes(&[0], false).unwrap_err(), Error::Empty { op: "max", what: "the reduced axis" });
    // The mean of nothing is NaN and max over a non-empty axis of an empty tensor is empty,
    // as in PyTorch.
    assert!(empty.try_mean_axes(&[], false).unwrap().item().is_nan());
    assert_eq!(empty.try_max_axes(&[1], false).unwrap().shape().dims(), &[0]);
    assert!(matches!(Var::<f64>::try_concat(&[], 0).unwrap_err(), Error::Empty { op: "concat", .. }));
    assert!(matches!(Var::<f64>::try_sum_squares_of(&[]).unwrap_err(), Error::Empty { op: "sum_squares_of", .. }));
    // Σ x² over an empty tensor is 0, as `sum_squares` gives.
    assert_eq!(Var::sum_squares_of(&[empty]).item(), 0.0);
    // The hinge of nothing is NaN, as the mean of nothing.
    assert!(empty.try_hinge(Tensor::zeros([0, 3])).unwrap().item().is_nan());
    assert_eq!(
        empty.try_item().unwrap_err().to_string(),
        "item: expected a single element, got a tensor of shape [0, 3]"
    );
}

#[test]
fn construction_errors() {
    let err = Tensor::from_vec(vec![1.0, 2.0, 3.0], [2, 2]).unwrap_err();
    assert_eq!(err.to_string(), "from_vec: 3 elements cannot have shape [2, 2] (4 elements)");
    let g = Graph::new();
    assert!(matches!(g.var(t(&[6])).try_reshape([4]).unwrap_err(), Error::ElementCount { op: "reshape", .. }));
    assert!(matches!(g.var(t(&[2, 2])).try_squeeze(0).unwrap_err(), Error::InvalidArgument { op: "squeeze", .. }));
    assert!(matches!(
        g.var(t(&[2, 2])).try_permute(&[0, 0]).unwrap_err(),
        Error::InvalidArgument { op: "permute", .. }
    ));
    assert!(Tensor::<f64>::arange(0.0, 1.0, 0.0).is_err());
}

#[test]
fn operands_from_two_graphs() {
    let (g1, g2) = (Graph::new(), Graph::new());
    let err = g1.scalar(1.0).try_add(g2.scalar(2.0)).unwrap_err();
    assert_eq!(err, Error::ForeignGraph { op: "add" });
    let err = Var::try_sum_squares_of(&[g1.scalar(1.0), g2.scalar(2.0)]).unwrap_err();
    assert_eq!(err, Error::ForeignGraph { op: "sum_squares_of" });
    assert_eq!(g1.scalar(1.0).try_hinge(g2.scalar(1.0)).unwrap_err(), Error::ForeignGraph { op: "hinge" });
}
