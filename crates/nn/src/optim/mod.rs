//! Optimizers with PyTorch's update rules and defaults, gradient clipping and learning-rate
//! schedules. An optimizer reads each parameter's accumulated gradient (see
//! [`ParamStore::accumulate`](crate::ParamStore::accumulate)) and updates its value in place.

mod adagrad;
mod adam;
mod clip;
mod rmsprop;
mod schedule;
mod sgd;

pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use rmsprop::RmsProp;
pub use schedule::{Constant, Cosine, LinearDecay, Schedule, StepDecay, Warmup};
pub use sgd::Sgd;

use crate::params::ParamStore;
use tapegrad_graph::Float;

/// One optimization step over every unfrozen parameter that has a gradient.
pub trait Optimizer<F: Float> {
    /// Updates the parameters from their accumulated gradients.
    fn step(&mut self, store: &mut ParamStore<F>);
    /// The current learning rate.
    fn lr(&self) -> F;
    /// Sets the learning rate (what schedules do each step).
    fn set_lr(&mut self, lr: F);
}

/// Calls `update(value, grad, state)` for every unfrozen parameter with a gradient, creating
/// its state with `init` on first use.
pub(crate) fn for_each_param<F: Float, S>(
    store: &mut ParamStore<F>,
    states: &mut slotmap::SecondaryMap<crate::params::ParamSlot, S>,
    init: impl Fn(usize) -> S,
    mut update: impl FnMut(&mut [F], &[F], &mut S),
) {
    for (id, p) in store.iter_mut() {
        if p.frozen {
            continue;
        }
        let Some(grad) = &p.grad else { continue };
        let slot = id.slot();
        if !states.contains_key(slot) {
            states.insert(slot, init(p.value.numel()));
        }
        let state = &mut states[slot];
        update(p.value.data_mut(), grad.data(), state);
    }
}
