//! The facade's error type: one enum for everything the three crates can report, so `?`
//! works across them in user code.

/// Any tapegrad error: recording an op ([`graph`](crate::graph)), differentiating
/// ([`autograd`](crate::autograd)), or models, data and files ([`nn`](crate::nn)). Each
/// crate's error converts into it with `?`; its message is the crate error's message.
///
/// ```
/// use tapegrad::prelude::*;
/// fn curvature() -> Result<f64, tapegrad::Error> {
///     let g = Graph::new();
///     let x = g.var(Tensor::from_vec(vec![2.0], [1])?);      // a graph error
///     let y = x.powf(3.0).sum();
///     let hv = hvp(y, &[x], &[g.constant(Tensor::ones([1]))])?;  // an autograd error
///     Ok(hv[0].value().to_vec()[0])
/// }
/// assert_eq!(curvature().unwrap(), 12.0);
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// From recording an op or building a tensor.
    #[error(transparent)]
    Graph(#[from] tapegrad_graph::Error),
    /// From differentiating.
    #[error(transparent)]
    Autograd(tapegrad_autograd::Error),
    /// From models, losses, optimizers, data sets and weight files.
    #[error(transparent)]
    Nn(tapegrad_nn::Error),
}

impl From<tapegrad_autograd::Error> for Error {
    fn from(e: tapegrad_autograd::Error) -> Self {
        match e {
            tapegrad_autograd::Error::Graph(g) => Error::Graph(g),
            other => Error::Autograd(other),
        }
    }
}

impl From<tapegrad_nn::Error> for Error {
    fn from(e: tapegrad_nn::Error) -> Self {
        match e {
            tapegrad_nn::Error::Graph(g) => Error::Graph(*g),
            tapegrad_nn::Error::Autograd(a) => Error::from(*a),
            other => Error::Nn(other),
        }
    }
}

/// `Result` with the facade's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
