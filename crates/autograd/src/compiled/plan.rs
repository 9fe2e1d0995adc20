//! Compiling a recorded tape into a [`Program`]: drop the nodes that do not lie between the
//! inputs and the outputs, fold the rest of the constants, group the scalar nodes that do the
//! same thing on different data into lanes, lay the values out so a group's operands are
//! contiguous, and decide, for every gradient, whether its first contribution is written or
//! added. The order in which contributions reach each gradient is checked against the eager
//! sweep's, so replays equal the recorded path bit for bit.

use smallvec::SmallVec;
use std::collections::HashMap;
use tapegrad_graph::op::{BinaryOp, NodeId, Op, ParamOp, UnaryOp};
use tapegrad_graph::{Float, Shape, Tape, Tensor, Value};

/// Where a value (and its gradient) lives in a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// In the scalar arrays.
    Scalar(u32),
    /// In the tensor arrays.
    Tensor(u32),
}

/// Where one operand of a lane group comes from.
#[derive(Clone, Debug)]
pub(crate) enum Operand {
    /// One scalar slot, the same for every lane.
    Same(u32),
    /// Consecutive scalar slots from this one: lane `k` reads slot `start + k`.
    Run(u32),
    /// Any scalar slots, one per lane.
    Gather(Box<[u32]>),
}

/// The scalar op of a lane group.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LaneOp<F> {
    Unary(UnaryOp),
    Param(ParamOp, F),
    Binary(BinaryOp),
}

/// How a step's contribution reaches an input's gradient: written, when it is the first one
/// (so gradients need no zeroing between replays), or added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Accumulate {
    Write,
    Add,
}

/// What a lane group computes: one elementwise op, or a dot product — a chain of products
/// added one by one to a sum (`((acc + x₁·w₁) + x₂·w₂) + …`, a neuron's `Σ wᵢxᵢ`), fused from
/// its multiply and add groups, so neither the products nor the partial sums are stored.
#[derive(Clone, Debug)]
pub(crate) enum GroupOp<F> {
    Elementwise(LaneOp<F>),
    Dot(Box<Dot>),
}

/// A dot product's operands, as positions in its step's operand list.
#[derive(Clone, Debug)]
pub(crate) struct Dot {
    /// The sum the chain starts from.
    pub(crate) start: usize,
    /// Each term in the order it is added: the operands multiplied, and whether the product
    /// came first in its add (`x·w + acc` rather than `acc + x·w`, as recorded).
    pub(crate) terms: Vec<(usize, usize, bool)>,
    /// For each operand position: the term's factors `(x, w)` and which of them it is (0 or
    /// 1), or `None` for the start.
    pub(crate) factor_of: Vec<Option<(usize, usize, usize)>>,
}

/// Scalar nodes doing one op on different data: lane `k` writes scalar slot `out + k`.
pub(crate) struct Lanes<F> {
    pub(crate) op: GroupOp<F>,
    pub(crate) out: u32,
    pub(crate) len: u32,
    pub(crate) args: SmallVec<[Operand; 2]>,
    /// Per operand: how its gradient is accumulated, or `None` when none flows to it.
    pub(crate) grads: SmallVec<[Option<Accumulate>; 2]>,
    /// Per operand: true when it is an input the same in every lane and this step's sum is
    /// the last contribution to its gradient, which nothing reads before the pass ends; the
    /// sum can then wait and run interleaved with others (each still in its own order).
    pub(crate) deferred: SmallVec<[bool; 2]>,
    /// Whether the step lies on a path from a leaf input to the differentiated output.
    pub(crate) backward: bool,
}

/// One scalar elementwise node (a group of one lane), run in registers.
pub(crate) struct ScalarStep<F> {
    pub(crate) op: LaneOp<F>,
    pub(crate) out: u32,
    /// The operands' slots (the second unused by a one-operand op).
    pub(crate) args: [u32; 2],
    pub(crate) grads: [Option<Accumulate>; 2],
    pub(crate) backward: bool,
}

