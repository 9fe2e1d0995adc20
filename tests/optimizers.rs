//! Every optimizer against PyTorch: 10 steps on a fixed problem in float64 must give the same
//! parameters to 1e-10 (fixture: scripts/fixtures/torch_optimizers.py). Plus clipping,
//! schedules, frozen parameters and gradient accumulation.

#[path = "common/fixture.rs"]
mod fixture;

use fixture::{numbers, records, tensor};
use std::collections::HashMap;
use tapegrad::nn::optim::*;
use tapegrad::nn::{ParamId, ParamStore};
use tapegrad::prelude::*;

const FIXTURE: &str = include_str!("fixtures/torch_optimizers.txt");

/// The expected (w, b) after each step.
type Steps = Vec<(Vec<f64>, Vec<f64>)>;

struct Fixture {
    problem: HashMap<String, Tensor<f64>>,
    cases: Vec<(String, Steps)>,
}

fn parse() -> Fixture {
    let mut problem = HashMap::new();
    let mut cases: Vec<(String, Steps)> = vec![];
    for f in records(FIXTURE) {
        match f[0] {
            "problem" => {
                problem.insert(f[1].to_string(), tensor(&f[2..]));
            }
            "case" => cases.push((f[1].to_string(), vec![])),
            "step" => {
                let values: Vec<f64> = numbers(&f[3..]);
                let steps = &mut cases.last_mut().unwrap().1;
                if f[2] == "w" {
                    steps.push((values, vec![]));
                } else {
                    steps.last_mut().unwrap().1 = values;
                }
            }
            other => panic!("unknown line {other}"),
        }
    }
    Fixture { problem, cases }
}

impl Fixture {
    /// A store holding the problem's starting `w` and `b`.
    fn store(&self) -> (ParamStore, (ParamId, ParamId)) {
        let mut store = ParamStore::new();
        let ids =
            (store.add("w", self.problem["w0"].clone()).unwrap(), store.add("b", self.problem["b0"].clone()).unwrap());
        (store, ids)
    }
}

fn optimizer(name: &str) -> Box<dyn Optimizer<f64>> {
    match name {
        "sgd" => Box::new(Sgd::new(0.1)),
        "sgd_momentum_dampening" => Box::new(Sgd::new(0.05).momentum(0.9).dampening(0.1)),
        "sgd_nesterov_weight_decay" => Box::new(Sgd::new(0.05).momentum(0.8).nesterov(true).weight_decay(0.01)),
        "adam" => Box::new(Adam::new(0.01)),
        "adam_custom" => Box::new(Adam::new(0.02).betas(0.8, 0.99).eps(1e-6).weight_decay(0.05)),
        "adamw" => Box::new(AdamW::new(0.01)),
        "adamw_custom" => Box::new(AdamW::new(0.03).betas(0.85, 0.995).weight_decay(0.1)),
        "adagrad" => Box::new(Adagrad::new(0.1)),
        "adagrad_custom" => {
            Box::new(Adagrad::new(0.05).lr_decay(0.01).weight_decay(0.02).initial_accumulator(0.1).eps(1e-6))
        }
        "rmsprop" => Box::new(RmsProp::new(0.01)),
        "rmsprop_centered_momentum" => {
            Box::new(RmsProp::new(0.005).alpha(0.9).momentum(0.5).centered(true).weight_decay(0.01))
        }
        other => panic!("no optimizer for {other}"),
    }
}

/// One backward pass of the fixture's loss into the store's accumulated gradients.
fn accumulate(store: &mut ParamStore, ids: (ParamId, ParamId), x: &Tensor<f64>, y: &Tensor<f64>) {
    let g = Graph::new();
    let params = store.bind(&g);
    let (w, b) = (params.var(ids.0), params.var(ids.1));
    let residual = g.constant(x.clone()).matmul(w) + b - g.constant(y.clone());
    let loss = residual.square().mean() + w.sin().sum() * 0.1;
    let grads = loss.backward();
    store.accumulate(&params, &grads);
}

