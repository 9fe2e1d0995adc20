//! The cell that holds a graph's tape: `RefCell`'s rules, with a write check that only reads.
//!
//! A `RefCell` marks every mutable borrow by writing its flag and unmarks it on drop: two
//! stores per recorded op, and each op's check waits for the previous op's store. Recording
//! never hands the mutable tape to user code, so here the write check only reads the number of
//! live [`TapeRef`]s, and each write is a short stretch of crate code that reads no other handle
//! to the tape.

use crate::graph::Tape;
use std::cell::{Cell, UnsafeCell};
use std::ops::Deref;

pub(crate) struct TapeCell<F> {
    tape: UnsafeCell<Tape<F>>,
    readers: Cell<usize>,
}

impl<F> TapeCell<F> {
    pub(crate) fn new(tape: Tape<F>) -> Self {
        TapeCell { tape: UnsafeCell::new(tape), readers: Cell::new(0) }
    }

    /// Shared access to the tape until the returned guard drops.
    #[inline]
    pub(crate) fn read(&self) -> TapeRef<'_, F> {
        self.readers.set(self.readers.get() + 1);
        // SAFETY: mutable access (`tape_mut`) requires no live reader, and its users drop it
        // before anything can take one (they are crate code that calls no user code).
        TapeRef { tape: unsafe { &*self.tape.get() }, readers: &self.readers }
    }

    /// The tape for writing, or `None` while a [`TapeRef`] is alive.
    ///
    /// # Safety
    /// The caller must drop the reference before anything else reads or writes the cell, and
    /// must not call user code while holding it.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)] // the `# Safety` contract above is what makes it unique
    pub(crate) unsafe fn tape_mut(&self) -> Option<&mut Tape<F>> {
        if self.readers.get() != 0 {
            return None;
        }
        // SAFETY: no reader is alive, the graph is not `Sync`, and the caller keeps this the
        // only reference while it is used.
        Some(unsafe { &mut *self.tape.get() })
    }

    /// Runs `write` on the tape.
    ///
    /// # Panics
    /// When a [`TapeRef`] is alive (an op recorded while the tape is being read).
    #[track_caller]
    #[inline(always)]
    pub(crate) fn write<R>(&self, write: impl FnOnce(&mut Tape<F>) -> R) -> R {
        // SAFETY: `write` is crate code that neither reads the cell nor calls user code, so the
        // reference is the only one while it runs.
        match unsafe { self.tape_mut() } {
            Some(tape) => write(tape),
            None => panic!("an op was recorded on a graph while its tape was borrowed by Graph::tape()"),
        }
    }

    /// The tape, through exclusive access to the cell.
    pub(crate) fn get_mut(&mut self) -> &mut Tape<F> {
        self.tape.get_mut()
    }
}

/// Read access to a graph's tape, from [`Graph::tape`](crate::Graph::tape); no op can be
/// recorded on the graph while one is alive.
pub struct TapeRef<'a, F> {
    tape: &'a Tape<F>,
    readers: &'a Cell<usize>,
}

impl<F> Deref for TapeRef<'_, F> {
    type Target = Tape<F>;
    #[inline(always)]
    fn deref(&self) -> &Tape<F> {
        self.tape
    }
}

impl<F> Drop for TapeRef<'_, F> {
    #[inline]
    fn drop(&mut self) {
        self.readers.set(self.readers.get() - 1);
    }
}
