//! Gradient checkpointing (PyTorch's `torch.utils.checkpoint`, JAX's `remat`): a segment of
//! the computation is recorded as one node; its inside lives only while it runs, and backward
//! runs it again to differentiate it. Memory for time.

use crate::backward::Backward;
use crate::custom::Rule;
use crate::error::{Error, Result};
use std::sync::Arc;
use tapegrad_graph::{Float, Graph, Tensor, Var};

/// A checkpointed segment: a function of its inputs, run once forward and again in backward.
type Segment<F> = dyn for<'s> Fn(&[Var<'s, F>]) -> Var<'s, F> + Send + Sync;

struct Checkpoint<F: Float>(Box<Segment<F>>);

/// Runs `segment` on `inputs` as a checkpointed segment: only the inputs and the output stay on
/// `graph`'s tape (one node, `"checkpoint"`); the nodes inside are recorded on a scratch graph
/// and dropped. Backward runs the segment again, on the saved inputs, to differentiate it — so
/// peak memory holds one segment's inside at a time, for a second forward pass of each.
///
/// Everything the segment reads that should get a gradient (weights too) must come in through
/// `inputs`; it may not capture `Var`s (the lifetimes forbid it). It must compute the same
/// thing when run again: `nn::layers::Checkpoint` makes `Dropout` inside repeat its mask.
/// Gradients of gradients work: `grad` through a checkpoint records the segment again.
///
/// ```
/// use tapegrad_autograd::{checkpoint, Backward};
/// use tapegrad_graph::{Graph, Tensor};
/// let g = Graph::new();
/// let x = g.var(Tensor::from_vec(vec![0.5, -1.0], [1, 2])?);
/// let w = g.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 2])?);
/// let before = g.len();
/// let y = checkpoint(&g, &[x, w], |v| v[0].matmul(v[1]).tanh().matmul(v[1]).sum());
/// assert_eq!(g.len(), before + 1); // one node for the whole segment
/// let grads = y.backward();
///
/// let plain = (x.matmul(w).tanh().matmul(w).sum()).backward();
/// assert_eq!(grads.wrt(w).to_vec(), plain.wrt(w).to_vec());
/// # Ok::<(), tapegrad_graph::Error>(())
/// ```
///
/// # Panics
/// When `inputs` are of another graph or the segment's first run panics; see
/// [`try_checkpoint`].
#[track_caller]
pub fn checkpoint<'g, F: Float>(
    graph: &'g Graph<F>,
    inputs: &[Var<'g, F>],
    segment: impl for<'s> Fn(&[Var<'s, F>]) -> Var<'s, F> + Send + Sync + 'static,
) -> Var<'g, F> {
    crate::error::expect(try_checkpoint(graph, inputs, segment))
}

/// [`checkpoint`], or the error of recording its node (an input of another graph, a full tape).
#[track_caller]
pub fn try_checkpoint<'g, F: Float>(
    graph: &'g Graph<F>,
    inputs: &[Var<'g, F>],
    segment: impl for<'s> Fn(&[Var<'s, F>]) -> Var<'s, F> + Send + Sync + 'static,
) -> Result<Var<'g, F>> {
    crate::custom::record(graph, Arc::new(Checkpoint(Box::new(segment))), inputs)
}

impl<F: Float> Rule<F> for Checkpoint<F> {
    fn name(&self) -> &'static str {
        "checkpoint"
    }
    fn forward(&self, inputs: &[&Tensor<F>]) -> tapegrad_graph::Result<Tensor<F>> {
        let scratch = Graph::<F>::default();
        let xs: Vec<Var<'_, F>> = inputs.iter().map(|&t| scratch.constant(t.clone())).collect();
        Ok((self.0)(&xs).value())
    }
    fn backward_tensors(&self, inputs: &[&Tensor<F>], _: &Tensor<F>, grad: &Tensor<F>) -> Vec<Option<Tensor<F>>> {
        let scratch = Graph::<F>::default();
        let xs: Vec<Var<'_, F>> = inputs.iter().map(|&t| scratch.var(t.clone())).collect();
        match (self.0)(&xs).try_backward_with(grad.clone()) {
            Ok(grads) => xs.iter().map(|&x| grads.get(x)).collect(),
            // The segment's output does not depend on its inputs.
            Err(Error::NoGradient) => vec![None; xs.len()],
            Err(e) => panic!("checkpoint: running the segment again failed: {e}"),
        }
    }
    fn backward_vars<'g>(
        &self,
        inputs: &[&Var<'g, F>],
        _: &Var<'g, F>,
        grad: &Var<'g, F>,
    ) -> Result<Vec<Option<Var<'g, F>>>> {
        let xs: Vec<Var<'g, F>> = inputs.iter().map(|&&x| x).collect();
        let y = (self.0)(&xs);
        Ok(crate::grad::grad_with(y, &xs, *grad)?.into_iter().map(Some).collect())
    }
}
