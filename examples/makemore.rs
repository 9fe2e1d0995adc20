//! makemore, after Andrej Karpathy's: character-level models that learn to make up first names
//! like the 5,163 in data/names.txt (the 1990 US Census lists). Three models, each reporting
//! its loss on the training names (90%) and on held-out dev names (10%, split seed 42), and
//! sampling 20 new names:
//!
//! 1. a **bigram** model: counts of which letter follows which (with add-one smoothing);
//! 2. **Bengio et al.'s MLP**: the last 3 characters embedded in 10 dims each, a 200-unit
//!    tanh layer, a softmax over the 27 characters;
//! 3. a small **causal transformer**: 2 blocks of 4-head attention, width 64, a 12-character
//!    context, token embedding tied to the output head.
//!
//!     cargo run --release --example makemore
//!
//! `.` marks both the start and the end of a name.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::time::Instant;
use tapegrad::nn::layers::{Activation, Embedding, Flatten, Linear, Sequential};
use tapegrad::nn::models::{Gpt, GptConfig};
use tapegrad::nn::optim::{Adam, Cosine, Optimizer, Schedule};
use tapegrad::nn::{loss, summary, Forward, ParamStore};
use tapegrad::prelude::*;

const VOCAB: usize = 27;
/// Characters the MLP sees.
const CONTEXT: usize = 3;
/// The transformer's context: the longest name (11) plus the start mark.
const BLOCK: usize = 12;

fn token(c: char) -> usize {
    if c == '.' {
        0
    } else {
        (c as u8 - b'a') as usize + 1
    }
}

fn letter(t: usize) -> char {
    if t == 0 {
        '.'
    } else {
        (b'a' + t as u8 - 1) as char
    }
}

/// Every (previous `context` tokens, next token) pair of the names, padded with starts.
fn windows(names: &[String], context: usize) -> (Vec<usize>, Vec<usize>) {
    let (mut xs, mut ys) = (vec![], vec![]);
    for name in names {
        let mut window = vec![0; context];
        for c in name.chars().chain(std::iter::once('.')) {
            xs.extend_from_slice(&window);
            ys.push(token(c));
            window.remove(0);
            window.push(token(c));
        }
    }
    (xs, ys)
}

fn as_tensor(tokens: &[usize], shape: impl Into<Shape>) -> Tensor<f32> {
    Tensor::from_vec(tokens.iter().map(|&t| t as f32).collect(), shape).expect("tokens fit their shape")
}

/// 20 names drawn one character at a time from `next(prefix) -> probabilities`.
fn sample(rng: &mut StdRng, mut next: impl FnMut(&[usize]) -> Tensor<f32>) -> Vec<String> {
    (0..20)
        .map(|_| {
            let mut tokens = vec![0];
            loop {
                let t = next(&tokens).multinomial(1, rng).expect("probabilities").data()[0];
                if t == 0 || tokens.len() > 20 {
                    break;
                }
                tokens.push(t);
            }
            tokens[1..].iter().map(|&t| letter(t)).collect()
        })
        .collect()
}

fn show(model: &str, train: f64, dev: f64, seconds: f64, names: &[String]) {
    println!("{model}: train loss {train:.4}, dev loss {dev:.4} ({seconds:.1} s)");
    println!("  samples: {}\n", names.join(" "));
}

fn bigram(train: &[String], dev: &[String], rng: &mut StdRng) -> f64 {
    let started = Instant::now();
    let mut counts = vec![[1.0f64; VOCAB]; VOCAB];
    let (xs, ys) = windows(train, 1);
    for (&a, &b) in xs.iter().zip(&ys) {
        counts[a][b] += 1.0;
    }
    let probs: Vec<[f64; VOCAB]> = counts
        .iter()
        .map(|row| {
            let total: f64 = row.iter().sum();
            row.map(|c| c / total)
        })
        .collect();
    let nll = |names: &[String]| {
        let (xs, ys) = windows(names, 1);
        -xs.iter().zip(&ys).map(|(&a, &b)| probs[a][b].ln()).sum::<f64>() / ys.len() as f64
    };
    let (train_loss, dev_loss) = (nll(train), nll(dev));
    let names = sample(rng, |prefix| {
        let row = probs[*prefix.last().expect("a start")].map(|p| p as f32);
        Tensor::from_vec(row.to_vec(), [VOCAB]).expect("27 probabilities")
    });
    show("bigram counts", train_loss, dev_loss, started.elapsed().as_secs_f64(), &names);
    dev_loss
}

