//! Anomaly mode: where was the first NaN or infinity born?
//!
//! While it is on, every recorded node keeps the source location that recorded it, and the
//! first node whose value is not finite is kept as an [`Anomaly`]; the backward sweep (in
//! `tapegrad-autograd`) checks every gradient it computes the same way. Off, recording pays
//! nothing for it: the tape's room is set to zero while it is on, so the scalar fast paths
//! (which already compare against the room) fall through to the general path, where the
//! watching happens.

use crate::error::{Error, Result};
use crate::float::Float;
use crate::graph::Graph;
use crate::op::{NodeId, Op};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::fmt;
use std::panic::Location;

/// Which half of a step produced the anomaly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The node's value (the forward pass).
    Forward,
    /// A gradient the node's derivative rule passed to one of its inputs (the backward pass).
    Backward,
}

/// The first non-finite value found in anomaly mode: which node, made by which op from inputs
/// of which shapes, recorded where.
#[derive(Clone, Debug, PartialEq)]
pub struct Anomaly {
    /// Forward (the node's value) or backward (a gradient its rule produced).
    pub phase: Phase,
    /// The node.
    pub node: NodeId,
    /// The node's op.
    pub op: &'static str,
    /// The shapes of the op's inputs, in order.
    pub input_shapes: Vec<Shape>,
    /// For a backward anomaly, which input's gradient was not finite.
    pub input: Option<usize>,
    /// What was found: `"NaN"` or `"inf"`.
    pub found: &'static str,
    /// The source line that recorded the node.
    pub location: Option<&'static Location<'static>>,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shapes: Vec<String> = self.input_shapes.iter().map(|s| s.to_string()).collect();
        match self.phase {
            Phase::Forward => write!(f, "`{}` (node #{}) produced {}", self.op, self.node, self.found)?,
            Phase::Backward => write!(
                f,
                "the derivative of `{}` (node #{}) gave {} for its input {}",
                self.op,
                self.node,
                self.found,
                self.input.unwrap_or(0)
            )?,
        }
        if !shapes.is_empty() {
            write!(f, " from inputs of shapes {}", shapes.join(", "))?;
        }
        match self.location {
            Some(at) => write!(f, "; recorded at {}:{}:{}", at.file(), at.line(), at.column()),
            None => write!(f, "; recorded before anomaly mode was on"),
        }
    }
}

/// What anomaly mode keeps: the location of every node recorded while it is on, and the
/// first forward anomaly.
#[derive(Default)]
pub(crate) struct AnomalyLog {
    /// (node, where it was recorded), in increasing node order.
    locations: Vec<(NodeId, &'static Location<'static>)>,
    first: Option<Anomaly>,
}

/// "NaN" or "inf" for the first non-finite element, or `None` when all are finite.
pub fn non_finite<F: Float>(values: &[F]) -> Option<&'static str> {
    values.iter().find(|v| !v.is_finite()).map(|v| if v.is_nan() { "NaN" } else { "inf" })
}

