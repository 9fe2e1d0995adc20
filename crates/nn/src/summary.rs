//! A model summary: each layer's output shape and parameter count, like Keras' `summary()`
//! or torchinfo.

use crate::module::Forward;
use crate::params::ParamStore;
use std::fmt;
use tapegrad_graph::{thousands, Float, Graph, Shape, Tensor};

/// One row of a [`Summary`].
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// The layer's place (`2`, or `1.0` inside a nested chain).
    pub path: String,
    /// What the layer is ([`Module::describe`](crate::Module::describe)).
    pub layer: String,
    /// The shape it outputs for the summary's input.
    pub output: Shape,
    /// Its parameters' elements.
    pub params: usize,
    /// Of those, the ones not frozen.
    pub trainable: usize,
}

/// A model's layers with their output shapes and parameter counts, for one input shape.
/// `Display` prints it as a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The input shape.
    pub input: Shape,
    /// One row per layer (a chain's layers each get one, nested chains are expanded).
    pub rows: Vec<SummaryRow>,
    /// Every parameter element of the model.
    pub total: usize,
    /// Those not frozen.
    pub trainable: usize,
}

/// The summary of `model` run on zeros of shape `input`: one forward pass, recorded on a
/// scratch graph and dropped, that leaves every layer's state (running statistics) as it was.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::{layers::{mlp, Activation}, summary, ParamStore};
/// let mut store = ParamStore::<f32>::new();
/// let model = mlp(&mut store, &[64, 16, 10], Activation::Relu, &mut StdRng::seed_from_u64(0))?;
/// let s = summary(&model, &store, [32, 64]);
/// assert_eq!(s.total, 64 * 16 + 16 + 16 * 10 + 10);
/// assert_eq!(s.rows[2].output.dims(), &[32, 10]);
/// println!("{s}");
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
///
/// # Panics
/// Where the model's forward would on this input shape (a layer given a shape it cannot
/// take), with that layer's message.
pub fn summary<F: Float>(model: &dyn Forward<F>, store: &ParamStore<F>, input: impl Into<Shape>) -> Summary {
    let input = input.into();
    let g = Graph::<F>::default();
    let bound = store.bind(&g);
    let mut rows = Vec::new();
    let x = g.constant(Tensor::zeros(input.clone()));
    crate::layers::dry_run(|| walk(model, "", &bound, x, store, &mut rows));
    let counted = |frozen_too: bool| -> usize {
        let ids = model.parameters();
        store.iter().filter(|(id, p)| ids.contains(id) && (frozen_too || !p.frozen)).map(|(_, p)| p.value.numel()).sum()
    };
    Summary { input, rows, total: counted(true), trainable: counted(false) }
}

fn walk<'g, F: Float>(
    module: &dyn Forward<F>,
    path: &str,
    bound: &crate::Bound<'g, F>,
    x: tapegrad_graph::Var<'g, F>,
    store: &ParamStore<F>,
    rows: &mut Vec<SummaryRow>,
) -> tapegrad_graph::Var<'g, F> {
    let children = module.layers();
    if children.is_empty() {
        let y = module.forward(bound, x);
        let ids = module.parameters();
        let (mut params, mut trainable) = (0, 0);
        for (id, p) in store.iter() {
            if ids.contains(&id) {
                params += p.value.numel();
                trainable += if p.frozen { 0 } else { p.value.numel() };
            }
        }
        let path = if path.is_empty() { "0".into() } else { path.to_string() };
        rows.push(SummaryRow { path, layer: module.describe(), output: y.shape(), params, trainable });
        return y;
    }
    children.into_iter().enumerate().fold(x, |h, (i, child)| {
        let path = if path.is_empty() { i.to_string() } else { format!("{path}.{i}") };
        walk(child, &path, bound, h, store, rows)
    })
}

impl fmt::Display for Summary {
    /// ```text
    /// #    Layer                      Output shape         Params
    /// ─────────────────────────────────────────────────────────────
    /// 0    Conv2d                     [64, 16, 8, 8]          160
    /// …
    /// Total params: 13,578 (trainable 13,578), input [64, 1, 8, 8]
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layer_width = self.rows.iter().map(|r| r.layer.chars().count()).max().unwrap_or(0).max(5);
        let shape_width = self.rows.iter().map(|r| r.output.to_string().len()).max().unwrap_or(0).max(12);
        let path_width = self.rows.iter().map(|r| r.path.len()).max().unwrap_or(0).max(1);
        writeln!(
            f,
            "{:<path_width$}  {:<layer_width$}  {:<shape_width$}  {:>12}",
            "#", "Layer", "Output shape", "Params"
        )?;
        writeln!(f, "{}", "─".repeat(path_width + layer_width + shape_width + 18))?;
        for r in &self.rows {
            let params = if r.params == 0 { "–".to_string() } else { thousands(r.params) };
            writeln!(
                f,
                "{:<path_width$}  {:<layer_width$}  {:<shape_width$}  {:>12}",
                r.path,
                r.layer,
                r.output.to_string(),
                params
            )?;
        }
        writeln!(f, "{}", "─".repeat(path_width + layer_width + shape_width + 18))?;
        write!(
            f,
            "Total params: {} (trainable {}), input {}",
            thousands(self.total),
            thousands(self.trainable),
            self.input
        )
    }
}
