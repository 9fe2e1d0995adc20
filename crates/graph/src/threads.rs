//! How many threads the matrix product may use.

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

/// How many threads a product of `work` multiply-adds should be split over.
pub(crate) fn threads_for(work: usize) -> usize {
    if work >= PARALLEL_WORK {
        num_threads()
    } else {
        1
    }
}
