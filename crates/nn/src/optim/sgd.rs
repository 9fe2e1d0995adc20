//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

use super::{for_each_param, Optimizer};
use crate::params::{ParamId, ParamStore};
use slotmap::SecondaryMap;
use tapegrad_graph::Float;

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
    buffers: SecondaryMap<ParamId, Vec<F>>,
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
                let first = buf.is_empty();
                for i in 0..p.len() {
                    let mut d = grad[i] + weight_decay * p[i];
                    if momentum != F::ZERO {
                        if first {
                            buf.push(d);
                        } else {
                            buf[i] = momentum * buf[i] + (F::ONE - dampening) * d;
                        }
                        d = if nesterov { d + momentum * buf[i] } else { buf[i] };
                    }
                    p[i] -= lr * d;
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
}
