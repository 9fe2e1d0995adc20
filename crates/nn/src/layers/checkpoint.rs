//! A module run as a checkpointed segment, with its random draws repeated on recomputation.

use crate::module::{Forward, Module};
use crate::params::{Bound, ParamId};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use tapegrad_graph::{Float, Graph, Var};

/// Runs the module it wraps as one checkpointed segment ([`tapegrad_autograd::checkpoint`]):
/// the layer's inside is not kept on the tape, and backward runs it again. `Dropout` inside
/// draws the same mask the second time. Trades a second forward pass for memory, as PyTorch's
/// `checkpoint` does.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_autograd::Backward;
/// use tapegrad_graph::{Graph, Tensor};
/// use tapegrad_nn::layers::{mlp, Activation, Checkpoint};
/// use tapegrad_nn::{Forward, ParamStore};
/// let mut store = ParamStore::new();
/// let block = Checkpoint::new(mlp(&mut store, &[4, 16, 16, 4], Activation::Tanh, &mut StdRng::seed_from_u64(0))?);
/// let g = Graph::new();
/// let params = store.bind(&g);
/// let x = g.constant(Tensor::ones([8, 4]));
/// let before = g.len();
/// let loss = block.forward(&params, x).sum();
/// assert_eq!(g.len(), before + 2); // the segment and the sum
/// store.accumulate(&params, &loss.backward());
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub struct Checkpoint<M> {
    inner: Arc<RwLock<M>>,
}

impl<M> Checkpoint<M> {
    /// Wraps `module`.
    pub fn new(module: M) -> Self {
        Checkpoint { inner: Arc::new(RwLock::new(module)) }
    }
    /// The wrapped module, to read.
    pub fn module(&self) -> std::sync::RwLockReadGuard<'_, M> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<F: Float, M: Module<F>> Module<F> for Checkpoint<M> {
    fn parameters(&self) -> Vec<ParamId> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner).parameters()
    }
    fn set_training(&mut self, training: bool) {
        self.inner.write().unwrap_or_else(PoisonError::into_inner).set_training(training);
    }
}

impl<F: Float, M: Forward<F> + Send + Sync + 'static> Forward<F> for Checkpoint<M> {
    fn forward<'g>(&self, params: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        let ids = self.parameters();
        let mut inputs = vec![x];
        inputs.extend(ids.iter().map(|&id| params.var(id)));
        let module = self.inner.clone();
        // The draws of the first run, replayed by every later one.
        let draws: Mutex<Option<Vec<Vec<bool>>>> = Mutex::new(None);
        let graph: &'g Graph<F> = x.graph();
        tapegrad_autograd::checkpoint(graph, &inputs, move |xs| {
            let mut bound = Bound::new();
            for (&id, &v) in ids.iter().zip(&xs[1..]) {
                bound.insert(id, v);
            }
            let module = module.read().unwrap_or_else(PoisonError::into_inner);
            let recorded = draws.lock().unwrap_or_else(PoisonError::into_inner).clone();
            match recorded {
                Some(recorded) => with_draws(Draws::Replay(recorded.into()), || module.forward(&bound, xs[0])).0,
                None => {
                    let (y, made) = with_draws(Draws::Record(Vec::new()), || module.forward(&bound, xs[0]));
                    if let Draws::Record(made) = made {
                        *draws.lock().unwrap_or_else(PoisonError::into_inner) = Some(made);
                    }
                    y
                }
            }
        })
    }
}

/// The random draws of one run of a checkpointed segment: recorded the first time, replayed
/// in order after.
enum Draws {
    Record(Vec<Vec<bool>>),
    Replay(VecDeque<Vec<bool>>),
}

thread_local! {
    static DRAWS: RefCell<Option<Draws>> = const { RefCell::new(None) };
    static DRY_RUN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` as a dry run (a summary's forward pass): layers keep their state as it is.
pub(crate) fn dry_run<R>(f: impl FnOnce() -> R) -> R {
    let outer = DRY_RUN.with(|d| d.replace(true));
    let result = f();
    DRY_RUN.with(|d| d.set(outer));
    result
}

/// Whether a forward pass may move a layer's state (a batch norm's running statistics): not
/// in a dry run, and not when a checkpoint runs its segment a second time (the first run
/// already did).
pub(crate) fn updates_state() -> bool {
    !DRY_RUN.with(|d| d.get()) && DRAWS.with(|d| !matches!(*d.borrow(), Some(Draws::Replay(_))))
}

/// Runs `f` with `draws` as this thread's draw log; returns the log as `f` left it.
fn with_draws<R>(draws: Draws, f: impl FnOnce() -> R) -> (R, Draws) {
    let outer = DRAWS.with(|d| d.replace(Some(draws)));
    let result = f();
    let inner = DRAWS.with(|d| d.replace(outer));
    (result, inner.expect("the draw log is put back by the run that took it"))
}

/// A mask of `n` keep flags: `fresh()` outside a checkpoint and on its first run, and the
/// same flags again when a checkpoint runs its segment again.
pub(crate) fn draw_mask(n: usize, fresh: impl FnOnce() -> Vec<bool>) -> Vec<bool> {
    DRAWS.with(|d| {
        let mut log = d.borrow_mut();
        match log.as_mut() {
            None => fresh(),
            Some(Draws::Record(made)) => {
                let mask = fresh();
                made.push(mask.clone());
                mask
            }
            Some(Draws::Replay(left)) => match left.pop_front() {
                Some(mask) if mask.len() == n => mask,
                _ => fresh(),
            },
        }
    })
}
