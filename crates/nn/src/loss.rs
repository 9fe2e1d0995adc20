//! Loss functions, as PyTorch defines them (mean reduction), plus micrograd's list forms.

use crate::error::{Error, Result};
use tapegrad_graph::{Float, Graph, Indices, Var};

/// Python's `sum(values)`: a constant 0 plus each value in turn (what micrograd records);
/// the constant 0 for an empty list.
pub fn sum_scalars<'g, F: Float>(graph: &'g Graph<F>, values: &[Var<'g, F>]) -> Var<'g, F> {
    let mut total = graph.constant_scalar(F::ZERO);
    for v in values {
        total = total + *v;
    }
    total
}

/// micrograd's SVM max-margin loss over a list of scalar scores and ±1 labels:
/// `sum(relu(1 − yᵢ·scoreᵢ)) / n`.
pub fn hinge_scalars<'g, F: Float>(scores: &[Var<'g, F>], labels: &[F]) -> Result<Var<'g, F>> {
    if scores.is_empty() || scores.len() != labels.len() {
        return Err(Error::InvalidArgument {
            op: "hinge_scalars",
            message: format!("{} scores and {} labels", scores.len(), labels.len()),
        });
    }
    let g = scores[0].graph();
    let losses: Vec<_> = scores
        .iter()
        .zip(labels)
        .map(|(s, &y)| (g.constant_scalar(F::ONE) + g.constant_scalar(-y) * *s).relu())
        .collect();
    Ok(sum_scalars(g, &losses) * (F::ONE / F::from_usize(losses.len())))
}

/// Mean squared error, `mean((pred − target)²)`.
pub fn mse<'g, F: Float>(pred: Var<'g, F>, target: Var<'g, F>) -> Result<Var<'g, F>> {
    Ok(pred.try_sub(target)?.square().mean())
}

/// Mean absolute error, `mean(|pred − target|)`.
pub fn l1<'g, F: Float>(pred: Var<'g, F>, target: Var<'g, F>) -> Result<Var<'g, F>> {
    Ok(pred.try_sub(target)?.abs().mean())
}

/// The SVM max-margin loss for scores and ±1 labels, `mean(relu(1 − y·score))`, as one
/// [`Var::hinge`] node (labels of another shape are broadcast against the scores first).
///
/// ```
/// use tapegrad_graph::{Graph, Tensor};
/// let g = Graph::<f64>::new();
/// let scores = g.var(Tensor::from_vec(vec![2.0, 0.5], [2, 1])?);
/// let labels = g.constant(Tensor::from_vec(vec![1.0, -1.0], [2, 1])?);
/// assert_eq!(tapegrad_nn::loss::hinge(scores, labels)?.item(), 0.75);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn hinge<'g, F: Float>(scores: Var<'g, F>, labels: Var<'g, F>) -> Result<Var<'g, F>> {
    let shape = scores.shape().broadcast(&labels.shape(), "hinge")?;
    let widened = |v: Var<'g, F>| if v.shape() == shape { Ok(v) } else { v.try_broadcast_to(&shape) };
    Ok(widened(scores)?.try_hinge(widened(labels)?)?)
}

/// Binary cross-entropy on logits with targets in [0, 1], computed stably as
/// `mean(softplus(x) − x·t)` (PyTorch's `BCEWithLogitsLoss`).
pub fn bce_with_logits<'g, F: Float>(logits: Var<'g, F>, targets: Var<'g, F>) -> Result<Var<'g, F>> {
    Ok(logits.softplus().try_sub(logits.try_mul(targets)?)?.mean())
}

/// The negative log-likelihood of class indices under log-probabilities `[n, classes]`: one
/// label per row (like PyTorch, a count that differs is an error); NaN for an empty batch.
pub fn nll<'g, F: Float>(log_probs: Var<'g, F>, labels: &[usize]) -> Result<Var<'g, F>> {
    let shape = log_probs.shape();
    if shape.ndim() != 2 || shape.dims()[0] != labels.len() {
        return Err(Error::InvalidArgument {
            op: "nll",
            message: format!(
                "{} labels for scores of shape {shape}; expected one label per row of [n, classes]",
                labels.len()
            ),
        });
    }
    let picked = log_probs.try_gather(1, &label_column(labels)?)?;
    Ok(-picked.mean())
}

/// Cross-entropy of logits `[n, classes]` against class indices, through a stable
/// log-softmax, with optional label smoothing ε (PyTorch's `CrossEntropyLoss`):
/// `(1 − ε)·nll + ε·mean over classes of −log p`.
///
/// ```
/// use tapegrad_graph::{Graph, Tensor};
/// let g = Graph::new();
/// let logits = g.var(Tensor::from_vec(vec![2.0, 0.0, 0.0, 2.0], [2, 2])?);
/// let loss = tapegrad_nn::loss::cross_entropy(logits, &[0, 1], 0.0)?;
/// assert!((loss.item() - (1.0 + (-2.0f64).exp()).ln()).abs() < 1e-12);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn cross_entropy<'g, F: Float>(logits: Var<'g, F>, labels: &[usize], label_smoothing: F) -> Result<Var<'g, F>> {
    if !(F::ZERO..=F::ONE).contains(&label_smoothing) {
        return Err(Error::InvalidArgument {
            op: "cross_entropy",
            message: format!("label smoothing {label_smoothing} is outside [0, 1]"),
        });
    }
    let log_probs = logits.try_log_softmax(-1)?;
    let nll = nll(log_probs, labels).map_err(|e| match e {
        Error::InvalidArgument { message, .. } => Error::InvalidArgument { op: "cross_entropy", message },
        other => other,
    })?;
    if label_smoothing == F::ZERO {
        return Ok(nll);
    }
    let smooth = -log_probs.mean();
    Ok(nll * (F::ONE - label_smoothing) + smooth * label_smoothing)
}

/// Σ |p| over the given parameters (an L1 penalty).
pub fn l1_penalty<'g, F: Float>(params: &[Var<'g, F>]) -> Result<Var<'g, F>> {
    penalty(params, |p| p.abs().sum())
}

/// Σ p² over the given parameters (an L2 penalty; micrograd's `sum(p*p)`), as one
/// [`Var::sum_squares_of`] node: the sum of one [`Var::sum_squares`] per parameter, bit for
/// bit, in one node where that takes two a parameter.
pub fn l2_penalty<'g, F: Float>(params: &[Var<'g, F>]) -> Result<Var<'g, F>> {
    if params.is_empty() {
        return Err(no_parameters());
    }
    Ok(Var::try_sum_squares_of(params)?)
}

fn penalty<'g, F: Float>(params: &[Var<'g, F>], term: impl Fn(Var<'g, F>) -> Var<'g, F>) -> Result<Var<'g, F>> {
    let first = params.first().ok_or_else(no_parameters)?;
    let terms: Vec<_> = params.iter().map(|p| term(*p)).collect();
    Ok(sum_scalars(first.graph(), &terms))
}

/// A penalty's error for an empty list of parameters.
fn no_parameters() -> Error {
    Error::InvalidArgument { op: "penalty", message: "no parameters".into() }
}

fn label_column(labels: &[usize]) -> Result<Indices> {
    Ok(Indices::new(labels.to_vec(), [labels.len(), 1])?)
}
