//! Parameters live outside any graph, in a [`ParamStore`] keyed by `slotmap` keys, each with a
//! dotted name; every training step binds them into that step's graph as leaves.

use crate::error::{Error, Result};
use slotmap::{new_key_type, SecondaryMap, SlotMap};
use std::sync::atomic::{AtomicU64, Ordering};
use tapegrad_autograd::Gradients;
use tapegrad_graph::{Float, Graph, Tensor, Var};

new_key_type! {
    /// A parameter's slot in its store's map (optimizers key their state by it).
    pub(crate) struct ParamSlot;
}

/// A parameter's key in its [`ParamStore`]. It names the store too, so an id used with another
/// store is refused instead of reaching whatever parameter sits in the same slot there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId {
    slot: ParamSlot,
    store: u64,
}

impl ParamId {
    pub(crate) fn slot(self) -> ParamSlot {
        self.slot
    }
}

/// Hands every new store its own number.
static NEXT_STORE: AtomicU64 = AtomicU64::new(0);

/// One parameter: its name, value, accumulated gradient and whether it is frozen.
#[derive(Clone, Debug)]
pub struct Param<F: Float> {
    /// The dotted name, e.g. `layers.0.weight`; weight files use it.
    pub name: String,
    /// The current value.
    pub value: Tensor<F>,
    /// The gradient accumulated by [`ParamStore::accumulate`] since the last
    /// [`ParamStore::zero_grad`].
    pub grad: Option<Tensor<F>>,
    /// A frozen parameter is bound as a constant: it gets no gradient and optimizers skip it.
    pub frozen: bool,
    /// A scalar parameter's gradient buffer kept by `zero_grad` for the next `accumulate`.
    spare: Option<Tensor<F>>,
}

/// Every parameter of a model.
///
/// ```
/// use tapegrad_graph::{Graph, Tensor};
/// use tapegrad_autograd::Backward;
/// use tapegrad_nn::ParamStore;
/// let mut store = ParamStore::new();
/// let w = store.add("w", Tensor::scalar(3.0))?;
/// let g = Graph::new();
/// let bound = store.bind(&g);
/// let loss = bound.var(w) * bound.var(w);
/// store.accumulate(&bound, &loss.backward());
/// assert_eq!(store[w].grad.as_ref().unwrap().item(), 6.0);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
///
/// A clone is a copy of the same parameters and answers to the same [`ParamId`]s; any other
/// store refuses them.
#[derive(Clone)]
pub struct ParamStore<F: Float = f64> {
    params: SlotMap<ParamSlot, Param<F>>,
    store: u64,
    hooks: SecondaryMap<ParamSlot, Vec<PostAccumulateHook<F>>>,
}

/// A hook run on a parameter right after [`ParamStore::accumulate`] added a gradient to it
/// (PyTorch's `register_post_accumulate_grad_hook`): it may read or change the parameter's
/// accumulated gradient, e.g. to clip or log it.
pub type PostAccumulateHook<F> = std::sync::Arc<dyn Fn(&mut Param<F>) + Send + Sync>;

impl<F: Float> std::fmt::Debug for ParamStore<F> {
    /// Each parameter's name and shape (and whether it is frozen or has a gradient), not the
    /// values: `ParamStore { layers.0.weight [2, 3] (grad), layers.0.bias [3], … }`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ParamStore {{ ")?;
        for (i, p) in self.params.values().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{} {}", p.name, p.value.shape())?;
            if p.frozen {
                write!(f, " (frozen)")?;
            }
            if p.grad.is_some() {
                write!(f, " (grad)")?;
            }
        }
        write!(f, " }} ({} parameters, {} elements)", self.len(), self.numel())
    }
}

