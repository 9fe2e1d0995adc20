//! Losses against PyTorch (float64): values and input gradients to 1e-10
//! (fixture: scripts/fixtures/torch_losses.py); one-op forms against the longer ones they replace.

#[path = "common/fixture.rs"]
mod fixture;

use fixture::{numbers, records, tensor};
use std::collections::HashMap;
use tapegrad::nn::loss;
use tapegrad::prelude::*;

const FIXTURE: &str = include_str!("fixtures/torch_losses.txt");

#[derive(Default)]
struct Case {
    name: String,
    inputs: Vec<(String, Tensor<f64>)>,
    targets: HashMap<String, Tensor<f64>>,
    labels: Vec<usize>,
    loss: f64,
    grads: HashMap<String, Vec<f64>>,
}

fn parse() -> Vec<Case> {
    let mut cases: Vec<Case> = vec![];
    for f in records(FIXTURE) {
        if f[0] == "case" {
            cases.push(Case { name: f[1].into(), ..Case::default() });
            continue;
        }
        let c = cases.last_mut().unwrap();
        match f[0] {
            "input" => c.inputs.push((f[1].into(), tensor(&f[2..]))),
            "target" => {
                c.targets.insert(f[1].into(), tensor(&f[2..]));
            }
            "labels" => c.labels = numbers(&f[1..]),
            "loss" => c.loss = f[1].parse().unwrap(),
            "grad" => {
                c.grads.insert(f[1].into(), numbers(&f[2..]));
            }
            other => panic!("unknown line {other}"),
        }
    }
    cases
}

#[test]
fn losses_match_pytorch() {
    let cases = parse();
    assert_eq!(cases.len(), 7);
    for case in cases {
        let g = Graph::new();
        let x = g.var(case.inputs[0].1.clone());
        let target = |k: &str| g.constant(case.targets[k].clone());
        let value = match case.name.as_str() {
            "mse" => loss::mse(x, target("target")),
            "l1" => loss::l1(x, target("target")),
            "hinge" => loss::hinge(x, target("labels_pm1")),
            "bce_with_logits" => loss::bce_with_logits(x, target("targets")),
            "cross_entropy" => loss::cross_entropy(x, &case.labels, 0.0),
            "cross_entropy_smoothing" => loss::cross_entropy(x, &case.labels, 0.1),
            "nll" => loss::nll(x.log_softmax(1), &case.labels),
            other => panic!("no loss for {other}"),
        }
        .unwrap();
        assert!(
            (value.item() - case.loss).abs() <= 1e-10 * case.loss.abs().max(1.0),
            "{}: {} vs {}",
            case.name,
            value.item(),
            case.loss
        );
        let grad = value.backward().wrt(x);
        for (a, b) in grad.data().iter().zip(&case.grads[&case.inputs[0].0]) {
            assert!((a - b).abs() <= 1e-10, "{} gradient: {a} vs {b}", case.name);
        }
    }
}

#[test]
fn micrograd_list_losses() {
    let g = Graph::new();
    let scores = [g.scalar(0.5), g.scalar(-2.0), g.scalar(3.0)];
    let hinge = loss::hinge_scalars(&scores, &[1.0, 1.0, -1.0]).unwrap();
    assert!((hinge.item() - (0.5 + 3.0 + 4.0) / 3.0).abs() < 1e-15);
    assert!(loss::hinge_scalars(&scores, &[1.0]).is_err());
    let l2 = loss::l2_penalty(&scores).unwrap();
    assert_eq!(l2.item(), 0.25 + 4.0 + 9.0);
    assert_eq!(loss::l1_penalty(&scores).unwrap().item(), 5.5);
    assert_eq!(loss::sum_scalars(&g, &[]).item(), 0.0);
}

#[test]
fn bad_loss_arguments() {
    let g = Graph::new();
    let logits = g.var(Tensor::zeros([2, 3]));
    assert!(loss::cross_entropy(logits, &[0, 3], 0.0).is_err(), "label 3 of 3 classes");
    assert!(loss::cross_entropy(logits, &[0, 1], 1.5).is_err(), "smoothing above 1");
    assert!(loss::mse(logits, g.constant(Tensor::zeros([4]))).is_err());
}

/// `square` is one op, `sum_squares` (the L2 penalty's terms) one more, and the hinge subtracts
/// from 1 where it negated and added 1: the same values and gradients, bit for bit, as the
/// forms they replace.
#[test]
fn square_sum_squares_and_the_hinge_equal_their_longer_forms_bit_for_bit() {
    use rand::{rngs::StdRng, SeedableRng};
    let rng = &mut StdRng::seed_from_u64(7);
    let (x, y) = (Tensor::<f32>::randn([100, 1], 0.0, 3.0, rng), Tensor::<f32>::randn([100, 1], 0.0, 1.0, rng));
    let signs = y.map(|v| if v < 0.0 { -1.0 } else { 1.0 });
    let g = Graph::<f32>::default();
    let (s, labels) = (g.var(x), g.constant(signs));
    let forms = [
        (s.square().sum() * 0.5, (s * s).sum() * 0.5),
        (s.sum_squares() * 0.5, s.square().sum() * 0.5),
        (loss::l2_penalty(&[s, labels]).unwrap(), s.square().sum() + labels.square().sum()),
        (loss::hinge(s, labels).unwrap(), (-(s * labels) + 1.0).relu().mean()),
    ];
    for (one_op, longer) in forms {
        assert_eq!(one_op.item().to_bits(), longer.item().to_bits());
        let (a, b) = (one_op.backward().wrt(s), longer.backward().wrt(s));
        let bits = |t: &Tensor<f32>| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b));
    }
}

