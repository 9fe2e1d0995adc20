//! Adam and AdamW, with PyTorch's arithmetic.

use super::state::{self, ParamState};
use super::{for_each_param, Optimizer};
use crate::params::{ParamSlot, ParamStore};
use slotmap::SecondaryMap;
use tapegrad_graph::{Float, Tensor};

/// Adam's moments for one parameter.
#[derive(Clone, Debug)]
pub struct Moments<F> {
    step: i32,
    m: Vec<F>,
    v: Vec<F>,
}

fn adam_update<F: Float>(p: &mut [F], grad: &[F], s: &mut Moments<F>, (lr, beta1, beta2, eps): (F, F, F, F), l2: F) {
    s.step += 1;
    let bias1 = F::ONE - beta1.powf(F::from_f64(s.step as f64));
    let bias2 = F::ONE - beta2.powf(F::from_f64(s.step as f64));
    let step_size = lr / bias1;
    let bias2_sqrt = bias2.sqrt();
    for i in 0..p.len() {
        let g = grad[i] + l2 * p[i];
        s.m[i] = s.m[i] * beta1 + g * (F::ONE - beta1);
        s.v[i] = s.v[i] * beta2 + g * g * (F::ONE - beta2);
        let denom = s.v[i].sqrt() / bias2_sqrt + eps;
        p[i] -= step_size * (s.m[i] / denom);
    }
}

impl<F: Float> ParamState<F> for Moments<F> {
    const NAMES: &'static [&'static str] = &["exp_avg", "exp_avg_sq", "step"];
    fn buffers(&self) -> Vec<Vec<F>> {
        vec![self.m.clone(), self.v.clone(), vec![F::from_f64(self.step as f64)]]
    }
    fn from_buffers(mut b: Vec<Vec<F>>, numel: usize) -> Self {
        let step = b[2][0].to_f64() as i32;
        let v = std::mem::take(&mut b[1]);
        let m = std::mem::take(&mut b[0]);
        let full = |x: Vec<F>| if x.is_empty() { vec![F::ZERO; numel] } else { x };
        Moments { step, m: full(m), v: full(v) }
    }
}

fn moments<F: Float>(n: usize) -> Moments<F> {
    Moments { step: 0, m: vec![F::ZERO; n], v: vec![F::ZERO; n] }
}

/// `torch.optim.Adam` (defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0 added to
/// the gradient as L2).
#[derive(Clone, Debug)]
pub struct Adam<F: Float> {
    lr: F,
    betas: (F, F),
    eps: F,
    weight_decay: F,
    state: SecondaryMap<ParamSlot, Moments<F>>,
}

impl<F: Float> Default for Adam<F> {
    fn default() -> Self {
        Self::new(F::from_f64(1e-3))
    }
}

impl<F: Float> Adam<F> {
    /// Adam with learning rate `lr` and PyTorch's other defaults.
    pub fn new(lr: F) -> Self {
        Adam {
            lr,
            betas: (F::from_f64(0.9), F::from_f64(0.999)),
            eps: F::from_f64(1e-8),
            weight_decay: F::ZERO,
            state: SecondaryMap::new(),
        }
    }
    /// The moment decay rates (β₁, β₂).
    pub fn betas(mut self, beta1: F, beta2: F) -> Self {
        self.betas = (beta1, beta2);
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
}

impl<F: Float> Optimizer<F> for Adam<F> {
    fn step(&mut self, store: &mut ParamStore<F>) {
        let hyper = (self.lr, self.betas.0, self.betas.1, self.eps);
        let l2 = self.weight_decay;
        for_each_param(store, &mut self.state, moments, |p, g, s| adam_update(p, g, s, hyper, l2));
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

/// `torch.optim.AdamW`: Adam with decoupled weight decay `p ← p·(1 − lr·wd)` before the
/// update (defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2).
#[derive(Clone, Debug)]
pub struct AdamW<F: Float> {
    adam: Adam<F>,
    weight_decay: F,
}

impl<F: Float> Default for AdamW<F> {
    fn default() -> Self {
        Self::new(F::from_f64(1e-3))
    }
}

impl<F: Float> AdamW<F> {
    /// AdamW with learning rate `lr` and PyTorch's other defaults.
    pub fn new(lr: F) -> Self {
        AdamW { adam: Adam::new(lr), weight_decay: F::from_f64(1e-2) }
    }
    /// The moment decay rates (β₁, β₂).
    pub fn betas(mut self, beta1: F, beta2: F) -> Self {
        self.adam = self.adam.betas(beta1, beta2);
        self
    }
    /// The denominator's ε.
    pub fn eps(mut self, eps: F) -> Self {
        self.adam = self.adam.eps(eps);
        self
    }
    /// The decoupled weight decay.
    pub fn weight_decay(mut self, weight_decay: F) -> Self {
        self.weight_decay = weight_decay;
        self
    }
}

impl<F: Float> Optimizer<F> for AdamW<F> {
    fn step(&mut self, store: &mut ParamStore<F>) {
        let a = &mut self.adam;
        let hyper = (a.lr, a.betas.0, a.betas.1, a.eps);
        let decay = F::ONE - a.lr * self.weight_decay;
        for_each_param(store, &mut a.state, moments, |p, g, s| {
            for v in p.iter_mut() {
                *v *= decay;
            }
            adam_update(p, g, s, hyper, F::ZERO)
        });
    }
    fn lr(&self) -> F {
        self.adam.lr
    }
    fn set_lr(&mut self, lr: F) {
        self.adam.lr = lr;
    }
    fn state(&self, store: &ParamStore<F>) -> Vec<(String, Tensor<F>)> {
        self.adam.state(store)
    }
    fn load_state(&mut self, store: &ParamStore<F>, tensors: &[(String, Tensor<F>)]) -> crate::Result<()> {
        self.adam.load_state(store, tensors)
    }
}
