//! The classic 2-d toy sets: scikit-learn's moons and circles, TensorFlow Playground's circle,
//! XOR, Gaussian and spiral. All draw from the caller's seeded RNG.

use super::Dataset;
use rand::seq::SliceRandom;
use rand::Rng;
use std::f64::consts::PI;
use tapegrad_graph::{Float, Tensor};

fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

fn linspace(start: f64, end: f64, n: usize, endpoint: bool) -> impl Iterator<Item = f64> {
    let div = if endpoint { n.saturating_sub(1).max(1) } else { n.max(1) };
    (0..n).map(move |i| start + (end - start) * i as f64 / div as f64)
}

fn build<F: Float, R: Rng + ?Sized>(mut points: Vec<([f64; 2], usize)>, shuffle: bool, rng: &mut R) -> Dataset<F> {
    if shuffle {
        points.shuffle(rng);
    }
    let x = points.iter().flat_map(|(p, _)| p.iter().map(|&v| F::from_f64(v))).collect();
    let y = points.iter().map(|(_, c)| *c).collect();
    Dataset { x: Tensor::from_vec(x, [points.len(), 2]).expect("two features per point"), y }
}

/// scikit-learn's `make_moons(n_samples, noise=noise, shuffle=True)`: two interleaving half
/// circles, Gaussian noise of std `noise`, classes 0 (upper) and 1 (lower).
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// let data = tapegrad_nn::data::moons::<f64, _>(100, 0.1, &mut StdRng::seed_from_u64(1));
/// assert_eq!((data.len(), data.features(), data.classes()), (100, 2, 2));
/// ```
pub fn moons<F: Float, R: Rng + ?Sized>(n_samples: usize, noise: f64, rng: &mut R) -> Dataset<F> {
    let n_out = n_samples / 2;
    let n_in = n_samples - n_out;
    let outer = linspace(0.0, PI, n_out, true).map(|t| ([t.cos(), t.sin()], 0));
    let inner = linspace(0.0, PI, n_in, true).map(|t| ([1.0 - t.cos(), 1.0 - t.sin() - 0.5], 1));
    shuffled_with_noise(outer.chain(inner).collect(), noise, rng)
}

/// scikit-learn's `make_circles(n_samples, noise=noise, factor=factor)`: a large circle
/// (class 0) around a smaller one (class 1, radius `factor`).
pub fn circles<F: Float, R: Rng + ?Sized>(n_samples: usize, noise: f64, factor: f64, rng: &mut R) -> Dataset<F> {
    let n_out = n_samples / 2;
    let n_in = n_samples - n_out;
    let outer = linspace(0.0, 2.0 * PI, n_out, false).map(|t| ([t.cos(), t.sin()], 0));
    let inner = linspace(0.0, 2.0 * PI, n_in, false).map(|t| ([t.cos() * factor, t.sin() * factor], 1));
    shuffled_with_noise(outer.chain(inner).collect(), noise, rng)
}

/// scikit-learn's order of work: shuffle the points, then add Gaussian noise of std `noise`.
fn shuffled_with_noise<F: Float, R: Rng + ?Sized>(
    mut points: Vec<([f64; 2], usize)>,
    noise: f64,
    rng: &mut R,
) -> Dataset<F> {
    points.shuffle(rng);
    for (p, _) in &mut points {
        p[0] += noise * normal(rng);
        p[1] += noise * normal(rng);
    }
    build(points, false, rng)
}

fn uniform<R: Rng + ?Sized>(rng: &mut R, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.random::<f64>()
}

/// TensorFlow Playground's "circle": points within radius 2.5 of the origin (class 1) and in
/// the ring 3.5–5 (class 0), with uniform noise of ±5·`noise`; the label follows the noisy point.
pub fn playground_circle<F: Float, R: Rng + ?Sized>(n_samples: usize, noise: f64, rng: &mut R) -> Dataset<F> {
    let radius = 5.0;
    let mut points = Vec::with_capacity(n_samples);
    for i in 0..n_samples {
        let (lo, hi) = if i < n_samples / 2 { (0.0, radius * 0.5) } else { (radius * 0.7, radius) };
        let r = uniform(rng, lo, hi);
        let angle = uniform(rng, 0.0, 2.0 * PI);
        let x = r * angle.sin() + uniform(rng, -radius, radius) * noise;
        let y = r * angle.cos() + uniform(rng, -radius, radius) * noise;
        let label = usize::from((x * x + y * y).sqrt() < radius * 0.5);
        points.push(([x, y], label));
    }
    build(points, true, rng)
}

/// TensorFlow Playground's "XOR": uniform points in ±5 kept 0.3 away from the axes; class 1
/// where x·y ≥ 0.
pub fn playground_xor<F: Float, R: Rng + ?Sized>(n_samples: usize, noise: f64, rng: &mut R) -> Dataset<F> {
    let padding = 0.3;
    let mut points = Vec::with_capacity(n_samples);
    for _ in 0..n_samples {
        let mut x = uniform(rng, -5.0, 5.0);
        x += if x > 0.0 { padding } else { -padding };
        let mut y = uniform(rng, -5.0, 5.0);
        y += if y > 0.0 { padding } else { -padding };
        let (x, y) = (x + uniform(rng, -5.0, 5.0) * noise, y + uniform(rng, -5.0, 5.0) * noise);
        points.push(([x, y], usize::from(x * y >= 0.0)));
    }
    build(points, true, rng)
}

/// TensorFlow Playground's "Gaussian": two blobs at (2, 2) (class 1) and (−2, −2) (class 0)
/// whose spread grows from 0.5 to 4 as `noise` goes from 0 to 0.5.
pub fn playground_gaussian<F: Float, R: Rng + ?Sized>(n_samples: usize, noise: f64, rng: &mut R) -> Dataset<F> {
    let variance = 0.5 + 3.5 * (noise / 0.5).clamp(0.0, 1.0);
    let mut points = Vec::with_capacity(n_samples);
    for i in 0..n_samples {
        let (c, label) = if i < n_samples / 2 { (2.0, 1) } else { (-2.0, 0) };
        points.push(([c + variance.sqrt() * normal(rng), c + variance.sqrt() * normal(rng)], label));
    }
    build(points, true, rng)
}

/// TensorFlow Playground's "spiral": two interleaved spirals of radius 5 (classes 1 and 0)
/// with uniform noise of ±`noise`.
pub fn playground_spiral<F: Float, R: Rng + ?Sized>(n_samples: usize, noise: f64, rng: &mut R) -> Dataset<F> {
    let n = n_samples / 2;
    let mut points = Vec::with_capacity(n_samples);
    for (delta, label) in [(0.0, 1), (PI, 0)] {
        let count = if label == 1 { n } else { n_samples - n };
        for i in 0..count {
            let r = i as f64 / count as f64 * 5.0;
            let t = 1.75 * i as f64 / count as f64 * 2.0 * PI + delta;
            let x = r * t.sin() + uniform(rng, -1.0, 1.0) * noise;
            let y = r * t.cos() + uniform(rng, -1.0, 1.0) * noise;
            points.push(([x, y], label));
        }
    }
    build(points, true, rng)
}
