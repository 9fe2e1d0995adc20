//! The eager backward sweep: one reverse pass over the tape, from the root down, visiting only
//! nodes that require grad and that the root's gradient reached. Scalar nodes are handled in
//! registers; tensor nodes run the same derivative rules on tensors.

use crate::error::{expect, Error, Result};
use crate::rules;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use tapegrad_graph::op::{BinaryOp, Op, Range};
use tapegrad_graph::{Float, NodeId, Tape, Tensor, Value, Var};

/// The gradients of one backward pass, by node: returned by value, so nothing accumulates in
/// the graph and calling backward twice gives the same answer.
///
/// A gradient hook ([`Var::register_hook`]) sees, and may replace, the gradient arriving at its
/// node before it flows on:
///
/// ```
/// use tapegrad_autograd::Backward;
/// use tapegrad_graph::Graph;
/// let g = Graph::new();
/// let x = g.scalar(3.0);
/// let h = x * x;
/// h.register_hook(|_, grad| Some(grad.map(|v| v.clamp(-1.0, 1.0))));  // clip at h
/// let y = h * 10.0;
/// let grads = y.backward();
/// assert_eq!(grads.wrt(h).item(), 1.0);
/// assert_eq!(grads.wrt(x).item(), 6.0);   // 2x · 1
/// ```
///
/// ```
/// use tapegrad_autograd::Backward;
/// use tapegrad_graph::Graph;
/// let g = Graph::new();
/// let (a, b) = (g.scalar(3.0), g.scalar(4.0));
/// let y = a * b;
/// let grads = y.backward();
/// assert_eq!(grads.wrt(a).item(), 4.0);
/// assert!(grads.get(g.scalar(1.0)).is_none()); // not an input of y
/// ```
///
/// They answer only for `Var`s of the graph and recording they were computed on: a `Var` of
/// another graph, or one recorded after `Graph::clear`, is refused (a panic; `try_get` and
/// `try_wrt` return [`Error::ForeignVar`]), never answered with another node's gradient.
#[derive(Clone, Debug)]
pub struct Gradients<F: Float> {
    generation: u64,
    scalars: ScalarSlots<F>,
    tensors: HashMap<NodeId, Tensor<F>, BuildHasherDefault<NodeIdHasher>>,
}

/// Hashes a node id by one multiplication: ids are distinct small integers, so SipHash's
/// protection against chosen keys buys nothing here.
#[derive(Default)]
struct NodeIdHasher(u64);

