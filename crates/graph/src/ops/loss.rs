//! Losses that are one op: the hinge.

use crate::error::{expect_op, Result};
use crate::float::Float;
use crate::op::Op;
use crate::var::{IntoVar, Var};

impl<'g, F: Float> Var<'g, F> {
    /// The hinge (SVM max-margin) loss of scores `self` against ±1 labels of the same shape,
    /// `mean(relu(1 − s·y))`, as one scalar node. Its value and gradients are the bits of
    /// `(1 − self·labels).relu().mean()`, which records five nodes; it differentiates again
    /// (through those ops) like any other.
    ///
    /// # Panics
    /// When the shapes differ or the labels belong to another graph; see [`Var::try_hinge`].
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor};
    /// let g = Graph::<f64>::new();
    /// let scores = g.var(Tensor::from_vec(vec![2.0, 0.5], [2])?);
    /// let loss = scores.hinge(Tensor::from_vec(vec![1.0, -1.0], [2])?);
    /// // (relu(1 − 2) + relu(1 + 0.5)) / 2
    /// assert_eq!(loss.item(), 0.75);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn hinge(self, labels: impl IntoVar<'g, F>) -> Var<'g, F> {
        expect_op(self.try_hinge(labels))
    }
    /// [`Var::hinge`], or a shape error when the labels' shape is not the scores', or a
    /// foreign-graph error.
    #[track_caller]
    pub fn try_hinge(self, labels: impl IntoVar<'g, F>) -> Result<Var<'g, F>> {
        let labels = labels.into_var(self.graph());
        self.same_graph(labels, "hinge")?;
        let (s, y) = (self.id(), labels.id());
        Var::record_with(self.graph(), &[self, labels], Op::Hinge(s, y), |tape| {
            tape.tensor_cow(s).hinge(&tape.tensor_cow(y))
        })
    }
}
