//! The threads that take a share of a kernel's parts, kept awake between kernels.
//!
//! A training step runs dozens of parallel kernels with a little serial work between them.
//! A helper that sleeps between them (a rayon pool's worker, a futex wait) took 35–55 µs to
//! wake on this project's 2-core machine, against 5 µs for the work it was woken for, so two
//! threads ran a conv net's step no faster than one. Here a helper spins for
//! [`SPIN`] after its last part before it parks (as OpenMP's workers do), and the caller never
//! waits for a helper to wake: it takes parts itself from the same counter, and a helper that
//! comes late finds none left.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long an idle helper spins, looking for work, before it parks (under Miri, where a spin
/// is slow to interpret, it parks at once).
const SPIN: Duration = Duration::from_millis(if cfg!(miri) { 0 } else { 1 });

thread_local! {
    /// True on a helper thread: a kernel run by a helper offers no parts of its own (the
    /// helper counts in [`ACTIVE`], so its wait for the count to fall would never end).
    static IS_HELPER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A kernel's parts offered to the helpers: `run(data)` takes and runs parts until none are
/// left.
struct Job {
    run: unsafe fn(*const ()),
    data: *const (),
}

/// The job on offer (null when there is none). One caller at a time offers one; a caller that
/// finds another's job here runs its own parts alone.
static OFFER: AtomicPtr<Job> = AtomicPtr::new(std::ptr::null_mut());
/// How many helpers may be looking at the job on offer.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// One helper's handle, its place among the helpers, and whether it is parked (or about to
/// be).
struct Helper {
    thread: Thread,
    index: usize,
    parked: AtomicBool,
}

/// True when helper `index` may take parts: with `set_num_threads(n)`, only the first `n − 1`
/// helpers do (the caller is the n-th thread), and the rest stay parked.
fn in_use(index: usize) -> bool {
    index + 1 < crate::threads::num_threads()
}

/// The helpers: one fewer than the CPUs, so with the caller every CPU has one busy thread.
fn helpers() -> &'static [Helper] {
    static HELPERS: OnceLock<Vec<Helper>> = OnceLock::new();
    HELPERS.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        (0..cpus.saturating_sub(1))
            .filter_map(|i| {
                let spawned = std::thread::Builder::new().name(format!("tapegrad-helper-{i}")).spawn(|| {
                    IS_HELPER.with(|h| h.set(true));
                    // (This waits until the caller's initialisation has built the list.)
                    let me = std::thread::current().id();
                    if let Some(me) = helpers().iter().find(|h| h.thread.id() == me) {
                        helper_loop(me)
                    }
                });
                spawned.ok().map(|handle| Helper {
                    thread: handle.thread().clone(),
                    index: i,
                    parked: AtomicBool::new(false),
                })
            })
            .collect()
    })
}

fn helper_loop(me: &Helper) -> ! {
    let mut idle_since = Instant::now();
    loop {
        if !OFFER.load(SeqCst).is_null() && in_use(me.index) {
            ACTIVE.fetch_add(1, SeqCst);
            let job = OFFER.load(SeqCst);
            if !job.is_null() {
                // SAFETY: the caller that offered `job` keeps it (and what its data points to)
                // alive until it has withdrawn the offer and then seen ACTIVE at 0. This
                // helper counted itself in ACTIVE before it read the offer (all SeqCst), so
                // either the caller's wait sees it, or its read came after the withdrawal
                // and found no job or another caller's live one.
                unsafe { ((*job).run)((*job).data) };
            }
            ACTIVE.fetch_sub(1, SeqCst);
            idle_since = Instant::now();
            continue;
        }
        if idle_since.elapsed() < SPIN {
            std::hint::spin_loop();
            continue;
        }
        me.parked.store(true, SeqCst);
        if OFFER.load(SeqCst).is_null() || !in_use(me.index) {
            // A caller that offers a job after the check above sees `parked` and unparks the
            // helpers in use.
            std::thread::park();
        }
        me.parked.store(false, SeqCst);
        idle_since = Instant::now();
    }
}

/// The parts of one call of [`for_each_part`], shared with the helpers.
struct Parts<'a, T, W> {
    parts: Vec<Mutex<Option<T>>>,
    work: &'a W,
    next: AtomicUsize,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl<T, W: Fn(T)> Parts<'_, T, W> {
    /// Takes and runs parts until none are left; a panicking part's payload is kept for the
    /// caller.
    fn run(&self) {
        loop {
            let i = self.next.fetch_add(1, SeqCst);
            let Some(slot) = self.parts.get(i) else { return };
            let part = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(part) = part {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| (self.work)(part))) {
                    self.panic.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(payload);
                }
            }
        }
    }
}

