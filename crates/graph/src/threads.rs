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
    match units_per_part(units, threads) {
        None => work(0, out),
        Some(per_part) => {
            for_each_part(out.chunks_mut(per_part * unit).enumerate(), |(part, chunk)| work(part * per_part, chunk))
        }
    }
}

/// How many of `units` units each part gets when they are split over up to `threads`
/// threads, or `None` when they stay in one part (one thread, or fewer than two units).
fn units_per_part(units: usize, threads: usize) -> Option<usize> {
    (threads > 1 && units > 1).then(|| units.div_ceil(threads.min(units)))
}

/// [`for_each_chunk`] for a pass that writes `out`, one element's work each: split over
/// threads from [`PARALLEL_ELEMENTS`] elements, on the calling thread below.
pub(crate) fn split_pass<T: Send>(out: &mut [T], unit: usize, work: impl Fn(usize, &mut [T]) + Sync) {
    let threads = threads_for_elements(out.len());
    for_each_chunk(out, unit, threads, work)
}

/// [`split_pass`] for a pass that also writes one element of `side` for each `unit`-element
/// unit of `out` (a row's statistics beside the row): each part gets its units of both.
pub(crate) fn split_pass_with<T: Send, S: Send>(
    out: &mut [T],
    side: &mut [S],
    unit: usize,
    work: impl Fn(usize, &mut [T], &mut [S]) + Sync,
) {
    let threads = threads_for_elements(out.len());
    match units_per_part(side.len(), threads) {
        Some(per_part) if unit > 0 => {
            let parts = out.chunks_mut(per_part * unit).zip(side.chunks_mut(per_part)).enumerate();
            for_each_part(parts, |(part, (out, side))| work(part * per_part, out, side));
        }
        _ => work(0, out, side),
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

pub(crate) use crate::helper_threads::for_each_part;
