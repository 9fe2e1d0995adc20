//! The standard workloads W1–W8 as tapegrad steps (the README's benchmark table and
//! `benches/peers/peer.py` describe the same work for the peers). The criterion benchmarks in
//! `benches/` include this file too, so both time the very same steps.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::autograd::{CompileOptions, StepTimes};
use tapegrad::demo::MoonsDemo;
use tapegrad::nn::data::moons;
use tapegrad::nn::layers::*;
use tapegrad::nn::models::{Gpt, GptConfig};
use tapegrad::nn::optim::{Adam, Optimizer, Sgd};
use tapegrad::nn::{loss, Bound, CompiledStep, Forward, ParamId, ParamStore};
use tapegrad::prelude::*;

/// A workload: its id, what it does, and how many steps make one timed repeat.
pub struct Workload {
    /// `W1` … `W8`.
    pub id: &'static str,
    /// One line for the report.
    pub what: &'static str,
    /// Steps per timed repeat (a repeat's mean step time is one sample).
    pub steps: usize,
    /// The thread counts it is measured at.
    pub threads: &'static [usize],
    /// The peers that run it (`benches/peers/peer.py` engines).
    pub peers: &'static [&'static str],
    /// Units of work in one tapegrad step (W6 records 1,000 ops per step; the report divides).
    pub per_step: usize,
    /// The workload the peers run for this row (a replayed row's peers run the recorded one).
    pub peer_workload: &'static str,
}

/// Every workload, in order.
pub const WORKLOADS: &[Workload] = &[
    Workload {
        id: "W1",
        what: "micrograd moons step: scalar MLP 2-16-16-1, 100 points, hinge + L2, SGD (PyTorch and JAX with tensors)",
        steps: 20,
        threads: &[1],
        peers: &["micrograd", "torch", "jax"],
        per_step: 1,
        peer_workload: "W1",
    },
    Workload {
        id: "W1r",
        what: "W1 by compiled-tape replay (recorded once; scalar nodes run in lanes)",
        steps: 100,
        threads: &[1],
        peers: &["micrograd", "torch", "jax"],
        per_step: 1,
        peer_workload: "W1",
    },
    Workload {
        id: "W2",
        what: "MLP 784-256-128-10, batch 128, softmax cross-entropy, SGD, f32",
        steps: 100,
        threads: &[1, 2],
        peers: &["torch", "jax"],
        per_step: 1,
        peer_workload: "W2",
    },
    Workload {
        id: "W3",
        what: "the W1 model as tensors, batch 100, f32",
        steps: 500,
        threads: &[1],
        peers: &["torch", "jax"],
        per_step: 1,
        peer_workload: "W3",
    },
    Workload {
        id: "W3r",
        what: "W3 by compiled-tape replay (recorded once; forward and backward replayed)",
        steps: 500,
        threads: &[1],
        peers: &["torch", "jax"],
        per_step: 1,
        peer_workload: "W3",
    },
    Workload {
        id: "W4",
        what: "f32 matmul 1024³",
        steps: 10,
        threads: &[1, 2],
        peers: &["torch", "jax"],
        per_step: 1,
        peer_workload: "W4",
    },
    Workload {
        id: "W5",
        what: "chain of 10⁶ scalar ops, forward + backward, 256 KiB stack",
        steps: 1,
        threads: &[1],
        peers: &[],
        per_step: 1,
        peer_workload: "W5",
    },
    Workload {
        id: "W6",
        what: "one recorded op on a 1-element tensor",
        steps: 100,
        threads: &[1],
        peers: &["torch"],
        per_step: 1000,
        peer_workload: "W6",
    },
    Workload {
        id: "W7",
        what: "causal transformer step: 2 layers, 4 heads, width 64, context 16, batch 32, Adam, f32",
        steps: 20,
        threads: &[1, 2],
        peers: &["torch", "jax"],
        per_step: 1,
        peer_workload: "W7",
    },
    Workload {
        id: "W8",
        what: "conv net step (cnn_digits' net) on 8×8 images, batch 64, Adam, f32",
        steps: 20,
        threads: &[1, 2],
        peers: &["torch", "jax"],
        per_step: 1,
        peer_workload: "W8",
    },
];

