//! Whole models built from [`layers`](crate::layers): [`Gpt`], a small causal transformer
//! language model.

mod gpt;

pub use gpt::{Gpt, GptConfig};
