//! Where NaN, infinities, bounds or empty and one-element inputs decide the answer, outputs and
//! gradients equal PyTorch's (fixture: scripts/fixtures/torch_edge_values.py), on the tensor path
//! and, for elementwise cases, element by element on the scalar path too.

#[path = "common/fixture.rs"]
mod fixture;

use fixture::{dims, numbers, records, tensor};
use tapegrad::prelude::*;

const FIXTURE: &str = include_str!("fixtures/torch_edge_values.txt");

struct Case {
    name: String,
    inputs: Vec<Tensor<f64>>,
    output: Tensor<f64>,
    grads: Vec<Vec<f64>>,
}

fn parse() -> Vec<Case> {
    let mut cases: Vec<Case> = vec![];
    for f in records(FIXTURE) {
        if f[0] == "case" {
            cases.push(Case { name: f[1].into(), inputs: vec![], output: Tensor::scalar(0.0), grads: vec![] });
            continue;
        }
        let c = cases.last_mut().unwrap();
        match f[0] {
            "input" => c.inputs.push(tensor(&f[2..])),
            "output" => c.output = Tensor::from_vec(numbers(&f[2..]), dims(f[1])).unwrap(),
            "grad" => c.grads.push(numbers(&f[2..])),
            other => panic!("unknown record {other}"),
        }
    }
    cases
}

/// The elementwise cases, checked element by element on scalars too.
const ELEMENTWISE: &[&str] = &[
    "relu",
    "abs",
    "maximum",
    "minimum",
    "powf_zero",
    "pow",
    "clamp",
    "clamp_min_above_max",
    "zero_times_log_at_zero",
    "zero_times_log_at_zero_tensor",
];

/// The expression of each case.
fn expression<'g>(name: &str, v: &[Var<'g, f64>]) -> Var<'g, f64> {
    match name {
        "relu" => v[0].relu(),
        "abs" => v[0].abs(),
        "maximum" => v[0].maximum(v[1]),
        "minimum" => v[0].minimum(v[1]),
        "powf_zero" => v[0].powf(0.0),
        "pow" => v[0].pow(v[1]),
        "clamp" => v[0].clamp(0.5, 1.5),
        "clamp_min_above_max" => v[0].clamp(2.0, 1.0),
        "max" | "max_ties" => v[0].max(),
        "softmax_inf" | "softmax_all_neg_inf" => v[0].softmax(0),
        "log_softmax_inf" => v[0].log_softmax(0),
        "logsumexp_inf" | "logsumexp_all_neg_inf" => v[0].logsumexp(),
        "var_one_element" => v[0].var(),
        "zero_times_log_at_zero" | "zero_times_log_at_zero_tensor" => 0.0 * v[0].log(),
        "mean_of_empty" => v[0].mean(),
        other => panic!("no expression for case {other}"),
    }
}

/// Equal as PyTorch reports them: both NaN, equal infinities, or within 1e-12.
fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-12
}

fn assert_same(what: &str, got: &[f64], want: &[f64]) {
    assert!(
        got.len() == want.len() && got.iter().zip(want).all(|(&a, &b)| same(a, b)),
        "{what}: got {got:?}, PyTorch gives {want:?}"
    );
}

#[test]
fn edge_values_match_pytorch() {
    let cases = parse();
    assert!(cases.len() >= 19);
    for c in &cases {
        let g = Graph::new();
        let vars: Vec<_> = c.inputs.iter().map(|t| g.var(t.clone())).collect();
        let y = expression(&c.name, &vars);
        assert_eq!(y.shape().dims(), c.output.dims(), "{}: output shape", c.name);
        assert_same(&format!("{}: output", c.name), &y.value().to_vec(), c.output.data());
        let grads = y.sum().backward();
        for (k, v) in vars.iter().enumerate() {
            assert_same(&format!("{}: gradient of input {k}", c.name), &grads.wrt(*v).to_vec(), &c.grads[k]);
        }
    }
}

#[test]
fn elementwise_edge_values_match_pytorch_on_scalars() {
    let cases = parse();
    for c in cases.iter().filter(|c| ELEMENTWISE.contains(&c.name.as_str())) {
        for e in 0..c.output.numel() {
            let g = Graph::new();
            let vars: Vec<_> = c.inputs.iter().map(|t| g.scalar(t.data()[e])).collect();
            let y = expression(&c.name, &vars);
            assert!(same(y.item(), c.output.data()[e]), "{} element {e}: {} on the scalar path", c.name, y.item());
            let grads = y.backward();
            for (k, v) in vars.iter().enumerate() {
                let got = grads.wrt(*v).item();
                assert!(
                    same(got, c.grads[k][e]),
                    "{} element {e}, input {k}: gradient {got} on the scalar path",
                    c.name
                );
            }
        }
    }
}
