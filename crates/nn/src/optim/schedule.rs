//! Learning-rate schedules: the learning rate for step `k` (0-based).

use tapegrad_graph::Float;

/// A learning rate as a function of the step.
pub trait Schedule<F: Float> {
    /// The learning rate at step `step`.
    fn lr(&self, step: usize) -> F;
}

/// The same rate every step.
#[derive(Clone, Copy, Debug)]
pub struct Constant<F>(pub F);

impl<F: Float> Schedule<F> for Constant<F> {
    fn lr(&self, _: usize) -> F {
        self.0
    }
}

/// Linear from `start` at step 0 to `end` at step `steps` (and `end` after); micrograd's demo
/// uses `LinearDecay { start: 1.0, end: 0.1, steps: 100 }`, i.e. `1.0 − 0.9·k/100`.
#[derive(Clone, Copy, Debug)]
pub struct LinearDecay<F> {
    /// The rate at step 0.
    pub start: F,
    /// The rate from step `steps` on.
    pub end: F,
    /// The length of the decay.
    pub steps: usize,
}

impl<F: Float> Schedule<F> for LinearDecay<F> {
    fn lr(&self, step: usize) -> F {
        let t = F::from_usize(step.min(self.steps)) / F::from_usize(self.steps.max(1));
        self.start - (self.start - self.end) * t
    }
}

/// `lr · gamma^(step / step_size)` (PyTorch's `StepLR`).
#[derive(Clone, Copy, Debug)]
pub struct StepDecay<F> {
    /// The initial rate.
    pub lr: F,
    /// Steps between decays.
    pub step_size: usize,
    /// The decay factor.
    pub gamma: F,
}

impl<F: Float> Schedule<F> for StepDecay<F> {
    fn lr(&self, step: usize) -> F {
        self.lr * self.gamma.powf(F::from_usize(step / self.step_size.max(1)))
    }
}

/// Cosine annealing from `lr` to `min_lr` over `steps` (PyTorch's `CosineAnnealingLR`,
/// without restarts).
#[derive(Clone, Copy, Debug)]
pub struct Cosine<F> {
    /// The initial rate.
    pub lr: F,
    /// The final rate.
    pub min_lr: F,
    /// The length of the schedule.
    pub steps: usize,
}

impl<F: Float> Schedule<F> for Cosine<F> {
    fn lr(&self, step: usize) -> F {
        let t = step.min(self.steps) as f64 / self.steps.max(1) as f64;
        let cos = F::from_f64((1.0 + (std::f64::consts::PI * t).cos()) / 2.0);
        self.min_lr + (self.lr - self.min_lr) * cos
    }
}

/// A linear warm-up from 0 over `steps`, then `inner` (counted from the end of the warm-up).
#[derive(Clone, Copy, Debug)]
pub struct Warmup<S> {
    /// The schedule after the warm-up.
    pub inner: S,
    /// The warm-up length.
    pub steps: usize,
}

impl<F: Float, S: Schedule<F>> Schedule<F> for Warmup<S> {
    fn lr(&self, step: usize) -> F {
        if step < self.steps {
            self.inner.lr(0) * F::from_usize(step + 1) / F::from_usize(self.steps)
        } else {
            self.inner.lr(step - self.steps)
        }
    }
}
