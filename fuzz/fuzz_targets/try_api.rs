//! Shapes, axes, indices and sizes from the fuzzer driven through the public `try_` API on one
//! graph: every call returns a value or an error; any panic or crash is a finding. Sizes are
//! either small or far beyond memory, so an allocation that succeeds stays small and one that
//! cannot is the error under test.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tapegrad::autograd::{try_grad, Backward};
use tapegrad::{ConvOptions, Graph, Indices, Shape, Tensor, Var, Window};

#[derive(Arbitrary, Debug)]
enum Size {
    Small(u8),
    Huge(u8),
}

impl Size {
    fn get(&self) -> usize {
        match *self {
            Size::Small(n) => (n % 6) as usize,
            Size::Huge(k) => match k % 4 {
                0 => usize::MAX,
                1 => usize::MAX - k as usize,
                2 => 1 << (40 + k % 24),
                _ => (1 << 62) + 3,
            },
        }
    }
}

fn shape(dims: &[Size]) -> Shape {
    Shape::from(dims.iter().take(6).map(Size::get).collect::<Vec<_>>())
}

fn pair(sizes: &[Size; 2]) -> [usize; 2] {
    [sizes[0].get(), sizes[1].get()]
}

/// False when unfolding `x` with `w` would make a legal but huge tensor (up to gigabytes, which
/// overcommit grants and filling takes minutes): the product of several small-or-huge sizes can
/// land there, unlike one size. Errors (bad shapes, windows that do not fit) still go through.
fn unfold_is_small(x: Var<'_, f64>, w: &Window) -> bool {
    let dims = x.shape();
    let &[n, c, h, wd] = dims.dims() else { return true };
    let Ok([oh, ow]) = w.output_size([h, wd]) else { return true };
    [c, w.kernel[0], w.kernel[1], oh, ow].iter().try_fold(n, |acc, &d| acc.checked_mul(d)).is_none_or(|v| v <= 1 << 20)
}

fn indices(values: &[Size]) -> Vec<usize> {
    values.iter().take(64).map(Size::get).collect()
}

#[derive(Arbitrary, Debug)]
enum Step {
    Leaf { dims: Vec<Size>, value: f64, requires_grad: bool },
    Unary { op: u8, x: u8 },
    Binary { op: u8, a: u8, b: u8 },
    Param { op: u8, x: u8, p: f64 },
    Clamp { x: u8, min: f64, max: f64 },
    Reshape { x: u8, dims: Vec<Size> },
    Permute { x: u8, perm: Vec<u8> },
    Transpose { x: u8, d0: i8, d1: i8 },
    BroadcastTo { x: u8, dims: Vec<Size> },
    SumTo { x: u8, dims: Vec<Size> },
    Reduce { op: u8, x: u8, axes: Vec<i8>, keepdim: bool },
    Softmax { x: u8, axis: i8, log: bool },
    Matmul { a: u8, b: u8, ta: bool, tb: bool, plain: bool },
    Concat { parts: Vec<u8>, axis: i8, stack: bool },
    Slice { x: u8, axis: i8, start: Size, end: Size },
    Pad { x: u8, axis: i8, before: Size, after: Size },
    Squeeze { x: u8, axis: i8, un: bool },
    IndexSelect { x: u8, axis: i8, idx: Vec<Size> },
    IndexAdd { x: u8, axis: i8, idx: Vec<Size>, size: Size },
    Gather { x: u8, axis: i8, idx: Vec<Size>, dims: Vec<Size> },
    ScatterAdd { x: u8, axis: i8, idx: Vec<Size>, dims: Vec<Size> },
    Where { c: u8, a: u8, b: u8 },
    Unfold { x: u8, kernel: [Size; 2], stride: [Size; 2], padding: [Size; 2], dilation: [Size; 2] },
    Fold { x: u8, kernel: [Size; 2], padding: [Size; 2], size: [Size; 2] },
    Conv2d { x: u8, w: u8, bias: Option<u8>, stride: [Size; 2], padding: [Size; 2], groups: Size },
    Pool { x: u8, kernel: [Size; 2], padding: [Size; 2], max: bool },
    Lookup { table: u8, ids: u8 },
    StopGradient { x: u8, finite_only: bool },
    BatchNorm { x: u8, weight: u8, bias: u8, eps: f64 },
    LayerNorm { x: u8, weight: u8, bias: u8, eps: f64 },
    Backward { x: u8, seeded: bool },
    Grad { y: u8, x: u8 },
}