/// One training step: bind, forward, loss, zero_grad, backward, accumulate, optimizer step.
fn train_step<O: Optimizer<f32>>(
    graph: &mut Graph<f32>,
    store: &mut ParamStore<f32>,
    model: &dyn Forward<f32>,
    opt: &mut O,
    x: &Tensor<f32>,
    loss_of: impl for<'g> Fn(&Bound<'g, f32>, Var<'g, f32>) -> Var<'g, f32>,
) {
    graph.clear();
    {
        let params = store.bind(graph);
        let out = model.forward(&params, graph.constant(x.clone()));
        let loss = loss_of(&params, out);
        store.zero_grad();
        store.accumulate(&params, &loss.backward());
    }
    graph.clear();
    opt.step(store);
}

/// W3's loss: micrograd's hinge plus 1e-4·L2 on the parameters `ids`.
fn w3_loss<'g>(ids: &[ParamId], signs: &Tensor<f32>, params: &Bound<'g, f32>, scores: Var<'g, f32>) -> Var<'g, f32> {
    let weights: Vec<_> = ids.iter().map(|&p| params.var(p)).collect();
    let hinge = loss::hinge(scores, scores.graph().constant(signs.clone())).expect("one label per score");
    hinge + loss::l2_penalty(&weights).expect("parameters") * 1e-4
}

/// W3's model, data and loss: the moons' 100 points, their ±1 labels, the MLP's parameters
/// (drawn from `rng`) and their ids.
struct W3 {
    x: Tensor<f32>,
    signs: Tensor<f32>,
    store: ParamStore<f32>,
    model: Sequential<f32>,
    ids: Vec<ParamId>,
}

impl W3 {
    fn new(rng: &mut StdRng) -> Self {
        let data = moons::<f32, _>(100, 0.1, &mut StdRng::seed_from_u64(1337));
        let signs = Tensor::from_vec(data.signed_labels(), [100, 1]).expect("100 labels");
        let mut store = ParamStore::<f32>::new();
        let model = mlp(&mut store, &[2, 16, 16, 1], Activation::Relu, rng).expect("the model");
        let ids = tapegrad::nn::Module::<f32>::parameters(&model);
        W3 { x: data.x, signs, store, model, ids }
    }

    /// The step recorded once and compiled: W3r's step.
    fn compiled(&self) -> CompiledStep<f32> {
        let W3 { x, signs, store, model, ids } = self;
        CompiledStep::new(store, |g, params| {
            Ok(w3_loss(ids, signs, params, model.forward(params, g.constant(x.clone()))))
        })
        .expect("a step without value reads")
    }
}

/// Where W3r's replayed step spends its time, step by step: each step's time over `replays`
/// timed replays of the compiled step (the mean of the middle half), on one thread.
pub fn w3r_profile(replays: usize) -> StepTimes {
    let w3 = W3::new(&mut StdRng::seed_from_u64(0));
    w3.compiled().profile(&w3.store, replays).expect("a step that reaches its parameters")
}