impl Hasher for NodeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Where a node stands in the sweep: not reached yet, reached by exact zeros only (its slot
/// never written), reached with its gradient written in its slot, or (a tensor node) reached
/// with its gradient in the tensor map, its slot never written. `touch_unchecked` ORs in ZERO,
/// which keeps WRITTEN and TENSOR as they are and never makes either from the other: the slot
/// of a node is initialised exactly when its state is WRITTEN.
const UNREACHED: u8 = 0;
const ZERO: u8 = 1;
const WRITTEN: u8 = 3;
const TENSOR: u8 = 4;

/// One gradient slot and one state byte per node. Only the states are zeroed up front (1 byte
/// a node, not 8); the first gradient reaching a node is moved into its slot rather than added
/// to a zero, and a node reached only by zeros never has its slot written at all.
#[derive(Debug)]
struct ScalarSlots<F> {
    values: Vec<std::mem::MaybeUninit<F>>,
    states: Vec<u8>,
}

impl<F: Float> ScalarSlots<F> {
    fn new(nodes: usize) -> Self {
        let mut values = Vec::with_capacity(nodes);
        values.resize_with(nodes, std::mem::MaybeUninit::uninit);
        ScalarSlots { values, states: vec![UNREACHED; nodes] }
    }
    fn reached(&self, i: usize) -> bool {
        self.states.get(i).is_some_and(|&s| s != UNREACHED)
    }
    /// The gradient of node `i` (0 when it was reached by zeros only, or not at all).
    fn read(&self, i: usize) -> F {
        if self.states[i] == WRITTEN {
            // SAFETY: only `set_unchecked` makes a state WRITTEN, and it writes the slot first.
            unsafe { self.values[i].assume_init() }
        } else {
            F::ZERO
        }
    }
    /// Adds `d` to node `i`'s gradient, or moves it in when `i` is reached for the first time.
    fn add(&mut self, i: usize, d: F) {
        assert!(i < self.states.len() && i < self.values.len());
        // SAFETY: `i` was just checked against both lengths.
        unsafe { self.add_unchecked(i, d) }
    }
    /// # Safety
    /// `i` must be below the number of nodes.
    #[inline(always)]
    unsafe fn state_unchecked(&self, i: usize) -> u8 {
        // SAFETY: the caller guarantees `i` is in range.
        unsafe { *self.states.get_unchecked(i) }
    }
    /// The gradient in a WRITTEN slot.
    ///
    /// # Safety
    /// `i` must be in range and its state WRITTEN.
    #[inline(always)]
    unsafe fn written_unchecked(&self, i: usize) -> F {
        // SAFETY: guaranteed by the caller.
        unsafe { self.values.get_unchecked(i).assume_init() }
    }
    /// Stores node `i`'s gradient.
    ///
    /// # Safety
    /// `i` must be in range.
    #[inline(always)]
    unsafe fn set_unchecked(&mut self, i: usize, g: F) {
        // SAFETY: guaranteed by the caller.
        unsafe {
            self.values.get_unchecked_mut(i).write(g);
            *self.states.get_unchecked_mut(i) = WRITTEN;
        }
    }
    /// # Safety
    /// `i` must be in range.
    #[inline(always)]
    unsafe fn add_unchecked(&mut self, i: usize, d: F) {
        // SAFETY: `i` is in range (guaranteed by the caller), and a WRITTEN slot has been written.
        unsafe {
            if self.state_unchecked(i) == WRITTEN {
                *self.values.get_unchecked_mut(i).assume_init_mut() += d;
            } else {
                self.set_unchecked(i, d);
            }
        }
    }
    /// Marks node `i` reached; its gradient stays what it was (0 if nothing else reached it).
    ///
    /// # Safety
    /// `i` must be in range.
    #[inline(always)]
    unsafe fn touch_unchecked(&mut self, i: usize) {
        // SAFETY: guaranteed by the caller.
        unsafe { *self.states.get_unchecked_mut(i) |= ZERO };
    }
}

impl<F: Float> Clone for ScalarSlots<F> {
    fn clone(&self) -> Self {
        ScalarSlots { values: self.values.clone(), states: self.states.clone() }
    }
}

impl<F: Float> Gradients<F> {
    fn new(generation: u64, nodes: usize, tensor_nodes: usize) -> Self {
        Gradients {
            generation,
            scalars: ScalarSlots::new(nodes),
            tensors: HashMap::with_capacity_and_hasher(tensor_nodes, Default::default()),
        }
    }
    /// The gradient with respect to `v`, or `None` when `v` does not lie between a
    /// requires-grad leaf and the root.
    ///
    /// # Panics
    /// When `v` belongs to another graph or recording; see [`Gradients::try_get`].
    #[track_caller]
    pub fn get(&self, v: Var<'_, F>) -> Option<Tensor<F>> {
        expect(self.try_get(v))
    }
    /// [`Gradients::get`], or [`Error::ForeignVar`] for a `Var` these gradients do not describe.
    pub fn try_get(&self, v: Var<'_, F>) -> Result<Option<Tensor<F>>> {
        self.check(v, "Gradients::get")?;
        Ok(self.get_id(v.id()))
    }
    /// The generation ([`Graph::generation`](tapegrad_graph::Graph::generation)) of the
    /// recording these gradients were computed on.
    pub fn generation(&self) -> u64 {
        self.generation
    }
    #[inline]
    fn check(&self, v: Var<'_, F>, op: &'static str) -> Result<()> {
        if v.graph().generation() == self.generation {
            Ok(())
        } else {
            Err(Error::ForeignVar { op })
        }
    }
    /// The gradient of node `id`, or `None`.
    pub fn get_id(&self, id: NodeId) -> Option<Tensor<F>> {
        if !self.scalars.reached(id as usize) {
            return None;
        }
        Some(self.tensors.get(&id).cloned().unwrap_or_else(|| Tensor::scalar(self.scalars.read(id as usize))))
    }
    /// The gradient of a scalar node without building a tensor, or `None` when `v` does not
    /// reach the root (or is not a scalar node).
    ///
    /// # Panics
    /// When `v` belongs to another graph or recording.
    #[inline]
    #[track_caller]
    pub fn get_scalar(&self, v: Var<'_, F>) -> Option<F> {
        expect(self.check(v, "Gradients::get_scalar"));
        let i = v.id() as usize;
        if !self.scalars.reached(i) || self.tensors.contains_key(&v.id()) {
            return None;
        }
        Some(self.scalars.read(i))
    }
    /// The gradient with respect to `v`: zeros of `v`'s shape when it does not reach the root.
    ///
    /// # Panics
    /// When `v` belongs to another graph or recording; see [`Gradients::try_wrt`].
    #[track_caller]
    pub fn wrt(&self, v: Var<'_, F>) -> Tensor<F> {
        expect(self.try_wrt(v))
    }
    /// [`Gradients::wrt`], or [`Error::ForeignVar`] for a `Var` these gradients do not describe.
    pub fn try_wrt(&self, v: Var<'_, F>) -> Result<Tensor<F>> {
        Ok(self.try_get(v)?.unwrap_or_else(|| Tensor::zeros(v.shape())))
    }
    /// The gradient of a scalar node without building a tensor (0 when it does not reach).
    ///
    /// # Panics
    /// When `v` belongs to another graph or recording.
    #[inline]
    #[track_caller]
    pub fn scalar(&self, v: Var<'_, F>) -> F {
        self.get_scalar(v).unwrap_or(F::ZERO)
    }

    fn add_tensor(&mut self, tape: &Tape<F>, id: NodeId, d: Tensor<F>) {
        if let Value::Scalar(_) = tape.value(id) {
            self.scalars.add(id as usize, d.data()[0]);
            return;
        }
        self.scalars.states[id as usize] = TENSOR;
        match self.tensors.entry(id) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(d);
            }
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let sum = e.get_mut().zip_assign(&d, "accumulate", |a, b| a + b);
                debug_assert!(sum.is_ok());
            }
        }
    }
    /// Adds slice node `i`'s gradient straight into the part `range` of its input `x`'s
    /// gradient, when `x` has one already (the second and third of q, k and v cut from one
    /// projection): the slice's rule would pad it with zeros to `x`'s whole size, and adding
    /// that wrote every element. False when there is nothing to add into.
    fn add_slice_gradient(&mut self, tape: &Tape<F>, i: NodeId, x: NodeId, range: &Range) -> bool {
        if !tape.requires_grad(x) || !self.tensors.contains_key(&i) {
            return false;
        }
        let g = self.tensors[&i].clone();
        match self.tensors.get_mut(&x) {
            Some(sum) => {
                let added = sum.add_into_slice(range.axis as isize, range.start, &g);
                debug_assert!(added.is_ok());
                true
            }
            None => false,
        }
    }
}

