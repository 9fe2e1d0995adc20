//! # tapegrad-playground
//!
//! TensorFlow Playground, computed by tapegrad: `cargo run --release -p tapegrad-playground`
//! serves a page on 127.0.0.1 where a small network learns a 2-d data set live. The network,
//! the data and the training are Rust on `tapegrad-nn` ([`run`]); the page only draws.
//! Everything is in the binary: the page is plain HTML, CSS and JavaScript, nothing is fetched
//! from elsewhere.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod data;
pub mod run;
pub mod server;
pub mod settings;

pub use run::{Frame, Run};
pub use server::app;
pub use settings::Settings;