/// [`Job::run`] for `Parts<T, W>`.
///
/// # Safety
/// `data` must point to a live `Parts<T, W>`.
unsafe fn run_parts<T, W: Fn(T)>(data: *const ()) {
    // SAFETY: forwarded from the caller's contract.
    unsafe { &*data.cast::<Parts<'_, T, W>>() }.run()
}

/// Runs `work` on every part, on the calling thread and on the helpers that are free, and
/// returns when all are done; a part's panic is resumed on the caller. Without helpers, or
/// while another call's parts are on offer, the caller runs every part.
pub(crate) fn for_each_part<T: Send, W: Fn(T) + Sync>(parts: impl IntoIterator<Item = T>, work: W) {
    let parts: Vec<Mutex<Option<T>>> = parts.into_iter().map(|p| Mutex::new(Some(p))).collect();
    let helpers = helpers();
    let shared = Parts { parts, work: &work, next: AtomicUsize::new(0), panic: Mutex::new(None) };
    if shared.parts.len() <= 1 || helpers.is_empty() || IS_HELPER.with(|h| h.get()) {
        shared.run();
    } else {
        let job = Job { run: run_parts::<T, W>, data: (&raw const shared).cast() };
        let offer = (&raw const job).cast_mut();
        if OFFER.compare_exchange(std::ptr::null_mut(), offer, SeqCst, SeqCst).is_ok() {
            for helper in helpers.iter().filter(|h| in_use(h.index)) {
                if helper.parked.load(SeqCst) {
                    helper.thread.unpark();
                }
            }
            // Withdraws the offer and waits out the helpers using it, even if a part panics
            // here (`run` catches panics, but this keeps the wait on every way out).
            struct Withdraw;
            impl Drop for Withdraw {
                fn drop(&mut self) {
                    OFFER.store(std::ptr::null_mut(), SeqCst);
                    while ACTIVE.load(SeqCst) != 0 {
                        std::hint::spin_loop();
                    }
                }
            }
            let _withdraw = Withdraw;
            shared.run();
        } else {
            shared.run();
        }
    }
    if let Some(payload) = shared.panic.into_inner().unwrap_or_else(|e| e.into_inner()) {
        resume_unwind(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::for_each_part;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    #[test]
    fn every_part_runs_once_from_concurrent_and_nested_callers() {
        let rounds = if cfg!(miri) { 3 } else { 200 };
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..rounds {
                        let counts: Vec<AtomicUsize> = (0..12).map(|_| AtomicUsize::new(0)).collect();
                        for_each_part(0..12, |i: usize| {
                            counts[i].fetch_add(1, Relaxed);
                        });
                        assert!(counts.iter().all(|c| c.load(Relaxed) == 1));
                    }
                });
            }
        });
        let inner = AtomicUsize::new(0);
        for_each_part(0..3, |_| {
            for_each_part(0..4, |_| {
                inner.fetch_add(1, Relaxed);
            })
        });
        assert_eq!(inner.load(Relaxed), 12);
    }

    #[test]
    fn helpers_beyond_the_thread_count_take_no_parts() {
        crate::threads::set_num_threads(1);
        let caller = std::thread::current().id();
        let elsewhere = AtomicUsize::new(0);
        for _ in 0..if cfg!(miri) { 2 } else { 50 } {
            for_each_part(0..8, |_: usize| {
                if std::thread::current().id() != caller {
                    elsewhere.fetch_add(1, Relaxed);
                }
            });
        }
        crate::threads::set_num_threads(0);
        assert_eq!(elsewhere.load(Relaxed), 0);
    }

    #[test]
    fn a_parts_panic_reaches_the_caller_and_the_helpers_go_on() {
        for _ in 0..if cfg!(miri) { 2 } else { 50 } {
            let caught = std::panic::catch_unwind(|| {
                for_each_part(0..6, |i: usize| {
                    if i == 4 {
                        panic!("part 4 failed");
                    }
                })
            });
            let payload = caught.expect_err("the panic is resumed");
            assert_eq!(payload.downcast_ref::<&str>(), Some(&"part 4 failed"));
        }
        let done = AtomicUsize::new(0);
        for_each_part(0..5, |_| {
            done.fetch_add(1, Relaxed);
        });
        assert_eq!(done.load(Relaxed), 5);
    }
}