/// Any other node, run by the tensor kernels and the eager sweep's rules.
pub(crate) struct TensorStep<F> {
    pub(crate) op: Op<F>,
    pub(crate) inputs: SmallVec<[Slot; 3]>,
    pub(crate) out: Slot,
    pub(crate) shape: Shape,
    pub(crate) grads: SmallVec<[Option<Accumulate>; 3]>,
    /// Per input: whether a gradient flows to it (`grads[i].is_some()`, as the rules take it).
    pub(crate) need: SmallVec<[bool; 3]>,
    pub(crate) backward: bool,
}

/// One step of a program.
pub(crate) enum Step<F> {
    Scalar(ScalarStep<F>),
    Lanes(Lanes<F>),
    Tensor(TensorStep<F>),
    /// A matrix product, its bias and its activation, run as one ([`super::dense`]).
    Dense(Box<super::dense::DenseStep<F>>),
}

/// A compiled tape: its values (constants in place), steps in forward order, and what a
/// backward pass starts from.
pub(crate) struct Program<F> {
    pub(crate) scalars: Vec<F>,
    pub(crate) tensors: Vec<Tensor<F>>,
    pub(crate) steps: Vec<Step<F>>,
    /// Scalar gradient slots that start a backward pass at −0 (the identity of `+`, so adding
    /// the first contribution gives it exactly): those whose first contribution is added.
    pub(crate) start_at_neg_zero: Vec<u32>,
    /// Scalar gradient slots of inputs that no gradient reaches.
    pub(crate) start_at_zero: Vec<u32>,
    pub(crate) inputs: Vec<Slot>,
    pub(crate) outputs: Vec<Slot>,
    /// The differentiated output, when a gradient flows to it.
    pub(crate) root: Option<Slot>,
    pub(crate) stats: super::CompileStats,
}

/// The lane groups would change the order in which some gradient's contributions add up.
pub(crate) struct Reordered;

