//! Dropout.

use crate::error::{Error, Result};
use crate::module::{Forward, Module};
use crate::params::{Bound, ParamId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Mutex;
use tapegrad_graph::{Float, Tensor, Var};

/// Zeroes each element with probability `p` in training mode and scales the rest by
/// 1/(1 − p) (inverted dropout, as PyTorch); the identity in evaluation mode. It draws from
/// its own RNG, seeded by the caller.
#[derive(Debug)]
pub struct Dropout {
    p: f64,
    training: bool,
    rng: Mutex<StdRng>,
}

impl Dropout {
    /// Dropout with probability `p` in `[0, 1)`, its RNG seeded with `seed`.
    pub fn new(p: f64, seed: u64) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::InvalidArgument {
                op: "Dropout::new",
                message: format!("probability {p} is outside [0, 1)"),
            });
        }
        Ok(Dropout { p, training: true, rng: Mutex::new(StdRng::seed_from_u64(seed)) })
    }
}

impl<F: Float> Module<F> for Dropout {
    fn parameters(&self) -> Vec<ParamId> {
        Vec::new()
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

impl<F: Float> Forward<F> for Dropout {
    fn forward<'g>(&self, _: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        if !self.training || self.p == 0.0 {
            return x;
        }
        let shape = x.shape();
        let keep = F::from_f64(1.0 / (1.0 - self.p));
        let n = shape.numel();
        let kept = super::draw_mask(n, || {
            let mut rng = self.rng.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            (0..n).map(|_| rng.random::<f64>() >= self.p).collect()
        });
        let mask: Vec<F> = kept.into_iter().map(|k| if k { keep } else { F::ZERO }).collect();
        let mask = Tensor::from_vec(mask, shape).expect("one mask element per input element");
        // The mask is drawn now and baked into the tape: a replayed tape would reuse it.
        x.graph().note_read(None, "Dropout's mask");
        x * x.graph().constant(mask)
    }
}
