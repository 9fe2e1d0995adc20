//! ONNX export without ONNX Runtime: the exported files parse as protobuf and are well formed
//! (opset 18, a named input with a dynamic batch dim, every node's inputs defined before the
//! node, only standard op types, every parameter an initializer under its name), and ops with
//! no mapping are refused by name. `scripts/onnx/check_onnxruntime.py` runs the files in the
//! real runtime (`.ci/run` does).

use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::HashSet;
use tapegrad::nn::layers::*;
use tapegrad::nn::models::{Gpt, GptConfig};
use tapegrad::nn::{onnx, Error, Forward, Module, ParamStore};
use tapegrad::prelude::*;

/// One decoded protobuf field: its number and either an integer or the bytes of a
/// length-delimited value.
#[derive(Debug, Clone)]
enum Field {
    Int(u64),
    Bytes(Vec<u8>),
}

fn varint(bytes: &[u8], at: &mut usize) -> u64 {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let b = bytes[*at];
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// Every field of a message, in order; panics on a malformed message.
fn fields(bytes: &[u8]) -> Vec<(u64, Field)> {
    let mut at = 0;
    let mut out = vec![];
    while at < bytes.len() {
        let key = varint(bytes, &mut at);
        let field = match key & 7 {
            0 => Field::Int(varint(bytes, &mut at)),
            2 => {
                let len = varint(bytes, &mut at) as usize;
                at += len;
                Field::Bytes(bytes[at - len..at].to_vec())
            }
            5 => {
                at += 4;
                Field::Bytes(bytes[at - 4..at].to_vec())
            }
            wire => panic!("unexpected wire type {wire}"),
        };
        out.push((key >> 3, field));
    }
    assert_eq!(at, bytes.len(), "a field ran past the end of its message");
    out
}

fn all(msg: &[u8], number: u64) -> Vec<Vec<u8>> {
    fields(msg)
        .into_iter()
        .filter(|(n, _)| *n == number)
        .filter_map(|(_, f)| match f {
            Field::Bytes(b) => Some(b),
            Field::Int(_) => None,
        })
        .collect()
}

fn int(msg: &[u8], number: u64) -> Option<u64> {
    fields(msg).into_iter().find(|(n, _)| *n == number).and_then(|(_, f)| match f {
        Field::Int(v) => Some(v),
        Field::Bytes(_) => None,
    })
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

const STANDARD_OPS: &[&str] = &[
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Max",
    "Min",
    "Neg",
    "Exp",
    "Log",
    "Sqrt",
    "Abs",
    "Sin",
    "Cos",
    "Tanh",
    "Sigmoid",
    "Relu",
    "Softplus",
    "Erf",
    "LayerNormalization",
    "Softmax",
    "Sign",
    "LeakyRelu",
    "Clip",
    "ReduceSum",
    "ReduceSumSquare",
    "ReduceMean",
    "ReduceMax",
    "ReduceMin",
    "MatMul",
    "Transpose",
    "Reshape",
    "Expand",
    "Concat",
    "Slice",
    "Pad",
    "Gather",
    "GatherElements",
    "Where",
    "Cast",
    "Conv",
    "Identity",
    "IsInf",
    "IsNaN",
    "Or",
];

/// Checks the model's structure; returns the op types it uses.
fn check_well_formed(bytes: &[u8], params: &[String]) -> HashSet<String> {
    assert_eq!(int(bytes, 1), Some(8), "ir_version");
    let opset = &all(bytes, 8)[0];
    assert_eq!(int(opset, 2), Some(18), "opset");
    let graph = &all(bytes, 7)[0];
    let mut defined: HashSet<String> = HashSet::new();
    let initializers = all(graph, 5);
    for init in &initializers {
        defined.insert(text(&all(init, 8)[0]));
    }
    for p in params {
        assert!(defined.contains(p), "parameter {p} is not an initializer");
    }
    let inputs = all(graph, 11);
    assert_eq!(inputs.len(), 1);
    assert_eq!(text(&all(&inputs[0], 1)[0]), "input");
    let tensor_type = &all(&all(&inputs[0], 2)[0], 1)[0];
    let first_dim = &all(&all(tensor_type, 2)[0], 1)[0];
    assert_eq!(text(&all(first_dim, 2)[0]), "batch", "the input's first dim is the dynamic batch");
    defined.insert("input".into());
    let mut ops = HashSet::new();
    for node in all(graph, 1) {
        let op = text(&all(&node, 4)[0]);
        assert!(STANDARD_OPS.contains(&op.as_str()), "non-standard op {op}");
        for input in all(&node, 1) {
            assert!(defined.contains(&text(&input)), "{op} reads {} before it is defined", text(&input));
        }
        for output in all(&node, 2) {
            assert!(defined.insert(text(&output)), "{} is defined twice", text(&output));
        }
        ops.insert(op);
    }
    let outputs = all(graph, 12);
    assert_eq!(text(&all(&outputs[0], 1)[0]), "output");
    assert!(defined.contains("output"), "no node writes the output");
    ops
}

fn names(store: &ParamStore<f32>) -> Vec<String> {
    store.iter().map(|(_, p)| p.name.clone()).collect()
}

#[test]
fn mlp_conv_net_and_transformer_export_well_formed_files() {
    let rng = &mut StdRng::seed_from_u64(1);
    let mut store = ParamStore::<f32>::new();
    let model = mlp(&mut store, &[4, 8, 3], Activation::Gelu, rng).unwrap();
    let ops = check_well_formed(&onnx::export_module(&model, &store, Tensor::ones([2, 4])).unwrap(), &names(&store));
    assert!(ops.contains("MatMul") && ops.contains("Erf"), "{ops:?}");

    let mut store = ParamStore::<f32>::new();
    let mut cnn = Sequential::new()
        .push(Unflatten(vec![1, 6, 6]))
        .push(Conv2d::new(&mut store, "c", 1, 4, [3, 3], ConvOptions::default().padding([1, 1]), true, rng).unwrap())
        .push(BatchNorm::new(&mut store, "bn", 4, 1e-5, 0.1).unwrap())
        .push(MaxPool2d(Window::pool([2, 2]).padding([1, 1])))
        .push(GroupNorm::new(&mut store, "gn", 2, 4, 1e-5).unwrap())
        .push(AdaptiveAvgPool2d)
        .push(Flatten)
        .push(Linear::new(&mut store, "fc", 4, 3, true, rng).unwrap());
    cnn.set_training(false);
    let ops = check_well_formed(&onnx::export_module(&cnn, &store, Tensor::ones([2, 36])).unwrap(), &names(&store));
    assert!(ops.contains("Conv") && ops.contains("ReduceMax") && ops.contains("Where"), "{ops:?}");

    let mut store = ParamStore::<f32>::new();
    let config = GptConfig { vocab: 5, context: 4, width: 8, heads: 2, layers: 1, tie_weights: true };
    let gpt = Gpt::new(&mut store, config, rng).unwrap();
    let ops = check_well_formed(&onnx::export_module(&gpt, &store, Tensor::zeros([2, 4])).unwrap(), &names(&store));
    assert!(ops.contains("Gather") && ops.contains("Cast") && ops.contains("Transpose"), "{ops:?}");
}

/// A forward pass that ends in a scatter: not a model op.
struct Scatter;
impl Module<f32> for Scatter {
    fn parameters(&self) -> Vec<ParamId> {
        vec![]
    }
}
impl Forward<f32> for Scatter {
    fn forward<'g>(&self, _: &tapegrad::nn::Bound<'g, f32>, x: Var<'g, f32>) -> Var<'g, f32> {
        x.index_add(1, &Indices::from(vec![0, 0]), 3)
    }
}

#[test]
fn ops_without_a_mapping_and_bad_traces_are_refused_by_name() {
    let store = ParamStore::<f32>::new();
    let err = onnx::export_module(&Scatter, &store, Tensor::ones([2, 2])).unwrap_err();
    assert!(matches!(err, Error::Onnx { .. }));
    assert!(err.to_string().contains("`index_add`"), "{err}");

    let err = onnx::export_module(&Activation::Relu, &store, Tensor::ones([1, 2])).unwrap_err();
    assert!(err.to_string().contains("batch of at least 2"), "{err}");

    let g = Graph::<f32>::default();
    let x = g.constant(Tensor::ones([2, 2]));
    let err = onnx::export(&[("input", x)], &[("output", x.relu())], &[]).unwrap_err();
    assert!(err.to_string().contains("record it with Graph::var"), "{err}");

    let g = Graph::<f32>::default();
    let x = g.var(Tensor::ones([2, 3]));
    let err = onnx::export(&[("input", x)], &[("output", x.sum())], &[]).unwrap_err();
    assert!(err.to_string().contains("reduces over the batch"), "{err}");
    let err = onnx::export(&[("input", x)], &[("output", Var::sum_squares_of(&[x]))], &[]).unwrap_err();
    assert!(err.to_string().contains("`sum_squares_of` reduces over the batch"), "{err}");
    let err = onnx::export(&[("input", x)], &[("output", x.hinge(Tensor::ones([2, 3])))], &[]).unwrap_err();
    assert!(err.to_string().contains("`hinge` reduces over the batch"), "{err}");
}

/// A hinge of the parameters against fixed labels (one `hinge` node) exports as the ops it
/// stands for: `Mul`, `Sub` from 1, `Relu`, `ReduceMean`.
#[test]
fn a_hinge_of_the_parameters_exports_as_the_ops_it_stands_for() {
    let g = Graph::<f32>::default();
    let x = g.var(Tensor::ones([2, 3]));
    let w = g.var(Tensor::from_vec(vec![1.0, -2.0, 0.5], [3]).unwrap());
    let y = x * w + w.hinge(Tensor::from_vec(vec![1.0, 1.0, -1.0], [3]).unwrap());
    let ops =
        check_well_formed(&onnx::export(&[("input", x)], &[("output", y)], &[(w, "w".into())]).unwrap(), &["w".into()]);
    for op in ["Sub", "Relu", "ReduceMean"] {
        assert!(ops.contains(op), "{op} in {ops:?}");
    }
}

/// An L2 penalty of the parameters (one `sum_squares_of` node) exports as one
/// `ReduceSumSquare` per parameter and their sum.
#[test]
fn a_penalty_of_the_parameters_exports_as_reduce_sum_squares() {
    let g = Graph::<f32>::default();
    let x = g.var(Tensor::ones([2, 3]));
    let (w, b) = (g.var(Tensor::from_vec(vec![1.0, -2.0, 0.5], [3]).unwrap()), g.var(Tensor::scalar(3.0)));
    let y = x * w + Var::sum_squares_of(&[w, b]);
    let names = [(w, "w".to_string()), (b, "b".to_string())];
    let ops =
        check_well_formed(&onnx::export(&[("input", x)], &[("output", y)], &names).unwrap(), &["w".into(), "b".into()]);
    assert!(ops.contains("ReduceSumSquare") && ops.contains("Add"), "{ops:?}");
}
