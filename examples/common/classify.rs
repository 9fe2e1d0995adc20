//! Predictions and accuracy of a classifier, shared by the digits examples.

#![allow(dead_code)]

use tapegrad::nn::data::Dataset;
use tapegrad::nn::layers::Sequential;
use tapegrad::nn::{Forward, ParamStore};
use tapegrad::prelude::*;

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