/// `backward()` and friends on a [`Var`]; in the prelude.
pub trait Backward<F: Float> {
    /// The gradients of this single-element result with respect to every node it depends on.
    ///
    /// # Panics
    /// When the result has more than one element; see [`Backward::try_backward`].
    fn backward(self) -> Gradients<F>;
    /// The gradients, or [`Error::NonScalarRoot`].
    fn try_backward(self) -> Result<Gradients<F>>;
    /// The gradients with `seed` as the gradient of the result (any shape, like PyTorch's
    /// `y.backward(gradient)`).
    ///
    /// # Panics
    /// When the seed's shape differs from the result's; see [`Backward::try_backward_with`].
    fn backward_with(self, seed: Tensor<F>) -> Gradients<F>;
    /// [`Backward::backward_with`], or [`Error::SeedShape`] / [`Error::NoGradient`].
    fn try_backward_with(self, seed: Tensor<F>) -> Result<Gradients<F>>;
}

impl<F: Float> Backward<F> for Var<'_, F> {
    #[track_caller]
    fn backward(self) -> Gradients<F> {
        expect(self.try_backward())
    }
    fn try_backward(self) -> Result<Gradients<F>> {
        let shape = self.shape();
        if shape.numel() != 1 {
            return Err(Error::NonScalarRoot { shape });
        }
        self.try_backward_with(Tensor::ones(shape))
    }
    #[track_caller]
    fn backward_with(self, seed: Tensor<F>) -> Gradients<F> {
        expect(self.try_backward_with(seed))
    }
    fn try_backward_with(self, seed: Tensor<F>) -> Result<Gradients<F>> {
        let root = self.shape();
        if seed.shape() != &root {
            return Err(Error::SeedShape { seed: seed.shape().clone(), root });
        }
        if !self.requires_grad() {
            return Err(Error::NoGradient);
        }
        let graph = self.graph();
        if graph.is_detecting_anomaly() {
            if let Some(found) = graph.anomaly() {
                return Err(tapegrad_graph::Error::Anomaly(Box::new(found)).into());
            }
            return sweep_one_by_one(self, seed, true);
        }
        if graph.has_hooks() {
            return sweep_one_by_one(self, seed, false);
        }
        Ok(sweep(self, seed))
    }
}

