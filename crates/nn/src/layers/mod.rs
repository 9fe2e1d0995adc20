//! Tensor layers: [`Linear`], [`Conv1d`], [`Conv2d`], the poolings, [`Flatten`], [`Unflatten`],
//! [`Sequential`], [`Activation`], [`Dropout`], [`Embedding`], [`LayerNorm`], [`BatchNorm`],
//! [`GroupNorm`], [`SelfAttention`], [`TransformerBlock`], [`PositionEmbedding`],
//! [`Checkpoint`], and the [`mlp`] builder.

mod activation;
mod attention;
mod batchnorm;
mod checkpoint;
mod conv;
mod dropout;
mod embedding;
mod groupnorm;
mod layernorm;
mod linear;
mod pool;
mod sequential;
mod transformer;

pub use activation::Activation;
pub use attention::SelfAttention;
pub use batchnorm::{BatchNorm, BatchNorm1d, BatchNorm2d, RunningStats};
pub use checkpoint::Checkpoint;
pub(crate) use checkpoint::{draw_mask, dry_run, updates_state};
pub use conv::{Conv1d, Conv2d};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use groupnorm::GroupNorm;
pub use layernorm::LayerNorm;
pub use linear::Linear;
pub use pool::{AdaptiveAvgPool2d, AvgPool2d, Flatten, MaxPool2d, Unflatten};
pub use sequential::{mlp, Sequential};
pub use transformer::{PositionEmbedding, TransformerBlock};
