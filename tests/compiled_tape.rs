//! The compiled tape: replays equal the recorded path bit for bit (micrograd's demo for 100
//! steps, with and without lanes), dead nodes are dropped, and recordings that read values
//! back, inputs that are not leaves and mismatched input values are refused with errors that
//! say why.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::autograd::{CompileOptions, CompiledTape};
use tapegrad::demo::MoonsDemo;
use tapegrad::prelude::*;

fn demo() -> MoonsDemo<f64> {
    MoonsDemo::new(100, &mut StdRng::seed_from_u64(1337)).unwrap()
}

fn same_bits(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits()
}

fn replays_equal_the_recorded_demo(options: CompileOptions) {
    let mut recorded = demo();
    let mut replayed = demo();
    let mut step = replayed.compile_scalar(options).unwrap();
    let mut graph = Graph::new();
    for k in 0..100 {
        let a = recorded.step_scalar(&mut graph).unwrap();
        let b = replayed.step_compiled(&mut step).unwrap();
        assert!(same_bits(a.loss, b.loss), "step {k}: loss {} vs {}", a.loss, b.loss);
        assert_eq!(a.accuracy, b.accuracy, "step {k}");
        for ((_, p), (_, q)) in recorded.store.iter().zip(replayed.store.iter()) {
            assert!(same_bits(p.value.item(), q.value.item()), "step {k}: {} differs", p.name);
        }
    }
    assert_eq!(replayed.steps_done(), 100);
}

#[test]
fn the_demo_replayed_with_lanes_equals_the_recorded_demo_bit_for_bit() {
    replays_equal_the_recorded_demo(CompileOptions::default());
}

#[test]
fn the_demo_replayed_in_lanes_without_multiply_adds_equals_the_recorded_demo_bit_for_bit() {
    replays_equal_the_recorded_demo(CompileOptions { multiply_adds: false, ..CompileOptions::default() });
}

#[test]
fn the_demo_replayed_node_by_node_equals_the_recorded_demo_bit_for_bit() {
    replays_equal_the_recorded_demo(CompileOptions { lanes: false, ..CompileOptions::default() });
}

#[test]
fn the_demo_runs_in_lanes_of_one_per_point() {
    let step = demo().compile_scalar(CompileOptions::default()).unwrap();
    let stats = step.tape.stats();
    assert_eq!(stats.recorded, 65_818);
    assert_eq!(stats.widest, 100, "{stats}");
    assert!(stats.laned_nodes > 60_000, "{stats}");
    assert!(stats.steps < 900, "{stats}");
    assert_eq!(stats.fused, 16 + 16 + 1 + 1, "each neuron's Σ wᵢxᵢ, and the hinge's multiply-add: {stats}");
}

/// Records `build` on `inputs` and differentiates `Σ u·y` eagerly: the loss, the output and
/// the input gradients.
fn eager(build: Build, inputs: &[Tensor<f64>], u: &Tensor<f64>) -> (f64, Tensor<f64>, Vec<Tensor<f64>>) {
    let g = Graph::new();
    let xs: Vec<_> = inputs.iter().map(|t| g.var(t.clone())).collect();
    let y = build(&g, &xs);
    let loss = (y * g.constant(u.clone())).sum();
    let grads = loss.backward();
    let tape = g.tape();
    let (value, out) = (tape.tensor(loss.id()).item(), tape.tensor(y.id()));
    (value, out, xs.iter().map(|&x| grads.wrt(x)).collect())
}