/// The step of workload `id`, ready to be called over and over.
pub fn step(id: &str) -> Box<dyn FnMut()> {
    let rng = &mut StdRng::seed_from_u64(0);
    match id {
        "W1" | "W1r" => {
            let fresh = || MoonsDemo::<f64>::new(100, &mut StdRng::seed_from_u64(1337)).expect("the demo's data");
            let (mut demo, mut graph) = (fresh(), Graph::new());
            // Every fresh demo has the same points, so one compiled step serves them all.
            let mut compiled = (id == "W1r")
                .then(|| demo.compile_scalar(CompileOptions::default()).expect("a demo without value reads"));
            Box::new(move || {
                if demo.steps_done() == 100 {
                    demo = fresh();
                }
                match &mut compiled {
                    Some(step) => demo.step_compiled(step).expect("a replayed step"),
                    None => demo.step_scalar(&mut graph).expect("a demo step"),
                };
            })
        }
        "W2" => {
            let mut store = ParamStore::<f32>::new();
            let model = mlp(&mut store, &[784, 256, 128, 10], Activation::Relu, rng).expect("the model");
            let x = Tensor::<f32>::uniform([128, 784], 0.0, 1.0, rng);
            let labels: Vec<usize> = (0..128).map(|_| rng.random_range(0..10)).collect();
            let (mut opt, mut graph) = (Sgd::new(0.01), Graph::<f32>::default());
            Box::new(move || {
                train_step(&mut graph, &mut store, &model, &mut opt, &x, |_: &Bound<'_, f32>, out| {
                    loss::cross_entropy(out, &labels, 0.0).expect("labels")
                })
            })
        }
        "W3" | "W3r" => {
            let w3 = W3::new(rng);
            let (mut opt, mut graph) = (Sgd::new(0.1), Graph::<f32>::default());
            let compiled = (id == "W3r").then(|| w3.compiled());
            let W3 { x, signs, mut store, model, ids } = w3;
            let Some(mut compiled) = compiled else {
                return Box::new(move || {
                    train_step(&mut graph, &mut store, &model, &mut opt, &x, |params, scores| {
                        w3_loss(&ids, &signs, params, scores)
                    })
                });
            };
            Box::new(move || {
                store.zero_grad();
                compiled.step(&mut store).expect("a replayed step");
                opt.step(&mut store);
            })
        }
        "W4" => {
            let a = Tensor::<f32>::randn([1024, 1024], 0.0, 1.0, rng);
            let b = Tensor::<f32>::randn([1024, 1024], 0.0, 1.0, rng);
            Box::new(move || {
                std::hint::black_box(a.matmul(&b).expect("square matrices"));
            })
        }
        "W5" => {
            let mut graph = Graph::with_capacity(1_000_002);
            Box::new(move || {
                graph.clear();
                let (x, w) = (graph.scalar(1.0), graph.scalar(1.000_000_1));
                let mut y = x;
                for _ in 0..1_000_000 {
                    y = y * w;
                }
                std::hint::black_box(y.backward().wrt(w).item());
            })
        }
        "W6" => {
            let mut graph = Graph::with_capacity(1002);
            let one = |v: f64| Tensor::from_vec(vec![v], [1]).expect("one element");
            Box::new(move || {
                graph.clear();
                let (a, w) = (graph.var(one(1.5)), graph.var(one(0.5)));
                for _ in 0..1000 {
                    std::hint::black_box(a * w);
                }
            })
        }
        "W7" => {
            let config = GptConfig { vocab: 64, context: 16, width: 64, heads: 4, layers: 2, tie_weights: true };
            let mut store = ParamStore::<f32>::new();
            let model = Gpt::new(&mut store, config, rng).expect("the model");
            let tokens = |rng: &mut StdRng| -> Vec<usize> { (0..32 * 16).map(|_| rng.random_range(0..64)).collect() };
            let x: Vec<f32> = tokens(rng).into_iter().map(|t| t as f32).collect();
            let x = Tensor::from_vec(x, [32, 16]).expect("32 × 16 tokens");
            let targets = tokens(rng);
            let (mut opt, mut graph) = (Adam::new(1e-3), Graph::<f32>::default());
            Box::new(move || {
                train_step(&mut graph, &mut store, &model, &mut opt, &x, |_: &Bound<'_, f32>, logits: Var<'_, f32>| {
                    loss::cross_entropy(logits.reshape([32 * 16, 64]), &targets, 0.0).expect("targets")
                })
            })
        }
        "W8" => {
            let mut store = ParamStore::<f32>::new();
            let same = ConvOptions::default().padding([1, 1]);
            let mut conv =
                |name: &str, i, o, rng: &mut StdRng| Conv2d::new(&mut store, name, i, o, [3, 3], same, false, rng);
            let (c1, c2, c3) = (conv("c1", 1, 16, rng), conv("c2", 16, 32, rng), conv("c3", 32, 64, rng));
            let model = Sequential::new()
                .push(c1.expect("conv"))
                .push(BatchNorm::new(&mut store, "bn1", 16, 1e-5, 0.1).expect("bn"))
                .push(Activation::Relu)
                .push(c2.expect("conv"))
                .push(BatchNorm::new(&mut store, "bn2", 32, 1e-5, 0.1).expect("bn"))
                .push(Activation::Relu)
                .push(MaxPool2d(Window::pool([2, 2])))
                .push(c3.expect("conv"))
                .push(BatchNorm::new(&mut store, "bn3", 64, 1e-5, 0.1).expect("bn"))
                .push(Activation::Relu)
                .push(AdaptiveAvgPool2d)
                .push(Flatten)
                .push(Linear::new(&mut store, "fc", 64, 10, true, rng).expect("linear"));
            let x = Tensor::<f32>::uniform([64, 1, 8, 8], 0.0, 1.0, rng);
            let labels: Vec<usize> = (0..64).map(|_| rng.random_range(0..10)).collect();
            let (mut opt, mut graph) = (Adam::new(1e-3), Graph::<f32>::default());
            Box::new(move || {
                train_step(&mut graph, &mut store, &model, &mut opt, &x, |_: &Bound<'_, f32>, out| {
                    loss::cross_entropy(out, &labels, 0.0).expect("labels")
                })
            })
        }
        other => panic!("no workload {other}"),
    }
}
