//! Running a [`Program`]: the forward pass, step by step (a lane group as one loop over its
//! lanes), and the backward pass, steps last to first, by the same rules as the eager sweep.

use super::plan::{Accumulate, GroupOp, LaneOp, Operand, Program, Slot, Step, TensorStep};
use crate::backward::zero_d;
use crate::error::{Error, Result};
use crate::rules;
use crate::rules::matmul::Factor;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::time::Instant;
use tapegrad_graph::op::BinaryOp;
use tapegrad_graph::op::Op;
use tapegrad_graph::{Float, Tensor};

/// Reusable buffers for operands that are not already contiguous (a value the same in every
/// lane, lanes gathered from anywhere).
#[derive(Default)]
pub(crate) struct Scratch<F> {
    a: Vec<F>,
    b: Vec<F>,
    c: Vec<F>,
    /// A dot product's factors, in the backward pass.
    x: Vec<F>,
    w: Vec<F>,
    /// The lanes' derivatives with respect to one operand.
    d: Vec<F>,
    /// Deferred sums: their terms, one run after another…
    terms: Vec<F>,
    /// …and for each, its gradient slot, how it starts, and where its terms are.
    sums: Vec<(u32, Accumulate, std::ops::Range<usize>)>,
    /// 0-d tensors for a scalar output's gradient and value in a tensor step's rule.
    zero_d: [Option<Tensor<F>>; 2],
    /// A tensor step's scalar output, written over in the forward pass.
    scalar_out: Option<Tensor<F>>,
}

/// The gradients of one backward pass, slot by slot.
pub(crate) struct Grads<F> {
    pub(crate) scalars: Vec<F>,
    pub(crate) tensors: Vec<Option<Tensor<F>>>,
    /// Each tensor slot's gradient buffer from the pass before, for a step that writes its
    /// first contribution there to write over (where nothing else holds it by then) rather
    /// than make a new tensor.
    pub(crate) spare: Vec<Option<Tensor<F>>>,
}

impl<F: Float> Grads<F> {
    /// Gradients for `scalars` scalar slots and `tensors` tensor slots.
    pub(crate) fn new(scalars: usize, tensors: usize) -> Self {
        Grads { scalars: vec![F::ZERO; scalars], tensors: vec![None; tensors], spare: vec![None; tensors] }
    }

    /// Whether a contribution to `slot` was added in place by `add_to` (given the gradient the
    /// slot holds, returning whether it took the contribution): tried only when `mode` says the
    /// slot already holds one. Where this is `false`, the caller passes the contribution on.
    pub(crate) fn added_in_place(
        &mut self,
        slot: Slot,
        mode: Accumulate,
        add_to: impl FnOnce(&mut Tensor<F>) -> bool,
    ) -> bool {
        match (mode, slot) {
            (Accumulate::Add, Slot::Tensor(i)) => self.tensors[i as usize].as_mut().is_some_and(add_to),
            _ => false,
        }
    }

    /// Passes a contribution to `slot` on ([`give`]): a first contribution is written over the
    /// slot's buffer from the pass before by `write_over` where there is one, else made by `make`.
    pub(crate) fn give_written(
        &mut self,
        slot: Slot,
        mode: Accumulate,
        write_over: impl FnOnce(&mut Tensor<F>),
        make: impl FnOnce() -> Tensor<F>,
    ) {
        let spare = match (mode, slot) {
            (Accumulate::Write, Slot::Tensor(i)) => self.spare[i as usize].take(),
            _ => None,
        };
        let d = match spare {
            Some(mut buffer) => {
                write_over(&mut buffer);
                buffer
            }
            None => make(),
        };
        give(self, slot, mode, d);
    }
}

/// Operand `o` of a group of `len` lanes, as a slice of `len` values.
fn operand<'a, F: Float>(values: &'a [F], o: &Operand, scratch: &'a mut Vec<F>, len: usize) -> &'a [F] {
    match o {
        Operand::Run(start) => &values[*start as usize..*start as usize + len],
        Operand::Same(slot) => {
            scratch.clear();
            scratch.resize(len, values[*slot as usize]);
            scratch
        }
        Operand::Gather(slots) => {
            scratch.clear();
            scratch.extend(slots.iter().map(|&s| values[s as usize]));
            scratch
        }
    }
}

