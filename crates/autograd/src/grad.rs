//! Recorded differentiation: [`grad`] runs the derivative rules as ops on the tape, so its
//! results are `Var`s that can be differentiated again — grad of grad, Hessian-vector products,
//! Jacobians and Hessians.

use crate::backward::Backward;
use crate::error::{expect, Error, Result};
use crate::rules;
use smallvec::SmallVec;
use tapegrad_graph::op::Op;
use tapegrad_graph::{Float, Tensor, Var};

/// ∂y/∂x for each x in `xs`, recorded on the tape (PyTorch's `autograd.grad` with
/// `create_graph=True`). A node that does not reach `y` gets zeros.
///
/// ```
/// use tapegrad_autograd::grad;
/// use tapegrad_graph::Graph;
/// let g = Graph::new();
/// let x = g.scalar(3.0);
/// let y = x * x * x;
/// let dy = grad(y, &[x])[0];          // 3x² = 27
/// let d2y = grad(dy, &[x])[0];        // 6x = 18
/// assert_eq!((dy.item(), d2y.item()), (27.0, 18.0));
/// ```
///
/// # Panics
/// When `y` has more than one element; see [`try_grad`].
#[track_caller]
pub fn grad<'g, F: Float>(y: Var<'g, F>, xs: &[Var<'g, F>]) -> Vec<Var<'g, F>> {
    expect(try_grad(y, xs))
}

/// [`grad`], or [`Error::NonScalarRoot`].
pub fn try_grad<'g, F: Float>(y: Var<'g, F>, xs: &[Var<'g, F>]) -> Result<Vec<Var<'g, F>>> {
    let shape = y.shape();
    if shape.numel() != 1 {
        return Err(Error::NonScalarRoot { shape });
    }
    let seed = y.graph().constant(Tensor::ones(shape));
    grad_with(y, xs, seed)
}

/// [`grad`] with `seed` as the gradient of `y` (any shape matching `y`).
pub fn grad_with<'g, F: Float>(y: Var<'g, F>, xs: &[Var<'g, F>], seed: Var<'g, F>) -> Result<Vec<Var<'g, F>>> {
    if seed.shape() != y.shape() {
        return Err(Error::SeedShape { seed: seed.shape(), root: y.shape() });
    }
    let graph = y.graph();
    let mut grads: Vec<Option<Var<'g, F>>> = vec![None; y.id() as usize + 1];
    if y.requires_grad() {
        grads[y.id() as usize] = Some(seed);
    }
    for i in (0..=y.id()).rev() {
        let Some(g) = grads[i as usize] else { continue };
        let (op, need) = {
            let tape = graph.tape();
            let op = tape.op(i).clone();
            let need: SmallVec<[bool; 3]> = op.inputs().iter().map(|&x| tape.requires_grad(x)).collect();
            (op, need)
        };
        let inputs = op.inputs();
        let values = inputs.iter().map(|&x| graph.node(x)).collect::<Result<SmallVec<[Var<'g, F>; 3]>, _>>()?;
        let y = graph.node(i)?;
        let input_grads: SmallVec<[Option<Var<'g, F>>; 3]> = match &op {
            Op::Custom(node) => {
                let refs: SmallVec<[&Var<'g, F>; 3]> = values.iter().collect();
                crate::custom::var_grads(node, &refs, &y, &g)?.into_iter().collect()
            }
            _ => {
                let mut in_order = smallvec::smallvec![None; inputs.len()];
                rules::pass_input_grads(&op, &values, &y, &g, &need, |input, d| in_order[input] = Some(d));
                in_order
            }
        };
        for ((&x, d), needed) in inputs.iter().zip(input_grads).zip(need) {
            if let (Some(d), true) = (d, needed) {
                let slot = &mut grads[x as usize];
                *slot = Some(match *slot {
                    Some(existing) => existing + d,
                    None => d,
                });
            }
        }
    }
    Ok(xs
        .iter()
        .map(|x| {
            grads.get(x.id() as usize).copied().flatten().unwrap_or_else(|| graph.constant(Tensor::zeros(x.shape())))
        })
        .collect())
}

/// The Hessian-vector products H·v for a scalar `y`, one per input: ∂(Σᵢ ⟨∂y/∂xᵢ, vᵢ⟩)/∂x.
///
/// ```
/// use tapegrad_autograd::hvp;
/// use tapegrad_graph::Graph;
/// let g = Graph::new();
/// let x = g.scalar(2.0);
/// let y = x.powf(4.0);                                // y'' = 12x² = 48
/// let hv = hvp(y, &[x], &[g.constant_scalar(0.5)])?;
/// assert_eq!(hv[0].item(), 24.0);
/// # Ok::<(), tapegrad_autograd::Error>(())
/// ```
pub fn hvp<'g, F: Float>(y: Var<'g, F>, xs: &[Var<'g, F>], vs: &[Var<'g, F>]) -> Result<Vec<Var<'g, F>>> {
    let gs = try_grad(y, xs)?;
    let mut total: Option<Var<'g, F>> = None;
    for (g, v) in gs.iter().zip(vs) {
        let term = g.try_mul(*v)?.sum();
        total = Some(total.map_or(term, |t| t + term));
    }
    match total {
        Some(t) => try_grad(t, xs),
        None => Ok(vec![]),
    }
}

/// The forward-mode product J·t: the tangent of `y` when each `xs[i]` moves along `ts[i]`
/// (tangents are `Var`s of `xs[i]`'s shape), recorded on the tape, so it can be differentiated
/// again: `jvp(grad(y, &[x])[0], &[x], &[v])` is a Hessian-vector product.
///
/// One forward sweep over the nodes between `xs` and `y`, each op's forward rule beside its
/// backward rule (`forward.rs`); a [`CustomOp`](crate::CustomOp), which has only a reverse
/// rule, gets its tangent by transposing that rule.
///
/// ```
/// use tapegrad_autograd::jvp;
/// use tapegrad_graph::Graph;
/// let g = Graph::new();
/// let x = g.scalar(3.0);
/// let y = x * x.sin();
/// let dy = jvp(y, &[x], &[g.constant_scalar(1.0)])?;   // sin x + x cos x
/// assert!((dy.item() - (-2.828_857_481_741_469)).abs() < 1e-12);  // PyTorch forward AD: −2.828857…
/// # Ok::<(), tapegrad_autograd::Error>(())
/// ```
pub fn jvp<'g, F: Float>(y: Var<'g, F>, xs: &[Var<'g, F>], ts: &[Var<'g, F>]) -> Result<Var<'g, F>> {
    if xs.len() != ts.len() {
        return Err(Error::Graph(tapegrad_graph::Error::InvalidArgument {
            op: "jvp",
            message: format!("{} inputs but {} tangents", xs.len(), ts.len()),
        }));
    }
    for (x, t) in xs.iter().zip(ts) {
        if x.shape() != t.shape() {
            return Err(Error::Graph(tapegrad_graph::Error::ShapeMismatch {
                op: "jvp",
                lhs: x.shape(),
                rhs: t.shape(),
                hint: "; each tangent must have its input's shape".into(),
            }));
        }
    }
    crate::forward::forward_sweep(y, xs, ts)
}

