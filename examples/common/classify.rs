//! Training, predictions and accuracy of a classifier, shared by the digits examples.

#![allow(dead_code)]

use tapegrad::nn::data::{batches, Dataset};
use tapegrad::nn::layers::Sequential;
use tapegrad::nn::{loss, Forward, ParamStore};
use tapegrad::prelude::*;

/// One epoch of cross-entropy training over `train` in shuffled batches of `batch`: per batch,
/// bind, forward, loss, zero_grad, backward into the store, step. Returns the mean loss.
pub fn train_epoch(
    model: &Sequential<f32>,
    store: &mut ParamStore<f32>,
    opt: &mut impl Optimizer<f32>,
    graph: &mut Graph<f32>,
    (train, batch): (&Dataset<f32>, usize),
    rng: &mut StdRng,
) -> Result<f64, Box<dyn std::error::Error>> {
    let order = batches(train.len(), batch, rng)?;
    let mut epoch_loss = 0.0;
    for rows in &order {
        let batch = train.select(rows)?;
        graph.clear();
        {
            let params = store.bind(graph);
            let logits = model.forward(&params, graph.constant(batch.x.clone()));
            let loss = loss::cross_entropy(logits, &batch.y, 0.0)?;
            epoch_loss += loss.item() as f64 / order.len() as f64;
            let grads = loss.try_backward()?;
            store.zero_grad();
            store.accumulate(&params, &grads);
        }
        graph.clear();
        opt.step(store);
    }
    Ok(epoch_loss)
}

/// The class with the highest output for each row of `data`.
pub fn predict(model: &Sequential<f32>, store: &ParamStore<f32>, data: &Dataset<f32>) -> Vec<usize> {
    let g = Graph::<f32>::default();
    let params = store.bind(&g);
    let outputs = g.no_grad(|| model.forward(&params, g.constant(data.x.clone())));
    outputs.argmax(-1).data().to_vec()
}

/// The share of `data` predicted right.
pub fn accuracy(model: &Sequential<f32>, store: &ParamStore<f32>, data: &Dataset<f32>) -> f64 {
    let correct = predict(model, store, data).iter().zip(&data.y).filter(|(p, y)| p == y).count();
    correct as f64 / data.len() as f64
}