fuzz_target!(|steps: Vec<Step>| {
    let g = Graph::<f64>::with_max_nodes(100_000);
    let mut vars: Vec<Var<'_, f64>> = vec![g.var(Tensor::ones([2, 3])), g.scalar(0.5)];
    for step in steps.iter().take(48) {
        let pick = |i: u8| vars[i as usize % vars.len()];
        let made = match step {
            Step::Leaf { dims, value, requires_grad } => match Tensor::try_full(shape(dims), *value) {
                Ok(t) if *requires_grad => Ok(g.var(t)),
                Ok(t) => Ok(g.constant(t)),
                Err(e) => Err(e),
            },
            Step::Unary { op, x } => {
                let x = pick(*x);
                Ok(match op % 13 {
                    0 => -x,
                    1 => x.exp(),
                    2 => x.log(),
                    3 => x.sqrt(),
                    4 => x.abs(),
                    5 => x.sin(),
                    6 => x.cos(),
                    7 => x.tanh(),
                    8 => x.sigmoid(),
                    9 => x.relu(),
                    10 => x.softplus(),
                    11 => x.erf(),
                    _ => x.gelu(),
                })
            }
            Step::Binary { op, a, b } => {
                let (a, b) = (pick(*a), pick(*b));
                match op % 7 {
                    0 => a.try_add(b),
                    1 => a.try_sub(b),
                    2 => a.try_mul(b),
                    3 => a.try_div(b),
                    4 => a.try_pow(b),
                    5 => a.try_maximum(b),
                    _ => a.try_minimum(b),
                }
            }
            Step::Param { op, x, p } => Ok(if op % 2 == 0 { pick(*x).powf(*p) } else { pick(*x).leaky_relu(*p) }),
            Step::Clamp { x, min, max } => Ok(pick(*x).clamp(*min, *max)),
            Step::Reshape { x, dims } => pick(*x).try_reshape(shape(dims)),
            Step::Permute { x, perm } => {
                let perm: Vec<usize> = perm.iter().take(8).map(|&p| p as usize % 8).collect();
                pick(*x).try_permute(&perm)
            }
            Step::Transpose { x, d0, d1 } => pick(*x).try_transpose(*d0 as isize, *d1 as isize),
            Step::BroadcastTo { x, dims } => pick(*x).try_broadcast_to(shape(dims)),
            Step::SumTo { x, dims } => pick(*x).try_sum_to(shape(dims)),
            Step::Reduce { op, x, axes, keepdim } => {
                let axes: Vec<isize> = axes.iter().take(6).map(|&a| a as isize).collect();
                let x = pick(*x);
                match op % 6 {
                    0 => x.try_sum_axes(&axes, *keepdim),
                    1 => x.try_mean_axes(&axes, *keepdim),
                    2 => x.try_max_axes(&axes, *keepdim),
                    3 => x.try_min_axes(&axes, *keepdim),
                    4 => x.try_var_axes(&axes, *keepdim),
                    _ => x.try_logsumexp_axes(&axes, *keepdim),
                }
            }
            Step::Softmax { x, axis, log } => {
                if *log {
                    pick(*x).try_log_softmax(*axis as isize)
                } else {
                    pick(*x).try_softmax(*axis as isize)
                }
            }
            Step::Matmul { a, b, ta, tb, plain } => {
                if *plain {
                    pick(*a).try_matmul(pick(*b))
                } else {
                    pick(*a).try_matmul_t(*ta, pick(*b), *tb)
                }
            }
            Step::Concat { parts, axis, stack } => {
                let parts: Vec<_> = parts.iter().take(4).map(|&p| pick(p)).collect();
                if *stack {
                    Var::try_stack(&parts, *axis as isize)
                } else {
                    Var::try_concat(&parts, *axis as isize)
                }
            }
            Step::Slice { x, axis, start, end } => pick(*x).try_slice(*axis as isize, start.get(), end.get()),
            Step::Pad { x, axis, before, after } => pick(*x).try_pad(*axis as isize, before.get(), after.get()),
            Step::Squeeze { x, axis, un } => {
                if *un {
                    pick(*x).try_unsqueeze(*axis as isize)
                } else {
                    pick(*x).try_squeeze(*axis as isize)
                }
            }
            Step::IndexSelect { x, axis, idx } => {
                pick(*x).try_index_select(*axis as isize, &Indices::from(indices(idx)))
            }
            Step::IndexAdd { x, axis, idx, size } => {
                pick(*x).try_index_add(*axis as isize, &Indices::from(indices(idx)), size.get())
            }
            Step::Gather { x, axis, idx, dims } => match Indices::new(indices(idx), shape(dims)) {
                Ok(index) => pick(*x).try_gather(*axis as isize, &index),
                Err(e) => Err(e),
            },
            Step::ScatterAdd { x, axis, idx, dims } => {
                let x = pick(*x);
                match Indices::new(indices(idx), x.shape()) {
                    Ok(index) => x.try_scatter_add(*axis as isize, &index, shape(dims)),
                    Err(e) => Err(e),
                }
            }
            Step::Where { c, a, b } => {
                let c = pick(*c);
                c.try_gt(0.0).and_then(|mask| Var::try_where_cond(mask, pick(*a), pick(*b)))
            }
            Step::Unfold { x, kernel, stride, padding, dilation } => {
                let w = Window::new(pair(kernel)).stride(pair(stride)).padding(pair(padding)).dilation(pair(dilation));
                if !unfold_is_small(pick(*x), &w) {
                    continue;
                }
                pick(*x).try_unfold(&w)
            }
            Step::Fold { x, kernel, padding, size } => {
                pick(*x).try_fold(&Window::new(pair(kernel)).padding(pair(padding)), pair(size))
            }
            Step::Conv2d { x, w, bias, stride, padding, groups } => {
                let options = ConvOptions::default().stride(pair(stride)).padding(pair(padding)).groups(groups.get());
                let (x, w) = (pick(*x), pick(*w));
                let kernel = w.shape().dims().get(2..4).map_or([1, 1], |k| [k[0], k[1]]);
                let window = Window::new(kernel).stride(options.stride).padding(options.padding);
                if !unfold_is_small(x, &window) {
                    continue;
                }
                x.try_conv2d(w, bias.map(pick), options)
            }
            Step::Pool { x, kernel, padding, max } => {
                let w = Window::pool(pair(kernel)).padding(pair(padding));
                if !unfold_is_small(pick(*x), &w) {
                    continue;
                }
                if *max {
                    pick(*x).try_max_pool2d(&w)
                } else {
                    pick(*x).try_avg_pool2d(&w)
                }
            }
            Step::Lookup { table, ids } => pick(*table).try_lookup(pick(*ids)),
            Step::BatchNorm { x, weight, bias, eps } => {
                pick(*x).try_batch_norm(pick(*weight), pick(*bias), *eps).map(|(y, _)| y)
            }
            Step::LayerNorm { x, weight, bias, eps } => pick(*x).try_layer_norm(pick(*weight), pick(*bias), *eps),
            Step::StopGradient { x, finite_only } => pick(*x).try_stop_gradient(*finite_only),
            Step::Backward { x, seeded } => {
                let x = pick(*x);
                let _ = if *seeded { x.try_backward_with(Tensor::ones(x.shape())) } else { x.try_backward() };
                continue;
            }
            Step::Grad { y, x } => {
                if let Ok(gs) = try_grad(pick(*y), &[pick(*x)]) {
                    vars.extend(gs);
                }
                continue;
            }
        };
        if let Ok(v) = made {
            if v.shape().numel() <= 1 << 16 {
                vars.push(v);
            }
        }
    }
});
