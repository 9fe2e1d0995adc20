//! ONNX export: a recorded forward graph (or a [`Forward`] module traced on an example
//! input) written as an `.onnx` file that ONNX Runtime, and anything else that reads ONNX,
//! can run.
//!
//! Every op the tape records in a forward pass maps to standard ONNX ops of opset 18:
//! elementwise ops to their namesakes, reductions to `Reduce*`, products to `MatMul` (with a
//! `Transpose` where the tape multiplies by a transposed operand), shape ops to `Reshape`,
//! `Transpose`, `Slice`, `Concat`, `Pad`, `Expand`, an embedding to `Gather`, and the sliding
//! window of convolutions and poolings to a fixed one-hot `Conv` (so `conv2d`, `max_pool2d`
//! and `avg_pool2d` export whatever their settings). Parameters become initializers under
//! their names, constants (masks, running statistics) initializers of their own. The input's
//! first dim is a dynamic `batch` dimension: reshapes that carry it are written with `-1`
//! there. An op with no forward mapping (the
//! training-only scatters, a custom op) is an [`Error::Onnx`] naming it — never a wrong file.
//!
//! ```
//! use rand::{rngs::StdRng, SeedableRng};
//! use tapegrad_graph::Tensor;
//! use tapegrad_nn::{layers::{mlp, Activation}, onnx, ParamStore};
//! let mut store = ParamStore::<f32>::new();
//! let model = mlp(&mut store, &[2, 16, 1], Activation::Tanh, &mut StdRng::seed_from_u64(0))?;
//! let bytes = onnx::export_module(&model, &store, Tensor::zeros([3, 2]))?;
//! assert_eq!(&bytes[..2], &[0x08, 0x08]); // ir_version 8
//! # Ok::<(), tapegrad_nn::Error>(())
//! ```

mod proto;

use crate::error::{Error, Result};
use crate::module::Forward;
use crate::params::ParamStore;
use proto::Message;
use std::collections::HashMap;
use std::path::Path;
use tapegrad_graph::op::{BinaryOp, Op, ParamOp, ReduceOp, UnaryOp, Window};
use tapegrad_graph::{Float, Graph, NodeId, Tensor, Var};

/// The opset the exported graphs use.
pub const OPSET: i64 = 18;
/// The ONNX IR version written.
pub const IR_VERSION: i64 = 8;

/// ONNX's element-type codes.
const ONNX_FLOAT: i64 = 1;
const ONNX_INT64: i64 = 7;
const ONNX_BOOL: i64 = 9;
const ONNX_DOUBLE: i64 = 11;

fn elem_type<F: Float>() -> i64 {
    if std::mem::size_of::<F>() == 4 {
        ONNX_FLOAT
    } else {
        ONNX_DOUBLE
    }
}

fn unsupported(message: String) -> Error {
    Error::Onnx { message }
}

