//! The op registry: every differentiable op, listed once with the inputs to check it on. It
//! drives the gradient check (and second-order check) of every op in the test suite, and a test
//! fails when a primitive op of `tapegrad-graph` has no entry here.

use rand::Rng;
use tapegrad_graph::{ConvOptions, Graph, Indices, Shape, Tensor, Var, Window};

/// Builds the checked expression from the inputs (each a requires-grad leaf).
pub type Build = for<'g> fn(&'g Graph<f64>, &[Var<'g, f64>]) -> Var<'g, f64>;

/// Where an op's inputs are drawn from, keeping clear of poles and kinks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Domain {
    /// Uniform in (−2, 2).
    Any,
    /// Uniform in (0.5, 2): for log, sqrt, fractional powers.
    Positive,
    /// |x| uniform in (0.3, 2) with a random sign: clear of the kink at 0.
    NonZero,
}

impl Domain {
    /// A tensor of `shape` drawn from this domain.
    pub fn sample<R: Rng>(self, shape: &Shape, rng: &mut R) -> Tensor<f64> {
        match self {
            Domain::Any => Tensor::uniform(shape, -2.0, 2.0, rng),
            Domain::Positive => Tensor::uniform(shape, 0.5, 2.0, rng),
            Domain::NonZero => {
                let magnitude = Tensor::uniform(shape, 0.3, 2.0, rng);
                magnitude.map(|m| if rng_sign(m) { m } else { -m })
            }
        }
    }
}

/// A deterministic sign from the value's low mantissa bits (the draw is already random).
fn rng_sign(m: f64) -> bool {
    m.to_bits() & 0x100 == 0
}

/// One registered op. Every case is checked to first and second order.
#[derive(Clone)]
pub struct OpCase {
    /// The op's public name.
    pub name: &'static str,
    /// The primitive op (as named in `tapegrad_graph::op`) its expression must record: the op
    /// itself, or for a composite (`gelu`, `softmax`, …) the primitive it is built on.
    pub records: &'static str,
    /// Where its inputs come from.
    pub domain: Domain,
    /// The input shapes to check, one list per case (broadcasting, 0-d, size-1 dims, …).
    pub shapes: Vec<Vec<Shape>>,
    /// The expression.
    pub build: Build,
}

fn case(name: &'static str, domain: Domain, shapes: &[&[&[usize]]], build: Build) -> OpCase {
    let shapes = shapes.iter().map(|set| set.iter().map(|s| Shape::from(*s)).collect()).collect();
    OpCase { name, records: name, domain, shapes, build }
}

impl OpCase {
    /// The primitive a composite case records.
    fn recording(mut self, primitive: &'static str) -> Self {
        self.records = primitive;
        self
    }
}

const UNARY_SHAPES: &[&[&[usize]]] = &[&[&[]], &[&[3]], &[&[2, 3]], &[&[1, 4]]];
const BINARY_SHAPES: &[&[&[usize]]] =
    &[&[&[2, 3], &[2, 3]], &[&[2, 3], &[3]], &[&[], &[2, 2]], &[&[2, 1], &[1, 3]], &[&[1], &[3]], &[&[], &[]]];
const REDUCE_SHAPES: &[&[&[usize]]] = &[&[&[2, 3]], &[&[4]], &[&[2, 1, 3]]];

/// A custom op for the registry: `a · sin(b)` with its own rule, so user-defined ops go
/// through the same first- and second-order checks as built-in ones.
struct MulSin;

impl crate::CustomOp<f64> for MulSin {
    fn name(&self) -> &'static str {
        "mul_sin"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> tapegrad_graph::Result<Tensor<f64>> {
        x[0].zip_with(x[1], "mul_sin", |a, b| a * b.sin())
    }
    fn backward<A: crate::TensorAlgebra<f64>>(&self, x: &[&A], _y: &A, g: &A) -> Vec<Option<A>> {
        vec![Some(g.mul(&x[1].sin())), Some(g.mul(x[0]).mul(&x[1].cos()))]
    }
}

fn idx(data: &[usize], shape: &[usize]) -> Indices {
    Indices::new(data.to_vec(), shape).expect("registry indices fit their shape")
}

