//! Tutorial 5 — TensorFlow Playground's classification data sets, and its default network.
//!
//!     cargo run --release --example 05_playground_datasets
//!
//! Generates the Playground's four classification sets (circle, exclusive or, Gaussian,
//! spiral; 500 points, noise 0, half for training) and trains the Playground's default
//! network on each the way the Playground does: inputs X₁ and X₂, hidden layers of 4 and 2
//! tanh neurons, a tanh output against labels ±1, weights from U(−0.5, 0.5) and biases 0.1,
//! the loss ½(out − label)², mini-batches of 10 at learning rate 0.03. Prints the train and
//! test loss as it goes and draws each data set with the decision the network learned to out/.

#[path = "common/plots.rs"]
mod plots;

use tapegrad::nn::data::{batches, playground_circle, playground_gaussian, playground_spiral, playground_xor, Dataset};
use tapegrad::nn::optim::{Optimizer, Sgd};
use tapegrad::prelude::*;

const EPOCHS: usize = 300;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    type Make = fn(usize, f64, &mut StdRng) -> Dataset<f64>;
    let sets: [(&str, Make); 4] = [
        ("circle", playground_circle),
        ("xor", playground_xor),
        ("gaussian", playground_gaussian),
        ("spiral", playground_spiral),
    ];
    for (name, make) in sets {
        let mut rng = StdRng::seed_from_u64(1);
        let data = make(500, 0.0, &mut rng);
        let (train, test) =
            (data.select(&(0..250).collect::<Vec<_>>())?, data.select(&(250..500).collect::<Vec<_>>())?);
        let mut store = ParamStore::new();
        let model = playground_network(&mut store, &mut rng)?;
        let mut opt = Sgd::new(0.03);
        print!("{name:>9}:");
        for epoch in 1..=EPOCHS {
            for batch in batches(train.len(), 10, &mut rng)? {
                let batch = train.select(&batch)?;
                let g = Graph::new();
                let params = store.bind(&g);
                let loss = half_squared_error(&g, &params, &model, &batch);
                store.zero_grad();
                store.accumulate(&params, &loss.backward());
                opt.step(&mut store);
            }
            if [1, 10, 100, 300].contains(&epoch) {
                let g = Graph::new();
                let params = store.bind(&g);
                let (train_loss, test_loss) = (
                    half_squared_error(&g, &params, &model, &train).item(),
                    half_squared_error(&g, &params, &model, &test).item(),
                );
                print!("  epoch {epoch}: train {train_loss:.3} test {test_loss:.3}");
            }
        }
        println!();
        let points: Vec<[f64; 2]> = (0..data.len()).map(|i| [data.row(i)[0], data.row(i)[1]]).collect();
        let picture = plots::out_dir().join(format!("05_playground_{name}.svg"));
        plots::decision_boundary(
            &picture,
            &format!("Playground {name}: the default network after {EPOCHS} epochs"),
            &points,
            &data.y,
            |x, y| {
                let g = Graph::new();
                let params = store.bind(&g);
                model.forward(&params, g.constant(Tensor::from_vec(vec![x, y], [1, 2]).expect("one point"))).item()
            },
        )?;
        println!("           wrote {}", picture.display());
    }
    println!(
        "\nThe spiral needs more than X₁, X₂ and 4-2 neurons: in the Playground, add the sin features or more layers."
    );
    Ok(())
}

/// The Playground's default network: 2 inputs, tanh layers of 4 and 2, a tanh output; weights
/// U(−0.5, 0.5), biases 0.1.
fn playground_network(store: &mut ParamStore, rng: &mut StdRng) -> Result<Sequential<f64>, tapegrad::nn::Error> {
    let sizes = [2, 4, 2, 1];
    let mut model = Sequential::new();
    for k in 0..3 {
        let layer = Linear::new(store, &format!("layers.{}", 2 * k), sizes[k], sizes[k + 1], true, rng)?;
        store.set_value(layer.weight, Tensor::uniform([sizes[k + 1], sizes[k]], -0.5, 0.5, rng))?;
        store.set_value(layer.bias.expect("a bias"), Tensor::full([sizes[k + 1]], 0.1))?;
        model = model.push(layer).push(Activation::Tanh);
    }
    Ok(model)
}

/// The mean of ½(out − label)² over `data`, labels as ±1.
fn half_squared_error<'g>(
    g: &'g Graph,
    params: &tapegrad::nn::Bound<'g, f64>,
    model: &Sequential<f64>,
    data: &Dataset<f64>,
) -> Var<'g, f64> {
    let out = model.forward(params, g.constant(data.x.clone())).reshape([data.len()]);
    let labels = g.constant(Tensor::from_vec(data.signed_labels(), [data.len()]).expect("one label per point"));
    (out - labels).square().mean() * 0.5
}
