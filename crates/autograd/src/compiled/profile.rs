//! Where a replay's time goes: [`CompiledTape::profile`] times each step of the program,
//! forward and backward, over many replays.

use super::plan::{GroupOp, LaneOp, Step};
use super::{run, CompiledTape};
use crate::error::{Error, Result};
use std::fmt;
use std::time::{Duration, Instant};
use tapegrad_graph::{Float, Shape};

/// Each step's time forward and backward over a number of replays (the mean of the middle
/// half of them, the interquartile mean), from [`CompiledTape::profile`]. Printed, it is a
/// table with each step's share of the whole.
#[derive(Clone, Debug, PartialEq)]
pub struct StepTimes {
    /// The steps, in forward order.
    pub steps: Vec<StepTime>,
    /// The backward pass's deferred sums (lane groups' gradients of an input shared by every
    /// lane), run after the steps.
    pub deferred_sums: Duration,
    /// The replays timed.
    pub replays: usize,
    /// What reading the clock costs, taken off every figure: measured the same way, on as many
    /// empty intervals.
    pub clock: Duration,
}

/// One step of a [`StepTimes`].
#[derive(Clone, Debug, PartialEq)]
pub struct StepTime {
    /// What the step runs: a tensor op's name; `scalar` and a scalar op's; a lane group's op
    /// (`dot` for multiply-adds run as dot products) and its number of lanes; a dense layer's
    /// ops joined by `+` (`matmul+add+relu`).
    pub op: String,
    /// The step's output shape (`[]` for a scalar).
    pub shape: Shape,
    /// The time forward.
    pub forward: Duration,
    /// The time backward (zero for a step no gradient passes through).
    pub backward: Duration,
}

impl StepTimes {
    /// The steps' times added up, forward and backward (with the deferred sums).
    pub fn total(&self) -> (Duration, Duration) {
        let forward = self.steps.iter().map(|s| s.forward).sum();
        let backward = self.steps.iter().map(|s| s.backward).sum::<Duration>() + self.deferred_sums;
        (forward, backward)
    }
}

impl fmt::Display for StepTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (forward, backward) = self.total();
        let whole = (forward + backward).as_secs_f64().max(f64::MIN_POSITIVE);
        let ns = |d: Duration| d.as_secs_f64() * 1e9;
        writeln!(f, "{:>4}  {:<24} {:<12} {:>10} {:>10} {:>7}", "step", "op", "shape", "forward", "backward", "share")?;
        for (i, s) in self.steps.iter().enumerate() {
            let share = 100.0 * (s.forward + s.backward).as_secs_f64() / whole;
            let shape = format!("{:?}", s.shape.dims());
            writeln!(
                f,
                "{i:>4}  {:<24} {shape:<12} {:>7.0} ns {:>7.0} ns {share:>6.1} %",
                s.op,
                ns(s.forward),
                ns(s.backward)
            )?;
        }
        if self.deferred_sums > Duration::ZERO {
            let share = 100.0 * self.deferred_sums.as_secs_f64() / whole;
            writeln!(
                f,
                "{:>4}  {:<24} {:<12} {:>10} {:>7.0} ns {share:>6.1} %",
                "",
                "deferred sums",
                "",
                "",
                ns(self.deferred_sums)
            )?;
        }
        write!(
            f,
            "{:>4}  {:<24} {:<12} {:>7.0} ns {:>7.0} ns  (middle-half means of {} replays, the clock's {:.0} ns taken off each)",
            "",
            "total",
            "",
            ns(forward),
            ns(backward),
            self.replays,
            ns(self.clock)
        )
    }
}

