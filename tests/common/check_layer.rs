//! The gradient check of a layer through its input and its parameters, shared by the layer
//! tests.

use tapegrad::nn::{Bound, Forward, ParamId, ParamStore};
use tapegrad::prelude::*;

/// Gradient-checks `layer` with respect to its input `x` and every parameter.
pub fn check_layer<L: Forward<f64>>(layer: &L, store: &ParamStore, x: Tensor<f64>) {
    let ids: Vec<ParamId> = layer.parameters();
    let mut inputs = vec![x];
    inputs.extend(ids.iter().map(|&id| store[id].value.clone()));
    gradcheck(
        |_, v| {
            let mut bound = Bound::new();
            for (id, var) in ids.iter().zip(&v[1..]) {
                bound.insert(*id, *var);
            }
            layer.forward(&bound, v[0])
        },
        &inputs,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", layer.describe()));
}
