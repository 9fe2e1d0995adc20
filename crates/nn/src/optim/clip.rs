//! Gradient clipping, applied to the accumulated gradients before an optimizer step.

use crate::params::ParamStore;
use tapegrad_graph::Float;

/// Scales every gradient so their joint L2 norm is at most `max_norm` (PyTorch's
/// `clip_grad_norm_`, with its 1e-6 guard); returns the norm before clipping.
pub fn clip_grad_norm<F: Float>(store: &mut ParamStore<F>, max_norm: F) -> F {
    let total: F =
        store.iter().filter_map(|(_, p)| p.grad.as_ref()).flat_map(|g| g.data().iter().map(|&v| v * v)).sum();
    let norm = total.sqrt();
    let coef = max_norm / (norm + F::from_f64(1e-6));
    if coef < F::ONE {
        for (_, p) in store.iter_mut() {
            if let Some(g) = &mut p.grad {
                for v in g.data_mut() {
                    *v *= coef;
                }
            }
        }
    }
    norm
}

/// Limits every gradient element to `[−limit, limit]` (PyTorch's `clip_grad_value_`); a NaN
/// stays NaN, so divergence is not hidden.
pub fn clip_grad_value<F: Float>(store: &mut ParamStore<F>, limit: F) {
    for (_, p) in store.iter_mut() {
        if let Some(g) = &mut p.grad {
            for v in g.data_mut() {
                if *v < -limit {
                    *v = -limit;
                } else if *v > limit {
                    *v = limit;
                }
            }
        }
    }
}