/// `model` traced on `example` (its first dim is the batch, exported as dynamic), as the
/// bytes of an `.onnx` file with one input `input` and one output `output`. Run the model in
/// evaluation mode ([`Module::set_training`](crate::Module::set_training)) first: the trace
/// records whatever the forward pass does.
pub fn export_module<F: Float>(model: &dyn Forward<F>, store: &ParamStore<F>, example: Tensor<F>) -> Result<Vec<u8>> {
    let g = Graph::<F>::default();
    let bound = store.bind(&g);
    let x = g.var(example);
    let y = crate::layers::dry_run(|| model.forward(&bound, x));
    let names: Vec<(Var<'_, F>, String)> = store.iter().map(|(id, p)| (bound.var(id), p.name.clone())).collect();
    export(&[("input", x)], &[("output", y)], &names)
}

/// [`export_module`] written to `path`.
pub fn save_module<F: Float>(
    model: &dyn Forward<F>,
    store: &ParamStore<F>,
    example: Tensor<F>,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let bytes = export_module(model, store, example)?;
    std::fs::write(path, bytes).map_err(|source| Error::Io { path: path.display().to_string(), source })
}

/// A recorded graph as the bytes of an `.onnx` file: `inputs` and `outputs` named as given
/// (the first input's first dim is the dynamic batch), and the values in `names` (usually
/// the bound parameters) stored as initializers under those names. Record the inputs with
/// [`Graph::var`]: ops on a constant are folded into constants as they are recorded, so
/// nothing would lead from a constant input to the outputs (an error says so).
pub fn export<'g, F: Float>(
    inputs: &[(&str, Var<'g, F>)],
    outputs: &[(&str, Var<'g, F>)],
    names: &[(Var<'g, F>, String)],
) -> Result<Vec<u8>> {
    let first = inputs.first().ok_or_else(|| unsupported("the graph needs an input".into()))?.1;
    let graph = first.graph();
    let tape = graph.tape();
    let input_ids: HashMap<NodeId, &str> = inputs.iter().map(|(n, v)| (v.id(), *n)).collect();
    if let Some((name, _)) = inputs.iter().find(|(_, v)| matches!(tape.op(v.id()), Op::Constant)) {
        return Err(unsupported(format!(
            "the input `{name}` is a constant, and the ops on a constant are not recorded: record it with Graph::var"
        )));
    }
    let batch = first.shape().dims().first().copied();
    if batch.is_some_and(|b| b < 2) {
        return Err(unsupported(format!(
            "trace with a batch of at least 2 (the input has shape {}): a batch of 1 cannot be told from other dims of size 1",
            first.shape()
        )));
    }
    let last = outputs.iter().map(|(_, v)| v.id()).max().unwrap_or(0);

    // Which nodes become ONNX nodes: every recorded op (each leads back to the input or a
    // parameter: ops on constants alone are recorded as constants). Leaves and constants
    // become initializers.
    let mut dynamic = vec![false; last as usize + 1];
    let mut batch_axis: Vec<Option<usize>> = vec![None; last as usize + 1];
    for id in 0..=last {
        dynamic[id as usize] = input_ids.contains_key(&id) || !matches!(tape.op(id), Op::Leaf | Op::Constant);
    }
    // Which nodes the outputs need, stopping at initializers.
    let mut needed = vec![false; last as usize + 1];
    for (_, v) in outputs {
        needed[v.id() as usize] = true;
    }
    for id in (0..=last).rev() {
        if needed[id as usize] && dynamic[id as usize] && !input_ids.contains_key(&id) {
            for &i in tape.op(id).inputs().iter() {
                needed[i as usize] = true;
            }
        }
    }

    let names: HashMap<NodeId, &str> = names.iter().map(|(v, n)| (v.id(), n.as_str())).collect();
    let mut e = Emitter::<F>::default();
    let mut graph_inputs = Vec::new();
    for id in 0..=last {
        if !needed[id as usize] {
            continue;
        }
        let shape = tape.shape(id);
        let dims = shape.dims().to_vec();
        if let Some(name) = input_ids.get(&id) {
            let axis = if id == first.id() && batch.is_some() { Some(0) } else { None };
            batch_axis[id as usize] = axis;
            graph_inputs.push(value_info::<F>(name, &dims, axis));
            e.names.insert(id, name.to_string());
            continue;
        }
        if !dynamic[id as usize] {
            let name = names.get(&id).map_or_else(|| format!("const_{id}"), |n| n.to_string());
            e.initializer(&name, &tape.tensor(id));
            e.names.insert(id, name);
            continue;
        }
        let op = tape.op(id);
        let ins: Vec<NodeId> = op.inputs().to_vec();
        let shapes: Vec<Vec<usize>> = ins.iter().map(|&i| tape.shape(i).dims().to_vec()).collect();
        let axes: Vec<Option<usize>> = ins.iter().map(|&i| batch_axis[i as usize]).collect();
        let (name, axis) = e.op(op, &ins, &shapes, &axes, &dims, id)?;
        e.names.insert(id, name);
        batch_axis[id as usize] = axis;
    }

    let mut graph_outputs = Vec::new();
    for (name, v) in outputs {
        let id = v.id();
        let produced = e.names[&id].clone();
        if produced != *name {
            e.identity(&produced, name);
        }
        graph_outputs.push(value_info::<F>(name, v.shape().dims(), batch_axis[id as usize]));
    }
    let mut g = Message::default();
    for node in &e.nodes {
        g.message(1, node);
    }
    g.string(2, "tapegrad");
    for init in &e.initializers {
        g.message(5, init);
    }
    for input in &graph_inputs {
        g.message(11, input);
    }
    for output in &graph_outputs {
        g.message(12, output);
    }
    let mut opset = Message::default();
    opset.string(1, "").int(2, OPSET);
    let mut model = Message::default();
    model
        .int(1, IR_VERSION)
        .string(2, "tapegrad")
        .string(3, env!("CARGO_PKG_VERSION"))
        .message(7, &g)
        .message(8, &opset);
    Ok(model.into_bytes())
}

/// A `ValueInfoProto`: a tensor's name, element type and shape, with a `batch` dim at `axis`.
fn value_info<F: Float>(name: &str, dims: &[usize], batch_axis: Option<usize>) -> Message {
    let mut shape = Message::default();
    for (i, &d) in dims.iter().enumerate() {
        let mut dim = Message::default();
        if Some(i) == batch_axis {
            dim.string(2, "batch");
        } else {
            dim.int(1, d as i64);
        }
        shape.message(1, &dim);
    }
    let mut tensor = Message::default();
    tensor.int(1, elem_type::<F>()).message(2, &shape);
    let mut ty = Message::default();
    ty.message(1, &tensor);
    let mut info = Message::default();
    info.string(1, name).message(2, &ty);
    info
}

/// An `AttributeProto`.
fn attr_int(name: &str, v: i64) -> Message {
    let mut a = Message::default();
    a.string(1, name).int(20, 2).int(3, v);
    a
}
fn attr_ints(name: &str, v: &[i64]) -> Message {
    let mut a = Message::default();
    a.string(1, name).int(20, 7).ints(8, v);
    a
}
fn attr_float(name: &str, v: f32) -> Message {
    let mut a = Message::default();
    a.string(1, name).int(20, 1).float(2, v);
    a
}

/// The nodes and initializers written so far.
struct Emitter<F> {
    nodes: Vec<Message>,
    initializers: Vec<Message>,
    names: HashMap<NodeId, String>,
    count: usize,
    _float: std::marker::PhantomData<F>,
}

impl<F: Float> Default for Emitter<F> {
    fn default() -> Self {
        Emitter {
            nodes: vec![],
            initializers: vec![],
            names: HashMap::new(),
            count: 0,
            _float: std::marker::PhantomData,
        }
    }
}

impl<F: Float> Emitter<F> {
    fn fresh(&mut self, what: &str) -> String {
        self.count += 1;
        format!("{what}_{}", self.count)
    }
    /// A node of `op_type` on `inputs`; its output's name.
    fn node(&mut self, op_type: &str, inputs: &[String], attributes: Vec<Message>) -> String {
        let output = self.fresh(&op_type.to_lowercase());
        let mut n = Message::default();
        for i in inputs {
            n.string(1, i);
        }
        n.string(2, &output).string(3, &output).string(4, op_type);
        for a in &attributes {
            n.message(5, a);
        }
        self.nodes.push(n);
        output
    }
    /// An `Identity` node writing `input` as `output` (the graph's named outputs).
    fn identity(&mut self, input: &str, output: &str) {
        let mut n = Message::default();
        n.string(1, input).string(2, output).string(3, output).string(4, "Identity");
        self.nodes.push(n);
    }
    fn initializer(&mut self, name: &str, t: &Tensor<F>) {
        let mut raw = Vec::with_capacity(t.numel() * std::mem::size_of::<F>());
        for &v in t.data() {
            if elem_type::<F>() == ONNX_FLOAT {
                raw.extend_from_slice(&(v.to_f64() as f32).to_le_bytes());
            } else {
                raw.extend_from_slice(&v.to_f64().to_le_bytes());
            }
        }
        let dims: Vec<i64> = t.dims().iter().map(|&d| d as i64).collect();
        let mut m = Message::default();
        m.ints(1, &dims).int(2, elem_type::<F>()).string(8, name).bytes(9, &raw);
        self.initializers.push(m);
    }
    /// An int64 initializer; its name.
    fn ints(&mut self, values: &[i64]) -> String {
        let name = self.fresh("ints");
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut m = Message::default();
        m.ints(1, &[values.len() as i64]).int(2, ONNX_INT64).string(8, &name).bytes(9, &raw);
        self.initializers.push(m);
        name
    }
    /// A 0-d float initializer of `F`; its name.
    fn scalar(&mut self, v: F) -> String {
        let name = self.fresh("scalar");
        self.initializer(&name, &Tensor::scalar(v));
        name
    }
    fn name(&self, id: NodeId) -> String {
        self.names[&id].clone()
    }

    /// `Reshape` to `to`, keeping a dynamic batch: the dim of `to` that holds the batch
    /// (found from where it sits in `from`) is written as −1.
    fn reshape(
        &mut self,
        x: String,
        from: &[usize],
        axis: Option<usize>,
        to: &[usize],
    ) -> Result<(String, Option<usize>)> {
        let mut target: Vec<i64> = to.iter().map(|&d| d as i64).collect();
        let new_axis = match axis {
            None => None,
            Some(a) => {
                let before: usize = from[..a].iter().product();
                let mut found = None;
                let mut prefix = 1usize;
                for (i, &d) in to.iter().enumerate() {
                    if prefix <= before && prefix * d > before {
                        found = Some(i);
                        break;
                    }
                    prefix *= d;
                }
                let i = found.ok_or_else(|| {
                    unsupported(format!("a reshape from {from:?} to {to:?} loses the batch dimension"))
                })?;
                target[i] = -1;
                Some(i)
            }
        };
        let shape = self.ints(&target);
        Ok((self.node("Reshape", &[x, shape], vec![]), new_axis))
    }

    /// The ONNX nodes for one recorded op; the output's name and where its batch dim is.
    fn op(
        &mut self,
        op: &Op<F>,
        ins: &[NodeId],
        shapes: &[Vec<usize>],
        axes: &[Option<usize>],
        out: &[usize],
        id: NodeId,
    ) -> Result<(String, Option<usize>)> {
        let x: Vec<String> = ins.iter().map(|&i| self.name(i)).collect();
        // The batch axis of an elementwise result: the first input's that has one, aligned right.
        // (Only read for the broadcasting ops, whose output has at least their inputs' dims.)
        let elementwise = axes.iter().zip(shapes).find_map(|(a, s)| a.map(|a| (a + out.len()).saturating_sub(s.len())));
        Ok(match op {
            Op::Leaf | Op::Constant => {
                return Err(unsupported(format!("node #{id} is a leaf that depends on the input")));
            }
            Op::Unary(k, _) => {
                let single = |e: &mut Self, t: &str| e.node(t, &x, vec![]);
                let y = match k {
                    UnaryOp::Neg => single(self, "Neg"),
                    UnaryOp::Exp => single(self, "Exp"),
                    UnaryOp::Log => single(self, "Log"),
                    UnaryOp::Sqrt => single(self, "Sqrt"),
                    UnaryOp::Square => self.node("Mul", &[x[0].clone(), x[0].clone()], vec![]),
                    UnaryOp::Abs => single(self, "Abs"),
                    UnaryOp::Sin => single(self, "Sin"),
                    UnaryOp::Cos => single(self, "Cos"),
                    UnaryOp::Tanh => single(self, "Tanh"),
                    UnaryOp::Sigmoid => single(self, "Sigmoid"),
                    UnaryOp::Relu => single(self, "Relu"),
                    UnaryOp::Softplus => single(self, "Softplus"),
                    UnaryOp::Erf => single(self, "Erf"),
                    UnaryOp::Gelu => {
                        // ½·x·(1 + erf(x/√2)): Gelu nodes came in opset 20.
                        let root2 = self.scalar(F::from_f64(std::f64::consts::SQRT_2));
                        let scaled = self.node("Div", &[x[0].clone(), root2], vec![]);
                        let erf = self.node("Erf", &[scaled], vec![]);
                        let one = self.scalar(F::ONE);
                        let shifted = self.node("Add", &[erf, one], vec![]);
                        let half = self.scalar(F::from_f64(0.5));
                        let halved = self.node("Mul", &[shifted, half], vec![]);
                        self.node("Mul", &[x[0].clone(), halved], vec![])
                    }
                    UnaryOp::Sign => single(self, "Sign"),
                    UnaryOp::Log1p => {
                        let one = self.scalar(F::ONE);
                        let sum = self.node("Add", &[x[0].clone(), one], vec![]);
                        self.node("Log", &[sum], vec![])
                    }
                    UnaryOp::Expm1 => {
                        let one = self.scalar(F::ONE);
                        let exp = self.node("Exp", &x, vec![]);
                        self.node("Sub", &[exp, one], vec![])
                    }
                };
                (y, elementwise)
            }
            Op::Param(k, _, p) => {
                let y = match k {
                    ParamOp::PowF => {
                        let p = self.scalar(*p);
                        self.node("Pow", &[x[0].clone(), p], vec![])
                    }
                    ParamOp::LeakyRelu => self.node("LeakyRelu", &x, vec![attr_float("alpha", p.to_f64() as f32)]),
                };
                (y, elementwise)
            }
            Op::Binary(k, ..) => {
                let t = match k {
                    BinaryOp::Add => "Add",
                    BinaryOp::Sub => "Sub",
                    BinaryOp::Mul => "Mul",
                    BinaryOp::Div => "Div",
                    BinaryOp::Pow => "Pow",
                    BinaryOp::Maximum => "Max",
                    BinaryOp::Minimum => "Min",
                };
                (self.node(t, &x, vec![]), elementwise)
            }
            Op::Clamp(_, b) => {
                let (lo, hi) = (self.scalar(b.min), self.scalar(b.max));
                (self.node("Clip", &[x[0].clone(), lo, hi], vec![]), elementwise)
            }
            Op::Reduce(k, _, a) => {
                if let Some(b) = axes[0] {
                    if a.axes.contains(&b) {
                        return Err(unsupported(format!("`{}` reduces over the batch dimension", k.name())));
                    }
                }
                let t = match k {
                    ReduceOp::Sum => "ReduceSum",
                    ReduceOp::SumSquares => "ReduceSumSquare",
                    ReduceOp::Max => "ReduceMax",
                    ReduceOp::Min => "ReduceMin",
                };
                let list: Vec<i64> = a.axes.iter().map(|&d| d as i64).collect();
                let list = self.ints(&list);
                let y = self.node(t, &[x[0].clone(), list], vec![attr_int("keepdims", i64::from(a.keepdim))]);
                let axis = axes[0].map(|b| if a.keepdim { b } else { b - a.axes.iter().filter(|&&d| d < b).count() });
                (y, axis)
            }
            Op::Matmul(_, _, [ta, tb]) => {
                let operand = |e: &mut Self, name: &String, shape: &Vec<usize>, t: bool| -> String {
                    if !t {
                        return name.clone();
                    }
                    let n = shape.len();
                    let mut perm: Vec<i64> = (0..n as i64).collect();
                    perm.swap(n - 2, n - 1);
                    e.node("Transpose", std::slice::from_ref(name), vec![attr_ints("perm", &perm)])
                };
                let a = operand(self, &x[0], &shapes[0], *ta);
                let b = operand(self, &x[1], &shapes[1], *tb);
                // The batch may sit in the broadcast batch dims, in the rows of the left
                // operand or in the columns of the right one, never in the contracted dim.
                let side = |axis: Option<usize>, len: usize, kept: usize, to: usize| -> Result<Option<usize>> {
                    match axis {
                        None => Ok(None),
                        Some(a) if a + 2 < len => Ok(Some(a + out.len() - len)),
                        Some(a) if a == kept => Ok(Some(to)),
                        Some(_) => Err(unsupported("a matrix product contracts over the batch dimension".into())),
                    }
                };
                let (la, lb) = (shapes[0].len(), shapes[1].len());
                let from_a = side(axes[0], la, if *ta { la - 1 } else { la - 2 }, out.len() - 2)?;
                let from_b = side(axes[1], lb, if *tb { lb - 2 } else { lb - 1 }, out.len() - 1)?;
                let axis = from_a.or(from_b);
                (self.node("MatMul", &[a, b], vec![]), axis)
            }
            Op::Reshape(_) => self.reshape(x[0].clone(), &shapes[0], axes[0], out)?,
            Op::Permute(_, perm) => {
                let p: Vec<i64> = perm.iter().map(|&d| d as i64).collect();
                let axis = axes[0].map(|b| perm.iter().position(|&d| d == b).expect("a permutation"));
                (self.node("Transpose", &x, vec![attr_ints("perm", &p)]), axis)
            }
            Op::BroadcastTo(_) => {
                let axis = axes[0].map(|b| b + out.len() - shapes[0].len());
                let target: Vec<i64> =
                    out.iter().enumerate().map(|(i, &d)| if Some(i) == axis { 1 } else { d as i64 }).collect();
                let target = self.ints(&target);
                (self.node("Expand", &[x[0].clone(), target], vec![]), axis)
            }
            Op::SumTo(_) => {
                let lead = shapes[0].len() - out.len();
                let summed: Vec<i64> = (0..shapes[0].len())
                    .filter(|&d| d < lead || (out[d - lead] == 1 && shapes[0][d] != 1))
                    .map(|d| d as i64)
                    .collect();
                if axes[0].is_some_and(|b| summed.contains(&(b as i64))) {
                    return Err(unsupported("`sum_to` sums over the batch dimension".into()));
                }
                let list = self.ints(&summed);
                let y = self.node("ReduceSum", &[x[0].clone(), list], vec![attr_int("keepdims", 1)]);
                self.reshape(y, &shapes[0], axes[0], out)?
            }
            Op::Concat(args) => (self.node("Concat", &x, vec![attr_int("axis", args.axis as i64)]), elementwise),
            Op::SumSquaresOf(_) => {
                if axes.iter().any(Option::is_some) {
                    return Err(unsupported("`sum_squares_of` reduces over the batch dimension".to_string()));
                }
                let mut total: Option<String> = None;
                for (input, shape) in x.iter().zip(shapes) {
                    let every: Vec<i64> = (0..shape.len() as i64).collect();
                    let every = self.ints(&every);
                    let term = self.node("ReduceSumSquare", &[input.clone(), every], vec![attr_int("keepdims", 0)]);
                    total = Some(match total {
                        Some(sum) => self.node("Add", &[sum, term], vec![]),
                        None => term,
                    });
                }
                (total.expect("sum_squares_of has an input"), None)
            }
            Op::Hinge(..) => {
                if axes.iter().any(Option::is_some) {
                    return Err(unsupported("`hinge` reduces over the batch dimension".to_string()));
                }
                let product = self.node("Mul", &x, vec![]);
                let one = self.scalar(F::ONE);
                let margin = self.node("Sub", &[one, product], vec![]);
                let loss = self.node("Relu", &[margin], vec![]);
                let every: Vec<i64> = (0..shapes[0].len() as i64).collect();
                let every = self.ints(&every);
                (self.node("ReduceMean", &[loss, every], vec![attr_int("keepdims", 0)]), None)
            }
            Op::Slice(_, r) => {
                let (starts, ends, on) =
                    (self.ints(&[r.start as i64]), self.ints(&[r.end as i64]), self.ints(&[r.axis as i64]));
                (self.node("Slice", &[x[0].clone(), starts, ends, on], vec![]), axes[0])
            }
            Op::Pad(_, r) => {
                let n = shapes[0].len();
                let mut pads = vec![0i64; 2 * n];
                pads[r.axis] = r.start as i64;
                pads[n + r.axis] = (out[r.axis] - r.end) as i64;
                let pads = self.ints(&pads);
                (self.node("Pad", &[x[0].clone(), pads], vec![]), axes[0])
            }
            Op::IndexSelect(_, a) => {
                let ids: Vec<i64> = a.indices.data().iter().map(|&i| i as i64).collect();
                let ids = self.ints(&ids);
                let axis = axes[0].map(|b| if b > a.axis { b + a.indices.shape().ndim() - 1 } else { b });
                (self.node("Gather", &[x[0].clone(), ids], vec![attr_int("axis", a.axis as i64)]), axis)
            }
            Op::Gather(_, a) => {
                let ids: Vec<i64> = a.indices.data().iter().map(|&i| i as i64).collect();
                let flat = self.ints(&ids);
                let dims: Vec<i64> = a.indices.shape().dims().iter().map(|&d| d as i64).collect();
                let dims = self.ints(&dims);
                let ids = self.node("Reshape", &[flat, dims], vec![]);
                (self.node("GatherElements", &[x[0].clone(), ids], vec![attr_int("axis", a.axis as i64)]), axes[0])
            }
            Op::Where(..) => {
                let cond = self.node("Cast", &[x[0].clone()], vec![attr_int("to", ONNX_BOOL)]);
                (self.node("Where", &[cond, x[1].clone(), x[2].clone()], vec![]), elementwise)
            }
            Op::Lookup(..) => {
                let ids = self.node("Cast", &[x[1].clone()], vec![attr_int("to", ONNX_INT64)]);
                (self.node("Gather", &[x[0].clone(), ids], vec![attr_int("axis", 0)]), axes[1])
            }
            Op::Unfold(_, w) => self.unfold(&x[0], &shapes[0], w, axes[0])?,
            Op::LayerNorm(args) => {
                if axes[0].is_some_and(|a| a + 1 == shapes[0].len()) {
                    return Err(unsupported(format!(
                        "`layer_norm` (node #{id}) normalizes over the batch dim: each example must be a row"
                    )));
                }
                let attrs = vec![attr_int("axis", -1), attr_float("epsilon", args.eps as f32)];
                (self.node("LayerNormalization", &x, attrs), axes[0])
            }
            Op::Softmax(_, axis) => (self.node("Softmax", &x, vec![attr_int("axis", *axis as i64)]), axes[0]),
            Op::StopGradient(_, false) => (self.node("Identity", &x, vec![]), axes[0]),
            Op::StopGradient(_, true) => {
                let (inf, nan) = (self.node("IsInf", &x, vec![]), self.node("IsNaN", &x, vec![]));
                let bad = self.node("Or", &[inf, nan], vec![]);
                let zero = self.scalar(F::ZERO);
                (self.node("Where", &[bad, zero, x[0].clone()], vec![]), axes[0])
            }
            Op::BatchNorm(..) => {
                return Err(unsupported(format!(
                    "`batch_norm` (node #{id}) normalizes with the batch's own statistics (training mode): \
                     export the model in evaluation mode (`set_training(false)`)"
                )));
            }
            Op::IndexAdd(..) | Op::ScatterAdd(..) | Op::Fold(..) => {
                return Err(unsupported(format!(
                    "`{}` (node #{id}) has no ONNX mapping: it belongs to backward passes, not models",
                    op.name()
                )));
            }
            Op::Custom(node) => {
                return Err(unsupported(format!("the custom op `{}` (node #{id}) has no ONNX mapping", node.name)));
            }
        })
    }

    /// Unfold as a `Conv` whose `C·kh·kw` filters each pick one tap of one channel (groups =
    /// C), then a reshape of the `[N, C·kh·kw, oh, ow]` result to columns.
    fn unfold(&mut self, x: &str, shape: &[usize], w: &Window, axis: Option<usize>) -> Result<(String, Option<usize>)> {
        let &[_, c, h, wd] = shape else {
            return Err(unsupported(format!("unfold of shape {shape:?}: expected [N, C, H, W]")));
        };
        let taps = w.taps();
        let mut one_hot = vec![F::ZERO; c * taps * taps];
        for ch in 0..c {
            for t in 0..taps {
                one_hot[(ch * taps + t) * taps + t] = F::ONE;
            }
        }
        let filters = Tensor::from_vec(one_hot, [c * taps, 1, w.kernel[0], w.kernel[1]])?;
        let name = self.fresh("unfold_taps");
        self.initializer(&name, &filters);
        let attrs = vec![
            attr_ints("kernel_shape", &[w.kernel[0] as i64, w.kernel[1] as i64]),
            attr_ints("strides", &[w.stride[0] as i64, w.stride[1] as i64]),
            attr_ints("dilations", &[w.dilation[0] as i64, w.dilation[1] as i64]),
            attr_ints("pads", &[w.padding[0] as i64, w.padding[1] as i64, w.padding[0] as i64, w.padding[1] as i64]),
            attr_int("group", c as i64),
        ];
        let y = self.node("Conv", &[x.to_string(), name], attrs);
        let out = w.output_size([h, wd])?;
        let image = [shape[0], c * taps, out[0], out[1]];
        self.reshape(y, &image, axis, &[shape[0], c * taps, out[0] * out[1]])
    }
}