fn mlp(train: &[String], dev: &[String], rng: &mut StdRng) -> Result<f64, Box<dyn std::error::Error>> {
    const STEPS: usize = 6000;
    const BATCH: usize = 64;
    let started = Instant::now();
    let mut store = ParamStore::<f32>::new();
    let model = Sequential::new()
        .push(Embedding::new(&mut store, "emb", VOCAB, 10, rng)?)
        .push(Flatten)
        .push(Linear::new(&mut store, "hidden", CONTEXT * 10, 200, true, rng)?)
        .push(Activation::Tanh)
        .push(Linear::new(&mut store, "out", 200, VOCAB, true, rng)?);
    println!(
        "MLP (Bengio et al. 2003), context {CONTEXT}, batch {BATCH}, {STEPS} Adam steps:\n{}\n",
        summary(&model, &store, [BATCH, CONTEXT])
    );
    let (xs, ys) = windows(train, CONTEXT);
    let mut opt = Adam::new(1e-2);
    let schedule = Cosine { lr: 1e-2, min_lr: 1e-4, steps: STEPS };
    let mut graph = Graph::<f32>::default();
    for step in 0..STEPS {
        opt.set_lr(schedule.lr(step));
        let rows: Vec<usize> = (0..BATCH).map(|_| rng.random_range(0..ys.len())).collect();
        let x: Vec<usize> = rows.iter().flat_map(|&r| xs[r * CONTEXT..(r + 1) * CONTEXT].iter().copied()).collect();
        let y: Vec<usize> = rows.iter().map(|&r| ys[r]).collect();
        graph.clear();
        {
            let params = store.bind(&graph);
            let logits = model.forward(&params, graph.constant(as_tensor(&x, [BATCH, CONTEXT])));
            let loss = loss::cross_entropy(logits, &y, 0.0)?;
            store.zero_grad();
            store.accumulate(&params, &loss.try_backward()?);
        }
        graph.clear();
        opt.step(&mut store);
    }
    let nll = |names: &[String]| -> Result<f64, Box<dyn std::error::Error>> {
        let (xs, ys) = windows(names, CONTEXT);
        let g = Graph::<f32>::default();
        let params = store.bind(&g);
        let logits = g.no_grad(|| model.forward(&params, g.constant(as_tensor(&xs, [ys.len(), CONTEXT]))));
        Ok(loss::cross_entropy(logits, &ys, 0.0)?.item() as f64)
    };
    let (train_loss, dev_loss) = (nll(train)?, nll(dev)?);
    let names = sample(rng, |prefix| {
        let mut window = vec![0; CONTEXT.saturating_sub(prefix.len())];
        window.extend_from_slice(&prefix[prefix.len().saturating_sub(CONTEXT)..]);
        let g = Graph::<f32>::default();
        let params = store.bind(&g);
        let logits = g.no_grad(|| model.forward(&params, g.constant(as_tensor(&window, [1, CONTEXT]))));
        logits.softmax(-1).value().reshape([VOCAB]).expect("27 logits")
    });
    show("MLP", train_loss, dev_loss, started.elapsed().as_secs_f64(), &names);
    Ok(dev_loss)
}

/// Each name as `BLOCK` inputs (start mark, letters, padding) and the tokens to predict at
/// each position (letters, end mark); positions past the end are left out of the loss.
fn sequences(names: &[String]) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let (mut inputs, mut rows, mut targets) = (vec![], vec![], vec![]);
    for (i, name) in names.iter().enumerate() {
        let tokens: Vec<usize> = name.chars().map(token).collect();
        let mut x = vec![0];
        x.extend_from_slice(&tokens);
        x.resize(BLOCK, 0);
        inputs.extend_from_slice(&x);
        for (t, &y) in tokens.iter().chain(std::iter::once(&0)).enumerate() {
            rows.push(i * BLOCK + t);
            targets.push(y);
        }
    }
    (inputs, rows, targets)
}

