//! Activation functions as modules (no parameters).

use crate::module::{Forward, Module};
use crate::params::{Bound, ParamId};
use tapegrad_graph::{Float, Var};

/// An elementwise activation (or a softmax over the last dim).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// max(x, 0)
    Relu,
    /// x for x > 0, slope·x otherwise
    LeakyRelu(f64),
    /// tanh
    Tanh,
    /// 1 / (1 + e⁻ˣ)
    Sigmoid,
    /// exact GELU
    Gelu,
    /// ln(1 + eˣ)
    Softplus,
    /// softmax over the last dim
    Softmax,
    /// the identity
    Identity,
}

impl Activation {
    /// The activation applied to `x`.
    pub fn apply<'g, F: Float>(self, x: Var<'g, F>) -> Var<'g, F> {
        match self {
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(slope) => x.leaky_relu(F::from_f64(slope)),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Gelu => x.gelu(),
            Activation::Softplus => x.softplus(),
            Activation::Softmax => x.softmax(-1),
            Activation::Identity => x,
        }
    }
}

impl<F: Float> Module<F> for Activation {
    fn parameters(&self) -> Vec<ParamId> {
        Vec::new()
    }
    fn describe(&self) -> String {
        format!("{self:?}")
    }
}

impl<F: Float> Forward<F> for Activation {
    fn forward<'g>(&self, _: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        self.apply(x)
    }
}