fn same_tensor(a: &Tensor<f64>, b: &Tensor<f64>) -> bool {
    a.shape() == b.shape() && a.data().iter().zip(b.data()).all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

use tapegrad::autograd::registry::{registry, Build};

#[test]
fn every_registry_op_replays_on_new_inputs_as_it_records() {
    let mut rng = StdRng::seed_from_u64(21);
    let (mut replayed, mut refused) = (0, 0);
    for case in registry() {
        for shapes in &case.shapes {
            let first: Vec<_> = shapes.iter().map(|s| case.domain.sample(s, &mut rng)).collect();
            let g = Graph::new();
            let xs: Vec<_> = first.iter().map(|t| g.var(t.clone())).collect();
            let y = (case.build)(&g, &xs);
            let u = Tensor::uniform(y.shape(), -1.0, 1.0, &mut rng);
            let loss = (y * g.constant(u.clone())).sum();
            let mut compiled = match CompiledTape::new(&xs, &[loss, y]) {
                Ok(c) => c,
                Err(tapegrad::autograd::Error::ValueReads { .. }) => {
                    // The case chose something by value while recording (top-k, argmax, …):
                    // refused, as it must be.
                    assert!(g.value_read_count() > 0);
                    refused += 1;
                    continue;
                }
                Err(e) => panic!("{} on {shapes:?}: {e}", case.name),
            };
            // Twice: the second replay writes over the first one's outputs where it can.
            for replay in 0..2 {
                let inputs: Vec<_> = shapes.iter().map(|s| case.domain.sample(s, &mut rng)).collect();
                for (k, t) in inputs.iter().enumerate() {
                    compiled.set_input(k, t).unwrap();
                }
                if let Err(e) = compiled.backward() {
                    panic!("{} on {shapes:?}: {e}", case.name);
                }
                let (value, out, grads) = eager(case.build, &inputs, &u);
                let at = format!("{} on shapes {shapes:?}, replay {replay}", case.name);
                assert!(same_bits(compiled.output_scalar(0).unwrap(), value), "{at}: loss");
                assert!(same_tensor(&compiled.output(1).unwrap(), &out), "{at}: output");
                for (k, grad) in grads.iter().enumerate() {
                    assert!(same_tensor(&compiled.grad(k).unwrap(), grad), "{at}: gradient {k}");
                }
            }
            replayed += 1;
        }
    }
    eprintln!("{replayed} replayed, {refused} refused");
    assert!(replayed > 100 && refused < 5, "{replayed} replayed, {refused} refused");
}

/// A two-layer regression step on tensors, with a scalar node between tensor nodes.
fn regression_step<'g>(
    g: &'g Graph,
    w1: &Tensor<f64>,
    w2: &Tensor<f64>,
    x: &Tensor<f64>,
    t: &Tensor<f64>,
) -> ([Var<'g, f64>; 4], Var<'g, f64>) {
    let vars = [g.var(w1.clone()), g.var(w2.clone()), g.var(x.clone()), g.var(t.clone())];
    let h = vars[2].matmul(vars[0]).tanh();
    let scale = h.sum() * 0.01 + 1.0;
    let loss = ((h.matmul(vars[1]) * scale - vars[3]).square()).mean();
    (vars, loss)
}

#[test]
fn a_tensor_training_step_replays_on_new_batches_bit_for_bit() {
    let mut rng = StdRng::seed_from_u64(4);
    let batches: Vec<(Tensor<f64>, Tensor<f64>)> = (0..4)
        .map(|_| (Tensor::uniform([8, 3], -1.0, 1.0, &mut rng), Tensor::uniform([8, 1], -1.0, 1.0, &mut rng)))
        .collect();
    let w1 = Tensor::uniform([3, 5], -1.0, 1.0, &mut rng);
    let w2 = Tensor::uniform([5, 1], -1.0, 1.0, &mut rng);
    let g = Graph::new();
    let (vars, loss) = regression_step(&g, &w1, &w2, &batches[0].0, &batches[0].1);
    let mut compiled = CompiledTape::new(&vars, &[loss]).unwrap();
    let (mut a1, mut a2) = (w1.clone(), w2.clone());
    let (mut b1, mut b2) = (w1, w2);
    for (x, t) in &batches {
        let g = Graph::new();
        let (vars, loss) = regression_step(&g, &a1, &a2, x, t);
        let grads = loss.backward();
        for (k, value) in [&b1, &b2, x, t].into_iter().enumerate() {
            compiled.set_input(k, value).unwrap();
        }
        compiled.backward().unwrap();
        assert!(same_bits(compiled.output_scalar(0).unwrap(), g.tape().tensor(loss.id()).item()));
        let (d1, d2) = (grads.wrt(vars[0]), grads.wrt(vars[1]));
        assert!(same_tensor(&compiled.grad(0).unwrap(), &d1) && same_tensor(&compiled.grad(1).unwrap(), &d2));
        a1 = a1.zip_with(&d1, "sgd", |w, d| w - 0.1 * d).unwrap();
        a2 = a2.zip_with(&d2, "sgd", |w, d| w - 0.1 * d).unwrap();
        b1 = b1.zip_with(&compiled.grad(0).unwrap(), "sgd", |w, d| w - 0.1 * d).unwrap();
        b2 = b2.zip_with(&compiled.grad(1).unwrap(), "sgd", |w, d| w - 0.1 * d).unwrap();
    }
    assert!(same_tensor(&a1, &b1) && same_tensor(&a2, &b2));
}

#[test]
fn a_profile_times_every_step_and_leaves_the_replay_as_it_was() {
    let mut rng = StdRng::seed_from_u64(5);
    let (w1, w2) = (Tensor::uniform([3, 5], -1.0, 1.0, &mut rng), Tensor::uniform([5, 1], -1.0, 1.0, &mut rng));
    let (x, t) = (Tensor::uniform([8, 3], -1.0, 1.0, &mut rng), Tensor::uniform([8, 1], -1.0, 1.0, &mut rng));
    let g = Graph::new();
    let (vars, loss) = regression_step(&g, &w1, &w2, &x, &t);
    let mut compiled = CompiledTape::new(&vars, &[loss]).unwrap();
    compiled.backward().unwrap();
    let (loss, d1, d2) = (compiled.output_scalar(0).unwrap(), compiled.grad(0).unwrap(), compiled.grad(1).unwrap());

    let times = compiled.profile(20).unwrap();
    assert_eq!(times.replays, 20);
    assert_eq!(times.steps.len(), compiled.stats().steps);
    let ops: Vec<&str> = times.steps.iter().map(|s| s.op.as_str()).collect();
    assert_eq!(&ops[..2], ["matmul", "tanh"], "{times}");
    assert_eq!(times.steps[0].shape, Shape::from([8, 5]));
    assert!(ops.contains(&"scalar mul") && ops.contains(&"square"), "{times}");
    let table = times.to_string();
    assert!(table.lines().count() >= times.steps.len() + 2 && table.contains("total"), "{table}");

    // The profiled replays ran on the same inputs: outputs and gradients are unchanged.
    assert!(same_bits(compiled.output_scalar(0).unwrap(), loss));
    assert!(same_tensor(&compiled.grad(0).unwrap(), &d1) && same_tensor(&compiled.grad(1).unwrap(), &d2));

    let constant = Graph::new();
    let (w, c) = (constant.scalar(1.0), constant.constant_scalar(2.0));
    let mut unreached = CompiledTape::new(&[w], &[c * 3.0]).unwrap();
    assert!(matches!(unreached.profile(5), Err(tapegrad::autograd::Error::NoGradient)));
}

#[test]
fn nodes_off_the_path_from_inputs_to_outputs_are_dropped() {
    let g = Graph::new();
    let (w, b) = (g.scalar(0.5), g.scalar(-1.0));
    let unused = g.scalar(3.0);
    let _dead = (unused * unused).exp(); // reaches no output
    let constant = g.constant_scalar(2.0) * g.constant_scalar(4.0); // depends on no input
    let loss = (w * constant + b).square();
    let compiled = CompiledTape::new(&[w, b], &[loss]).unwrap();
    let stats = compiled.stats();
    assert_eq!(stats.recorded, g.len());
    assert_eq!(stats.kept, 3, "w·c, + b, square: {stats}");
}

#[test]
fn a_recording_that_read_values_is_refused_naming_where() {
    let g = Graph::new();
    let x = g.scalar(2.0);
    let y = if (x * x).item() > 1.0 { x * 3.0 } else { -x }; // the line the error names
    let line = line!() - 1;
    let err = CompiledTape::new(&[x], &[y]).err().expect("refused");
    let message = err.to_string();
    assert!(message.contains("item of node #1"), "{message}");
    assert!(message.contains(&format!("tests/compiled_tape.rs:{line}")), "{message}");
    assert!(message.contains("allow_value_reads"), "{message}");
    let allowed = CompileOptions { allow_value_reads: true, ..CompileOptions::default() };
    let mut compiled = CompiledTape::with_options(&[x], &[y], allowed).unwrap();
    compiled.set_input_scalar(0, 5.0).unwrap();
    compiled.forward().unwrap();
    assert_eq!(compiled.output_scalar(0).unwrap(), 15.0);
}

#[test]
fn values_frozen_while_recording_are_noted() {
    let g = Graph::new();
    let x = g.scalar(2.0);
    let frozen = g.no_grad(|| x * 2.0);
    let detached = x.detach();
    let whats: Vec<&str> = g.value_reads().iter().map(|r| r.what).collect();
    assert_eq!(whats, ["no_grad", "detach"]);
    let err = CompiledTape::new(&[x], &[x * frozen + detached]).err().expect("refused");
    assert!(matches!(err, tapegrad::autograd::Error::ValueReads { count: 2, .. }), "{err}");

    use tapegrad::nn::layers::Dropout;
    use tapegrad::nn::{Forward, ParamStore};
    let store = ParamStore::<f64>::new();
    let g = Graph::new();
    let params = store.bind(&g);
    let dropout = Dropout::new(0.5, 1).unwrap();
    let h = g.var(Tensor::ones([4]));
    let _ = dropout.forward(&params, h);
    assert_eq!(g.value_reads()[0].what, "Dropout's mask");
    let mut cleared = g;
    cleared.clear();
    assert_eq!(cleared.value_read_count(), 0);
}

#[test]
fn misuse_is_refused_with_errors_that_say_why() {
    use tapegrad::autograd::Error;
    let g = Graph::new();
    let (w, data) = (g.scalar(1.0), g.constant_scalar(2.0));
    let loss = (w * data).square();
    let err = CompiledTape::new(&[w, data], &[loss]).err().expect("a constant input");
    assert!(matches!(err, Error::CompileInput { index: 1, .. }) && err.to_string().contains("not a leaf"), "{err}");
    let err = CompiledTape::new(&[w, w], &[loss]).err().expect("twice");
    assert!(err.to_string().contains("listed twice"), "{err}");
    let err = CompiledTape::new(&[w], &[]).err().expect("no outputs");
    assert!(err.to_string().contains("no outputs"), "{err}");
    let other = Graph::new();
    let err = CompiledTape::new(&[other.scalar(1.0)], &[loss]).err().expect("two graphs");
    assert!(matches!(err, Error::ForeignVar { .. }), "{err}");

    let mut compiled = CompiledTape::new(&[w], &[loss]).unwrap();
    let err = compiled.set_input(0, &Tensor::zeros([2])).unwrap_err();
    assert!(err.to_string().contains("recorded with shape [] , got [2]".replace(" ,", ",").as_str()), "{err}");
    assert!(matches!(compiled.set_input_scalar(3, 1.0), Err(Error::NoSuchSlot { what: "input", index: 3, count: 1 })));
    assert!(matches!(compiled.output(1), Err(Error::NoSuchSlot { what: "output", .. })));
    let matrix = Graph::new();
    let m = matrix.var(Tensor::<f64>::zeros([2, 3]));
    let mut compiled = CompiledTape::new(&[m], &[m.sum()]).unwrap();
    let err = compiled.set_input(0, &Tensor::zeros([3, 2])).unwrap_err();
    assert!(err.to_string().contains("recorded with shape [2, 3], got [3, 2]"), "{err}");
    assert!(matches!(compiled.set_input(1, &Tensor::zeros([2, 3])), Err(Error::NoSuchSlot { index: 1, .. })));
    compiled.set_input(0, &Tensor::ones([2, 3])).unwrap();
    compiled.forward().unwrap();
    assert_eq!(compiled.output_scalar(0).unwrap(), 6.0);

    let hooked = Graph::new();
    let v = hooked.scalar(1.0);
    let y = v * 2.0;
    y.register_hook(|_, g| Some(g.clone()));
    assert!(matches!(CompiledTape::new(&[v], &[y]), Err(Error::HooksNotReplayed)));

    let constant_loss = Graph::new();
    let v = constant_loss.scalar(1.0);
    let c = constant_loss.constant_scalar(3.0) * 2.0;
    let mut compiled = CompiledTape::new(&[v], &[c]).unwrap();
    assert!(matches!(compiled.backward(), Err(Error::NoGradient)));
}

/// A custom op whose output length is its input's value: its shape changes with the data.
struct RepeatByValue;

impl tapegrad::autograd::CustomOpOnce<f64> for RepeatByValue {
    fn name(&self) -> &'static str {
        "repeat_by_value"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> tapegrad::graph::Result<Tensor<f64>> {
        let v = x[0].data()[0];
        Tensor::from_vec(vec![v; v.abs() as usize + 1], [v.abs() as usize + 1])
    }
    fn backward(&self, _: &[&Tensor<f64>], _: &Tensor<f64>, g: &Tensor<f64>) -> Vec<Option<Tensor<f64>>> {
        vec![Some(Tensor::from_vec(vec![g.data().iter().sum()], [1]).unwrap())]
    }
}

#[test]
fn a_replay_whose_shapes_change_is_an_error_not_a_wrong_answer() {
    use tapegrad::autograd::{CustomOps, Error};
    let g = Graph::new();
    let x = g.var(Tensor::from_vec(vec![1.0], [1]).unwrap());
    let loss = g.custom_once(RepeatByValue, &[x]).sum();
    let mut compiled = CompiledTape::new(&[x], &[loss]).unwrap();
    compiled.set_input(0, &Tensor::from_vec(vec![3.0], [1]).unwrap()).unwrap();
    let err = compiled.forward().unwrap_err();
    assert!(matches!(err, Error::ReplayShape { op: "repeat_by_value", .. }), "{err}");
}

/// Layers of every kind the compiled tape runs as one step, and some it must not: the ReLU
/// layers of W3, a bias first (`b + x·W`), a bias of shape `[1, n]`, activations whose
/// derivatives read their input (GELU) or their output (tanh), a layer with none, a bias
/// that is a constant, a weight and biases also in the penalty (their layers' gradients are
/// added in place onto the penalty's), and a product read twice (not fused). Replayed on new data, with layers fused and not, against
/// the eager sweep.
fn layers<'g>(g: &'g Graph, inputs: &[Tensor<f64>]) -> (Vec<Var<'g, f64>>, Var<'g, f64>) {
    let vars: Vec<Var<'g, f64>> = inputs.iter().map(|t| g.var(t.clone())).collect();
    let [x, w1, b1, w2, b2, w3, b3, w4, w5] = vars[..] else { unreachable!("nine inputs") };
    let h1 = (x.matmul(w1) + b1).relu();
    let h2 = (b2 + h1.matmul(w2)).gelu();
    let h3 = (h2.matmul(w3) + b3).tanh();
    let h4 = h3.matmul(w4) + g.constant(Tensor::from_vec(vec![0.25, -0.5, 0.75], [3]).unwrap());
    let twice = h4.matmul(w5);
    let h5 = (twice + g.constant(Tensor::from_vec(vec![0.1, 0.2], [2]).unwrap())).relu() + twice.sigmoid();
    let penalty = Var::sum_squares_of(&[w1, b1, b3]);
    (vars, h5.sum() + penalty * 1e-2)
}

