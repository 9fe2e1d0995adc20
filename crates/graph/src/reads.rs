//! The log of value reads: every time recording code reads a value back from the tape (`item`,
//! `value`, `detach`) or freezes one (a result computed under `no_grad` from nodes that require
//! grad, a random mask drawn at record time), the graph notes where. A replayed tape
//! (`tapegrad_autograd::CompiledTape`) is only right when the code that recorded it did not
//! branch on such values, so compiling refuses a tape with reads unless they are declared
//! harmless.

use crate::float::Float;
use crate::graph::Graph;
use crate::op::NodeId;
use std::fmt;
use std::panic::Location;

/// The most reads the log keeps one by one; past it, only their count grows.
pub const MAX_LOGGED_READS: usize = 16;

/// One value read back (or frozen) while recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueRead {
    /// The node whose value was read, when one was.
    pub node: Option<NodeId>,
    /// What read it: `"item"`, `"value"`, `"detach"`, `"no_grad"`, `"Dropout's mask"`, ….
    pub what: &'static str,
    /// The source line that read it.
    pub location: &'static Location<'static>,
}

impl fmt::Display for ValueRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.node {
            Some(node) => write!(f, "{} of node #{node} at {}", self.what, self.location),
            None => write!(f, "{} at {}", self.what, self.location),
        }
    }
}

/// The reads of one recording: the first [`MAX_LOGGED_READS`] and how many there were.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReadLog {
    pub(crate) first: Vec<ValueRead>,
    pub(crate) count: usize,
}

impl<F: Float> Graph<F> {
    /// Notes that the code recording on this graph read (or froze) a value: `what` names the
    /// read, `node` the node read. `Var::item`, `Var::value` and `Var::detach` call it; a
    /// layer that bakes a value drawn at record time into the tape (as `Dropout` does with its
    /// mask) should too, so compiling the tape says so.
    ///
    /// ```
    /// use tapegrad_graph::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(2.0);
    /// let branch = if (x * x).item() > 1.0 { x } else { -x }; // the tape now depends on x
    /// assert_eq!(g.value_reads().len(), 1);
    /// assert_eq!(g.value_reads()[0].what, "item");
    /// # let _ = branch;
    /// ```
    #[track_caller]
    #[inline(never)]
    pub fn note_read(&self, node: Option<NodeId>, what: &'static str) {
        let mut log = self.reads.borrow_mut();
        log.count += 1;
        if log.first.len() < MAX_LOGGED_READS {
            log.first.push(ValueRead { node, what, location: Location::caller() });
        }
    }
    /// The value reads noted since the graph was made or cleared (the first
    /// [`MAX_LOGGED_READS`]; [`Graph::value_read_count`] counts them all).
    pub fn value_reads(&self) -> Vec<ValueRead> {
        self.reads.borrow().first.clone()
    }
    /// How many value reads were noted since the graph was made or cleared.
    pub fn value_read_count(&self) -> usize {
        self.reads.borrow().count
    }
}