impl<F: Float> CompiledTape<F> {
    /// Replays the program `replays` times on its current inputs, forward then backward,
    /// timing every step, and returns each step's time: the mean of the middle half of the
    /// replays ([`StepTimes`]). Timing costs a clock read per step, so the steps add up to a
    /// little more than an untimed replay; the clock's own cost (measured the same way on empty
    /// intervals) is taken off each figure. Every step time is kept until the end, at most
    /// 2²⁴ of them (64 MiB): a long program runs fewer replays than asked
    /// ([`StepTimes::replays`] says how many).
    ///
    /// Errors: [`Error::NoGradient`] when no input that is a leaf reaches the first output.
    ///
    /// ```
    /// use tapegrad_autograd::CompiledTape;
    /// use tapegrad_graph::{Graph, Tensor};
    /// let g = Graph::<f32>::default();
    /// let w = g.var(Tensor::from_vec(vec![0.5f32; 6], [3, 2])?);
    /// let x = g.constant(Tensor::from_vec(vec![1.0f32; 12], [4, 3])?);
    /// let loss = x.matmul(w).relu().sum();
    /// let mut step = CompiledTape::new(&[w], &[loss])?;
    /// let times = step.profile(100)?;
    /// assert_eq!(times.steps[0].op, "matmul");
    /// println!("{times}");
    /// # Ok::<(), tapegrad_autograd::Error>(())
    /// ```
    pub fn profile(&mut self, replays: usize) -> Result<StepTimes> {
        if self.program.root.is_none() {
            return Err(Error::NoGradient);
        }
        let n = self.program.steps.len();
        let replays = replays.clamp(1, (MAX_TIMES / (2 * n + 1)).max(1));
        // One row of times (ns) per replay: `n` steps forward, `n` backward, the deferred sums.
        let mut rows = vec![0u32; replays * (2 * n + 1)];
        for row in rows.chunks_exact_mut(2 * n + 1) {
            let (forward, backward) = row.split_at_mut(n);
            run::forward(&mut self.program, &mut self.scratch, forward)?;
            run::backward(&self.program, &mut self.grads, &mut self.scratch, backward);
        }
        self.stale = false;
        let mut empty = [0u32];
        let clock = middle_mean(
            (0..replays)
                .map(|_| {
                    run::StepTimer::record(&mut empty[..], 0, Instant::now());
                    empty[0]
                })
                .collect(),
        );
        let at = |column: usize| {
            let times = rows.iter().skip(column).step_by(2 * n + 1);
            middle_mean(times.map(|&t| t.saturating_sub(clock.as_nanos() as u32)).collect())
        };
        let steps = self
            .program
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let (op, shape) = describe(step);
                StepTime { op, shape, forward: at(i), backward: at(n + i) }
            })
            .collect();
        Ok(StepTimes { steps, deferred_sums: at(2 * n), replays, clock })
    }
}

/// The mean of the middle half of `times` (the interquartile mean): as robust as a median to
/// the odd replay an interrupt lengthens, but between the clock's ticks (10 ns on some
/// machines) where a median would round to one.
fn middle_mean(mut nanoseconds: Vec<u32>) -> Duration {
    nanoseconds.sort_unstable();
    let quarter = nanoseconds.len() / 4;
    let middle = &nanoseconds[quarter..nanoseconds.len() - quarter];
    let sum: f64 = middle.iter().map(|&t| f64::from(t)).sum();
    Duration::from_secs_f64(sum / middle.len().max(1) as f64 * 1e-9)
}

/// The most step times [`CompiledTape::profile`] keeps (4 bytes each).
const MAX_TIMES: usize = 1 << 24;

/// A step's op and output shape, for [`StepTime`].
fn describe<F: Float>(step: &Step<F>) -> (String, Shape) {
    let lane_op = |op: &LaneOp<F>| match op {
        LaneOp::Unary(k) => k.name(),
        LaneOp::Param(k, _) => k.name(),
        LaneOp::Binary(k) => k.name(),
    };
    match step {
        Step::Scalar(s) => (format!("scalar {}", lane_op(&s.op)), Shape::scalar()),
        Step::Lanes(l) => {
            let op = match &l.op {
                GroupOp::Elementwise(op) => lane_op(op),
                GroupOp::Dot(_) => "dot",
            };
            (format!("{op} × {} lanes", l.len), Shape::from([l.len as usize]))
        }
        Step::Tensor(t) => (t.op.name().to_string(), t.shape.clone()),
        Step::Dense(d) => (d.name(), d.last().shape.clone()),
    }
}