/// The hinge is one node whose value and gradients (to the scores, and to labels that
/// require grad) are those of `mul`, `sub`, `relu` and `mean` recorded one by one, bit for
/// bit: on margins above, below and exactly at 0, on a NaN score, in `f32` and `f64`, and
/// with labels broadcast from one number by `loss::hinge`.
#[test]
fn the_hinge_is_one_node_with_the_bits_of_the_ops_it_stands_for() {
    use rand::{rngs::StdRng, SeedableRng};
    fn check<F: Float>(scores: Tensor<F>, labels: Tensor<F>) {
        let g = Graph::<F>::default();
        let (s, y) = (g.var(scores), g.var(labels));
        let before = g.len();
        let one_op = s.hinge(y);
        assert_eq!((g.len(), one_op.op_name()), (before + 1, "hinge"));
        let composed = (g.constant_scalar(F::ONE) - s * y).relu().mean();
        let same = |a: F, b: F| a.to_f64().to_bits() == b.to_f64().to_bits();
        assert!(same(one_op.item(), composed.item()));
        let (a, b) = (one_op.backward(), composed.backward());
        for v in [s, y] {
            let (da, db) = (a.wrt(v), b.wrt(v));
            assert!(da.data().iter().zip(db.data()).all(|(&p, &q)| same(p, q)), "{da} against {db}");
        }
    }
    let rng = &mut StdRng::seed_from_u64(5);
    let scores = Tensor::<f32>::randn([100, 1], 0.0, 3.0, rng);
    let mut values = scores.to_vec();
    let signs: Vec<f32> = (0..100).map(|i| if i % 3 == 0 { -1.0 } else { 1.0 }).collect();
    values[4] = signs[4]; // s·y = 1: the margin is exactly 0
    values[9] = -0.0;
    check(Tensor::from_vec(values.clone(), [100, 1]).unwrap(), Tensor::from_vec(signs.clone(), [100, 1]).unwrap());
    values[7] = f32::NAN;
    check(Tensor::from_vec(values, [100, 1]).unwrap(), Tensor::from_vec(signs, [100, 1]).unwrap());
    check(Tensor::<f64>::randn([7, 5], 0.0, 2.0, rng), Tensor::<f64>::randn([7, 5], 0.0, 1.0, rng));
    check(Tensor::<f64>::scalar(0.25), Tensor::scalar(-1.0));

    let g = Graph::<f64>::default();
    let s = g.var(Tensor::randn([6, 1], 0.0, 2.0, rng));
    let broadcast = loss::hinge(s, g.constant_scalar(-1.0)).unwrap();
    let composed = (g.constant_scalar(1.0) + s).relu().mean();
    assert_eq!(broadcast.item().to_bits(), composed.item().to_bits());
    assert_eq!(broadcast.backward().wrt(s).to_vec(), composed.backward().wrt(s).to_vec());
}

/// The L2 penalty is one `sum_squares_of` node: its value and every parameter's gradient are
/// those of one `sum_squares` per parameter added up from 0, bit for bit, over parameters of
/// any shape (0-d among them); a constant among them adds its squares and gets no gradient.
#[test]
fn l2_penalty_is_one_node_equal_to_its_terms_added_bit_for_bit() {
    use rand::{rngs::StdRng, SeedableRng};
    let rng = &mut StdRng::seed_from_u64(11);
    let g = Graph::<f32>::default();
    let params: Vec<_> = [&[16, 2][..], &[16], &[16, 16], &[], &[1, 16], &[300]]
        .iter()
        .map(|&shape| g.var(Tensor::randn(shape, 0.0, 1.0, rng)))
        .collect();
    let fixed = g.constant(Tensor::randn([3, 5], 0.0, 1.0, rng));
    let mut parts = params.clone();
    parts.insert(2, fixed);
    let before = g.len();
    let penalty = loss::l2_penalty(&parts).unwrap();
    assert_eq!(g.len(), before + 1, "one node");
    assert_eq!(penalty.op_name(), "sum_squares_of");
    let terms: Vec<_> = parts.iter().map(|p| p.sum_squares()).collect();
    let added = loss::sum_scalars(&g, &terms);
    assert_eq!(penalty.item().to_bits(), added.item().to_bits());
    let (one, many) = ((penalty * 1e-4).backward(), (added * 1e-4).backward());
    let bits = |t: &Tensor<f32>| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for p in &params {
        assert_eq!(bits(&one.wrt(*p)), bits(&many.wrt(*p)));
    }
    assert!(one.get(fixed).is_none());
}