/// Cross-entropy of a `[B, BLOCK, vocab]` prediction over the positions `rows` that have a
/// target (PyTorch's `ignore_index` for the rest).
fn sequence_loss<'g>(
    logits: Var<'g, f32>,
    rows: &[usize],
    targets: &[usize],
) -> Result<Var<'g, f32>, Box<dyn std::error::Error>> {
    let b = logits.shape().dims()[0];
    let flat = logits.try_reshape([b * BLOCK, VOCAB])?;
    let picked = flat.try_index_select(0, &Indices::from(rows.to_vec()))?;
    Ok(loss::cross_entropy(picked, targets, 0.0)?)
}

fn transformer(train: &[String], dev: &[String], rng: &mut StdRng) -> Result<f64, Box<dyn std::error::Error>> {
    const STEPS: usize = 1500;
    const BATCH: usize = 32;
    let started = Instant::now();
    let config = GptConfig { vocab: VOCAB, context: BLOCK, width: 64, heads: 4, layers: 2, tie_weights: true };
    let mut store = ParamStore::<f32>::new();
    let model = Gpt::new(&mut store, config, rng)?;
    println!(
        "transformer: {} blocks, {} heads, width {}, context {BLOCK}, tied embedding, {} parameters, batch {BATCH}, \
         {STEPS} Adam steps",
        config.layers,
        config.heads,
        config.width,
        store.numel()
    );
    let mut opt = Adam::new(3e-3);
    let schedule = Cosine { lr: 3e-3, min_lr: 1e-4, steps: STEPS };
    let mut graph = Graph::<f32>::default();
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut next = order.len();
    for step in 0..STEPS {
        opt.set_lr(schedule.lr(step));
        let mut batch = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            if next == order.len() {
                order.shuffle(rng);
                next = 0;
            }
            batch.push(train[order[next]].clone());
            next += 1;
        }
        let (x, rows, y) = sequences(&batch);
        graph.clear();
        {
            let params = store.bind(&graph);
            let logits = model.forward(&params, graph.constant(as_tensor(&x, [BATCH, BLOCK])));
            let loss = sequence_loss(logits, &rows, &y)?;
            store.zero_grad();
            store.accumulate(&params, &loss.try_backward()?);
        }
        graph.clear();
        opt.step(&mut store);
    }
    let nll = |names: &[String]| -> Result<f64, Box<dyn std::error::Error>> {
        let (x, rows, y) = sequences(names);
        let g = Graph::<f32>::default();
        let params = store.bind(&g);
        let logits = g.no_grad(|| model.forward(&params, g.constant(as_tensor(&x, [names.len(), BLOCK]))));
        Ok(sequence_loss(logits, &rows, &y)?.item() as f64)
    };
    let (train_loss, dev_loss) = (nll(train)?, nll(dev)?);
    let names = sample(rng, |prefix| {
        let g = Graph::<f32>::default();
        let params = store.bind(&g);
        let t = prefix.len().min(BLOCK);
        let logits = g.no_grad(|| model.forward(&params, g.constant(as_tensor(&prefix[prefix.len() - t..], [1, t]))));
        logits.slice(1, t - 1, t).softmax(-1).value().reshape([VOCAB]).expect("27 logits")
    });
    show("transformer", train_loss, dev_loss, started.elapsed().as_secs_f64(), &names);
    Ok(dev_loss)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = include_str!("../data/names.txt");
    let mut names: Vec<String> = text.lines().map(str::to_string).collect();
    let mut rng = StdRng::seed_from_u64(42);
    names.shuffle(&mut rng);
    let dev = names.split_off(names.len() * 9 / 10);
    println!("makemore: {} training and {} dev names (data/names.txt, split seed 42)\n", names.len(), dev.len());
    let bigram_dev = bigram(&names, &dev, &mut rng);
    let mlp_dev = mlp(&names, &dev, &mut rng)?;
    let transformer_dev = transformer(&names, &dev, &mut rng)?;
    println!("dev loss (nats per character; uniform guessing is ln 27 = {:.4}):", (VOCAB as f64).ln());
    for (model, loss) in [("bigram", bigram_dev), ("MLP", mlp_dev), ("transformer", transformer_dev)] {
        println!("  {model:<12} {loss:.4}  ({:+.4} against the bigram)", loss - bigram_dev);
    }
    Ok(())
}
