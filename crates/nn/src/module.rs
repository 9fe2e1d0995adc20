//! The traits every model part implements.

use crate::params::{Bound, ParamId};
use tapegrad_graph::{Float, Var};

/// A model part: it owns parameters (by key) and has a train/eval mode.
pub trait Module<F: Float> {
    /// The keys of this module's parameters, in a fixed order.
    fn parameters(&self) -> Vec<ParamId>;
    /// Switches between training (dropout active) and evaluation.
    fn set_training(&mut self, _training: bool) {}
    /// What the module is, for summaries: its type's name without the path (`Conv2d`);
    /// modules with settings worth showing say more (`Relu`, `MaxPool2d(2×2)`).
    fn describe(&self) -> String {
        let full = std::any::type_name::<Self>();
        let base = full.split('<').next().unwrap_or(full);
        base.rsplit("::").next().unwrap_or(base).to_string()
    }
}

/// A module that maps one tensor to another (`Linear`, `Sequential`, activations, …).
///
/// The micrograd blocks ([`crate::Neuron`], [`crate::Layer`], [`crate::Mlp`]) work on lists
/// of scalars instead and have their own `forward`.
pub trait Forward<F: Float>: Module<F> {
    /// The output for input `x`, with parameters taken from `params`.
    fn forward<'g>(&self, params: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F>;
    /// The modules this one applies in order, for summaries ([`Sequential`](crate::layers::Sequential)
    /// lists its layers); empty for a module shown as one row.
    fn layers(&self) -> Vec<&dyn Forward<F>> {
        Vec::new()
    }
}
