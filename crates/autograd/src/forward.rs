//! Forward mode: one sweep over the recorded nodes between the inputs and the result, each
//! node's tangent computed from its inputs' tangents by the op's forward rule (its
//! Jacobian-vector product), recorded, so the result can be differentiated again.
//!
//! The forward rules sit beside the backward rules and reuse them where the op allows: an
//! elementwise op's Jacobian is diagonal, so its forward rule *is* its derivative rule run on
//! the tangent (`UnaryOp::derivative(x, y, t)` is f′(x)·t); a linear op (reshape, permute,
//! broadcast, sum, slice, pad, concat, the indexing ops, `where`) applies itself to the
//! tangent; matmul uses the product rule; max and min pass the tangent of the elements they
//! picked. A user-defined op and batch normalization have only their reverse rules, so their
//! tangents come from transposing those rules (see [`jvp_by_transposition`]).

use crate::error::Result;
use crate::grad::{grad_with, try_grad};
use tapegrad_graph::op::{BinaryOp, Op, ReduceOp, UnaryOp};
use tapegrad_graph::{Algebra, Float, Graph, NodeId, Tensor, Var};

/// J·t: the tangent of `y` for tangents `ts` of `xs` (checked by `jvp`).
pub(crate) fn forward_sweep<'g, F: Float>(y: Var<'g, F>, xs: &[Var<'g, F>], ts: &[Var<'g, F>]) -> Result<Var<'g, F>> {
    let graph = y.graph();
    let mut tangents: Vec<Option<Var<'g, F>>> = vec![None; y.id() as usize + 1];
    for (x, t) in xs.iter().zip(ts) {
        if x.id() <= y.id() {
            add_term(&mut tangents[x.id() as usize], *t)?;
        }
    }
    let first = xs.iter().map(|x| x.id()).min().unwrap_or(y.id());
    for i in first..=y.id() {
        let op = graph.tape().op(i).clone();
        let inputs = op.inputs();
        if inputs.iter().all(|&x| tangents[x as usize].is_none()) {
            continue;
        }
        let value = |id: NodeId| graph.node(id);
        let tangent = |k: usize| -> Option<Var<'g, F>> { tangents[inputs[k] as usize] };
        let t = node_tangent(graph, i, &op, &inputs, &value, &tangent)?;
        // An input that also is one of `xs` keeps the tangent it was given.
        if tangents[i as usize].is_none() {
            tangents[i as usize] = Some(t);
        }
    }
    match tangents[y.id() as usize] {
        Some(t) => Ok(t),
        None => Ok(graph.constant(Tensor::try_full(y.shape(), F::ZERO)?)),
    }
}

