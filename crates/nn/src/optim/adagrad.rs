//! Adagrad, with PyTorch's arithmetic.

use super::state::{self, ParamState};
use super::{for_each_param, Optimizer};
use crate::params::{ParamSlot, ParamStore};
use slotmap::SecondaryMap;
use tapegrad_graph::{Float, Tensor};

/// Adagrad's sum of squared gradients for one parameter, and its step count.
#[derive(Clone, Debug)]
pub struct AdagradState<F> {
    step: u64,
    sum: Vec<F>,
}

impl<F: Float> ParamState<F> for AdagradState<F> {
    const NAMES: &'static [&'static str] = &["sum", "step"];
    fn buffers(&self) -> Vec<Vec<F>> {
        vec![self.sum.clone(), vec![F::from_f64(self.step as f64)]]
    }
    fn from_buffers(mut b: Vec<Vec<F>>, _numel: usize) -> Self {
        AdagradState { step: b[1][0].to_f64() as u64, sum: std::mem::take(&mut b[0]) }
    }
}

/// `torch.optim.Adagrad` (defaults lr 1e-2, lr decay 0, weight decay 0, initial accumulator
/// 0, eps 1e-10): `sum += g²`, `p −= lr / (1 + (step − 1)·lr_decay) · g / (√sum + eps)`.
///
/// ```
/// use tapegrad_graph::Tensor;
/// use tapegrad_nn::{optim::{Adagrad, Optimizer}, ParamStore};
/// let mut store = ParamStore::<f64>::new();
/// let w = store.add("w", Tensor::scalar(1.0))?;
/// store.get_mut(w).unwrap().grad = Some(Tensor::scalar(2.0));
/// let mut opt = Adagrad::new(0.1);
/// opt.step(&mut store);
/// assert!((store[w].value.item() - 0.9).abs() < 1e-9); // 1 − 0.1 · 2 / √4
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Adagrad<F: Float> {
    lr: F,
    lr_decay: F,
    weight_decay: F,
    initial_accumulator: F,
    eps: F,
    state: SecondaryMap<ParamSlot, AdagradState<F>>,
}

impl<F: Float> Default for Adagrad<F> {
    fn default() -> Self {
        Self::new(F::from_f64(1e-2))
    }
}

impl<F: Float> Adagrad<F> {
    /// Adagrad with learning rate `lr` and PyTorch's other defaults.
    pub fn new(lr: F) -> Self {
        Adagrad {
            lr,
            lr_decay: F::ZERO,
            weight_decay: F::ZERO,
            initial_accumulator: F::ZERO,
            eps: F::from_f64(1e-10),
            state: SecondaryMap::new(),
        }
    }
    /// The learning rate's decay per step.
    pub fn lr_decay(mut self, lr_decay: F) -> Self {
        self.lr_decay = lr_decay;
        self
    }
    /// L2 weight decay added to the gradient.
    pub fn weight_decay(mut self, weight_decay: F) -> Self {
        self.weight_decay = weight_decay;
        self
    }
    /// The sum of squares each parameter starts from.
    pub fn initial_accumulator(mut self, value: F) -> Self {
        self.initial_accumulator = value;
        self
    }
    /// The denominator's ε.
    pub fn eps(mut self, eps: F) -> Self {
        self.eps = eps;
        self
    }
}

impl<F: Float> Optimizer<F> for Adagrad<F> {
    fn step(&mut self, store: &mut ParamStore<F>) {
        let (lr, decay, l2, eps, start) =
            (self.lr, self.lr_decay, self.weight_decay, self.eps, self.initial_accumulator);
        let init = |n| AdagradState { step: 0, sum: vec![start; n] };
        for_each_param(store, &mut self.state, init, |p, grad, s| {
            s.step += 1;
            let clr = lr / (F::ONE + F::from_f64((s.step - 1) as f64) * decay);
            for i in 0..p.len() {
                let g = grad[i] + l2 * p[i];
                s.sum[i] += g * g;
                p[i] -= clr * (g / (s.sum[i].sqrt() + eps));
            }
        });
    }
    fn lr(&self) -> F {
        self.lr
    }
    fn set_lr(&mut self, lr: F) {
        self.lr = lr;
    }
    fn state(&self, store: &ParamStore<F>) -> Vec<(String, Tensor<F>)> {
        state::export(store, &self.state)
    }
    fn load_state(&mut self, store: &ParamStore<F>, tensors: &[(String, Tensor<F>)]) -> crate::Result<()> {
        state::import(store, &mut self.state, tensors)
    }
}
