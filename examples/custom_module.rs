//! Write your own module: a residual block `x + W₂·relu(W₁·x)` as a struct that implements
//! `Module` (its parameters) and `Forward` (its computation), used like any built-in layer —
//! inside a `Sequential`, in a summary, trained, saved.
//!
//!     cargo run --release --example custom_module

#[path = "common/plots.rs"]
mod plots;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::nn::data::moons;
use tapegrad::nn::layers::{Activation, Linear, Sequential};
use tapegrad::nn::optim::{Adam, Optimizer};
use tapegrad::nn::{io, loss, summary, Bound, Forward, Module, ParamId, ParamStore};
use tapegrad::prelude::*;

/// `x + W₂·relu(W₁·x)`: a block that keeps its input's width.
struct Residual {
    inner: Linear,
    outer: Linear,
}

impl Residual {
    /// Parameters are created in the store under the block's name, as layers do.
    fn new(
        store: &mut ParamStore<f32>,
        name: &str,
        width: usize,
        hidden: usize,
        rng: &mut StdRng,
    ) -> tapegrad::nn::Result<Self> {
        Ok(Residual {
            inner: Linear::new(store, &format!("{name}.inner"), width, hidden, true, rng)?,
            outer: Linear::new(store, &format!("{name}.outer"), hidden, width, true, rng)?,
        })
    }
}

impl Module<f32> for Residual {
    /// Every parameter key, in a fixed order (optimizers, summaries and freezing use them).
    fn parameters(&self) -> Vec<ParamId> {
        let mut ids = Module::<f32>::parameters(&self.inner);
        ids.extend(Module::<f32>::parameters(&self.outer));
        ids
    }
}

impl Forward<f32> for Residual {
    /// The computation, recorded on the graph `x` belongs to; `params` holds this step's
    /// bound parameters.
    fn forward<'g>(&self, params: &Bound<'g, f32>, x: Var<'g, f32>) -> Var<'g, f32> {
        x + self.outer.forward(params, self.inner.forward(params, x).relu())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rng = &mut StdRng::seed_from_u64(0);
    let mut store = ParamStore::<f32>::new();
    let model = Sequential::new()
        .push(Linear::new(&mut store, "embed", 2, 16, true, rng)?)
        .push(Residual::new(&mut store, "block1", 16, 32, rng)?)
        .push(Residual::new(&mut store, "block2", 16, 32, rng)?)
        .push(Activation::Tanh)
        .push(Linear::new(&mut store, "head", 16, 2, true, rng)?);
    println!("{}\n", summary(&model, &store, [100, 2]));

    let data = moons::<f32, _>(200, 0.1, rng);
    let mut opt = Adam::new(1e-2);
    for step in 0..=200 {
        let g = Graph::<f32>::default();
        let params = store.bind(&g); // 1. bind this step's parameters
        let logits = model.forward(&params, g.constant(data.x.clone())); // 2. forward
        let loss = loss::cross_entropy(logits, &data.y, 0.0)?; // 3. loss
        store.zero_grad(); // 4. clear the last step's gradients
        store.accumulate(&params, &loss.try_backward()?); // 5. backward, into the store
        opt.step(&mut store); // 6. update
        if step % 50 == 0 {
            let accuracy = logits.value().argmax(-1)?.data().iter().zip(&data.y).filter(|(p, y)| p == y).count();
            println!("step {step:3}  loss {:.4}  train accuracy {}%", loss.item(), accuracy * 100 / data.len());
        }
    }
    let path = plots::out_dir().join("custom_module.safetensors");
    io::save_safetensors(&store, &path)?;
    println!("\nwrote {} (parameters by name: embed.weight, block1.inner.weight, …)", path.display());
    Ok(())
}
