//! How many threads the kernels may use, and how they split their work.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

static THREADS: AtomicUsize = AtomicUsize::new(0);
static AVAILABLE: OnceLock<usize> = OnceLock::new();

/// Products smaller than this many multiply-adds run on one thread: below it, waking other
/// threads costs more than it saves.
const PARALLEL_WORK: usize = 1 << 18;

/// Sets the number of threads matrix products use (`1` for single-threaded runs; `0` restores
/// the default: `RAYON_NUM_THREADS` when it is set to a positive number, else the number of
/// CPUs available).
///
/// ```
/// tapegrad_graph::set_num_threads(1);
/// assert_eq!(tapegrad_graph::num_threads(), 1);
/// tapegrad_graph::set_num_threads(0);
/// ```
pub fn set_num_threads(threads: usize) {
    THREADS.store(threads, Ordering::Relaxed);
}

/// The number of threads matrix products use.
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => *AVAILABLE.get_or_init(|| {
            let from_env = std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.trim().parse::<usize>().ok());
            match from_env {
                Some(n) if n > 0 => n,
                _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
            }
        }),
        n => n,
    }
}

/// Passes over fewer elements than this (loads, a multiply-add, a store each) run on one
/// thread.
const PARALLEL_ELEMENTS: usize = 1 << 15;

/// How many threads a pass over `elements` elements should be split over.
pub(crate) fn threads_for_elements(elements: usize) -> usize {
    if elements >= PARALLEL_ELEMENTS {
        num_threads()
    } else {
        1
    }
}

/// Runs `work(first_unit, part)` on the parts of `out` split into whole `unit`-element units,
/// one part per thread for up to `threads` threads (`first_unit` counts the units before the
/// part). A `unit` of 0 is one part.
pub(crate) fn for_each_chunk<T: Send>(
    out: &mut [T],
    unit: usize,
    threads: usize,
    work: impl Fn(usize, &mut [T]) + Sync,
) {
    let units = out.len().checked_div(unit).unwrap_or(0);
    if threads <= 1 || units <= 1 {
        work(0, out);
        return;
    }
    let per_part = units.div_ceil(threads.min(units));
    for_each_part(out.chunks_mut(per_part * unit).enumerate(), |(part, chunk)| work(part * per_part, chunk));
}

/// How many threads a product of `work` multiply-adds should be split over.
pub(crate) fn threads_for(work: usize) -> usize {
    if work >= PARALLEL_WORK {
        num_threads()
    } else {
        1
    }
}

/// Runs `work` on every part, the first on the calling thread and the others on the helper
/// threads, and returns when all are done. The caller works too, instead of handing every part
/// to a pool and sleeping until they are done: that hand-off and wake-up per product cost more
/// than the second core saved on a conv net's products (W8 on two threads was slower than on
/// one). Without helpers (threads could not be started) the caller runs every part.
pub(crate) fn for_each_part<T: Send>(parts: impl IntoIterator<Item = T>, work: impl Fn(T) + Sync) {
    let mut parts = parts.into_iter();
    let Some(first) = parts.next() else { return };
    let Some(helpers) = helpers() else {
        work(first);
        parts.for_each(work);
        return;
    };
    let work = &work;
    helpers.in_place_scope(|scope| {
        for part in parts {
            scope.spawn(move |_| work(part));
        }
        work(first)
    })
}

/// The threads that take the parts the caller does not: one fewer than the CPUs, so that with
/// the caller every CPU has one busy thread.
fn helpers() -> Option<&'static rayon::ThreadPool> {
    static HELPERS: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    HELPERS
        .get_or_init(|| {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            rayon::ThreadPoolBuilder::new()
                .num_threads(cpus.saturating_sub(1).max(1))
                .thread_name(|i| format!("tapegrad-helper-{i}"))
                .build()
                .ok()
        })
        .as_ref()
}
