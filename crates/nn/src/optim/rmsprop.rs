//! RMSprop, with PyTorch's arithmetic.

use super::state::{self, ParamState};
use super::{for_each_param, Optimizer};
use crate::params::{ParamSlot, ParamStore};
use slotmap::SecondaryMap;
use tapegrad_graph::{Float, Tensor};

/// RMSprop's running averages for one parameter.
#[derive(Clone, Debug)]
pub struct RmsState<F> {
    square_avg: Vec<F>,
    grad_avg: Vec<F>,
    momentum: Vec<F>,
}

impl<F: Float> ParamState<F> for RmsState<F> {
    const NAMES: &'static [&'static str] = &["square_avg", "grad_avg", "momentum_buffer"];
    fn buffers(&self) -> Vec<Vec<F>> {
        vec![self.square_avg.clone(), self.grad_avg.clone(), self.momentum.clone()]
    }
    fn from_buffers(b: Vec<Vec<F>>, numel: usize) -> Self {
        let mut full = b.into_iter().map(|x| if x.is_empty() { vec![F::ZERO; numel] } else { x });
        let mut next = || full.next().unwrap_or_default();
        RmsState { square_avg: next(), grad_avg: next(), momentum: next() }
    }
}

/// `torch.optim.RMSprop` (defaults lr 1e-2, alpha 0.99, eps 1e-8, weight decay 0, momentum 0,
/// not centered).
#[derive(Clone, Debug)]
pub struct RmsProp<F: Float> {
    lr: F,
    alpha: F,
    eps: F,
    weight_decay: F,
    momentum: F,
    centered: bool,
    state: SecondaryMap<ParamSlot, RmsState<F>>,
}

impl<F: Float> Default for RmsProp<F> {
    fn default() -> Self {
        Self::new(F::from_f64(1e-2))
    }
}

impl<F: Float> RmsProp<F> {
    /// RMSprop with learning rate `lr` and PyTorch's other defaults.
    pub fn new(lr: F) -> Self {
        RmsProp {
            lr,
            alpha: F::from_f64(0.99),
            eps: F::from_f64(1e-8),
            weight_decay: F::ZERO,
            momentum: F::ZERO,
            centered: false,
            state: SecondaryMap::new(),
        }
    }
    /// The smoothing constant of the squared-gradient average.
    pub fn alpha(mut self, alpha: F) -> Self {
        self.alpha = alpha;
        self
    }
    /// The denominator's ε.
    pub fn eps(mut self, eps: F) -> Self {
        self.eps = eps;
        self
    }
    /// L2 weight decay added to the gradient.
    pub fn weight_decay(mut self, weight_decay: F) -> Self {
        self.weight_decay = weight_decay;
        self
    }
    /// Momentum factor.
    pub fn momentum(mut self, momentum: F) -> Self {
        self.momentum = momentum;
        self
    }
    /// Normalise by the centered second moment (an estimate of the variance).
    pub fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }
}

impl<F: Float> Optimizer<F> for RmsProp<F> {
    fn step(&mut self, store: &mut ParamStore<F>) {
        let RmsProp { lr, alpha, eps, weight_decay, momentum, centered, .. } = *self;
        let init =
            |n| RmsState { square_avg: vec![F::ZERO; n], grad_avg: vec![F::ZERO; n], momentum: vec![F::ZERO; n] };
        for_each_param(store, &mut self.state, init, |p, grad, s| {
            for i in 0..p.len() {
                let g = grad[i] + weight_decay * p[i];
                s.square_avg[i] = s.square_avg[i] * alpha + g * g * (F::ONE - alpha);
                let avg = if centered {
                    s.grad_avg[i] = s.grad_avg[i] * alpha + g * (F::ONE - alpha);
                    (s.square_avg[i] - s.grad_avg[i] * s.grad_avg[i]).sqrt() + eps
                } else {
                    s.square_avg[i].sqrt() + eps
                };
                if momentum > F::ZERO {
                    s.momentum[i] = s.momentum[i] * momentum + g / avg;
                    p[i] -= lr * s.momentum[i];
                } else {
                    p[i] -= lr * (g / avg);
                }
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
