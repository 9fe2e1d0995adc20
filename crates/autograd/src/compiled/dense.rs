//! Dense layers as one step: a matrix product, the bias added to each of its rows and, when
//! one follows, an elementwise activation — `act(x·W + b)` — recorded as two or three tensor
//! steps, run as one. Backward, the activation's derivative is written over the gradient it
//! receives, the bias's gradient summed from it and the product's rule run on it, where the
//! steps one by one were dispatched each, the add cloned the gradient's handle for its two
//! sides, and the gradient went in and out of the slots between them. Forward, the three ops
//! run back to back. Every value and gradient is computed by the same operations in the same
//! order, so a replay keeps the bits of the steps it fuses.

use super::plan::{Accumulate, Program, Slot, Step, TensorStep};
use super::run::{self, Grads, Scratch};
use crate::error::Result;
use tapegrad_graph::op::{BinaryOp, Op, UnaryOp};
use tapegrad_graph::{Float, Tensor};

/// `act(x·W + b)` as one step: the steps it replaces, as the plan made them.
pub(crate) struct DenseStep<F> {
    /// The matrix product, `m = x·W`.
    pub(crate) product: TensorStep<F>,
    /// `z = m + b` (or `b + m`): its output has the product's shape and `b` is one row.
    pub(crate) bias: TensorStep<F>,
    /// Which of the add's inputs is the bias.
    pub(crate) bias_side: usize,
    /// `y = act(z)`, when the layer has an activation.
    pub(crate) activation: Option<(UnaryOp, TensorStep<F>)>,
}

impl<F: Float> DenseStep<F> {
    /// Whether a gradient passes through the layer.
    pub(crate) fn backward(&self) -> bool {
        self.product.backward
    }

    /// The last step the layer replaces, whose output is the layer's.
    pub(crate) fn last(&self) -> &TensorStep<F> {
        self.activation.as_ref().map_or(&self.bias, |(_, a)| a)
    }

    /// The layer's ops, as a profile names it: `matmul+add+relu`.
    pub(crate) fn name(&self) -> String {
        let mut name = format!("{}+add", self.product.op.name());
        if let Some((k, _)) = &self.activation {
            name = format!("{name}+{}", k.name());
        }
        name
    }
}

/// The steps with each product, bias add and activation that can run as one replaced by a
/// [`DenseStep`], and how many there are. A run of steps fuses when they come one after
/// another, each tensor step's output is read by the next alone (not by another step, not an
/// output of the program), and, where a gradient passes, each hands its output's gradient
/// whole to the one before (its first and only contribution).
pub(crate) fn fuse<F: Float>(steps: Vec<Step<F>>, outputs: &[Slot], tensors: &[Tensor<F>]) -> (Vec<Step<F>>, usize) {
    let mut reads = vec![0u32; tensors.len()];
    for step in &steps {
        for slot in step_inputs(step) {
            if let Slot::Tensor(i) = slot {
                reads[i as usize] += 1;
            }
        }
    }
    for &slot in outputs {
        if let Slot::Tensor(i) = slot {
            reads[i as usize] += 1;
        }
    }
    let read_once_by_next = |t: &TensorStep<F>| matches!(t.out, Slot::Tensor(i) if reads[i as usize] == 1);
    let mut fused = Vec::with_capacity(steps.len());
    let mut dense = 0;
    let mut rest = steps.into_iter().peekable();
    while let Some(step) = rest.next() {
        let Step::Tensor(product) = step else {
            fused.push(step);
            continue;
        };
        let bias_side = match rest.peek() {
            Some(Step::Tensor(add)) if read_once_by_next(&product) => bias_side(&product, add, tensors),
            _ => None,
        };
        let Some(bias_side) = bias_side else {
            fused.push(Step::Tensor(product));
            continue;
        };
        let Some(Step::Tensor(bias)) = rest.next() else { unreachable!("peeked") };
        let activation = match rest.peek() {
            Some(Step::Tensor(act)) if read_once_by_next(&bias) => activation_of(&bias, act),
            _ => None,
        };
        let activation = activation.map(|k| match rest.next() {
            Some(Step::Tensor(act)) => (k, act),
            _ => unreachable!("peeked"),
        });
        fused.push(Step::Dense(Box::new(DenseStep { product, bias, bias_side, activation })));
        dense += 1;
    }
    (fused, dense)
}

/// The slots a step reads.
fn step_inputs<F>(step: &Step<F>) -> Vec<Slot> {
    match step {
        Step::Tensor(t) => t.inputs.to_vec(),
        // Scalar and lane steps read scalar slots only.
        Step::Scalar(_) | Step::Lanes(_) => Vec::new(),
        Step::Dense(d) => {
            let mut slots = d.product.inputs.to_vec();
            slots.extend(&d.bias.inputs);
            slots.extend(d.activation.iter().flat_map(|(_, a)| a.inputs.iter().copied()));
            slots
        }
    }
}