impl<F: Float> Graph<F> {
    /// Runs `f` in anomaly mode (PyTorch's `detect_anomaly`): every op recorded inside keeps
    /// its source location, and the first NaN or infinity — in a value recorded inside, or in
    /// a gradient computed by a `backward()` inside — is an error naming the op, its input
    /// shapes, the node and the line that recorded it. The first forward anomaly is returned
    /// here, after `f` finishes; a backward one by `try_backward` (and as a panic by
    /// `backward`). Anomaly mode is slow (every op takes the general path); off, it costs
    /// nothing.
    ///
    /// ```
    /// use tapegrad_graph::Graph;
    /// let g = Graph::new();
    /// let x = g.scalar(-1.0);
    /// let found = g.detect_anomaly(|| (x * 2.0).sqrt().exp());
    /// let message = found.unwrap_err().to_string();
    /// assert!(message.starts_with("anomaly: `sqrt` (node #3) produced NaN"), "{message}");
    /// assert!(message.contains("anomaly.rs"), "{message}"); // the line that called sqrt()
    /// ```
    #[track_caller]
    pub fn detect_anomaly<R>(&self, f: impl FnOnce() -> R) -> Result<R> {
        struct Restore<'a, F: Float>(&'a Graph<F>, bool);
        impl<F: Float> Drop for Restore<'_, F> {
            fn drop(&mut self) {
                self.0.set_detect_anomaly(self.1);
            }
        }
        let was_on = self.is_detecting_anomaly();
        self.set_detect_anomaly(true);
        let restore = Restore(self, was_on);
        let result = f();
        let found = self.anomaly();
        drop(restore);
        match found {
            Some(found) => Err(Error::Anomaly(Box::new(found))),
            None => Ok(result),
        }
    }
    /// Turns anomaly mode on or off for this graph until it is changed again (see
    /// [`Graph::detect_anomaly`] for the scoped form). Turning it off forgets what it found.
    pub fn set_detect_anomaly(&self, on: bool) {
        if on == self.is_detecting_anomaly() {
            return;
        }
        *self.anomaly_log.borrow_mut() = on.then(Box::default);
        self.detecting_anomaly.set(on);
        self.tape.write(|tape| tape.set_watched(on));
    }
    /// True while anomaly mode is on.
    #[inline(always)]
    pub fn is_detecting_anomaly(&self) -> bool {
        self.detecting_anomaly.get()
    }
    /// The first node recorded in anomaly mode whose value is not finite, if any.
    pub fn anomaly(&self) -> Option<Anomaly> {
        self.anomaly_log.borrow().as_ref().and_then(|log| log.first.clone())
    }
    /// Where node `id` was recorded, when it was recorded in anomaly mode.
    pub fn recorded_at(&self, id: NodeId) -> Option<&'static Location<'static>> {
        let log = self.anomaly_log.borrow();
        let locations = &log.as_ref()?.locations;
        locations.binary_search_by_key(&id, |&(n, _)| n).ok().map(|i| locations[i].1)
    }
    /// An anomaly at node `id`: its op and input shapes from the tape, its location from the
    /// log.
    pub fn anomaly_at(&self, phase: Phase, id: NodeId, input: Option<usize>, found: &'static str) -> Anomaly {
        let tape = self.tape();
        let op = tape.op(id);
        let input_shapes = op.inputs().iter().map(|&x| tape.shape(x)).collect();
        Anomaly { phase, node: id, op: op.name(), input_shapes, input, found, location: self.recorded_at(id) }
    }

    /// Appends a node in anomaly mode: notes where, and whether its value is the first
    /// non-finite one. `op` is the op as the user called it (recorded as a constant unless
    /// `requires_grad`).
    #[cold]
    #[inline(never)]
    #[track_caller]
    pub(crate) fn push_watched(&self, op: Op<F>, value: Tensor<F>, requires_grad: bool) -> Option<NodeId> {
        let at = Location::caller();
        let name = op.name();
        let input_shapes: Vec<Shape> = {
            let tape = self.tape();
            op.inputs().iter().map(|&x| tape.shape(x)).collect()
        };
        let found = non_finite(value.data());
        let op = if requires_grad { op } else { Op::Constant };
        let id = self.tape.write(|tape| tape.push(op, value))?;
        let mut log = self.anomaly_log.borrow_mut();
        let log = log.as_mut().expect("push_watched runs only in anomaly mode");
        log.locations.push((id, at));
        if let (Some(found), None) = (found, &log.first) {
            log.first = Some(Anomaly {
                phase: Phase::Forward,
                node: id,
                op: name,
                input_shapes,
                input: None,
                found,
                location: Some(at),
            });
        }
        Some(id)
    }
    /// Forgets the log's nodes (on `clear`), keeping the mode.
    pub(crate) fn clear_anomaly_log(&mut self) {
        if let Some(log) = self.anomaly_log.get_mut() {
            **log = AnomalyLog::default();
        }
    }
}