#[inline(never)]
fn sweep<F: Float>(root: Var<'_, F>, seed: Tensor<F>) -> Gradients<F> {
    let tape = root.graph().tape();
    let mut grads = Gradients::new(root.graph().generation(), root.id() as usize + 1, tape.tensor_nodes().len());
    if !tape.requires_grad(root.id()) {
        return grads;
    }
    grads.add_tensor(&tape, root.id(), seed);
    // The gradient node `i + 1` passed to node `i`, kept in a local rather than in node `i`'s
    // slot: in a chain each node's gradient comes from the node just after it, and a round trip
    // through the slot array would make every step wait for the previous step's store.
    let mut carried: Option<F> = None;
    let mut zero_ds = [None, None];
    let tensor_nodes = tape.tensor_nodes();
    let mut tensors_left = tensor_nodes.partition_point(|&t| t <= root.id());
    for i in (0..=root.id()).rev() {
        let from_next = carried.take();
        let is_tensor = tensors_left > 0 && tensor_nodes[tensors_left - 1] == i;
        tensors_left -= is_tensor as usize;
        let mut pass = Pass { i, carried: &mut carried, slots: &mut grads.scalars };
        // SAFETY (the unchecked reads in this loop): `i` ≤ root < len, and a node's inputs
        // were recorded before it, so their ids are below `i`.
        let node = unsafe { tape.node_unchecked(i) };
        let state = unsafe { pass.slots.state_unchecked(i as usize) };
        if is_tensor {
            debug_assert!(from_next.is_none(), "only scalar nodes are carried");
            if state != UNREACHED {
                tensor_step(&tape, i, &mut grads, &mut zero_ds);
            }
            continue;
        }
        let g = match (from_next, state) {
            (None, UNREACHED) => continue,
            (None, WRITTEN) => unsafe { pass.slots.written_unchecked(i as usize) },
            (None, _) => F::ZERO,
            (Some(c), _) => {
                let g = if state == WRITTEN { c + unsafe { pass.slots.written_unchecked(i as usize) } } else { c };
                unsafe { pass.slots.set_unchecked(i as usize, g) };
                g
            }
        };
        if g == F::ZERO && pass.zero_gradient(node.op(), node.scalar()) {
            continue;
        }
        // The inputs of a scalar elementwise node are scalar nodes too: an elementwise result
        // has at least as many dimensions as each input, and every 0-d value is a scalar node.
        let y = node.scalar();
        let input = |x: NodeId| {
            debug_assert!(tape.scalar(x).is_some(), "input {x} of scalar node {i} is a tensor");
            unsafe { tape.node_unchecked(x) }.scalar()
        };
        match *node.op() {
            Op::Unary(k, x) => pass.add(x, rules::elementwise::unary(k, &input(x), &y, &g)),
            Op::Param(k, x, p) => pass.add(x, rules::elementwise::param(k, p, &input(x), &g)),
            Op::Binary(k, a, b, need) => {
                let (va, vb) = (input(a), input(b));
                let [da, db] = if k.is_arithmetic() {
                    rules::elementwise::binary(k, &va, &vb, &y, &g, need)
                } else {
                    binary_by_value(k, va, vb, y, g, need)
                };
                if let Some(da) = da {
                    pass.add(a, da);
                }
                if let Some(db) = db {
                    pass.add(b, db);
                }
            }
            Op::Leaf | Op::Constant => {}
            _ => tensor_step(&tape, i, &mut grads, &mut zero_ds),
        }
    }
    grads
}