/// Whether both steps pass a gradient, or neither does; when they do, the later one hands
/// all of the earlier one's gradient to it (its first contribution, written).
fn gradient_handed_whole<F>(earlier: &TensorStep<F>, later: &TensorStep<F>, position: usize) -> bool {
    match (earlier.backward, later.backward) {
        (true, true) => later.grads[position] == Some(Accumulate::Write),
        (false, false) => true,
        _ => false,
    }
}

/// Which input of `add` is a bias for `product`'s output: `add` is `product + b` or
/// `b + product`, with `b` one row (a tensor slot whose elements are the product's last
/// dimension, broadcast down the others), and the sum has the product's shape.
fn bias_side<F: Float>(product: &TensorStep<F>, add: &TensorStep<F>, tensors: &[Tensor<F>]) -> Option<usize> {
    let (Op::Matmul(..), Op::Binary(BinaryOp::Add, ..)) = (&product.op, &add.op) else { return None };
    if add.shape != product.shape || add.inputs.len() != 2 || !matches!(add.out, Slot::Tensor(_)) {
        return None;
    }
    let product_side = add.inputs.iter().position(|&s| s == product.out)?;
    let bias_side = 1 - product_side;
    let Slot::Tensor(b) = add.inputs[bias_side] else { return None };
    let (b, dims) = (tensors[b as usize].shape(), product.shape.dims());
    let row = dims.last().copied()?;
    let is_row = b.broadcasts_to(&product.shape) && b.numel() == row && b.dims().last() == Some(&row);
    (is_row && gradient_handed_whole(product, add, product_side)).then_some(bias_side)
}

/// The activation `act` applies to `bias`'s output, when it is an elementwise op of one input.
fn activation_of<F>(bias: &TensorStep<F>, act: &TensorStep<F>) -> Option<UnaryOp> {
    match (&act.op, &act.inputs[..]) {
        (&Op::Unary(k, _), &[x])
            if x == bias.out && matches!(act.out, Slot::Tensor(_)) && gradient_handed_whole(bias, act, 0) =>
        {
            Some(k)
        }
        _ => None,
    }
}

/// The tensor slot `slot` names (only steps whose outputs are tensors are fused).
fn tensor(slot: Slot) -> usize {
    match slot {
        Slot::Tensor(i) => i as usize,
        Slot::Scalar(_) => unreachable!("a dense layer's values are tensors"),
    }
}

/// Runs a dense layer forward: its steps one after another, with no dispatch between them.
pub(crate) fn forward<F: Float>(
    d: &DenseStep<F>,
    scalars: &mut [F],
    tensors: &mut [Tensor<F>],
    scratch: &mut Scratch<F>,
) -> Result<()> {
    run::forward_tensor(&d.product, scalars, tensors, scratch)?;
    run::forward_tensor(&d.bias, scalars, tensors, scratch)?;
    if let Some((_, act)) = &d.activation {
        run::forward_tensor(act, scalars, tensors, scratch)?;
    }
    Ok(())
}

/// Runs a dense layer backward: the activation's derivative written over the gradient it
/// receives, the bias's gradient summed from that, and the product's rule run on it.
pub(crate) fn backward<F: Float>(
    d: &DenseStep<F>,
    program: &Program<F>,
    grads: &mut Grads<F>,
    y_0d: &mut Option<Tensor<F>>,
) {
    let tensors = &program.tensors;
    let last = d.last();
    let mut g = run::taken_grad(grads, tensor(last.out), &last.shape);
    if let Some((k, act)) = &d.activation {
        let (z, y) = (&tensors[tensor(d.bias.out)], &tensors[tensor(act.out)]);
        k.derivative_in_place(z.data(), y.data(), g.data_mut());
    }
    if let Some(mode) = d.bias.grads[d.bias_side] {
        let b = d.bias.inputs[d.bias_side];
        // Added in place to a gradient that already holds a contribution (its penalty's),
        // with the bits of adding the sums, where the sums fit; else passed on as a tensor.
        let fits = "the bias is one row of the sum";
        if !grads.added_in_place(b, mode, |sum| g.sum_to_add_to(sum).expect(fits)) {
            run::give(grads, b, mode, g.sum_to(tensors[tensor(b)].shape()).expect(fits));
        }
    }
    if let Some(g) = run::backward_from(&d.product, program, grads, y_0d, g) {
        grads.spare[tensor(last.out)] = Some(g);
    }
}