impl<F: Float> Default for ParamStore<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Float> ParamStore<F> {
    /// An empty store.
    pub fn new() -> Self {
        ParamStore {
            params: SlotMap::with_key(),
            store: NEXT_STORE.fetch_add(1, Ordering::Relaxed),
            hooks: SecondaryMap::new(),
        }
    }
    fn id(&self, slot: ParamSlot) -> ParamId {
        ParamId { slot, store: self.store }
    }
    /// The slot of `id` when it belongs to this store.
    fn slot(&self, id: ParamId) -> Option<ParamSlot> {
        (id.store == self.store).then_some(id.slot)
    }
    /// Adds a parameter; names must be unique.
    pub fn add(&mut self, name: impl Into<String>, value: Tensor<F>) -> Result<ParamId> {
        let name = name.into();
        if self.find(&name).is_some() {
            return Err(Error::DuplicateName(name));
        }
        let slot = self.params.insert(Param { name, value, grad: None, frozen: false, spare: None });
        Ok(self.id(slot))
    }
    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.params.len()
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
    /// The total number of scalar elements over every parameter.
    pub fn numel(&self) -> usize {
        self.params.values().map(|p| p.value.numel()).sum()
    }
    /// The parameter named `name`.
    pub fn find(&self, name: &str) -> Option<ParamId> {
        self.params.iter().find(|(_, p)| p.name == name).map(|(slot, _)| self.id(slot))
    }
    /// A parameter, if `id` is in this store.
    pub fn get(&self, id: ParamId) -> Option<&Param<F>> {
        self.params.get(self.slot(id)?)
    }
    /// A parameter, for writing.
    pub fn get_mut(&mut self, id: ParamId) -> Option<&mut Param<F>> {
        let slot = self.slot(id)?;
        self.params.get_mut(slot)
    }
    /// Every parameter in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (ParamId, &Param<F>)> {
        let store = self.store;
        self.params.iter().map(move |(slot, p)| (ParamId { slot, store }, p))
    }
    /// Every parameter in insertion order, for writing.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (ParamId, &mut Param<F>)> {
        let store = self.store;
        self.params.iter_mut().map(move |(slot, p)| (ParamId { slot, store }, p))
    }
    /// Replaces a parameter's value with one of the same shape; an id of another store is an
    /// error.
    pub fn set_value(&mut self, id: ParamId, value: Tensor<F>) -> Result<()> {
        let p = self.get_mut(id).ok_or_else(|| Error::InvalidArgument {
            op: "ParamStore::set_value",
            message: "the parameter is not in this store".into(),
        })?;
        if p.value.shape() != value.shape() {
            return Err(Error::ParamShape {
                name: p.name.clone(),
                expected: p.value.shape().clone(),
                found: value.shape().clone(),
            });
        }
        p.value = value;
        Ok(())
    }
    /// Freezes or unfreezes a parameter.
    pub fn set_frozen(&mut self, id: ParamId, frozen: bool) {
        if let Some(p) = self.get_mut(id) {
            p.frozen = frozen;
        }
    }
    /// Binds every parameter into `graph` as a leaf (frozen ones as constants). The values are
    /// shared with the store, not copied.
    pub fn bind<'g>(&self, graph: &'g Graph<F>) -> Bound<'g, F> {
        let mut vars = SecondaryMap::with_capacity(self.params.len());
        for (slot, p) in &self.params {
            let var = if p.frozen { graph.constant(p.value.clone()) } else { graph.var(p.value.clone()) };
            vars.insert(slot, var);
        }
        Bound { vars, store: Some(self.store), generation: Some(graph.generation()) }
    }
    /// Adds each parameter's gradient from one backward pass to its accumulated gradient, so
    /// several passes (micro-batches) can add up before an optimizer step.
    ///
    /// # Panics
    /// When `bound` was bound from another store, or `grads` come from another graph (or
    /// recording) than `bound`.
    #[track_caller]
    pub fn accumulate(&mut self, bound: &Bound<'_, F>, grads: &Gradients<F>) {
        assert!(
            !matches!(bound.store, Some(s) if s != self.store),
            "ParamStore::accumulate: the parameters were bound from another store"
        );
        assert!(
            !matches!(bound.generation, Some(g) if g != grads.generation()),
            "ParamStore::accumulate: the gradients come from another graph (or recording) than the bound parameters"
        );
        for (slot, p) in &mut self.params {
            if p.frozen {
                continue;
            }
            let Some(&var) = bound.vars.get(slot) else { continue };
            if accumulate_one(p, var, grads) {
                for hook in self.hooks.get(slot).into_iter().flatten() {
                    hook(p);
                }
            }
        }
    }
    /// Runs `hook` on parameter `id` after each [`ParamStore::accumulate`] that gives it a
    /// gradient (PyTorch's `register_post_accumulate_grad_hook`); hooks run in the order they
    /// were registered. An id of another store is an error.
    ///
    /// ```
    /// use tapegrad_autograd::Backward;
    /// use tapegrad_graph::{Graph, Tensor};
    /// use tapegrad_nn::ParamStore;
    /// let mut store = ParamStore::<f64>::new();
    /// let w = store.add("w", Tensor::scalar(3.0))?;
    /// store.register_post_accumulate_hook(w, |p| {
    ///     if let Some(g) = &mut p.grad {
    ///         g.data_mut()[0] = g.data()[0].clamp(-1.0, 1.0);   // per-parameter clipping
    ///     }
    /// })?;
    /// let g = Graph::new();
    /// let bound = store.bind(&g);
    /// store.accumulate(&bound, &(bound.var(w) * 5.0).backward());
    /// assert_eq!(store[w].grad.as_ref().unwrap().item(), 1.0);
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    pub fn register_post_accumulate_hook(
        &mut self,
        id: ParamId,
        hook: impl Fn(&mut Param<F>) + Send + Sync + 'static,
    ) -> Result<()> {
        let slot = self.slot(id).filter(|&s| self.params.contains_key(s)).ok_or_else(|| Error::InvalidArgument {
            op: "ParamStore::register_post_accumulate_hook",
            message: "the parameter is not in this store".into(),
        })?;
        match self.hooks.get_mut(slot) {
            Some(list) => list.push(std::sync::Arc::new(hook)),
            None => {
                self.hooks.insert(slot, vec![std::sync::Arc::new(hook)]);
            }
        }
        Ok(())
    }
    /// Adds `d` to parameter `id`'s accumulated gradient and runs its post-accumulate hooks,
    /// as [`ParamStore::accumulate`] does for each parameter (ids of another store are skipped).
    pub(crate) fn accumulate_gradient(&mut self, id: ParamId, d: Incoming<F>) {
        let Some(slot) = self.slot(id) else { return };
        let Some(p) = self.params.get_mut(slot) else { return };
        if p.frozen {
            return;
        }
        add_gradient(p, d);
        for hook in self.hooks.get(slot).into_iter().flatten() {
            hook(p);
        }
    }
    /// Forgets every accumulated gradient (a scalar parameter keeps its buffer for the next
    /// `accumulate`, so micrograd-style steps do not allocate).
    pub fn zero_grad(&mut self) {
        for p in self.params.values_mut() {
            match p.grad.take() {
                Some(old) if old.ndim() == 0 => p.spare = Some(old),
                _ => {}
            }
        }
    }
}

