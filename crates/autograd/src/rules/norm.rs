//! Derivative rules of batch and layer normalization.

use tapegrad_graph::{Float, SavedStats, Shape, TensorAlgebra};

/// (∂L/∂x, ∂L/∂γ, ∂L/∂β) for y = x̂·γ + β, x̂ = (x − mean)/√(var + ε) per channel (dim 1) over
/// the M elements of every other dim:
/// ∂x = γ/√(var + ε) · (g − Σg/M − x̂·Σ(g·x̂)/M), ∂γ = Σ g·x̂, ∂β = Σ g.
///
/// Tensors take the fused kernel ([`Tensor::batch_norm_grads_saved`](tapegrad_graph::Tensor::batch_norm_grads_saved)),
/// with the statistics the forward kept in `saved`; recorded values (`grad`) compose it from
/// recorded ops, so it is differentiable again.
pub fn batch_norm<F: Float, A: TensorAlgebra<F>>(
    eps: f64,
    saved: &SavedStats<F>,
    x: &A,
    weight: &A,
    g: &A,
    need: [bool; 3],
) -> [Option<A>; 3] {
    if let Some(grads) = x.fused_batch_norm_grads(weight, g, eps, need, saved) {
        return grads;
    }
    let shape = x.shape();
    let dims = shape.dims();
    let channels = dims[1];
    let axes: Vec<usize> = (0..dims.len()).filter(|&a| a != 1).collect();
    let count = dims.iter().enumerate().filter(|&(a, _)| a != 1).map(|(_, &d)| d).product::<usize>();
    let per_count = F::from_f64(1.0 / count as f64);
    let (normalized, inv_std) = standardized(x, &axes, per_count, eps);
    let sum_g = g.sum_keepdim(&axes);
    let sum_g_normalized = g.mul(&normalized).sum_keepdim(&axes);
    let channel = Shape::from(vec![channels]);
    let dx = need[0].then(|| {
        let gamma = weight.reshape(&sum_g.shape());
        g.sub(&sum_g.scale(per_count))
            .sub(&normalized.mul(&sum_g_normalized.scale(per_count)))
            .mul(&gamma.mul(&inv_std))
    });
    [dx, need[1].then(|| sum_g_normalized.reshape(&channel)), need[2].then(|| sum_g.reshape(&channel))]
}

/// (∂L/∂x, ∂L/∂γ, ∂L/∂β) for y = x̂·γ + β, x̂ = (x − mean)·r, r = 1/√(var + ε) per row of the
/// last dim (C elements), d = g·γ: ∂x = r·(d − Σd/C − x̂·Σ(d·x̂)/C), ∂γ = Σ_rows g·x̂, ∂β = Σ_rows g.
///
/// Tensors take the fused kernel ([`Tensor::layer_norm_grads_saved`](tapegrad_graph::Tensor::layer_norm_grads_saved)),
/// with the rows' statistics the forward kept in `saved`; recorded values compose it from
/// recorded ops, so it is differentiable again.
pub fn layer_norm<F: Float, A: TensorAlgebra<F>>(
    eps: f64,
    saved: &SavedStats<F>,
    x: &A,
    weight: &A,
    g: &A,
    need: [bool; 3],
) -> [Option<A>; 3] {
    if let Some(grads) = x.fused_layer_norm_grads(weight, g, eps, need, saved) {
        return grads;
    }
    let shape = x.shape();
    let last = [shape.ndim() - 1];
    let row = shape.dims()[last[0]];
    let per_row = F::from_f64(1.0 / row as f64);
    let (normalized, inv_std) = standardized(x, &last, per_row, eps);
    let channel = Shape::from(vec![row]);
    let dx = need[0].then(|| {
        let d = g.mul(weight);
        let mean_d = d.sum_keepdim(&last).scale(per_row);
        let mean_d_normalized = d.mul(&normalized).sum_keepdim(&last).scale(per_row);
        d.sub(&mean_d).sub(&normalized.mul(&mean_d_normalized)).mul(&inv_std)
    });
    [dx, need[1].then(|| g.mul(&normalized).sum_to(&channel)), need[2].then(|| g.sum_to(&channel))]
}

/// (x̂, r) with x̂ = (x − mean)·r and r = 1/√(var + ε), the mean and biased variance taken over
/// `axes` (`per_count` = 1 / their element count), composed of the algebra's ops.
fn standardized<F: Float, A: TensorAlgebra<F>>(x: &A, axes: &[usize], per_count: F, eps: f64) -> (A, A) {
    let centered = x.sub(&x.sum_keepdim(axes).scale(per_count));
    let inv_std =
        centered.mul(&centered).sum_keepdim(axes).scale(per_count).add_scalar(F::from_f64(eps)).powf(F::from_f64(-0.5));
    (centered.mul(&inv_std), inv_std)
}