/// The sweep of a graph with gradient hooks or in anomaly mode: every node as a tensor, one at
/// a time, with the tape borrowed only while a rule runs, so a hook can record ops. Slower
/// than [`sweep`] and kept apart from it, so other graphs pay nothing for hooks or watching.
/// When `watch`, the first rule that turns a finite gradient into a NaN or an infinity is an
/// [`Anomaly`](tapegrad_graph::Anomaly).
fn sweep_one_by_one<F: Float>(root: Var<'_, F>, seed: Tensor<F>, watch: bool) -> Result<Gradients<F>> {
    let graph = root.graph();
    let (nodes, tensor_nodes) = {
        let tape = graph.tape();
        (root.id() as usize + 1, tape.tensor_nodes().len())
    };
    let mut grads = Gradients::new(graph.generation(), nodes, tensor_nodes);
    let mut pending: Vec<Option<Tensor<F>>> = vec![None; nodes];
    pending[root.id() as usize] = Some(seed);
    for i in (0..=root.id()).rev() {
        let Some(mut g) = pending[i as usize].take() else { continue };
        for hook in graph.hooks_of(i) {
            if let Some(replacement) = hook(graph, &g) {
                if replacement.shape() != g.shape() {
                    return Err(Error::HookShape {
                        node: i,
                        found: replacement.shape().clone(),
                        expected: g.shape().clone(),
                    });
                }
                g = replacement;
            }
        }
        let tape = graph.tape();
        let input_grads = tensor_input_grads(&tape, i, &g);
        if watch && tapegrad_graph::non_finite(g.data()).is_none() {
            let inputs = tape.op(i).inputs();
            for (x, d) in &input_grads {
                if let Some(found) = tapegrad_graph::non_finite(d.data()) {
                    let input = inputs.iter().position(|y| y == x);
                    drop(tape);
                    let anomaly = graph.anomaly_at(tapegrad_graph::Phase::Backward, i, input, found);
                    return Err(tapegrad_graph::Error::Anomaly(Box::new(anomaly)).into());
                }
            }
        }
        for (x, d) in input_grads {
            let slot = &mut pending[x as usize];
            *slot = Some(match slot.take() {
                Some(sum) => tapegrad_graph::Algebra::add(&sum, &d),
                None => d,
            });
        }
        grads.add_tensor(&tape, i, g);
    }
    Ok(grads)
}

