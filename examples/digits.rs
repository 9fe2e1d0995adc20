//! A real data set: the UCI handwritten digits (1,797 8×8 images, shipped in data/digits.csv).
//! Standardized pixels, an MLP 64-256-10 trained with Adam (cosine learning-rate decay) on 80% of the images, tested on the other 20%.
//!
//!     cargo run --release --example digits                  # train, test, save the weights
//!     cargo run --release --example digits -- --load PATH   # test saved weights
//!
//! It prints the loss and test accuracy per epoch, the confusion matrix, writes the weights as
//! safetensors (readable by PyTorch: see scripts/interop/digits_in_torch.py) and the training
//! curve as an SVG, and prints both paths.

#[path = "common/classify.rs"]
mod classify;
#[path = "common/plots.rs"]
mod plots;

use classify::{accuracy, predict, train_epoch};

use rand::rngs::StdRng;
use rand::SeedableRng;
use std::time::Instant;
use tapegrad::nn::data::{load_csv, train_test_split, CsvOptions, Dataset, Standardizer};
use tapegrad::nn::layers::{mlp, Activation, Sequential};
use tapegrad::nn::optim::{Adam, Cosine, Optimizer, Schedule};
use tapegrad::nn::{io, ParamStore};
use tapegrad::prelude::*;

const EPOCHS: usize = 40;
const HIDDEN: usize = 256;
const LR: f32 = 1e-3;
const BATCH: usize = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits.csv");
    let data: Dataset<f32> = load_csv(path, &CsvOptions { header: true, label_column: Some(-1) })?;
    let mut rng = StdRng::seed_from_u64(42);
    let (mut train, mut test) = train_test_split(&data, 0.2, &mut rng)?;
    let scaler = Standardizer::fit(&train.x)?;
    train.x = scaler.transform(&train.x)?;
    test.x = scaler.transform(&test.x)?;
    println!("digits: {} training and {} test images of 8×8 pixels, 10 classes", train.len(), test.len());

    let mut store = ParamStore::<f32>::new();
    let model = mlp(&mut store, &[64, HIDDEN, 10], Activation::Relu, &mut rng)?;
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--load") {
        let weights = args.get(i + 1).ok_or("--load needs a path")?;
        io::load_safetensors(&mut store, weights)?;
        println!("loaded {weights}");
        report(&model, &store, &test);
        return Ok(());
    }

    println!(
        "MLP 64-{HIDDEN}-10 (ReLU), {} parameters, Adam lr {LR} with cosine decay, batch {BATCH}, {EPOCHS} epochs",
        store.numel()
    );
    let mut opt = Adam::new(LR);
    let schedule = Cosine { lr: LR, min_lr: 0.0, steps: EPOCHS };
    let mut graph = Graph::<f32>::default();
    let (mut losses, mut accuracies) = (vec![], vec![]);
    let started = Instant::now();
    for epoch in 0..EPOCHS {
        opt.set_lr(schedule.lr(epoch));
        let epoch_loss = train_epoch(&model, &mut store, &mut opt, &mut graph, (&train, BATCH), &mut rng)?;
        let accuracy = accuracy(&model, &store, &test);
        losses.push(epoch_loss);
        accuracies.push(accuracy);
        println!("epoch {epoch:2} loss {epoch_loss:.4}  test accuracy {:.2}%", accuracy * 100.0);
    }
    println!("trained in {:.2} s", started.elapsed().as_secs_f64());
    report(&model, &store, &test);

    let out = plots::out_dir();
    let weights = out.join("digits.safetensors");
    io::save_safetensors(&store, &weights)?;
    let curve = out.join("digits_training.svg");
    plots::training_curve(&curve, "digits: training loss and test accuracy", "epoch", &losses, &accuracies)?;
    println!("wrote {} (weights; evaluate with --load {})", weights.display(), weights.display());
    println!("wrote {} (loss and accuracy per epoch)", curve.display());
    Ok(())
}

fn report(model: &Sequential<f32>, store: &ParamStore<f32>, test: &Dataset<f32>) {
    let predicted = predict(model, store, test);
    let mut confusion = [[0usize; 10]; 10];
    for (p, y) in predicted.iter().zip(&test.y) {
        confusion[*y][*p] += 1;
    }
    println!(
        "\ntest accuracy {:.2}% — confusion matrix (rows: true digit, columns: predicted)",
        accuracy(model, store, test) * 100.0
    );
    println!("     {}", (0..10).map(|d| format!("{d:>4}")).collect::<String>());
    for (digit, row) in confusion.iter().enumerate() {
        println!("  {digit}: {}", row.iter().map(|c| format!("{c:>4}")).collect::<String>());
    }
}