/// A value as a tensor (a 0-d one for a scalar slot).
fn value<'a, F: Float>(scalars: &[F], tensors: &'a [Tensor<F>], slot: Slot) -> Cow<'a, Tensor<F>> {
    match slot {
        Slot::Scalar(s) => Cow::Owned(Tensor::scalar(scalars[s as usize])),
        Slot::Tensor(t) => Cow::Borrowed(&tensors[t as usize]),
    }
}

/// Times each step of a pass, or not: `()` times nothing, and a pass given it compiles to
/// the loop it would be without timing (a check per step made W1r's replay 6 % slower).
pub(crate) trait StepTimer {
    /// A moment, when timing.
    type Mark: Copy;
    /// Now.
    fn mark(&self) -> Self::Mark;
    /// Step `step` ran from `since` to now.
    fn record(&mut self, step: usize, since: Self::Mark);
}

impl StepTimer for () {
    type Mark = ();
    #[inline(always)]
    fn mark(&self) {}
    #[inline(always)]
    fn record(&mut self, _: usize, _: ()) {}
}

/// One time per step, in nanoseconds (at most about 4.3 s).
impl StepTimer for [u32] {
    type Mark = Instant;
    fn mark(&self) -> Instant {
        Instant::now()
    }
    fn record(&mut self, step: usize, since: Instant) {
        self[step] = u32::try_from(since.elapsed().as_nanos()).unwrap_or(u32::MAX);
    }
}

/// Runs every step forward, each timed by `timer` (as step `i` of the program).
pub(crate) fn forward<F: Float, T: StepTimer + ?Sized>(
    program: &mut Program<F>,
    scratch: &mut Scratch<F>,
    timer: &mut T,
) -> Result<()> {
    let Program { steps, scalars, tensors, .. } = program;
    for (i, step) in steps.iter().enumerate() {
        let started = timer.mark();
        forward_step(step, scalars, tensors, scratch)?;
        timer.record(i, started);
    }
    Ok(())
}

/// Runs one step forward.
#[inline(always)]
fn forward_step<F: Float>(
    step: &Step<F>,
    scalars: &mut [F],
    tensors: &mut [Tensor<F>],
    scratch: &mut Scratch<F>,
) -> Result<()> {
    match step {
        Step::Scalar(n) => {
            let a = scalars[n.args[0] as usize];
            scalars[n.out as usize] = match n.op {
                LaneOp::Unary(k) => k.apply(a),
                LaneOp::Param(k, p) => k.apply(a, p),
                LaneOp::Binary(k) => k.apply(a, scalars[n.args[1] as usize]),
            };
        }
        Step::Lanes(l) => {
            let len = l.len as usize;
            // Every operand's slot is below the group's first output slot (see `plan`).
            let (done, rest) = scalars.split_at_mut(l.out as usize);
            let out = &mut rest[..len];
            match &l.op {
                GroupOp::Elementwise(op) => {
                    let a = operand(done, &l.args[0], &mut scratch.a, len);
                    match *op {
                        LaneOp::Unary(k) => k.map_lanes(a, out),
                        LaneOp::Param(k, p) => k.map_lanes(p, a, out),
                        LaneOp::Binary(k) => k.zip_lanes(a, operand(done, &l.args[1], &mut scratch.b, len), out),
                    }
                }
                GroupOp::Dot(dot) => {
                    out.copy_from_slice(operand(done, &l.args[dot.start], &mut scratch.a, len));
                    for &(x, w, product_first) in &dot.terms {
                        let x = values(done, &l.args[x], &mut scratch.b, len);
                        let w = values(done, &l.args[w], &mut scratch.c, len);
                        add_products(out, x, w, product_first);
                    }
                }
            }
        }
        Step::Tensor(t) => forward_tensor(t, scalars, tensors, scratch)?,
        Step::Dense(d) => super::dense::forward(d, scalars, tensors, scratch)?,
    }
    Ok(())
}