impl<F: Float> std::ops::Index<ParamId> for ParamStore<F> {
    type Output = Param<F>;
    /// # Panics
    /// When `id` is not in this store.
    #[track_caller]
    fn index(&self, id: ParamId) -> &Param<F> {
        match self.get(id) {
            Some(p) => p,
            None => panic!("parameter {id:?} is not in this ParamStore"),
        }
    }
}

/// Adds one backward pass's gradient of `var` to `p`'s accumulated gradient; false when the
/// pass gave it none.
fn accumulate_one<F: Float>(p: &mut Param<F>, var: Var<'_, F>, grads: &Gradients<F>) -> bool {
    let incoming = if p.value.ndim() == 0 {
        grads.get_scalar(var).map(Incoming::Scalar)
    } else {
        grads.get(var).map(Incoming::Tensor)
    };
    let Some(d) = incoming else { return false };
    add_gradient(p, d);
    true
}

/// One parameter's gradient from a backward pass: a scalar's as a number, a tensor's whole.
pub(crate) enum Incoming<F: Float> {
    Scalar(F),
    Tensor(Tensor<F>),
}

/// Adds `d` to the parameter's accumulated gradient (or makes it the gradient).
fn add_gradient<F: Float>(p: &mut Param<F>, d: Incoming<F>) {
    match (d, &mut p.grad) {
        (Incoming::Scalar(d), Some(acc)) => acc.data_mut()[0] += d,
        (Incoming::Scalar(d), None) => {
            let mut buffer = p.spare.take().unwrap_or_else(|| Tensor::scalar(F::ZERO));
            buffer.data_mut()[0] = d;
            p.grad = Some(buffer);
        }
        (Incoming::Tensor(g), Some(acc)) => {
            for (a, b) in acc.data_mut().iter_mut().zip(g.data()) {
                *a += *b;
            }
        }
        (Incoming::Tensor(g), None) => p.grad = Some(g),
    }
}

/// The parameters of a store bound into one graph: the `Var` of each.
#[derive(Clone)]
pub struct Bound<'g, F: Float> {
    vars: SecondaryMap<ParamSlot, Var<'g, F>>,
    /// The store bound from; `None` for a binding filled by hand.
    store: Option<u64>,
    /// The generation of the graph bound into; `None` for a binding filled by hand.
    generation: Option<u64>,
}

impl<F: Float> Default for Bound<'_, F> {
    fn default() -> Self {
        Bound { vars: SecondaryMap::new(), store: None, generation: None }
    }
}

impl<'g, F: Float> Bound<'g, F> {
    /// An empty binding, to fill by hand with [`Bound::insert`] (to run a module on `Var`s of
    /// your own, e.g. in a gradient check of its parameters).
    pub fn new() -> Self {
        Self::default()
    }
    /// Binds parameter `id` to `var`.
    pub fn insert(&mut self, id: ParamId, var: Var<'g, F>) {
        self.vars.insert(id.slot, var);
    }
    /// The leaf bound for parameter `id`.
    ///
    /// # Panics
    /// When `id` was not in the store when it was bound.
    #[inline]
    pub fn var(&self, id: ParamId) -> Var<'g, F> {
        match self.get(id) {
            Some(v) => v,
            None => panic!("parameter {id:?} was not in the store when it was bound"),
        }
    }
    /// The leaf bound for `id`, if any.
    pub fn get(&self, id: ParamId) -> Option<Var<'g, F>> {
        if self.store.is_some_and(|s| s != id.store) {
            return None;
        }
        self.vars.get(id.slot).copied()
    }
}
