//! Tutorial 4 — the network of 3Blue1Brown's videos and Nielsen's book, on the digits we ship.
//!
//!     cargo run --release --example 04_digits_3blue1brown
//!
//! 3Blue1Brown draws 784-16-16-10 with sigmoid neurons and a sum-of-squares cost; with 8×8
//! digits the same shape is 64-16-16-10 (1,482 parameters). Trained as Nielsen's book trains:
//! the quadratic cost ½‖a − y‖² against one-hot targets, plain SGD on mini-batches of 10 at
//! learning rate 3.0, 30 epochs. Prints the test accuracy per epoch, what the network answers
//! for a few test images (drawn in the terminal), and writes the training curve to out/.

#[path = "common/classify.rs"]
mod classify;
#[path = "common/plots.rs"]
mod plots;

use classify::{accuracy, predict};

use indicatif::{ProgressBar, ProgressStyle};
use tapegrad::nn::data::{batches, load_csv, one_hot, train_test_split, CsvOptions, Dataset};
use tapegrad::nn::optim::{Optimizer, Sgd};
use tapegrad::prelude::*;

const EPOCHS: usize = 30;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits.csv");
    let data: Dataset<f32> = load_csv(path, &CsvOptions { header: true, label_column: Some(-1) })?;
    let mut rng = StdRng::seed_from_u64(3);
    let (mut train, mut test) = train_test_split(&data, 0.2, &mut rng)?;
    // Pixels are 0–16: scale them to 0–1, as MNIST's are.
    train.x = train.x.map(|v| v / 16.0);
    test.x = test.x.map(|v| v / 16.0);

    let mut store = ParamStore::<f32>::new();
    let model = mlp(&mut store, &[64, 16, 16, 10], Activation::Sigmoid, &mut rng)?.push(Activation::Sigmoid);
    println!("MLP 64-16-16-10, sigmoid everywhere: {} parameters", store.numel());
    println!(
        "{} training and {} test images; SGD, batch 10, lr 3.0, quadratic cost, {EPOCHS} epochs",
        train.len(),
        test.len()
    );

    let mut opt = Sgd::new(3.0);
    let mut graph = Graph::<f32>::default();
    let (mut losses, mut accuracies) = (vec![], vec![]);
    let bar =
        ProgressBar::new(EPOCHS as u64).with_style(ProgressStyle::with_template("{bar:30} epoch {pos}/{len} {msg}")?);
    for _ in 0..EPOCHS {
        let mut epoch_loss = 0.0;
        let order = batches(train.len(), 10, &mut rng)?;
        for batch in &order {
            let batch = train.select(batch)?;
            graph.clear();
            {
                let params = store.bind(&graph);
                let out = model.forward(&params, graph.constant(batch.x.clone()));
                let target = graph.constant(one_hot(&batch.y, 10)?);
                // ½‖a − y‖² per image, averaged over the batch.
                let cost = (out - target).square().sum() * (0.5 / batch.len() as f32);
                epoch_loss += cost.item() as f64 / order.len() as f64;
                let grads = cost.try_backward()?;
                store.zero_grad();
                store.accumulate(&params, &grads);
            }
            graph.clear();
            opt.step(&mut store);
        }
        let accuracy = accuracy(&model, &store, &test);
        losses.push(epoch_loss);
        accuracies.push(accuracy);
        bar.set_message(format!("cost {epoch_loss:.4}, test accuracy {:.1}%", accuracy * 100.0));
        let epoch = losses.len();
        if epoch == 1 || epoch % 5 == 0 {
            bar.suspend(|| println!("epoch {epoch:2}: cost {epoch_loss:.4}, test accuracy {:.1}%", accuracy * 100.0));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    println!("\nWhat it answers for the first test images of three different digits:");
    let guesses = predict(&model, &store, &test);
    let mut shown: Vec<usize> = Vec::new();
    for (i, guess) in guesses.iter().enumerate() {
        if shown.len() == 3 || shown.contains(&test.y[i]) {
            continue;
        }
        shown.push(test.y[i]);
        for row in test.row(i).chunks(8) {
            let line: String = row
                .iter()
                .map(|&v| {
                    if v > 0.6 {
                        '█'
                    } else if v > 0.25 {
                        '▒'
                    } else {
                        ' '
                    }
                })
                .collect();
            println!("    {line}");
        }
        println!("    label {}, network says {guess}\n", test.y[i]);
    }
    let curve = plots::out_dir().join("04_digits_3blue1brown.svg");
    plots::training_curve(&curve, "64-16-16-10 sigmoid: cost and test accuracy", "epoch", &losses, &accuracies)?;
    println!("wrote {} (cost and test accuracy per epoch)", curve.display());
    Ok(())
}