/// Values for [`layers`]' nine inputs, uniform in [−1, 1].
fn layer_inputs(rng: &mut StdRng) -> Vec<Tensor<f64>> {
    let shapes: [&[usize]; 9] = [&[6, 3], &[3, 5], &[5], &[5, 4], &[1, 4], &[4, 3], &[3], &[3, 3], &[3, 2]];
    shapes.iter().map(|s| Tensor::uniform(s.to_vec(), -1.0, 1.0, rng)).collect()
}

#[test]
fn dense_layers_run_as_one_step_and_replay_bit_for_bit() {
    let mut rng = StdRng::seed_from_u64(9);
    let first = layer_inputs(&mut rng);
    let g = Graph::new();
    let (vars, loss) = layers(&g, &first);
    let mut fused = CompiledTape::new(&vars, &[loss]).unwrap();
    let apart =
        CompiledTape::with_options(&vars, &[loss], CompileOptions { dense_layers: false, ..Default::default() });
    let mut apart = apart.unwrap();
    let stats = fused.stats();
    assert_eq!(stats.dense, 4, "relu, gelu, tanh and the layer with none; not the product read twice: {stats}");
    assert_eq!(apart.stats().dense, 0);
    assert_eq!(stats.steps + 2 * 3 + 1, apart.stats().steps, "{stats}");
    let ops: Vec<String> = fused.profile(2).unwrap().steps.into_iter().map(|s| s.op).collect();
    assert_eq!(&ops[..4], ["matmul+add+relu", "matmul+add+gelu", "matmul+add+tanh", "matmul+add"], "{ops:?}");

    for replay in 0..3 {
        let inputs = layer_inputs(&mut rng);
        let g = Graph::new();
        let (vars, loss) = layers(&g, &inputs);
        let grads = loss.backward();
        for compiled in [&mut fused, &mut apart] {
            for (k, t) in inputs.iter().enumerate() {
                compiled.set_input(k, t).unwrap();
            }
            compiled.backward().unwrap();
            assert!(
                same_bits(compiled.output_scalar(0).unwrap(), g.tape().tensor(loss.id()).item()),
                "replay {replay}"
            );
            for (k, &v) in vars.iter().enumerate() {
                assert!(same_tensor(&compiled.grad(k).unwrap(), &grads.wrt(v)), "replay {replay}: gradient {k}");
            }
        }
    }
}

#[test]
fn a_gradient_handed_out_is_not_written_over_by_the_next_replay() {
    // Each replay writes its first contributions over the buffers of the replay before
    // (the penalty's, the products'); a gradient still held elsewhere keeps its values.
    let mut rng = StdRng::seed_from_u64(3);
    let g = Graph::new();
    let (vars, loss) = layers(&g, &layer_inputs(&mut rng));
    let mut compiled = CompiledTape::new(&vars, &[loss]).unwrap();
    compiled.backward().unwrap();
    let held: Vec<Tensor<f64>> = (0..vars.len()).map(|k| compiled.grad(k).unwrap()).collect();
    let copies: Vec<Vec<f64>> = held.iter().map(Tensor::to_vec).collect();
    for replay in 0..2 {
        for (k, t) in layer_inputs(&mut rng).iter().enumerate() {
            compiled.set_input(k, t).unwrap();
        }
        compiled.backward().unwrap();
        for (k, (h, c)) in held.iter().zip(&copies).enumerate() {
            assert_eq!(&h.to_vec(), c, "replay {replay}: gradient {k} held from the first");
        }
        assert_ne!(compiled.grad(1).unwrap().to_vec(), copies[1], "replay {replay} has new data");
    }
}