#[test]
fn optimizers_match_pytorch_step_by_step() {
    let fixture = parse();
    assert_eq!(fixture.cases.len(), 11);
    let (x, y) = (&fixture.problem["X"], &fixture.problem["Y"]);
    for (name, steps) in &fixture.cases {
        let (mut store, ids) = fixture.store();
        let mut opt = optimizer(name);
        for (k, (want_w, want_b)) in steps.iter().enumerate() {
            store.zero_grad();
            accumulate(&mut store, ids, x, y);
            opt.step(&mut store);
            for (got, want, which) in [(&store[ids.0].value, want_w, "w"), (&store[ids.1].value, want_b, "b")] {
                for (a, b) in got.data().iter().zip(want) {
                    assert!((a - b).abs() <= 1e-10, "{name} step {k} {which}: tapegrad {a} vs PyTorch {b}");
                }
            }
        }
    }
}

#[test]
fn gradient_accumulation_adds_passes_up() {
    let fixture = parse();
    let (x, y) = (&fixture.problem["X"], &fixture.problem["Y"]);
    let (mut store, ids) = fixture.store();
    accumulate(&mut store, ids, x, y);
    let once = store[ids.0].grad.clone().unwrap();
    accumulate(&mut store, ids, x, y);
    let twice = store[ids.0].grad.clone().unwrap();
    assert!(twice.allclose(&once.map(|v| 2.0 * v), 1e-12, 1e-12));
    store.zero_grad();
    assert!(store[ids.0].grad.is_none());
}

#[test]
fn frozen_parameters_get_no_gradient_and_do_not_move() {
    let fixture = parse();
    let (x, y) = (&fixture.problem["X"], &fixture.problem["Y"]);
    let (mut store, ids) = fixture.store();
    store.set_frozen(ids.0, true);
    accumulate(&mut store, ids, x, y);
    assert!(store[ids.0].grad.is_none() && store[ids.1].grad.is_some());
    let mut opt = Sgd::new(0.1);
    opt.step(&mut store);
    assert_eq!(store[ids.0].value, fixture.problem["w0"]);
    assert_ne!(store[ids.1].value, fixture.problem["b0"]);
}

#[test]
fn clipping_by_norm_and_by_value() {
    let mut store = ParamStore::new();
    let a = store.add("a", Tensor::zeros([2])).unwrap();
    let b = store.add("b", Tensor::zeros([1])).unwrap();
    store.get_mut(a).unwrap().grad = Some(Tensor::from_vec(vec![3.0, 0.0], [2]).unwrap());
    store.get_mut(b).unwrap().grad = Some(Tensor::from_vec(vec![4.0], [1]).unwrap());
    let norm = clip_grad_norm(&mut store, 1.0);
    assert_eq!(norm, 5.0);
    let clipped = store[a].grad.as_ref().unwrap()[[0]];
    assert!((clipped - 3.0 / (5.0 + 1e-6)).abs() < 1e-15);
    clip_grad_value(&mut store, 0.1);
    assert_eq!(store[b].grad.as_ref().unwrap()[[0]], 0.1);
    assert_eq!(clip_grad_norm(&mut store, 10.0), (0.1f64 * 0.1 + 0.1 * 0.1).sqrt());
}

#[test]
fn schedules() {
    let micrograd = LinearDecay { start: 1.0, end: 0.1, steps: 100 };
    for k in [0, 1, 37, 99, 100] {
        assert!((micrograd.lr(k) - (1.0 - 0.9 * k as f64 / 100.0)).abs() < 1e-15, "step {k}");
    }
    assert!((micrograd.lr(500) - 0.1).abs() < 1e-15);
    let step = StepDecay { lr: 1.0, step_size: 10, gamma: 0.5 };
    assert_eq!((step.lr(9), step.lr(10), step.lr(25)), (1.0, 0.5, 0.25));
    let cosine = Cosine { lr: 1.0, min_lr: 0.0, steps: 10 };
    assert!((cosine.lr(0) - 1.0).abs() < 1e-15 && (cosine.lr(5) - 0.5).abs() < 1e-15 && cosine.lr(10).abs() < 1e-15);
    let warm = Warmup { inner: Constant(0.4), steps: 4 };
    assert_eq!((warm.lr(0), warm.lr(3), warm.lr(4), warm.lr(50)), (0.1, 0.4, 0.4, 0.4));
}

