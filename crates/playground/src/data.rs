//! The Playground's data: points (x, y) with a label in [−1, 1], made as the Playground makes
//! them (the classification sets come from `tapegrad_nn::data`), and the seven input features.

use crate::settings::DataSet;
use rand::rngs::StdRng;
use rand::Rng;
use tapegrad_nn::data::{playground_circle, playground_gaussian, playground_spiral, playground_xor, Dataset};

/// One point and its label (±1 for classification, in [−1, 1] for regression).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// First coordinate.
    pub x: f64,
    /// Second coordinate.
    pub y: f64,
    /// The label.
    pub label: f64,
}

/// Points of `dataset` (500 for classification, 1,200 for regression) with `noise` in 0–50.
pub fn generate(dataset: DataSet, noise: u32, rng: &mut StdRng) -> Vec<Point> {
    let noise = f64::from(noise) / 100.0;
    let classified = |data: Dataset<f64>| -> Vec<Point> {
        (0..data.len())
            .map(|i| Point { x: data.row(i)[0], y: data.row(i)[1], label: if data.y[i] == 1 { 1.0 } else { -1.0 } })
            .collect()
    };
    match dataset {
        DataSet::Circle => classified(playground_circle(500, noise, rng)),
        DataSet::Xor => classified(playground_xor(500, noise, rng)),
        DataSet::Gaussian => classified(playground_gaussian(500, noise, rng)),
        DataSet::Spiral => classified(playground_spiral(500, noise, rng)),
        DataSet::Plane => regression(1200, noise, rng, |x, y| ((x + y) / 10.0).clamp(-1.0, 1.0)),
        DataSet::MultiGaussian => regression(1200, noise, rng, bumps),
    }
}

/// Uniform points in ±6, labelled by `label` at the point moved by noise of ±6·`noise`.
fn regression(n: usize, noise: f64, rng: &mut StdRng, label: impl Fn(f64, f64) -> f64) -> Vec<Point> {
    (0..n)
        .map(|_| {
            let (x, y) = (rng.random_range(-6.0..6.0), rng.random_range(-6.0..6.0));
            let (nx, ny) = (rng.random_range(-6.0..6.0) * noise, rng.random_range(-6.0..6.0) * noise);
            Point { x, y, label: label(x + nx, y + ny) }
        })
        .collect()
}

/// Six signed bumps: each gives sign·(1 − distance/2) near its centre; the strongest wins.
fn bumps(x: f64, y: f64) -> f64 {
    const CENTRES: [(f64, f64, f64); 6] =
        [(-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0), (-4.0, -2.5, -1.0), (0.0, -2.5, 1.0), (4.0, -2.5, -1.0)];
    CENTRES.iter().fold(0.0, |best: f64, &(cx, cy, sign)| {
        let scale = (1.0 - ((x - cx).powi(2) + (y - cy).powi(2)).sqrt() / 2.0).clamp(0.0, 1.0);
        let label = sign * scale;
        if label.abs() > best.abs() {
            label
        } else {
            best
        }
    })
}

/// The seven features of a point, in [`crate::settings::FEATURES`] order.
pub fn features(x: f64, y: f64) -> [f64; 7] {
    [x, y, x * x, y * y, x * y, x.sin(), y.sin()]
}