/// Runs one tensor step forward, checking its output's shape.
pub(crate) fn forward_tensor<F: Float>(
    t: &TensorStep<F>,
    scalars: &mut [F],
    tensors: &mut [Tensor<F>],
    scratch: &mut Scratch<F>,
) -> Result<()> {
    // The output is written over its last value where nothing else holds it: a tensor
    // slot's, or a 0-d tensor kept for the scalar ones. Every input's slot is below the
    // step's output slot (see `plan`).
    let (inputs, out): (&[Tensor<F>], &mut Tensor<F>) = match t.out {
        Slot::Scalar(_) => (tensors, scratch.scalar_out.get_or_insert_with(|| Tensor::scalar(F::ZERO))),
        Slot::Tensor(i) => {
            let (inputs, rest) = tensors.split_at_mut(i as usize);
            (inputs, &mut rest[0])
        }
    };
    with_values(&t.inputs, scalars, inputs, |refs| -> Result<()> {
        match &t.op {
            Op::Custom(node) => *out = crate::custom::forward(node, refs)?,
            op => op.eval_into(refs, &t.shape, out)?,
        }
        Ok(())
    })?;
    check_shape(t, out)?;
    if let Slot::Scalar(s) = t.out {
        scalars[s as usize] = out.data()[0];
    }
    Ok(())
}

/// The error when a replayed step's output `y` does not have its recorded shape.
fn check_shape<F: Float>(t: &TensorStep<F>, y: &Tensor<F>) -> Result<()> {
    if y.shape() == &t.shape {
        Ok(())
    } else {
        Err(Error::ReplayShape { op: t.op.name(), expected: t.shape.clone(), found: y.shape().clone() })
    }
}