/// Save weights and optimizer state after step 5, load both into a fresh store and a fresh
/// optimizer, and steps 6–10 equal an uninterrupted run bit for bit, for every optimizer.
#[test]
fn training_resumes_exactly_from_saved_weights_and_optimizer_state() {
    use tapegrad::nn::io::{load_optimizer, load_safetensors, save_optimizer, save_safetensors};
    let fixture = parse();
    let (x, y) = (&fixture.problem["X"], &fixture.problem["Y"]);
    let dir = std::env::temp_dir();
    for name in fixture.cases.iter().map(|(n, _)| n.as_str()) {
        let (mut store, ids) = fixture.store();
        let mut opt = optimizer(name);
        let step = |store: &mut ParamStore, ids, opt: &mut Box<dyn Optimizer<f64>>| {
            store.zero_grad();
            accumulate(store, ids, x, y);
            opt.step(store);
        };
        for _ in 0..5 {
            step(&mut store, ids, &mut opt);
        }
        let weights = dir.join(format!("tapegrad-resume-{name}-{}.safetensors", std::process::id()));
        let state = dir.join(format!("tapegrad-resume-{name}-{}-optim.safetensors", std::process::id()));
        save_safetensors(&store, &weights).unwrap();
        save_optimizer(opt.as_ref(), &store, &state).unwrap();
        for _ in 5..10 {
            step(&mut store, ids, &mut opt);
        }

        let (mut resumed, resumed_ids) = fixture.store();
        load_safetensors(&mut resumed, &weights).unwrap();
        let mut resumed_opt = optimizer(name);
        load_optimizer(resumed_opt.as_mut(), &resumed, &state).unwrap();
        for _ in 5..10 {
            step(&mut resumed, resumed_ids, &mut resumed_opt);
        }
        let values = |s: &ParamStore| s.iter().map(|(_, p)| (p.name.clone(), p.value.clone())).collect::<Vec<_>>();
        assert_eq!(values(&store), values(&resumed), "{name}: after resuming");
        // Without the state, the resumed run differs (the test can tell).
        if name != "sgd" {
            let (mut fresh, fresh_ids) = fixture.store();
            load_safetensors(&mut fresh, &weights).unwrap();
            let mut fresh_opt = optimizer(name);
            for _ in 5..10 {
                step(&mut fresh, fresh_ids, &mut fresh_opt);
            }
            assert_ne!(values(&store), values(&fresh), "{name}: the state made no difference");
        }
        std::fs::remove_file(weights).ok();
        std::fs::remove_file(state).ok();
    }
}

#[test]
fn optimizer_state_that_does_not_fit_is_refused() {
    let fixture = parse();
    let (mut store, ids) = fixture.store();
    let mut adam = Adam::new(0.01);
    store.zero_grad();
    accumulate(&mut store, ids, &fixture.problem["X"], &fixture.problem["Y"]);
    adam.step(&mut store);
    let mut state = adam.state(&store);
    assert!(state.iter().any(|(n, _)| n.ends_with(".exp_avg_sq")));
    state[0].1 = Tensor::zeros([1]);
    let err = Adam::<f64>::new(0.01).load_state(&store, &state).unwrap_err().to_string();
    assert!(err.contains("elements for a parameter of shape"), "{err}");
    let stray = vec![("nope.exp_avg".to_string(), Tensor::zeros([1]))];
    let err = Adam::<f64>::new(0.01).load_state(&store, &stray).unwrap_err().to_string();
    assert!(err.contains("`nope.exp_avg` is no state"), "{err}");
}