/// The tangent of node `i` (op `op`, inputs `inputs`) from its inputs' tangents (`None` for
/// an input that does not move).
fn node_tangent<'g, F: Float>(
    graph: &'g Graph<F>,
    i: NodeId,
    op: &Op<F>,
    inputs: &[NodeId],
    value: &dyn Fn(NodeId) -> tapegrad_graph::Result<Var<'g, F>>,
    tangent: &dyn Fn(usize) -> Option<Var<'g, F>>,
) -> Result<Var<'g, F>> {
    let y = value(i)?;
    let x = |k: usize| value(inputs[k]);
    // The tangent of input k, zeros where it does not move.
    let moved = |k: usize| -> Result<Var<'g, F>> {
        match tangent(k) {
            Some(t) => Ok(t),
            None => Ok(graph.constant(Tensor::try_full(x(k)?.shape(), F::ZERO)?)),
        }
    };
    let same_shape = |t: Var<'g, F>| -> Result<Var<'g, F>> {
        if t.shape() == y.shape() {
            Ok(t)
        } else {
            Ok(t.try_broadcast_to(y.shape())?)
        }
    };
    Ok(match op {
        Op::Leaf | Op::Constant | Op::StopGradient(..) => graph.constant(Tensor::try_full(y.shape(), F::ZERO)?),
        Op::Unary(k, _) => k.derivative(&x(0)?, &y, &moved(0)?),
        Op::Param(k, _, p) => k.derivative(*p, &x(0)?, &moved(0)?),
        Op::Binary(k, ..) => {
            let (a, b) = (x(0)?, x(1)?);
            let mut total: Option<Var<'g, F>> = None;
            for side in 0..2 {
                let Some(t) = tangent(side) else { continue };
                let need = [side == 0, side == 1];
                let term = binary_term(*k, &a, &b, &y, t, need, side);
                add_term(&mut total, same_shape(term)?)?;
            }
            total.expect("an input moved")
        }
        Op::Clamp(_, bounds) => crate::rules::elementwise::clamp(bounds.min, bounds.max, &x(0)?, &moved(0)?),
        Op::Reduce(k, _, axes) => {
            let axes_isize: Vec<isize> = axes.axes.iter().map(|&a| a as isize).collect();
            let t = moved(0)?;
            match k {
                ReduceOp::Sum => t.try_sum_axes(&axes_isize, axes.keepdim)?,
                ReduceOp::SumSquares => x(0)?.try_mul(t)?.try_sum_axes(&axes_isize, axes.keepdim)? * F::from_f64(2.0),
                ReduceOp::Max | ReduceOp::Min => {
                    // The backward rule with a gradient of ones gives each element's share.
                    let ones = graph.constant(Tensor::try_full(y.shape(), F::ONE)?);
                    let share = graph.constant(crate::rules::reduce::reduce(
                        *k,
                        axes,
                        &x(0)?.value(),
                        &y.value(),
                        &ones.value(),
                    ));
                    (t * share).try_sum_axes(&axes_isize, axes.keepdim)?
                }
            }
        }
        // Each moving input adds 2·Σ x·t, in input order, as one `sum_squares` per input would.
        Op::SumSquaresOf(_) => {
            let mut total: Option<Var<'g, F>> = None;
            for k in 0..inputs.len() {
                let Some(t) = tangent(k) else { continue };
                add_term(&mut total, x(k)?.try_mul(t)?.try_sum()? * F::from_f64(2.0))?;
            }
            total.expect("an input moved")
        }
        // The tangent through each op the hinge stands for in turn: `mul`'s (its rule run on
        // the tangents, as for any product), `sub`'s, `relu`'s, then `mean`.
        Op::Hinge(..) => {
            let (s, labels) = (x(0)?, x(1)?);
            let product = s.try_mul(labels)?;
            let mut at_product = None;
            for side in 0..2 {
                let Some(t) = tangent(side) else { continue };
                add_term(
                    &mut at_product,
                    binary_term(BinaryOp::Mul, &s, &labels, &product, t, [side == 0, side == 1], side),
                )?;
            }
            let at_product = at_product.expect("an input moved");
            let ones = Algebra::map_const(&product, |_| F::ONE);
            let margin = Algebra::map_const(&product, |v| BinaryOp::Sub.apply(F::ONE, v));
            let at_margin = binary_term(BinaryOp::Sub, &ones, &product, &margin, at_product, [false, true], 1);
            let loss = Algebra::map_const(&margin, |v| UnaryOp::Relu.apply(v));
            UnaryOp::Relu.derivative(&margin, &loss, &at_margin).try_mean()?
        }
        Op::Matmul(_, _, [ta, tb]) => {
            let (a, b) = (x(0)?, x(1)?);
            let mut total: Option<Var<'g, F>> = None;
            if let Some(t) = tangent(0) {
                add_term(&mut total, t.try_matmul_t(*ta, b, *tb)?)?;
            }
            if let Some(t) = tangent(1) {
                add_term(&mut total, a.try_matmul_t(*ta, t, *tb)?)?;
            }
            same_shape(total.expect("an input moved"))?
        }
        Op::Reshape(_) => moved(0)?.try_reshape(y.shape())?,
        Op::Permute(_, perm) => moved(0)?.try_permute(perm)?,
        Op::BroadcastTo(_) => moved(0)?.try_broadcast_to(y.shape())?,
        Op::SumTo(_) => moved(0)?.try_sum_to(y.shape())?,
        Op::Concat(args) => {
            let parts = (0..inputs.len()).map(&moved).collect::<Result<Vec<_>>>()?;
            Var::try_concat(&parts, args.axis as isize)?
        }
        Op::Slice(_, range) => moved(0)?.try_slice(range.axis as isize, range.start, range.end)?,
        Op::Pad(_, range) => {
            let after = y.shape().dims()[range.axis] - range.end;
            moved(0)?.try_pad(range.axis as isize, range.start, after)?
        }
        Op::IndexSelect(_, a) => moved(0)?.try_index_select(a.axis as isize, &a.indices)?,
        Op::IndexAdd(_, a) => moved(0)?.try_index_add(a.axis as isize, &a.indices, y.shape().dims()[a.axis])?,
        Op::Gather(_, a) => moved(0)?.try_gather(a.axis as isize, &a.indices)?,
        Op::ScatterAdd(_, a) => moved(0)?.try_scatter_add(a.axis as isize, &a.indices, y.shape())?,
        Op::Where(..) => Var::try_where_cond(x(0)?, moved(1)?, moved(2)?)?,
        Op::Unfold(_, window) => moved(0)?.try_unfold(window)?,
        Op::Lookup(..) => moved(0)?.try_lookup(x(1)?)?,
        Op::Fold(_, window) => {
            let dims = y.shape();
            moved(0)?.try_fold(window, [dims.dims()[2], dims.dims()[3]])?
        }
        // Softmax's Jacobian diag(y) − y·yᵀ is symmetric: its backward rule, fed the tangent,
        // is the forward derivative.
        Op::Softmax(_, axis) => crate::rules::softmax::softmax(*axis, &y, &moved(0)?),
        Op::Custom(_) | Op::BatchNorm(_) | Op::LayerNorm(_) => {
            let xs = inputs.iter().map(|&id| value(id)).collect::<tapegrad_graph::Result<Vec<_>>>()?;
            let ts = (0..inputs.len()).map(&moved).collect::<Result<Vec<_>>>()?;
            jvp_by_transposition(y, &xs, &ts)?
        }
    })
}