/// Runs `body` on the values in `slots`: borrowed where one or two tensors are all there is
/// (most steps), collected otherwise.
fn with_values<F: Float, R>(
    slots: &[Slot],
    scalars: &[F],
    tensors: &[Tensor<F>],
    body: impl FnOnce(&[&Tensor<F>]) -> R,
) -> R {
    match *slots {
        [Slot::Tensor(a)] => body(&[&tensors[a as usize]]),
        [Slot::Tensor(a), Slot::Tensor(b)] => body(&[&tensors[a as usize], &tensors[b as usize]]),
        _ => {
            let values: SmallVec<[Cow<'_, Tensor<F>>; 8]> = slots.iter().map(|&s| value(scalars, tensors, s)).collect();
            let refs: SmallVec<[&Tensor<F>; 8]> = values.iter().map(|v| v.as_ref()).collect();
            body(&refs)
        }
    }
}

/// An operand's lane values: one per lane, or one for all (not copied out).
#[derive(Clone, Copy)]
enum Values<'a, F> {
    Each(&'a [F]),
    All(F),
}

/// Operand `o` of a group of `len` lanes as [`Values`].
fn values<'a, F: Float>(values: &'a [F], o: &Operand, scratch: &'a mut Vec<F>, len: usize) -> Values<'a, F> {
    match o {
        Operand::Same(slot) => Values::All(values[*slot as usize]),
        other => Values::Each(operand(values, other, scratch, len)),
    }
}

/// Runs `body` for every lane `k` < `len` with `xk`, `wk` the lane's values of `x` and `w`,
/// their kinds chosen outside the loop.
macro_rules! each_lane {
    ($len:expr, $x:expr, $w:expr, |$k:ident, $xk:ident, $wk:ident| $body:expr) => {
        match ($x, $w) {
            (Values::Each(x), Values::Each(w)) => {
                for $k in 0..$len {
                    let ($xk, $wk) = (x[$k], w[$k]);
                    $body
                }
            }
            (Values::Each(x), Values::All(w)) => {
                for $k in 0..$len {
                    let ($xk, $wk) = (x[$k], w);
                    $body
                }
            }
            (Values::All(x), Values::Each(w)) => {
                for $k in 0..$len {
                    let ($xk, $wk) = (x, w[$k]);
                    $body
                }
            }
            (Values::All(x), Values::All(w)) => {
                for $k in 0..$len {
                    let ($xk, $wk) = (x, w);
                    $body
                }
            }
        }
    };
}

/// Adds `x[k]·w[k]` to each `out[k]` — `out + x·w`, or `x·w + out` when `product_first` — each
/// operation as the op table computes it, so the sum rounds as the recorded ones did.
fn add_products<F: Float>(out: &mut [F], x: Values<'_, F>, w: Values<'_, F>, product_first: bool) {
    let (add, mul) = (BinaryOp::Add, BinaryOp::Mul);
    if product_first {
        each_lane!(out.len(), x, w, |k, xk, wk| out[k] = add.apply(mul.apply(xk, wk), out[k]));
    } else {
        each_lane!(out.len(), x, w, |k, xk, wk| out[k] = add.apply(out[k], mul.apply(xk, wk)));
    }
}

/// The gradient of a product `x·w` in each lane with respect to `x` (`side` 0) or `w`, by the
/// op table's rule for `×`, given the product's gradient `g` (which reads no output).
fn product_derivative<F: Float>(side: usize, x: Values<'_, F>, w: Values<'_, F>, g: &[F], d: &mut [F]) {
    if side == 0 {
        product_side::<F, 0>(x, w, g, d)
    } else {
        product_side::<F, 1>(x, w, g, d)
    }
}

#[inline(always)]
fn product_side<F: Float, const SIDE: usize>(x: Values<'_, F>, w: Values<'_, F>, g: &[F], d: &mut [F]) {
    let (g, d) = (&g[..d.len()], d);
    each_lane!(d.len(), x, w, |k, xk, wk| {
        let both = BinaryOp::Mul.derivative(&xk, &wk, &g[k], &g[k], [SIDE == 0, SIDE == 1]);
        d[k] = both[SIDE].unwrap_or(F::ZERO)
    });
}

/// Adds the lanes' contributions `d` into the gradient slots of operand `o` (below the
/// step's outputs, so in `grads`), written or added as `mode` says. A gradient summed over
/// lanes takes them last lane first, as the eager sweep (which visits nodes last to first).
fn accumulate<F: Float>(grads: &mut [F], o: &Operand, mode: Accumulate, d: &[F]) {
    match (o, mode) {
        (Operand::Same(s), mode) => {
            let s = *s as usize;
            // −0 is the identity of `+`: starting there, the first contribution is moved in.
            let start = if mode == Accumulate::Write { -F::ZERO } else { grads[s] };
            grads[s] = d.iter().rev().fold(start, |sum, &d| sum + d);
        }
        (Operand::Run(start), Accumulate::Write) => {
            grads[*start as usize..*start as usize + d.len()].copy_from_slice(d);
        }
        (Operand::Run(start), Accumulate::Add) => {
            for (sum, &d) in grads[*start as usize..*start as usize + d.len()].iter_mut().zip(d) {
                *sum += d;
            }
        }
        (Operand::Gather(slots), Accumulate::Write) => {
            for (&s, &d) in slots.iter().zip(d).rev() {
                grads[s as usize] = d;
            }
        }
        (Operand::Gather(slots), Accumulate::Add) => {
            for (&s, &d) in slots.iter().zip(d).rev() {
                grads[s as usize] += d;
            }
        }
    }
}

/// Runs the steps on the root's path backward, from a gradient of ones at the root, each
/// timed by `timer` (as step `i` of the program; the deferred sums after them as one more).
pub(crate) fn backward<F: Float, T: StepTimer + ?Sized>(
    program: &Program<F>,
    grads: &mut Grads<F>,
    scratch: &mut Scratch<F>,
    timer: &mut T,
) {
    let Some(root) = program.root else { return };
    for &s in &program.start_at_neg_zero {
        grads.scalars[s as usize] = -F::ZERO;
    }
    for &s in &program.start_at_zero {
        grads.scalars[s as usize] = F::ZERO;
    }
    for (gradient, spare) in grads.tensors.iter_mut().zip(&mut grads.spare) {
        if let Some(buffer) = gradient.take() {
            *spare = Some(buffer);
        }
    }
    match root {
        Slot::Scalar(s) => grads.scalars[s as usize] = F::ONE,
        Slot::Tensor(t) => grads.tensors[t as usize] = Some(Tensor::ones(program.tensors[t as usize].shape().clone())),
    }
    for (i, step) in program.steps.iter().enumerate().rev() {
        let started = timer.mark();
        backward_step(step, program, grads, scratch);
        timer.record(i, started);
    }
    let started = timer.mark();
    deferred_sums(&mut grads.scalars, scratch);
    timer.record(program.steps.len(), started);
}

/// Runs one step backward.
#[inline(always)]
fn backward_step<F: Float>(step: &Step<F>, program: &Program<F>, grads: &mut Grads<F>, scratch: &mut Scratch<F>) {
    let scalars = &program.scalars;
    match step {
        Step::Scalar(n) if n.backward => {
            let (a, y, g) = (scalars[n.args[0] as usize], scalars[n.out as usize], grads.scalars[n.out as usize]);
            let need = [n.grads[0].is_some(), n.grads[1].is_some()];
            let d = match n.op {
                LaneOp::Unary(k) => [Some(k.derivative(&a, &y, &g)), None],
                LaneOp::Param(k, p) => [Some(k.derivative(p, &a, &g)), None],
                LaneOp::Binary(k) => k.derivative(&a, &scalars[n.args[1] as usize], &y, &g, need),
            };
            for ((d, mode), &arg) in d.into_iter().zip(n.grads).zip(&n.args) {
                let (Some(d), Some(mode)) = (d, mode) else { continue };
                let sum = &mut grads.scalars[arg as usize];
                *sum = if mode == Accumulate::Write { d } else { *sum + d };
            }
        }
        Step::Lanes(l) if l.backward => {
            let len = l.len as usize;
            let out = l.out as usize;
            let (below, above) = grads.scalars.split_at_mut(out);
            let g = &above[..len];
            let y = &scalars[out..out + len];
            let Scratch { a: sa, b: sb, x: sx, w: sw, d: sd, terms, sums, .. } = &mut *scratch;
            let (a, b): (&[F], &[F]) = match &l.op {
                GroupOp::Elementwise(LaneOp::Binary(_)) => {
                    (operand(scalars, &l.args[0], sa, len), operand(scalars, &l.args[1], sb, len))
                }
                GroupOp::Elementwise(LaneOp::Unary(_) | LaneOp::Param(..)) => {
                    (operand(scalars, &l.args[0], sa, len), &[])
                }
                GroupOp::Dot(_) => (&[], &[]),
            };
            for (pos, mode) in l.grads.iter().enumerate() {
                let Some(mode) = *mode else { continue };
                // A dot product's operand: its start (whose gradient is `g`: each add passes
                // its gradient on unchanged), or a factor of one of its products.
                let factor = match &l.op {
                    GroupOp::Dot(dot) => dot.factor_of[pos].map(|(x, w, side)| {
                        (side, values(scalars, &l.args[x], sx, len), values(scalars, &l.args[w], sw, len))
                    }),
                    GroupOp::Elementwise(_) => None,
                };
                let derive = |d: &mut [F]| match (&l.op, factor) {
                    (GroupOp::Elementwise(LaneOp::Unary(k)), _) => k.derivative_lanes(a, y, g, d),
                    (GroupOp::Elementwise(LaneOp::Param(k, p)), _) => k.derivative_lanes(*p, a, g, d),
                    (GroupOp::Elementwise(LaneOp::Binary(k)), _) => k.derivative_lanes(pos, a, b, y, g, d),
                    (GroupOp::Dot(_), None) => d.copy_from_slice(g),
                    (GroupOp::Dot(_), Some((side, x, w))) => product_derivative(side, x, w, g, d),
                };
                match (&l.args[pos], mode) {
                    (Operand::Same(s), _) if l.deferred[pos] => {
                        let start = terms.len();
                        terms.resize(start + len, F::ZERO);
                        derive(&mut terms[start..]);
                        sums.push((*s, mode, start..start + len));
                    }
                    (Operand::Run(s), Accumulate::Write) => derive(&mut below[*s as usize..*s as usize + len]),
                    (o, mode) => {
                        sd.clear();
                        sd.resize(len, F::ZERO);
                        derive(sd);
                        accumulate(below, o, mode, sd);
                    }
                }
            }
        }
        Step::Tensor(t) if t.backward => backward_tensor(t, program, grads, &mut scratch.zero_d),
        Step::Dense(d) if d.backward() => super::dense::backward(d, program, grads, &mut scratch.zero_d[1]),
        Step::Scalar(_) | Step::Lanes(_) | Step::Tensor(_) | Step::Dense(_) => {}
    }
}

/// The deferred sums, four at a time: each adds its terms last to first, as the eager sweep
/// would, but four independent chains of additions keep the adder busy where one would wait
/// on each addition's latency.
fn deferred_sums<F: Float>(grads: &mut [F], scratch: &mut Scratch<F>) {
    let start = |grads: &[F], slot: u32, mode: Accumulate| {
        if mode == Accumulate::Write {
            -F::ZERO
        } else {
            grads[slot as usize]
        }
    };
    let terms = &scratch.terms;
    let mut sums = scratch.sums.chunks_exact(4);
    for four in &mut sums {
        let len = four[0].2.len();
        if four.iter().all(|s| s.2.len() == len) {
            let t: [&[F]; 4] = std::array::from_fn(|i| &terms[four[i].2.clone()]);
            let mut acc: [F; 4] = std::array::from_fn(|i| start(grads, four[i].0, four[i].1));
            for k in (0..len).rev() {
                for i in 0..4 {
                    acc[i] += t[i][k];
                }
            }
            for (s, sum) in four.iter().zip(acc) {
                grads[s.0 as usize] = sum;
            }
        } else {
            for s in four {
                grads[s.0 as usize] = terms[s.2.clone()].iter().rev().fold(start(grads, s.0, s.1), |a, &d| a + d);
            }
        }
    }
    for s in sums.remainder() {
        grads[s.0 as usize] = terms[s.2.clone()].iter().rev().fold(start(grads, s.0, s.1), |a, &d| a + d);
    }
    scratch.terms.clear();
    scratch.sums.clear();
}

fn backward_tensor<F: Float>(
    t: &TensorStep<F>,
    program: &Program<F>,
    grads: &mut Grads<F>,
    [g_0d, y_0d]: &mut [Option<Tensor<F>>; 2],
) {
    let g = match t.out {
        Slot::Scalar(s) => zero_d(g_0d, grads.scalars[s as usize]),
        Slot::Tensor(i) => taken_grad(grads, i as usize, &t.shape),
    };
    let g = backward_from(t, program, grads, y_0d, g);
    if let (Some(g), Slot::Tensor(i)) = (g, t.out) {
        grads.spare[i as usize] = Some(g);
    }
}

/// The gradient in tensor slot `i`, taken out of it: this step's alone from here on (zeros,
/// of `shape`, where only contributions a custom op declined reached it).
pub(crate) fn taken_grad<F: Float>(grads: &mut Grads<F>, i: usize, shape: &tapegrad_graph::Shape) -> Tensor<F> {
    grads.tensors[i].take().unwrap_or_else(|| Tensor::zeros(shape.clone()))
}

/// Runs tensor step `t` backward from `g`, its output's gradient, passing each input its
/// contribution (`y_0d`: a 0-d tensor kept for a scalar output's value). Gives `g` back where
/// the step only read it (a product), for the caller to keep as its slot's spare buffer.
pub(crate) fn backward_from<F: Float>(
    t: &TensorStep<F>,
    program: &Program<F>,
    grads: &mut Grads<F>,
    y_0d: &mut Option<Tensor<F>>,
    g: Tensor<F>,
) -> Option<Tensor<F>> {
    let (scalars, tensors) = (&program.scalars, &program.tensors);
    let y = match t.out {
        Slot::Scalar(s) => Cow::Owned(zero_d(y_0d, scalars[s as usize])),
        Slot::Tensor(i) => Cow::Borrowed(&tensors[i as usize]),
    };
    // A scalar slot written here starts at −0, the identity of `+`, so that it holds −0 for
    // the steps below that add to it when no gradient reaches it.
    for (&slot, mode) in t.inputs.iter().zip(&t.grads) {
        if let (Slot::Scalar(s), Some(Accumulate::Write)) = (slot, mode) {
            grads.scalars[s as usize] = -F::ZERO;
        }
    }
    if let (Op::Unary(k, _), &[Slot::Tensor(x)], Some(mode)) = (&t.op, &t.inputs[..], t.grads[0]) {
        // The gradient is this step's alone: its derivative is written over it, not into a
        // new buffer (the rule's bits: `derivative_in_place` computes what it does).
        let mut d = g;
        k.derivative_in_place(tensors[x as usize].data(), y.data(), d.data_mut());
        give(grads, t.inputs[0], mode, d);
        return None;
    }
    if let (Op::Matmul(_, _, transposed), &[Slot::Tensor(a), Slot::Tensor(b)]) = (&t.op, &t.inputs[..]) {
        let (a, b) = (&tensors[a as usize], &tensors[b as usize]);
        if a.ndim() == 2 && b.ndim() == 2 {
            matrix_product_backward(t, *transposed, [a, b], grads, &g);
            return Some(g);
        }
    }
    if let (Op::SumSquaresOf(_), &[g]) = (&t.op, g.data()) {
        if t.inputs.iter().all(|s| matches!(s, Slot::Tensor(_))) {
            sum_squares_backward(t, tensors, grads, g);
            return None;
        }
    }
    let mut add = |input: usize, d: Tensor<F>| {
        if let Some(mode) = t.grads[input] {
            give(grads, t.inputs[input], mode, d)
        }
    };
    with_values(&t.inputs, scalars, tensors, |refs| match &t.op {
        Op::Custom(node) => {
            let ds = crate::custom::tensor_grads(node, refs, &y, &g);
            ds.into_iter().enumerate().for_each(|(input, d)| d.into_iter().for_each(|d| add(input, d)))
        }
        op => rules::pass_input_grads::<F, Tensor<F>, _>(op, refs, &y, &g, &t.need, &mut add),
    });
    None
}

/// A product of two matrices backward, from `g`: each operand's gradient is one product
/// ([`rules::matmul::gradient_products`], as the rule computes it), added in place to a
/// gradient that already holds a contribution where the kernels can
/// ([`Tensor::matmul_t_add_to`], the bits of adding the product: a layer's weight gradient
/// onto its penalty's), else passed on as a new tensor.
fn matrix_product_backward<F: Float>(
    t: &TensorStep<F>,
    transposed: [bool; 2],
    [a, b]: [&Tensor<F>; 2],
    grads: &mut Grads<F>,
    g: &Tensor<F>,
) {
    let factor = |f: Factor| match f {
        Factor::A => a,
        Factor::B => b,
        Factor::G => g,
    };
    let products = rules::matmul::gradient_products(transposed);
    let multiply = "the recorded operands multiply";
    for ((&slot, mode), (x, tx, y, ty)) in t.inputs.iter().zip(&t.grads).zip(products) {
        let Some(mode) = *mode else { continue };
        let (x, y) = (factor(x), factor(y));
        if !grads.added_in_place(slot, mode, |sum| x.matmul_t_add_to(tx, y, ty, sum).expect(multiply)) {
            grads.give_written(
                slot,
                mode,
                |buffer| x.matmul_t_to(tx, y, ty, buffer).expect(multiply),
                || x.matmul_t(tx, y, ty).expect(multiply),
            );
        }
    }
}

/// `sum_squares_of` backward from its gradient `g` (one element): each input's gradient
/// `2g·x`, a first contribution written over the slot's buffer from the pass before, as the
/// rule computes it ([`Tensor::sum_squares_grad`]).
fn sum_squares_backward<F: Float>(t: &TensorStep<F>, tensors: &[Tensor<F>], grads: &mut Grads<F>, g: F) {
    for (&slot, mode) in t.inputs.iter().zip(&t.grads) {
        let (Some(mode), Slot::Tensor(x)) = (*mode, slot) else { continue };
        let x = &tensors[x as usize];
        grads.give_written(slot, mode, |buffer| x.sum_squares_grad_to(g, buffer), || x.sum_squares_grad(g));
    }
}

/// Passes contribution `d` to the gradient in `slot`: written when `mode` says it is the
/// first, added otherwise.
pub(crate) fn give<F: Float>(grads: &mut Grads<F>, slot: Slot, mode: Accumulate, d: Tensor<F>) {
    match slot {
        Slot::Scalar(s) => {
            let (s, d) = (s as usize, d.data()[0]);
            grads.scalars[s] = if mode == Accumulate::Write { d } else { grads.scalars[s] + d };
        }
        Slot::Tensor(i) => match &mut grads.tensors[i as usize] {
            Some(sum) => {
                let added = sum.zip_assign(&d, "accumulate", |a, b| a + b);
                debug_assert!(added.is_ok(), "a rule returned its input's shape");
            }
            empty => *empty = Some(d),
        },
    }
}
