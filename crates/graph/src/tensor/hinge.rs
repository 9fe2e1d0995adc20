//! The hinge loss `mean(relu(1 − s·y))` and its gradients, one pass each, computed with the
//! forwards and rules of the ops it stands for (`mul`, `sub`, `relu`, `sum`, `mean`'s factor),
//! so it gives their bits.

use super::elementwise::{pass_output, zip_pass};
use super::reduce::fold_pair_lanes;
use super::Tensor;
use crate::error::{Error, Result};
use crate::float::Float;
use crate::op::{BinaryOp, UnaryOp};

impl<F: Float> Tensor<F> {
    /// The hinge loss of scores `self` against labels (±1) of the same shape,
    /// `mean(relu(1 − s·y))`, as a 0-d tensor: the bits `(1 − s·y).relu().mean()` gives
    /// (NaN for no elements, as the mean of nothing). An error when the shapes differ.
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let scores = Tensor::from_vec(vec![2.0, 0.5, -1.0, 1.0], [4])?;
    /// let labels = Tensor::ones([4]);
    /// // (relu(1 − 2) + relu(1 − 0.5) + relu(1 + 1) + relu(1 − 1)) / 4 = (0 + 0.5 + 2 + 0) / 4
    /// assert_eq!(scores.hinge(&labels)?.item(), 0.625);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn hinge(&self, labels: &Tensor<F>) -> Result<Tensor<F>> {
        Ok(Tensor::scalar(self.hinge_mean(labels)?))
    }

    /// [`Tensor::hinge`]'s value as a number (a replay writes it over its last output).
    pub(crate) fn hinge_mean(&self, labels: &Tensor<F>) -> Result<F> {
        same_shape(self, labels)?;
        // `sum`'s step in `sum`'s chains, over the elements `relu(1 − s·y)` never stored.
        let add_loss = |total: F, s: F, y: F| total + terms(s, y).loss;
        let sum = fold_pair_lanes(self.data(), labels.data(), F::ZERO, &add_loss, &|a, b| a + b);
        Ok(BinaryOp::Mul.apply(sum, mean_factor::<F>(self.numel())))
    }

    /// The gradients of [`Tensor::hinge`] with respect to the scores `self` and the labels,
    /// where `need` asks, given the loss's gradient `g`: `−(g/n)·y` and `−(g/n)·s` where
    /// `1 − s·y` is above 0, and 0 elsewhere (signed as the composed rules sign it). An error
    /// when the shapes differ.
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let scores = Tensor::from_vec(vec![2.0, 0.5], [2])?;
    /// let labels = Tensor::from_vec(vec![1.0, -1.0], [2])?;
    /// let [ds, _] = scores.hinge_grads(&labels, 1.0, [true, false])?;
    /// assert_eq!(ds.unwrap().to_vec(), vec![0.0, 0.5]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn hinge_grads(&self, labels: &Tensor<F>, g: F, need: [bool; 2]) -> Result<[Option<Tensor<F>>; 2]> {
        same_shape(self, labels)?;
        // `mean`'s factor is a product's second operand: its rule sends g·c to the sum, whose
        // rule spreads it to every element.
        let spread = g * mean_factor::<F>(self.numel());
        Ok([
            need[0].then(|| self.hinge_grad::<0>(labels, spread)),
            need[1].then(|| self.hinge_grad::<1>(labels, spread)),
        ])
    }

    /// The gradient of side `SIDE` (0 the scores, 1 the labels), the side fixed when compiling
    /// so the loop is SIMD.
    fn hinge_grad<const SIDE: usize>(&self, labels: &Tensor<F>, spread: F) -> Tensor<F> {
        let mut out = pass_output(self.numel());
        let grad = |s, y| element_grads(s, y, spread, [SIDE == 0, SIDE == 1])[SIDE];
        zip_pass(&mut out, self.data(), labels.data(), &grad);
        Tensor::from_parts(out, self.shape().clone())
    }
}

/// One element's values on the way: `s·y`, `1 − s·y` and `relu(1 − s·y)`.
struct Terms<F> {
    product: F,
    margin: F,
    loss: F,
}

/// [`Terms`] of one element, by the ops' own forwards.
#[inline(always)]
fn terms<F: Float>(s: F, y: F) -> Terms<F> {
    let product = BinaryOp::Mul.apply(s, y);
    let margin = BinaryOp::Sub.apply(F::ONE, product);
    Terms { product, margin, loss: UnaryOp::Relu.apply(margin) }
}

/// One element's (∂/∂s, ∂/∂y) of `relu(1 − s·y)` reached by `g`: relu's, sub's and mul's
/// rules in turn, as the backward sweep runs them on the composed ops.
#[inline(always)]
fn element_grads<F: Float>(s: F, y: F, g: F, need: [bool; 2]) -> [F; 2] {
    let Terms { product, margin, loss } = terms(s, y);
    let at_margin = UnaryOp::Relu.derivative(&margin, &loss, &g);
    // Both rules compute every side asked for.
    let [_, at_product] = BinaryOp::Sub.derivative(&F::ONE, &product, &margin, &at_margin, [false, true]);
    let at_product = at_product.unwrap_or(F::ZERO);
    let [ds, dy] = BinaryOp::Mul.derivative(&s, &y, &product, &at_product, need);
    [ds.unwrap_or(F::ZERO), dy.unwrap_or(F::ZERO)]
}

/// `mean`'s factor 1/n, as `mean` computes it.
fn mean_factor<F: Float>(n: usize) -> F {
    F::ONE / F::from_usize(n)
}

/// The hinge's shape error: scores and labels must have one shape.
fn same_shape<F: Float>(scores: &Tensor<F>, labels: &Tensor<F>) -> Result<()> {
    if scores.shape() == labels.shape() {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            op: "hinge",
            lhs: scores.shape().clone(),
            rhs: labels.shape().clone(),
            hint: "; scores and labels need one shape".into(),
        })
    }
}