/// Every registered op: the primitives of `tapegrad-graph` and the public composites.
pub fn registry() -> Vec<OpCase> {
    use Domain::*;
    vec![
        case("neg", Any, UNARY_SHAPES, |_, v| -v[0]),
        case("exp", Any, UNARY_SHAPES, |_, v| v[0].exp()),
        case("log", Positive, UNARY_SHAPES, |_, v| v[0].log()),
        case("sqrt", Positive, UNARY_SHAPES, |_, v| v[0].sqrt()),
        case("abs", NonZero, UNARY_SHAPES, |_, v| v[0].abs()),
        case("sin", Any, UNARY_SHAPES, |_, v| v[0].sin()),
        case("cos", Any, UNARY_SHAPES, |_, v| v[0].cos()),
        case("tanh", Any, UNARY_SHAPES, |_, v| v[0].tanh()),
        case("sigmoid", Any, UNARY_SHAPES, |_, v| v[0].sigmoid()),
        case("relu", NonZero, UNARY_SHAPES, |_, v| v[0].relu()),
        case("softplus", Any, UNARY_SHAPES, |_, v| v[0].softplus()),
        case("erf", Any, UNARY_SHAPES, |_, v| v[0].erf()),
        case("sign", NonZero, UNARY_SHAPES, |_, v| v[0].sign() * v[0]),
        case("log1p", Positive, UNARY_SHAPES, |_, v| v[0].log1p()),
        case("expm1", Any, UNARY_SHAPES, |_, v| v[0].expm1()),
        case("gelu", Any, UNARY_SHAPES, |_, v| v[0].gelu()),
        case("square", Any, UNARY_SHAPES, |_, v| v[0].square()),
        case("powf", Positive, UNARY_SHAPES, |_, v| v[0].powf(2.5)),
        case("leaky_relu", NonZero, UNARY_SHAPES, |_, v| v[0].leaky_relu(0.1)),
        case("clamp", Any, UNARY_SHAPES, |_, v| v[0].clamp(-0.7, 0.9)),
        case("add", Any, BINARY_SHAPES, |_, v| v[0] + v[1]),
        case("sub", Any, BINARY_SHAPES, |_, v| v[0] - v[1]),
        case("mul", Any, BINARY_SHAPES, |_, v| v[0] * v[1]),
        case("div", NonZero, BINARY_SHAPES, |_, v| v[0] / v[1]),
        case("pow", Positive, BINARY_SHAPES, |_, v| v[0].pow(v[1])),
        case("maximum", Any, BINARY_SHAPES, |_, v| v[0].maximum(v[1])),
        case("minimum", Any, BINARY_SHAPES, |_, v| v[0].minimum(v[1])),
        case("sum", Any, REDUCE_SHAPES, |_, v| v[0].sum()),
        case("sum_axis", Any, REDUCE_SHAPES, |_, v| v[0].sum_axis(-1, false)).recording("sum"),
        case("sum_axes_keepdim", Any, &[&[&[2, 3, 2]]], |_, v| v[0].try_sum_axes(&[0, 2], true).unwrap())
            .recording("sum"),
        case("sum_squares", Any, REDUCE_SHAPES, |_, v| v[0].sum_squares()),
        case("sum_squares_axis", Any, REDUCE_SHAPES, |_, v| v[0].sum_squares_axis(-1, true)).recording("sum_squares"),
        case("sum_squares_of", Any, &[&[&[2, 3], &[3], &[]], &[&[4]]], |_, v| Var::sum_squares_of(v)),
        case("hinge", Any, &[&[&[2, 3], &[2, 3]], &[&[5], &[5]], &[&[], &[]]], |_, v| v[0].hinge(v[1])),
        case("mean", Any, REDUCE_SHAPES, |_, v| v[0].mean()).recording("sum"),
        case("mean_axis", Any, REDUCE_SHAPES, |_, v| v[0].mean_axis(0, true)).recording("sum"),
        case("max", Any, REDUCE_SHAPES, |_, v| v[0].max()),
        case("max_axis", Any, REDUCE_SHAPES, |_, v| v[0].max_axis(-1, false)).recording("max"),
        case("min", Any, REDUCE_SHAPES, |_, v| v[0].min()),
        case("min_axis", Any, REDUCE_SHAPES, |_, v| v[0].min_axis(0, true)).recording("min"),
        case("logsumexp", Any, REDUCE_SHAPES, |_, v| v[0].logsumexp_axis(-1, false)).recording("log"),
        case("var", Any, REDUCE_SHAPES, |_, v| v[0].var_axis(-1, true)).recording("sum"),
        case("softmax", Any, &[&[&[2, 3]], &[&[4]], &[&[2, 1, 3]]], |_, v| v[0].softmax(-1)),
        case("softmax_inner_axis", Any, &[&[&[3, 2]], &[&[2, 3, 2]]], |_, v| v[0].softmax(-2)).recording("softmax"),
        case("log_softmax", Any, &[&[&[2, 3]], &[&[4]], &[&[3, 2]]], |_, v| v[0].log_softmax(0)).recording("exp"),
        case("matmul", Any, &[&[&[2, 3], &[3, 4]], &[&[1, 3], &[3, 1]]], |_, v| v[0].matmul(v[1])),
        case("matmul_batched", Any, &[&[&[2, 2, 3], &[2, 3, 2]], &[&[2, 2, 3], &[3, 2]]], |_, v| v[0].matmul(v[1]))
            .recording("matmul"),
        case("matmul_t", Any, &[&[&[3, 2], &[4, 3]], &[&[2, 3, 2], &[4, 3]]], |_, v| v[0].matmul_t(true, v[1], true))
            .recording("matmul"),
        case("matmul_t_rhs", Any, &[&[&[2, 3], &[4, 3]]], |_, v| v[0].matmul_t(false, v[1], true)).recording("matmul"),
        case("matmul_t_lhs", Any, &[&[&[3, 2], &[3, 4]], &[&[2, 3, 2], &[3, 4]]], |_, v| {
            v[0].matmul_t(true, v[1], false)
        })
        .recording("matmul"),
        // Operands broadcast along batch dims, both ways and with kept dims between: their
        // gradients are folded products (see `rules::matmul`).
        case("matmul_broadcast", Any, &[&[&[3, 1, 2, 3], &[1, 2, 3, 2]], &[&[2, 3], &[4, 2, 3, 2]]], |_, v| {
            v[0].matmul(v[1])
        })
        .recording("matmul"),
        case("matmul_t_broadcast", Any, &[&[&[3, 1, 3, 2], &[1, 2, 4, 3]], &[&[3, 2], &[2, 4, 3]]], |_, v| {
            v[0].matmul_t(true, v[1], true)
        })
        .recording("matmul"),
        case("matmul_vector", Any, &[&[&[2, 3], &[3]], &[&[3], &[3, 2]]], |_, v| v[0].matmul(v[1])).recording("matmul"),
        case("reshape", Any, &[&[&[2, 3]]], |_, v| v[0].reshape([3, 2]).exp()),
        case("permute", Any, &[&[&[2, 3, 4]]], |_, v| v[0].permute(&[2, 0, 1]).sin()),
        case("transpose", Any, &[&[&[2, 3]]], |_, v| v[0].t().sin()).recording("permute"),
        case("broadcast_to", Any, &[&[&[3]], &[&[2, 1]], &[&[]], &[&[1, 3]]], |_, v| {
            v[0].broadcast_to([2, 2, 3]).sin()
        }),
        case("sum_to", Any, &[&[&[2, 3]]], |_, v| v[0].sin().sum_to([3])),
        case("squeeze", Any, &[&[&[2, 1, 3]]], |_, v| v[0].squeeze(1).sin()).recording("reshape"),
        case("unsqueeze", Any, &[&[&[2, 3]]], |_, v| v[0].unsqueeze(-1).sin()).recording("reshape"),
        case("flatten", Any, &[&[&[2, 3]]], |_, v| v[0].flatten().sin()).recording("reshape"),
        case("concat", Any, &[&[&[2, 3], &[1, 3]]], |_, v| Var::concat(&[v[0], v[1].sin()], 0)),
        case("stack", Any, &[&[&[2, 3], &[2, 3]]], |_, v| Var::stack(&[v[0], v[1].sin()], 1)).recording("concat"),
        case("slice", Any, &[&[&[4, 3]]], |_, v| v[0].slice(0, 1, 3).sin()),
        case("pad", Any, &[&[&[2, 3]]], |_, v| v[0].sin().pad(1, 1, 2)),
        case("index_select", Any, &[&[&[4, 3]]], |_, v| v[0].index_select(0, &idx(&[2, 0, 2], &[3])).sin()),
        case("index_add", Any, &[&[&[3, 2]]], |_, v| v[0].sin().index_add(0, &idx(&[1, 3, 1], &[3]), 4)),
        case("gather", Any, &[&[&[3, 4]]], |_, v| v[0].gather(1, &idx(&[3, 0, 1, 1, 2, 0], &[3, 2])).sin()),
        case("scatter_add", Any, &[&[&[3, 2]]], |_, v| {
            v[0].sin().scatter_add(1, &idx(&[3, 0, 1, 1, 2, 0], &[3, 2]), [3, 4])
        }),
        case("custom", Any, &[&[&[2, 3], &[2, 3]], &[&[], &[]]], |g, v| {
            use crate::CustomOps;
            g.custom(MulSin, &[v[0], v[1]])
        }),
        case("unfold", Any, &[&[&[2, 2, 4, 3]]], |_, v| {
            v[0].unfold(&Window::new([2, 2]).stride([2, 1]).padding([1, 0]).dilation([1, 2])).sin()
        }),
        case("fold", Any, &[&[&[1, 8, 12]]], |_, v| v[0].sin().fold(&Window::new([2, 2]).padding([1, 1]), [2, 3])),
        case(
            "conv2d",
            Any,
            &[
                &[&[2, 2, 4, 4], &[3, 2, 3, 3], &[3]],
                &[&[1, 3, 3, 3], &[2, 3, 1, 1], &[2]],
                &[&[1, 2, 5, 5], &[2, 1, 2, 2], &[2]],
            ],
            |_, v| {
                // Per case: 3×3 with padding 1; a 1×1 kernel with padding 2 (larger than the
                // kernel); stride 3 (larger than the kernel) with groups = channels.
                let [_, c, _, _] = *v[0].shape().dims() else { unreachable!() };
                let k = v[1].shape().dims()[2];
                let options = match (c, k) {
                    (2, 3) => ConvOptions::default().padding([1, 1]),
                    (3, 1) => ConvOptions::default().padding([2, 2]),
                    _ => ConvOptions::default().stride([3, 3]).groups(2),
                };
                v[0].conv2d(v[1], Some(v[2]), options)
            },
        )
        .recording("unfold"),
        case("conv1d", Any, &[&[&[2, 4, 5], &[2, 2, 2]]], |_, v| {
            v[0].conv1d(v[1], None, ConvOptions::default().padding([1]).dilation([2]).groups(2))
        })
        .recording("unfold"),
        case("max_pool2d", Any, &[&[&[1, 2, 4, 4]], &[&[2, 1, 3, 5]]], |_, v| {
            v[0].max_pool2d(&Window::pool([2, 2]).padding([1, 1]))
        })
        .recording("unfold"),
        case("max_pool2d_1x1", Any, &[&[&[1, 1, 3, 3]]], |_, v| v[0].max_pool2d(&Window::pool([1, 1]).stride([2, 2])))
            .recording("unfold"),
        case("avg_pool2d", Any, &[&[&[1, 2, 4, 4]], &[&[1, 1, 5, 3]]], |_, v| {
            v[0].avg_pool2d(&Window::pool([3, 3]).stride([2, 2]).padding([1, 1]))
        })
        .recording("unfold"),
        case(
            "batch_norm",
            Any,
            &[&[&[4, 3], &[3], &[3]], &[&[3, 2, 2, 3], &[2], &[2]], &[&[2, 3, 5], &[3], &[3]]],
            |_, v| {
                // The output times a fixed pattern, so the loss is not the same for every input
                // (Σ of a normalized channel is β·M whatever x is).
                let (y, _) = v[0].batch_norm(v[1], v[2], 1e-5);
                y * y.sin()
            },
        ),
        case("layer_norm", Any, &[&[&[4, 3], &[3], &[3]], &[&[2, 2, 5], &[5], &[5]], &[&[4], &[4], &[4]]], |_, v| {
            // As for batch_norm: Σ of a normalized row is fixed, so the loss mixes in a pattern.
            let y = v[0].layer_norm(v[1], v[2], 1e-5);
            y * y.sin()
        }),
        case("stop_gradient", Any, &[&[&[2, 3]], &[&[4]]], |_, v| {
            // A shift that cancels (as in softmax): the value moves with x, the derivative ignores it.
            let shift = v[0].max_axis(-1, true).stop_gradient();
            let e = (v[0] - shift).exp();
            e / e.sum_axis(-1, true)
        }),
        case("lookup", Any, &[&[&[4, 3]], &[&[1, 2]]], |g, v| {
            let ids = g.constant(Tensor::from_vec(vec![3.0, 0.0, 0.0, 1.0, 2.0, 3.0], [2, 3]).unwrap());
            let count = v[0].shape().dims()[0] as f64;
            v[0].lookup(ids.minimum(count - 1.0)).sin()
        }),
        case(
            "where",
            Any,
            &[&[&[2, 3], &[2, 3], &[2, 3]], &[&[2, 3], &[2, 3], &[3]], &[&[3], &[], &[2, 3]]],
            |_, v| Var::where_cond(v[0].gt(0.0), v[1], v[2]),
        ),
    ]
}