/// The dense Jacobian ∂y/∂x as a `[y.numel(), x.numel()]` tensor, built column by column by
/// forward mode ([`jvp`]): the better order when `x` has fewer elements than `y`.
pub fn jacfwd<'g, F: Float>(y: Var<'g, F>, x: Var<'g, F>) -> Result<Tensor<F>> {
    let (m, n) = (y.shape().numel(), x.shape().numel());
    let mut jacobian = Tensor::try_full([m, n], F::ZERO)?;
    let data = jacobian.data_mut();
    for j in 0..n {
        let mut direction = vec![F::ZERO; n];
        direction[j] = F::ONE;
        let t = y.graph().constant(Tensor::from_vec(direction, x.shape())?);
        let column = jvp(y, &[x], &[t])?.value();
        for (i, &v) in column.data().iter().enumerate() {
            data[i * n + j] = v;
        }
    }
    Ok(jacobian)
}

/// The dense Jacobian ∂y/∂x as a `[y.numel(), x.numel()]` tensor, one backward pass per
/// element of `y` (zeros when `y` does not depend on anything that requires grad).
pub fn jacobian<'g, F: Float>(y: Var<'g, F>, x: Var<'g, F>) -> Result<Tensor<F>> {
    let (m, n) = (y.shape().numel(), x.shape().numel());
    if !y.requires_grad() {
        return Ok(Tensor::try_full([m, n], F::ZERO)?);
    }
    let mut rows = Vec::with_capacity(m * n);
    for j in 0..m {
        let mut seed = vec![F::ZERO; m];
        seed[j] = F::ONE;
        let grads = y.try_backward_with(Tensor::from_vec(seed, y.shape())?)?;
        rows.extend_from_slice(grads.wrt(x).data());
    }
    Ok(Tensor::from_vec(rows, [m, n])?)
}

/// The dense Hessian of a scalar `y` with respect to `x`, as `[x.numel(), x.numel()]`.
///
/// ```
/// use tapegrad_autograd::hessian;
/// use tapegrad_graph::{Graph, Tensor};
/// let g = Graph::new();
/// let x = g.var(Tensor::from_vec(vec![1.0, 2.0], [2])?);
/// let y = (x.slice(0, 0, 1) * x.slice(0, 1, 2)).sum();   // x₀·x₁
/// assert_eq!(hessian(y, x)?.to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
/// # Ok::<(), tapegrad_autograd::Error>(())
/// ```
pub fn hessian<'g, F: Float>(y: Var<'g, F>, x: Var<'g, F>) -> Result<Tensor<F>> {
    let g = try_grad(y, &[x])?[0];
    jacobian(g, x)
}
