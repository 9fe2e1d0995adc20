//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

use super::state::{self, ParamState};
use super::{for_each_param, Optimizer};
use crate::params::{ParamSlot, ParamStore};
use slotmap::SecondaryMap;
use tapegrad_graph::{Float, Tensor};

/// `torch.optim.SGD`: `g = grad + wd·p`; with momentum `b = μ·b + (1 − dampening)·g` (the first
/// step takes `b = g`), then `g = g + μ·b` (Nesterov) or `g = b`; finally `p −= lr·g`.
///
/// ```
/// use tapegrad_nn::optim::{Optimizer, Sgd};
/// let mut opt = Sgd::<f64>::new(0.1).momentum(0.9).nesterov(true).weight_decay(1e-4);
/// assert_eq!(opt.lr(), 0.1);
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<F: Float> {
    lr: F,
    momentum: F,
    dampening: F,
    nesterov: bool,
    weight_decay: F,
    buffers: SecondaryMap<ParamSlot, Vec<F>>,
}

impl<F: Float> Sgd<F> {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: F) -> Self {
        Sgd {
            lr,
            momentum: F::ZERO,
            dampening: F::ZERO,
            nesterov: false,
            weight_decay: F::ZERO,
            buffers: SecondaryMap::new(),
        }
    }
    /// Momentum factor μ (default 0).
    pub fn momentum(mut self, momentum: F) -> Self {
        self.momentum = momentum;
        self
    }
    /// Dampening of the momentum (default 0).
    pub fn dampening(mut self, dampening: F) -> Self {
        self.dampening = dampening;
        self
    }
    /// Nesterov momentum (default off).
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }
    /// L2 weight decay added to the gradient (default 0).
    pub fn weight_decay(mut self, weight_decay: F) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

impl<F: Float> Optimizer<F> for Sgd<F> {
    fn step(&mut self, store: &mut ParamStore<F>) {
        let Sgd { lr, momentum, dampening, nesterov, weight_decay, .. } = *self;
        for_each_param(
            store,
            &mut self.buffers,
            |_| Vec::new(),
            |p, grad, buf| {
                if momentum == F::ZERO {
                    for (p, &g) in p.iter_mut().zip(grad) {
                        *p -= lr * (g + weight_decay * *p);
                    }
                    return;
                }
                if buf.is_empty() {
                    buf.extend(p.iter().zip(grad).map(|(&p, &g)| g + weight_decay * p));
                } else {
                    for ((b, &p), &g) in buf.iter_mut().zip(p.iter()).zip(grad) {
                        *b = momentum * *b + (F::ONE - dampening) * (g + weight_decay * p);
                    }
                }
                for ((p, &b), &g) in p.iter_mut().zip(buf.iter()).zip(grad) {
                    let d = if nesterov { (g + weight_decay * *p) + momentum * b } else { b };
                    *p -= lr * d;
                }
            },
        );
    }
    fn lr(&self) -> F {
        self.lr
    }
    fn set_lr(&mut self, lr: F) {
        self.lr = lr;
    }
    fn state(&self, store: &ParamStore<F>) -> Vec<(String, Tensor<F>)> {
        state::export(store, &self.buffers)
    }
    fn load_state(&mut self, store: &ParamStore<F>, tensors: &[(String, Tensor<F>)]) -> crate::Result<()> {
        state::import(store, &mut self.buffers, tensors)
    }
}

/// SGD's momentum buffer (empty until the first step with momentum).
impl<F: Float> ParamState<F> for Vec<F> {
    const NAMES: &'static [&'static str] = &["momentum_buffer"];
    fn buffers(&self) -> Vec<Vec<F>> {
        vec![self.clone()]
    }
    fn from_buffers(mut b: Vec<Vec<F>>, _numel: usize) -> Self {
        std::mem::take(&mut b[0])
    }
}