/// Adds `term` to a running total that starts empty (the tangents of a node's moving inputs).
fn add_term<'g, F: Float>(total: &mut Option<Var<'g, F>>, term: Var<'g, F>) -> Result<()> {
    *total = Some(match total.take() {
        Some(sum) => sum.try_add(term)?,
        None => term,
    });
    Ok(())
}

/// The contribution of one moving operand of a binary op: its derivative rule run with the
/// tangent in place of the incoming gradient (the Jacobian of an elementwise op is diagonal).
fn binary_term<'g, F: Float>(
    k: BinaryOp,
    a: &Var<'g, F>,
    b: &Var<'g, F>,
    y: &Var<'g, F>,
    t: Var<'g, F>,
    need: [bool; 2],
    side: usize,
) -> Var<'g, F> {
    let [da, db] = k.derivative(a, b, y, &t, need);
    let term = if side == 0 { da } else { db };
    term.expect("the side asked for")
}

/// J·t through a node that has only a reverse rule: with a dummy cotangent `u`, the recorded
/// `g(u) = Jᵀ·u` is linear in `u`, so J·t = ∂⟨g(u), t⟩/∂u.
pub(crate) fn jvp_by_transposition<'g, F: Float>(
    y: Var<'g, F>,
    xs: &[Var<'g, F>],
    ts: &[Var<'g, F>],
) -> Result<Var<'g, F>> {
    let graph = y.graph();
    let u = graph.var(Tensor::try_full(y.shape(), F::ZERO)?);
    let vjps = grad_with(y, xs, u)?;
    let mut inner: Option<Var<'g, F>> = None;
    for (g, t) in vjps.iter().zip(ts) {
        add_term(&mut inner, g.try_mul(*t)?.sum())?;
    }
    match inner {
        Some(inner) => Ok(try_grad(inner, &[u])?[0]),
        None => Ok(graph.constant(Tensor::try_full(y.shape(), F::ZERO)?)),
    }
}