/// What makes scalar nodes one group: the op, and for each operand the group it comes from, or
/// the node itself (a leaf, an input, a tensor result), or "a constant" (any).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Unary(UnaryOp, [Class; 1], bool),
    Param(ParamOp, u64, [Class; 1], bool),
    Binary(BinaryOp, [Class; 2], bool),
    Alone(NodeId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Class {
    Constant,
    Node(NodeId),
    Group(u32),
}

const NONE: u32 = u32::MAX;

/// Compiles the part of `tape` between `inputs` (leaves) and `outputs`; the first output is
/// the one differentiated. With `lanes`, like scalar nodes are grouped, unless that would
/// reorder a gradient's sum ([`Reordered`]); with `multiply_adds` too, products feeding sums
/// lane for lane run fused; with `dense_layers`, a product, its bias and its activation run
/// as one step.
pub(crate) fn plan<F: Float>(
    tape: &Tape<F>,
    inputs: &[NodeId],
    outputs: &[NodeId],
    lanes: bool,
    multiply_adds: bool,
    dense_layers: bool,
) -> Result<Program<F>, Reordered> {
    let n = inputs.iter().chain(outputs).map(|&i| i as usize + 1).max().unwrap_or(0);
    let node_inputs: Vec<SmallVec<[NodeId; 3]>> =
        (0..n as NodeId).map(|i| tape.op(i).inputs().to_vec().into()).collect();
    let mut is_input = vec![false; n];
    for &i in inputs {
        is_input[i as usize] = true;
    }
    // Which nodes change with the inputs, and which with the leaf inputs (gradients flow there).
    let mut varies = is_input.clone();
    let mut varies_with_leaf: Vec<bool> = (0..n).map(|i| is_input[i] && tape.requires_grad(i as NodeId)).collect();
    for i in 0..n {
        if !is_input[i] {
            varies[i] = node_inputs[i].iter().any(|&x| varies[x as usize]);
            varies_with_leaf[i] =
                tape.requires_grad(i as NodeId) && node_inputs[i].iter().any(|&x| varies_with_leaf[x as usize]);
        }
    }
    // Which nodes an output needs, and which the first output's gradient reaches.
    let mut is_output = vec![false; n];
    for &o in outputs {
        is_output[o as usize] = true;
    }
    let mut needed = is_output.clone();
    let root = outputs.first().copied().filter(|&r| varies_with_leaf[r as usize]);
    let mut backward = vec![false; n];
    if let Some(r) = root {
        backward[r as usize] = true;
    }
    for i in (0..n).rev() {
        if needed[i] {
            for &x in &node_inputs[i] {
                needed[x as usize] = true;
            }
        }
        if backward[i] {
            let op = tape.op(i as NodeId);
            for (pos, &x) in node_inputs[i].iter().enumerate() {
                if varies_with_leaf[x as usize] && op.passes_gradient(pos) {
                    backward[x as usize] = true;
                }
            }
        }
    }
    let is_step: Vec<bool> = (0..n).map(|i| varies[i] && needed[i] && !is_input[i]).collect();
    let is_scalar = |i: usize| matches!(tape.value(i as NodeId), Value::Scalar(_));
    let input = |i: NodeId, pos: usize| node_inputs[i as usize][pos];

    // Groups, numbered in the order of their first node: a node's operands are in groups
    // numbered below its own, so running the groups in order runs every node after its inputs.
    let mut group_of = vec![NONE; n];
    let mut groups: Vec<Vec<NodeId>> = Vec::new();
    let mut keys: HashMap<Key, u32> = HashMap::new();
    for i in 0..n {
        if !is_step[i] {
            continue;
        }
        let class = |x: NodeId| {
            let x = x as usize;
            if group_of[x] != NONE {
                Class::Group(group_of[x])
            } else if !varies[x] && !tape.requires_grad(x as NodeId) && is_scalar(x) {
                Class::Constant
            } else {
                Class::Node(x as NodeId)
            }
        };
        let b = backward[i];
        let key = match *tape.op(i as NodeId) {
            _ if !(lanes && is_scalar(i)) => Key::Alone(i as NodeId),
            Op::Unary(k, x) => Key::Unary(k, [class(x)], b),
            Op::Param(k, x, p) => Key::Param(k, p.to_f64().to_bits(), [class(x)], b),
            Op::Binary(k, x, y, _) => Key::Binary(k, [class(x), class(y)], b),
            _ => Key::Alone(i as NodeId),
        };
        let next = groups.len() as u32;
        let g = *keys.entry(key).or_insert(next);
        if g == next {
            groups.push(Vec::new());
        }
        groups[g as usize].push(i as NodeId);
        group_of[i] = g;
    }

    // Multiply-adds: an add group one of whose operands is, lane for lane, a multiply group
    // used nowhere else runs both in one loop.
    let mut uses = vec![0u32; n];
    for i in 0..n {
        if is_step[i] {
            for &x in &node_inputs[i] {
                uses[x as usize] += 1;
            }
        }
        uses[i] += is_output[i] as u32;
    }
    let mut fused: Vec<Option<(usize, usize)>> = vec![None; groups.len()];
    let mut absorbed = vec![false; groups.len()];
    for (a, group) in groups.iter().enumerate() {
        let head = group[0];
        if !(multiply_adds && group.len() > 1 && is_scalar(head as usize)) {
            continue;
        }
        let Op::Binary(BinaryOp::Add, ..) = *tape.op(head) else { continue };
        for q in 0..2 {
            let m = group_of[input(head, q) as usize];
            if m == NONE || absorbed[m as usize] {
                continue;
            }
            let products = &groups[m as usize];
            let fits = products.len() == group.len()
                && matches!(tape.op(products[0]), Op::Binary(BinaryOp::Mul, ..))
                && group.iter().zip(products).all(|(&c, &p)| input(c, q) == p)
                && products.iter().all(|&p| uses[p as usize] == 1)
                && backward[products[0] as usize] == backward[head as usize];
            if fits {
                fused[a] = Some((m as usize, q));
                absorbed[m as usize] = true;
                break;
            }
        }
    }
    // Chains: a multiply-add whose sum comes, lane for lane, from another multiply-add used
    // nowhere else continues it; a chain runs as one dot product at its last add.
    let mut previous: Vec<Option<usize>> = vec![None; groups.len()];
    let mut continued = vec![false; groups.len()];
    for a in 0..groups.len() {
        let Some((_, q)) = fused[a] else { continue };
        let head = groups[a][0];
        let p = group_of[input(head, 1 - q) as usize];
        if p == NONE || fused[p as usize].is_none() {
            continue;
        }
        let sums = &groups[p as usize];
        let fits = sums.len() == groups[a].len()
            && groups[a].iter().zip(sums).all(|(&c, &s)| input(c, 1 - q) == s)
            && sums.iter().all(|&s| uses[s as usize] == 1)
            && backward[sums[0] as usize] == backward[head as usize];
        if fits {
            previous[a] = Some(p as usize);
            continued[p as usize] = true;
        }
    }
    for g in 0..groups.len() {
        absorbed[g] |= continued[g];
    }
    // The multiply-adds of the chain ending at `g`, first to last.
    let chain = |g: usize| -> Vec<(usize, usize, usize)> {
        let mut links = Vec::new();
        let mut at = Some(g);
        while let Some(a) = at {
            let (m, q) = fused[a].expect("a chain links multiply-adds");
            links.push((a, m, q));
            at = previous[a];
        }
        links.reverse();
        links
    };
    // The operands of group `g` in the order its step takes them, each as (the group whose
    // nodes read it, which of their operands). A dot product's come in the eager sweep's
    // order: the last term's factors first, back to the second's, then the starting sum and
    // the first term's factors (each add passes its gradient on before its product does).
    let sources = |g: usize| -> SmallVec<[(usize, usize); 3]> {
        if fused[g].is_none() {
            return (0..node_inputs[groups[g][0] as usize].len()).map(|pos| (g, pos)).collect();
        }
        let links = chain(g);
        let mut list = SmallVec::new();
        for &(_, m, _) in links[1..].iter().rev() {
            list.push((m, 0));
            list.push((m, 1));
        }
        let (first, m, q) = links[0];
        list.extend([(first, 1 - q), (m, 0), (m, 1)]);
        list
    };
    // A dot product's start and terms, as positions in `sources`' list.
    let dot = |g: usize| -> Dot {
        let links = chain(g);
        let r = links.len();
        let terms: Vec<(usize, usize, bool)> = links
            .iter()
            .enumerate()
            .map(|(i, &(_, _, q))| {
                let x = if i == 0 { 2 * (r - 1) + 1 } else { 2 * (r - 1 - i) };
                (x, x + 1, q == 0)
            })
            .collect();
        let mut factor_of = vec![None; 2 * r + 1];
        for &(x, w, _) in &terms {
            factor_of[x] = Some((x, w, 0));
            factor_of[w] = Some((x, w, 1));
        }
        Dot { start: 2 * (r - 1), terms, factor_of }
    };

    // Slots: first the values no step computes (inputs, constants), a lane group's constant
    // operands side by side; then each group's outputs, side by side, in group order. Every
    // operand's slot is then below its step's first output slot.
    let mut scalar_slot = vec![NONE; n];
    let mut tensor_slot = vec![NONE; n];
    let (mut scalars, mut tensors): (Vec<F>, Vec<Tensor<F>>) = (Vec::new(), Vec::new());
    let mut place = |i: usize, scalar_slot: &mut Vec<u32>, tensor_slot: &mut Vec<u32>| {
        if scalar_slot[i] != NONE || tensor_slot[i] != NONE {
            return;
        }
        match tape.value(i as NodeId) {
            Value::Scalar(v) => {
                scalar_slot[i] = scalars.len() as u32;
                scalars.push(v);
            }
            Value::Tensor(_) => {
                tensor_slot[i] = tensors.len() as u32;
                tensors.push(tape.tensor(i as NodeId));
            }
        }
    };
    for group in groups.iter().filter(|g| g.len() > 1) {
        for pos in 0..node_inputs[group[0] as usize].len() {
            let xs: Vec<usize> = group.iter().map(|&i| input(i, pos) as usize).collect();
            let fresh = xs.iter().all(|&x| !is_step[x] && scalar_slot[x] == NONE && tensor_slot[x] == NONE);
            let distinct = xs.windows(2).all(|w| w[0] < w[1]);
            if fresh && distinct {
                for &x in &xs {
                    place(x, &mut scalar_slot, &mut tensor_slot);
                }
            }
        }
    }
    for i in 0..n {
        let referenced = is_input[i] || is_output[i];
        if referenced && !is_step[i] {
            place(i, &mut scalar_slot, &mut tensor_slot);
        }
        if is_step[i] {
            for &x in &node_inputs[i] {
                if !is_step[x as usize] {
                    place(x as usize, &mut scalar_slot, &mut tensor_slot);
                }
            }
        }
    }
    for group in &groups {
        for &i in group {
            place(i as usize, &mut scalar_slot, &mut tensor_slot);
        }
    }
    let slot = |i: NodeId| {
        let i = i as usize;
        if scalar_slot[i] != NONE {
            Slot::Scalar(scalar_slot[i])
        } else {
            Slot::Tensor(tensor_slot[i])
        }
    };

    // The steps, and the backward pass's order: steps last to first, in each the operands in
    // order and the lanes last to first. Every gradient must take its contributions in the
    // eager sweep's order (consumers last to first, each one's operands in order), so each
    // sum rounds the same; the first contribution is written, the others added.
    let mut last_seen: Vec<Option<(NodeId, usize)>> = vec![None; n];
    let mut first_edge: HashMap<(u32, usize, usize), bool> = HashMap::new();
    let mut last_edge: HashMap<NodeId, (u32, usize, usize)> = HashMap::new();
    if let Some(r) = root {
        last_seen[r as usize] = Some((r, usize::MAX));
    }
    for (g, group) in groups.iter().enumerate().rev() {
        if absorbed[g] || !backward[group[0] as usize] {
            continue;
        }
        for (source, &(reader, pos)) in sources(g).iter().enumerate() {
            let readers = &groups[reader];
            let op = tape.op(readers[0]);
            for (lane, &c) in readers.iter().enumerate().rev() {
                let x = input(c, pos);
                if !(varies_with_leaf[x as usize] && op.passes_gradient(pos)) {
                    continue;
                }
                let seen = &mut last_seen[x as usize];
                if let Some((before, before_pos)) = *seen {
                    if !(c < before || (c == before && pos > before_pos)) {
                        return Err(Reordered);
                    }
                }
                first_edge.insert((g as u32, source, lane), seen.is_none());
                last_edge.insert(x, (g as u32, source, lane));
                *seen = Some((c, pos));
            }
        }
    }

    let mut start_at_neg_zero = Vec::new();
    let mut steps = Vec::with_capacity(groups.len());
    for (g, group) in groups.iter().enumerate() {
        if absorbed[g] {
            continue;
        }
        let head = group[0];
        let on_backward = backward[head as usize];
        let arity = node_inputs[head as usize].len();
        let operands = sources(g);
        let mut grads: SmallVec<[Option<Accumulate>; 3]> = SmallVec::new();
        for (source, &(reader, pos)) in operands.iter().enumerate() {
            let readers = &groups[reader];
            let firsts: Vec<Option<bool>> =
                (0..readers.len()).map(|lane| first_edge.get(&(g as u32, source, lane)).copied()).collect();
            let mode = if firsts.iter().all(Option::is_none) {
                None
            } else if firsts.iter().all(|f| *f == Some(true)) {
                Some(Accumulate::Write)
            } else if firsts.last() == Some(&Some(true)) && same_input(&node_inputs, readers, pos) {
                // One gradient summed over the lanes, the last lane's contribution its first.
                Some(Accumulate::Write)
            } else {
                for (lane, first) in firsts.iter().enumerate() {
                    if *first == Some(true) {
                        if let Slot::Scalar(s) = slot(input(readers[lane], pos)) {
                            start_at_neg_zero.push(s);
                        }
                    }
                }
                Some(Accumulate::Add)
            };
            grads.push(mode);
        }
        let op = tape.op(head);
        let step = match lanes_op(op) {
            Some(op) if is_scalar(head as usize) && group.len() == 1 => {
                let Slot::Scalar(out) = slot(head) else { unreachable!("a scalar node has a scalar slot") };
                let mut args = [out; 2];
                for (arg, &x) in args.iter_mut().zip(&node_inputs[head as usize]) {
                    *arg = scalar_slot[x as usize];
                }
                let mut modes = [None; 2];
                modes[..arity].copy_from_slice(&grads);
                Step::Scalar(ScalarStep { op, out, args, grads: modes, backward: on_backward })
            }
            Some(op) if is_scalar(head as usize) => {
                let Slot::Scalar(out) = slot(head) else { unreachable!("a scalar node has a scalar slot") };
                let args = operands
                    .iter()
                    .map(|&(reader, pos)| operand(&groups[reader], pos, &node_inputs, &scalar_slot))
                    .collect();
                let deferred = operands
                    .iter()
                    .enumerate()
                    .map(|(source, &(reader, pos))| {
                        let x = input(groups[reader][0], pos);
                        is_input[x as usize]
                            && same_input(&node_inputs, &groups[reader], pos)
                            && last_edge.get(&x) == Some(&(g as u32, source, 0))
                    })
                    .collect();
                let op = match fused[g] {
                    Some(_) => GroupOp::Dot(Box::new(dot(g))),
                    None => GroupOp::Elementwise(op),
                };
                Step::Lanes(Lanes {
                    deferred,
                    op,
                    out,
                    len: group.len() as u32,
                    args,
                    grads: grads.into_iter().collect(),
                    backward: on_backward,
                })
            }
            _ => Step::Tensor(TensorStep {
                op: op.clone(),
                inputs: node_inputs[head as usize].iter().map(|&x| slot(x)).collect(),
                out: slot(head),
                shape: tape.shape(head),
                need: grads.iter().map(Option::is_some).collect(),
                grads,
                backward: on_backward,
            }),
        };
        steps.push(step);
    }

    let start_at_zero = inputs
        .iter()
        .filter(|&&i| last_seen[i as usize].is_none())
        .filter_map(|&i| match slot(i) {
            Slot::Scalar(s) => Some(s),
            Slot::Tensor(_) => None,
        })
        .collect();
    // Each lane group's lanes and the nodes it runs (twice the lanes for a multiply-add).
    let laned: Vec<(usize, usize)> = (0..groups.len())
        .filter(|&g| !absorbed[g] && groups[g].len() > 1)
        .map(|g| (groups[g].len(), groups[g].len() * if fused[g].is_some() { 2 * chain(g).len() } else { 1 }))
        .collect();
    let output_slots: Vec<Slot> = outputs.iter().map(|&i| slot(i)).collect();
    let (steps, dense) = if dense_layers { super::dense::fuse(steps, &output_slots, &tensors) } else { (steps, 0) };
    let stats = super::CompileStats {
        recorded: tape.len(),
        kept: is_step.iter().filter(|&&s| s).count(),
        steps: steps.len(),
        lane_groups: laned.len(),
        laned_nodes: laned.iter().map(|l| l.1).sum(),
        widest: laned.iter().map(|l| l.0).max().unwrap_or(1),
        fused: (0..groups.len()).filter(|&g| fused[g].is_some() && !absorbed[g]).count(),
        dense,
    };
    Ok(Program {
        scalars,
        tensors,
        steps,
        start_at_neg_zero,
        start_at_zero,
        inputs: inputs.iter().map(|&i| slot(i)).collect(),
        outputs: output_slots,
        root: root.map(slot),
        stats,
    })
}

/// The lane op of a scalar elementwise op.
fn lanes_op<F: Float>(op: &Op<F>) -> Option<LaneOp<F>> {
    match *op {
        Op::Unary(k, _) => Some(LaneOp::Unary(k)),
        Op::Param(k, _, p) => Some(LaneOp::Param(k, p)),
        Op::Binary(k, ..) => Some(LaneOp::Binary(k)),
        _ => None,
    }
}

/// True when every lane of `group` reads the same node as operand `pos`.
fn same_input(node_inputs: &[SmallVec<[NodeId; 3]>], group: &[NodeId], pos: usize) -> bool {
    let first = node_inputs[group[0] as usize][pos];
    group.iter().all(|&i| node_inputs[i as usize][pos] == first)
}

/// Where operand `pos` of a lane group comes from.
fn operand(group: &[NodeId], pos: usize, node_inputs: &[SmallVec<[NodeId; 3]>], scalar_slot: &[u32]) -> Operand {
    let slots: Vec<u32> = group.iter().map(|&i| scalar_slot[node_inputs[i as usize][pos] as usize]).collect();
    debug_assert!(slots.iter().all(|&s| s != NONE), "the operands of a scalar node are scalar nodes");
    if slots.iter().all(|&s| s == slots[0]) {
        Operand::Same(slots[0])
    } else if slots.iter().enumerate().all(|(k, &s)| s as usize == slots[0] as usize + k) {
        Operand::Run(slots[0])
    } else {
        Operand::Gather(slots.into_boxed_slice())
    }
}
