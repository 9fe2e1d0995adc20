//! Tutorial 3 — Jay Alammar's house prices: one weight and one bias, fitted by gradient descent.
//!
//!     cargo run --release --example 03_house_prices
//!
//! Three houses (square feet → price in $1000s). It starts where the guide does (0.180 per
//! square foot, no bias), prints the predictions and the mean squared error, then lets
//! gradient descent find the least-squares line, w = 0.0584879 and b = 247.263 (MSE 447.29),
//! and draws the loss surface with the path it took to out/03_house_prices_surface.svg.
//!
//! The square feet are standardised before descending (z = (x − mean)/sd) and the answer is
//! turned back into dollars per square foot: on raw square feet (≈ 2,000) the surface is a
//! valley millions of times steeper across than along, and plain gradient descent would need
//! millions of steps.

#[path = "common/plots.rs"]
mod plots;

use tapegrad::prelude::*;

const SQFT: [f64; 3] = [2104.0, 1600.0, 2400.0];
const PRICE: [f64; 3] = [399.9, 329.9, 369.0];

/// The mean squared error of w·x + b over the houses, recorded on `g`.
fn mse<'g>(g: &'g Graph, x: &Tensor<f64>, w: Var<'g, f64>, b: Var<'g, f64>) -> Var<'g, f64> {
    let price = g.constant(Tensor::from_vec(PRICE.to_vec(), [3]).expect("3 prices"));
    (g.constant(x.clone()) * w + b - price).square().mean()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let raw = Tensor::from_vec(SQFT.to_vec(), [3])?;
    let start = Graph::new();
    let (w, b) = (start.scalar(0.180), start.scalar(0.0));
    let predictions = (start.constant(raw.clone()) * w + b).value().to_vec();
    let shown: Vec<String> = predictions.iter().map(|p| format!("{p:.0}")).collect();
    println!(
        "w = 0.180, b = 0: predictions {} (prices {:?}), MSE {:.1}",
        shown.join(", "),
        PRICE,
        mse(&start, &raw, w, b).item()
    );

    let mean = SQFT.iter().sum::<f64>() / 3.0;
    let sd = (SQFT.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    let z = raw.map(|x| (x - mean) / sd);
    // Start from the guide's line, written in standardised units.
    let (mut wz, mut bz) = (0.180 * sd, 0.180 * mean);
    let to_raw = |wz: f64, bz: f64| (wz / sd, bz - wz * mean / sd);
    let mut path = vec![to_raw(wz, bz)];
    let lr = 0.1;
    for step in 1..=300 {
        let g = Graph::new();
        let (w, b) = (g.scalar(wz), g.scalar(bz));
        let loss = mse(&g, &z, w, b);
        let grads = loss.backward();
        wz -= lr * grads.wrt(w).item();
        bz -= lr * grads.wrt(b).item();
        path.push(to_raw(wz, bz));
        if [1, 10, 50, 100, 300].contains(&step) {
            let (w, b) = to_raw(wz, bz);
            println!("step {step:>3}: w = {w:.7}, b = {b:8.3}, MSE {:.2}", loss.item());
        }
    }
    let (w, b) = to_raw(wz, bz);
    let g = Graph::new();
    let fitted = mse(&g, &raw, g.constant_scalar(w), g.constant_scalar(b)).item();
    println!("gradient descent's line: w = {w:.7} per sq ft, b = {b:.3}, MSE {fitted:.2}");
    println!("(the least-squares optimum is w = 0.0584879, b = 247.263, MSE 447.29)");

    let surface = plots::out_dir().join("03_house_prices_surface.svg");
    let loss_at = |w: f64, b: f64| SQFT.iter().zip(PRICE).map(|(x, y)| (w * x + b - y).powi(2)).sum::<f64>() / 3.0;
    plots::loss_surface(
        &surface,
        "MSE over (w, b) and the path gradient descent took",
        ("w ($1000 per sq ft)", 0.0..0.2),
        ("b ($1000)", -50.0..400.0),
        loss_at,
        &path,
    )?;
    println!("wrote {} (the loss surface and the path)", surface.display());
    Ok(())
}
