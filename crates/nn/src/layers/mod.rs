//! Tensor layers: [`Linear`], [`Sequential`], [`Activation`], [`Dropout`], [`Embedding`],
//! [`LayerNorm`], [`Checkpoint`], and the [`mlp`] builder.

mod activation;
mod checkpoint;
mod dropout;
mod embedding;
mod layernorm;
mod linear;
mod sequential;

pub use activation::Activation;
pub(crate) use checkpoint::draw_mask;
pub use checkpoint::Checkpoint;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use layernorm::LayerNorm;
pub use linear::Linear;
pub use sequential::{mlp, Sequential};
