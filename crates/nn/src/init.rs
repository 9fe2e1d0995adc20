//! Initializers, all drawing from a caller-supplied RNG so runs are reproducible. Fan-in is
//! `shape[1]` and fan-out `shape[0]` for a `[out, in]` weight, as in PyTorch.

use rand::Rng;
use tapegrad_graph::{Float, Shape, Tensor};

fn fans(shape: &Shape) -> (f64, f64) {
    let dims = shape.dims();
    let receptive: usize = dims.iter().skip(2).product();
    match dims.len() {
        0 => (1.0, 1.0),
        1 => (dims[0] as f64, dims[0] as f64),
        _ => ((dims[1] * receptive) as f64, (dims[0] * receptive) as f64),
    }
}

/// U(low, high).
pub fn uniform<F: Float, R: Rng + ?Sized>(shape: impl Into<Shape>, low: f64, high: f64, rng: &mut R) -> Tensor<F> {
    Tensor::uniform(shape, F::from_f64(low), F::from_f64(high), rng)
}

/// N(mean, std²).
pub fn normal<F: Float, R: Rng + ?Sized>(shape: impl Into<Shape>, mean: f64, std: f64, rng: &mut R) -> Tensor<F> {
    Tensor::randn(shape, F::from_f64(mean), F::from_f64(std), rng)
}

/// Xavier/Glorot uniform: U(−a, a) with a = gain·√(6 / (fan_in + fan_out)).
pub fn xavier_uniform<F: Float, R: Rng + ?Sized>(shape: impl Into<Shape>, gain: f64, rng: &mut R) -> Tensor<F> {
    let shape = shape.into();
    let (fan_in, fan_out) = fans(&shape);
    let a = gain * (6.0 / (fan_in + fan_out)).sqrt();
    uniform(shape, -a, a, rng)
}

/// Xavier/Glorot normal: N(0, gain²·2 / (fan_in + fan_out)).
pub fn xavier_normal<F: Float, R: Rng + ?Sized>(shape: impl Into<Shape>, gain: f64, rng: &mut R) -> Tensor<F> {
    let shape = shape.into();
    let (fan_in, fan_out) = fans(&shape);
    normal(shape, 0.0, gain * (2.0 / (fan_in + fan_out)).sqrt(), rng)
}

/// Kaiming/He uniform for ReLU-like layers: U(−b, b) with b = √(6 / ((1 + a²)·fan_in)),
/// `a` the negative slope (0 for ReLU).
pub fn kaiming_uniform<F: Float, R: Rng + ?Sized>(shape: impl Into<Shape>, a: f64, rng: &mut R) -> Tensor<F> {
    let shape = shape.into();
    let (fan_in, _) = fans(&shape);
    let bound = (6.0 / ((1.0 + a * a) * fan_in)).sqrt();
    uniform(shape, -bound, bound, rng)
}

/// Kaiming/He normal: N(0, 2 / ((1 + a²)·fan_in)).
pub fn kaiming_normal<F: Float, R: Rng + ?Sized>(shape: impl Into<Shape>, a: f64, rng: &mut R) -> Tensor<F> {
    let shape = shape.into();
    let (fan_in, _) = fans(&shape);
    normal(shape, 0.0, (2.0 / ((1.0 + a * a) * fan_in)).sqrt(), rng)
}
