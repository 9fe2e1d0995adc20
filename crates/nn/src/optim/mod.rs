//! Optimizers with PyTorch's update rules and defaults, gradient clipping and learning-rate
//! schedules. An optimizer reads each parameter's accumulated gradient (see
//! [`ParamStore::accumulate`](crate::ParamStore::accumulate)) and updates its value in place.

mod adagrad;
mod adam;
mod clip;
mod rmsprop;
mod schedule;
mod sgd;
mod state;

pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use rmsprop::RmsProp;
pub use schedule::{Constant, Cosine, LinearDecay, Schedule, StepDecay, Warmup};
pub use sgd::Sgd;

use crate::params::ParamStore;
use tapegrad_graph::{Float, Tensor};

/// One optimization step over every unfrozen parameter that has a gradient.
pub trait Optimizer<F: Float> {
    /// Updates the parameters from their accumulated gradients.
    fn step(&mut self, store: &mut ParamStore<F>);
    /// The current learning rate.
    fn lr(&self) -> F;
    /// Sets the learning rate (what schedules do each step).
    fn set_lr(&mut self, lr: F);
    /// The per-parameter state (moments, momentum buffers, step counts) as tensors named
    /// `{parameter}.{buffer}` with PyTorch's buffer names, e.g. `layers.0.weight.exp_avg`;
    /// [`io::save_optimizer`](crate::io::save_optimizer) writes them to a file.
    fn state(&self, store: &ParamStore<F>) -> Vec<(String, Tensor<F>)>;
    /// Replaces the per-parameter state with `tensors` as [`Optimizer::state`] names them, so
    /// the next step continues exactly where the saved run stopped; a tensor that names no
    /// buffer of a parameter of `store`, or has the wrong size, is an error and changes nothing.
    fn load_state(&mut self, store: &ParamStore<F>, tensors: &[(String, Tensor<F>)]) -> crate::Result<()>;
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
