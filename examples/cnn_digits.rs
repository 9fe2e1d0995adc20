//! A small convolutional network on the UCI handwritten digits (1,797 8×8 images in
//! data/digits.csv): three 3×3 convolutions with batch norm and ReLU, a max pool, global
//! average pooling and a linear classifier, trained with Adam on 80% of the images (split
//! seeded with 42) and tested on the other 20%.
//!
//!     cargo run --release --example cnn_digits              # one run (model seed 0)
//!     cargo run --release --example cnn_digits -- --seeds 5 # five model seeds, mean and spread
//!
//! It prints the model summary, the loss and test accuracy per epoch with the time an epoch
//! took, and writes the training curve as an SVG.

#[path = "common/classify.rs"]
mod classify;
#[path = "common/plots.rs"]
mod plots;

use rand::rngs::StdRng;
use rand::SeedableRng;
use std::time::Instant;
use tapegrad::nn::data::{load_csv, train_test_split, CsvOptions, Dataset};
use tapegrad::nn::layers::*;
use tapegrad::nn::optim::{Adam, Cosine, Optimizer, Schedule};
use tapegrad::nn::{summary, Module, ParamStore};
use tapegrad::prelude::*;

const EPOCHS: usize = 30;
const BATCH: usize = 64;
const LR: f32 = 3e-3;

/// conv(1→16) BN ReLU, conv(16→32) BN ReLU, maxpool 2, conv(32→64) BN ReLU, global average,
/// linear(64→10).
fn cnn(store: &mut ParamStore<f32>, rng: &mut StdRng) -> Result<Sequential<f32>, Box<dyn std::error::Error>> {
    let same = ConvOptions::default().padding([1, 1]);
    Ok(Sequential::new()
        .push(Unflatten(vec![1, 8, 8]))
        .push(Conv2d::new(store, "conv1", 1, 16, [3, 3], same, false, rng)?)
        .push(BatchNorm::new(store, "bn1", 16, 1e-5, 0.1)?)
        .push(Activation::Relu)
        .push(Conv2d::new(store, "conv2", 16, 32, [3, 3], same, false, rng)?)
        .push(BatchNorm::new(store, "bn2", 32, 1e-5, 0.1)?)
        .push(Activation::Relu)
        .push(MaxPool2d(Window::pool([2, 2])))
        .push(Conv2d::new(store, "conv3", 32, 64, [3, 3], same, false, rng)?)
        .push(BatchNorm::new(store, "bn3", 64, 1e-5, 0.1)?)
        .push(Activation::Relu)
        .push(AdaptiveAvgPool2d)
        .push(Flatten)
        .push(Linear::new(store, "fc", 64, 10, true, rng)?))
}

struct Run {
    accuracy: f64,
    losses: Vec<f64>,
    accuracies: Vec<f64>,
    epoch_seconds: Vec<f64>,
}

fn train(
    seed: u64,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
    verbose: bool,
) -> Result<Run, Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut store = ParamStore::<f32>::new();
    let mut model = cnn(&mut store, &mut rng)?;
    if verbose {
        println!("{}\n", summary(&model, &store, [BATCH, 64]));
    }
    let mut opt = Adam::new(LR);
    let schedule = Cosine { lr: LR, min_lr: 0.0, steps: EPOCHS };
    let mut run = Run { accuracy: 0.0, losses: vec![], accuracies: vec![], epoch_seconds: vec![] };
    let mut graph = Graph::<f32>::default();
    for epoch in 0..EPOCHS {
        let started = Instant::now();
        opt.set_lr(schedule.lr(epoch));
        model.set_training(true);
        let epoch_loss = classify::train_epoch(&model, &mut store, &mut opt, &mut graph, (train, BATCH), &mut rng)?;
        run.epoch_seconds.push(started.elapsed().as_secs_f64());
        model.set_training(false);
        let accuracy = classify::accuracy(&model, &store, test);
        run.losses.push(epoch_loss);
        run.accuracies.push(accuracy);
        if verbose {
            println!(
                "epoch {epoch:2}  loss {epoch_loss:.4}  test accuracy {:6.2}%  ({:.0} ms)",
                accuracy * 100.0,
                run.epoch_seconds[epoch] * 1e3
            );
        }
        run.accuracy = accuracy;
    }
    Ok(run)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seeds: u64 = match args.iter().position(|a| a == "--seeds") {
        Some(i) => args.get(i + 1).ok_or("--seeds needs a count")?.parse()?,
        None => 1,
    };
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits.csv");
    let data: Dataset<f32> = load_csv(path, &CsvOptions { header: true, label_column: Some(-1) })?;
    let (mut train_set, mut test_set) = train_test_split(&data, 0.2, &mut StdRng::seed_from_u64(42))?;
    train_set.x = train_set.x.map(|p| p / 16.0);
    test_set.x = test_set.x.map(|p| p / 16.0);
    println!(
        "cnn_digits: {} training and {} test images of 8×8 pixels (split seed 42), batch {BATCH}, Adam lr {LR} \
         with cosine decay, {EPOCHS} epochs\n",
        train_set.len(),
        test_set.len()
    );
    let first = train(0, &train_set, &test_set, true)?;
    println!(
        "\nmodel seed 0: test accuracy {:.2}%, median epoch {:.1} ms",
        first.accuracy * 100.0,
        median(&first.epoch_seconds) * 1e3
    );
    let out = plots::out_dir();
    let curve = out.join("cnn_digits_training.svg");
    plots::training_curve(
        &curve,
        "cnn_digits: training loss and test accuracy",
        "epoch",
        &first.losses,
        &first.accuracies,
    )?;
    println!("wrote {} (loss and accuracy per epoch)", curve.display());
    if seeds > 1 {
        let mut accuracies = vec![first.accuracy];
        for seed in 1..seeds {
            let run = train(seed, &train_set, &test_set, false)?;
            println!("model seed {seed}: test accuracy {:.2}%", run.accuracy * 100.0);
            accuracies.push(run.accuracy);
        }
        let mean = accuracies.iter().sum::<f64>() / accuracies.len() as f64;
        let (lo, hi) = accuracies.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &a| (lo.min(a), hi.max(a)));
        println!("{seeds} model seeds: mean {:.2}%, min {:.2}%, max {:.2}%", mean * 100.0, lo * 100.0, hi * 100.0);
    }
    Ok(())
}