/// The rule of a scalar binary op other than `+ − × ÷`, out of line and with its operands by
/// value: inlined, the larger rules (pow, maximum, minimum) make the sweep's hot loop keep its
/// values on the stack (measured on W5); passed by reference to a call, they would have to
/// live in memory anyway.
#[inline(never)]
fn binary_by_value<F: Float>(op: BinaryOp, a: F, b: F, y: F, g: F, need: [bool; 2]) -> [Option<F>; 2] {
    rules::elementwise::binary(op, &a, &b, &y, &g, need)
}

/// Visiting scalar node `i`: where its inputs' gradients go.
struct Pass<'a, F: Float> {
    i: NodeId,
    carried: &'a mut Option<F>,
    slots: &'a mut ScalarSlots<F>,
}

impl<F: Float> Pass<'_, F> {
    /// Adds `d` to the gradient of input `x` (an id below `i`).
    #[inline(always)]
    fn add(&mut self, x: NodeId, d: F) {
        if x + 1 == self.i {
            *self.carried = Some(match *self.carried {
                Some(c) => c + d,
                None => d,
            });
        } else {
            debug_assert!(x < self.i);
            // SAFETY: `x` < `i` ≤ root, so it is in range.
            unsafe { self.slots.add_unchecked(x as usize, d) };
        }
    }
    /// A scalar node whose gradient is exactly 0 passes its inputs `0 · ∂y/∂x`, which is
    /// exactly 0 when the local derivative is finite; then the inputs are only marked as
    /// reached, without reading their values (the skipped work is most of a step once a hinge
    /// or ReLU saturates). The local derivatives are known finite, without computing them, when
    /// the output `y` is finite and the op says a finite output implies them
    /// ([`UnaryOp::finite_output_finite_derivative`] and its twins). Otherwise the rule runs, so
    /// `0 · log(x)` at 0 gives NaN, as on the tensor path and in PyTorch. Returns false when
    /// the rule must run.
    #[inline(always)]
    fn zero_gradient(&mut self, op: &Op<F>, y: F) -> bool {
        if !y.is_finite() {
            return false;
        }
        // SAFETY: inputs have ids below `i` ≤ root, so they are in range.
        let mut touch = |x: NodeId| unsafe { self.slots.touch_unchecked(x as usize) };
        match *op {
            Op::Unary(k, x) if k.finite_output_finite_derivative() => touch(x),
            Op::Param(k, x, _) if k.finite_output_finite_derivative() => touch(x),
            Op::Binary(k, a, b, need) if k.finite_output_finite_derivative() => {
                if need[0] {
                    touch(a);
                }
                if need[1] {
                    touch(b);
                }
            }
            Op::Leaf | Op::Constant => {}
            _ => return false,
        }
        true
    }
}

/// A 0-d tensor holding `v`: `cached`'s, rewritten in place unless something still shares it
/// (allocating one for each rule was 1.3 % of the instructions of W3r, a small MLP's replayed
/// step).
pub(crate) fn zero_d<F: Float>(cached: &mut Option<Tensor<F>>, v: F) -> Tensor<F> {
    let t = cached.get_or_insert_with(|| Tensor::scalar(v));
    t.data_mut()[0] = v;
    t.clone()
}

/// Runs node `i`'s rule and adds what it passes to its inputs' gradients. A scalar node's
/// value and gradient reach the rule as 0-d tensors: `g_0d`'s and `y_0d`'s, reused.
fn tensor_step<F: Float>(
    tape: &Tape<F>,
    i: NodeId,
    grads: &mut Gradients<F>,
    [g_0d, y_0d]: &mut [Option<Tensor<F>>; 2],
) {
    if let Op::Slice(x, range) = tape.op(i) {
        if grads.add_slice_gradient(tape, i, *x, range) {
            return;
        }
    }
    // Held until the rule is done: it reads node `i`'s gradient, which `grads` owns. Room for
    // an L2 penalty's parameters (W3's six) without a heap list.
    let mut passed: SmallVec<[(usize, Tensor<F>); 8]> = SmallVec::new();
    let pass = |input, d| passed.push((input, d));
    match tape.value(i) {
        Value::Scalar(y) => {
            let g = zero_d(g_0d, grads.scalars.read(i as usize));
            pass_input_grads_given(tape, i, &g, &zero_d(y_0d, y), pass)
        }
        Value::Tensor(_) => pass_input_grads(tape, i, &grads.tensors[&i], pass),
    };
    let inputs = tape.op(i).inputs();
    for (input, d) in passed.drain(..) {
        grads.add_tensor(tape, inputs[input], d);
    }
}

