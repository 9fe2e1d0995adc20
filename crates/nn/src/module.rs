//! The traits every model part implements.

use crate::params::{Bound, ParamId};
use tapegrad_graph::{Float, Var};

/// A model part: it owns parameters (by key) and has a train/eval mode.
pub trait Module<F: Float> {
    /// The keys of this module's parameters, in a fixed order.
    fn parameters(&self) -> Vec<ParamId>;
    /// Switches between training (dropout active) and evaluation.
    fn set_training(&mut self, _training: bool) {}
}

/// A module that maps one tensor to another (`Linear`, `Sequential`, activations, …).
///
/// The micrograd blocks ([`crate::Neuron`], [`crate::Layer`], [`crate::Mlp`]) work on lists
/// of scalars instead and have their own `forward`.
pub trait Forward<F: Float>: Module<F> {
    /// The output for input `x`, with parameters taken from `params`.
    fn forward<'g>(&self, params: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F>;
}