/// The gradients node `i` passes to its inputs that require grad, from its gradient `g`, by
/// the op's rule run on tensors (a custom op's own rule for `Op::Custom`).
pub(crate) fn tensor_input_grads<F: Float>(
    tape: &Tape<F>,
    i: NodeId,
    g: &Tensor<F>,
) -> SmallVec<[(NodeId, Tensor<F>); 3]> {
    let inputs = tape.op(i).inputs();
    let mut passed = SmallVec::new();
    pass_input_grads(tape, i, g, |input, d| passed.push((inputs[input], d)));
    passed
}

/// The gradient node `i` passes to each of its inputs, in the op's input order (`None` for an
/// input no gradient flows to).
pub(crate) fn input_grads_in_order<F: Float>(
    tape: &Tape<F>,
    i: NodeId,
    g: &Tensor<F>,
) -> SmallVec<[Option<Tensor<F>>; 3]> {
    let mut in_order: SmallVec<[Option<Tensor<F>>; 3]> = smallvec::smallvec![None; tape.op(i).inputs().len()];
    pass_input_grads(tape, i, g, |input, d| in_order[input] = Some(d));
    in_order
}

/// Passes the gradient node `i` sends each input that requires grad, from its gradient `g`,
/// to `pass(input position, gradient)`, by the op's rule run on tensors (a custom op's own
/// rule for `Op::Custom`).
fn pass_input_grads<F: Float>(tape: &Tape<F>, i: NodeId, g: &Tensor<F>, pass: impl FnMut(usize, Tensor<F>)) {
    pass_input_grads_given(tape, i, g, &tape.tensor_cow(i), pass)
}

/// [`pass_input_grads`] given node `i`'s value `y`.
fn pass_input_grads_given<F: Float>(
    tape: &Tape<F>,
    i: NodeId,
    g: &Tensor<F>,
    y: &Tensor<F>,
    mut pass: impl FnMut(usize, Tensor<F>),
) {
    let op = tape.op(i);
    let mut run = |values: &[Cow<'_, Tensor<F>>], need: &[bool]| match op {
        Op::Custom(node) => {
            let refs: SmallVec<[&Tensor<F>; 3]> = values.iter().map(|v| v.as_ref()).collect();
            for (input, d) in crate::custom::tensor_grads(node, &refs, y, g).into_iter().enumerate() {
                if let (Some(d), true) = (d, need[input]) {
                    pass(input, d);
                }
            }
        }
        _ => rules::pass_input_grads::<F, Tensor<F>, _>(op, values, y, g, need, &mut pass),
    };
    // Most ops have one or two inputs: their values and flags go in arrays, which cost less
    // to fill than growable lists (W3: 1 % of a step's instructions).
    let (value, need) = (|x: NodeId| tape.tensor_cow(x), |x: NodeId| tape.requires_grad(x));
    match *op.inputs() {
        [a] => run(&[value(a)], &[need(a)]),
        [a, b] => run(&[value(a), value(b)], &[need(a), need(b)]),
        ref inputs => {
            let needs: SmallVec<[bool; 8]> = inputs.iter().map(|&x| need(x)).collect();
            let values: SmallVec<[Cow<'_, Tensor<F>>; 8]> = inputs.iter().map(|&x| value(x)).collect();
            run(&values, &needs)
        }
    }
}
