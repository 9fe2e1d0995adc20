//! Derivative rule of the matrix product.

use smallvec::SmallVec;
use tapegrad_graph::{Float, Shape, TensorAlgebra};

/// (∂L/∂a, ∂L/∂b) for y = op(a)·op(b), where `op` transposes when `transposed` says so:
/// with A = op(a), B = op(b), ∂A = g·Bᵀ and ∂B = Aᵀ·g, transposed back where the operand was,
/// and broadcast batch dims summed away.
///
/// An operand broadcast along batch dims (a `Linear` weight against a batch of sequences, a
/// conv's filters against a batch of images) gets its gradient as one product whose inner
/// dimension runs over those dims too, not as a product per batch entry summed afterwards:
/// one large product instead of many small ones and a reduction. Where that would first copy
/// both operands to move the summed dims beside the contracted one (a convolution's filters,
/// whose batch of images leads), tensors instead add each product into the gradient in place
/// ([`Tensor::matmul_t_summed`](tapegrad_graph::Tensor::matmul_t_summed)).
pub fn matmul<F: Float, A: TensorAlgebra<F>>(
    a: &A,
    b: &A,
    transposed: [bool; 2],
    g: &A,
    need: [bool; 2],
) -> [Option<A>; 2] {
    if g.shape().numel() == 0 {
        // An empty product passes nothing back, and the batched products below could be far
        // larger than memory (an empty batch of huge dims against a non-empty matrix).
        return [need[0].then(|| a.map_const(|_| F::ZERO)), need[1].then(|| b.map_const(|_| F::ZERO))];
    }
    let [ta, tb] = transposed;
    // ∂A = g·Bᵀ and ∂B = Aᵀ·g as one product each, before any batch dims are summed away.
    let factor = |f: Factor| match f {
        Factor::A => a,
        Factor::B => b,
        Factor::G => g,
    };
    let [product_a, product_b] =
        gradient_products(transposed).map(|(x, tx, y, ty)| move || factor(x).matmul_t(tx, factor(y), ty));
    if a.shape().ndim() == 2 && b.shape().ndim() == 2 {
        // Two matrices (a layer's product): nothing to sum, so each gradient is its product
        // (working out the batch split and summing to the operand's own shape cost 30–100 ns
        // a call on W3's layers).
        return [need[0].then(product_a), need[1].then(product_b)];
    }
    let g_shape = g.shape();
    let batch = &g_shape.dims()[..g_shape.ndim() - 2];
    // Σ over the summed dims of op(x)ᵢ·op(y)ᵢ added in place (tensors), when joining would
    // copy: x and y must span the whole batch.
    let in_place = |fold: &Batch, x: &A, tx: bool, y: &A, ty: bool| -> Option<A> {
        let full = |v: &A| v.shape().ndim() == batch.len() + 2 && &v.shape().dims()[..batch.len()] == batch;
        (full(x) && full(y)).then(|| x.fused_summed_product(tx, y, ty, &fold.summed)).flatten()
    };
    let grad_a = || match Batch::split(&a.shape(), batch) {
        // Contract over the rows of g and of op(b) — n — and the summed dims.
        Some(fold) => {
            let summed = match (ta, tb) {
                (false, false) => in_place(&fold, g, false, b, true),
                (true, false) => in_place(&fold, b, false, g, true),
                (false, true) => in_place(&fold, g, false, b, false),
                (true, true) => in_place(&fold, b, true, g, true),
            };
            if let Some(summed) = summed {
                return summed.reshape(&a.shape());
            }
            let g = fold.join(g, Inner::Cols);
            match (ta, tb) {
                (false, false) => g.matmul_t(false, &fold.join(b, Inner::Cols), true),
                (true, false) => fold.join(b, Inner::Cols).matmul_t(false, &g, true),
                (false, true) => g.matmul_t(false, &fold.join(b, Inner::Rows), false),
                (true, true) => fold.join(b, Inner::Rows).matmul_t(true, &g, true),
            }
            .reshape(&a.shape())
        }
        None => product_a().sum_to(&a.shape()),
    };
    let grad_b = || match Batch::split(&b.shape(), batch) {
        // Contract over m and the summed dims.
        Some(fold) => {
            // (Joined to the rows, leading summed dims are a reshape: one product is best.)
            if ta || !fold.leading() {
                let summed = match (ta, tb) {
                    (false, false) => in_place(&fold, a, true, g, false),
                    (false, true) => in_place(&fold, g, true, a, false),
                    (true, false) => in_place(&fold, a, false, g, false),
                    (true, true) => in_place(&fold, g, true, a, true),
                };
                if let Some(summed) = summed {
                    return summed.reshape(&b.shape());
                }
            }
            let g = fold.join(g, Inner::Rows);
            match (ta, tb) {
                (false, false) => fold.join(a, Inner::Rows).matmul_t(true, &g, false),
                (false, true) => g.matmul_t(true, &fold.join(a, Inner::Rows), false),
                (true, false) => fold.join(a, Inner::Cols).matmul_t(false, &g, false),
                (true, true) => g.matmul_t(true, &fold.join(a, Inner::Cols), true),
            }
            .reshape(&b.shape())
        }
        None => product_b().sum_to(&b.shape()),
    };
    [need[0].then(grad_a), need[1].then(grad_b)]
}

/// A factor of an operand's gradient product: an operand of the product, or its gradient.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Factor {
    /// The left operand, `a`.
    A,
    /// The right operand, `b`.
    B,
    /// The product's gradient, `g`.
    G,
}

/// The product each operand's gradient is, for y = op(a)·op(b) — ∂A = g·Bᵀ, ∂B = Aᵀ·g,
/// transposed back where the operand was — as `(x, transpose x, y, transpose y)` for
/// `op(x)·op(y)`: `a`'s first, then `b`'s.
pub fn gradient_products([ta, tb]: [bool; 2]) -> [(Factor, bool, Factor, bool); 2] {
    [
        if ta { (Factor::B, tb, Factor::G, true) } else { (Factor::G, false, Factor::B, !tb) },
        if tb { (Factor::G, true, Factor::A, ta) } else { (Factor::A, !ta, Factor::G, false) },
    ]
}

/// Which matrix dimension the summed batch dims join.
#[derive(Clone, Copy)]
enum Inner {
    Rows,
    Cols,
}

/// The product's batch dims, split into those an operand is broadcast along (`summed`: its
/// gradient sums over them) and the rest (`kept`).
struct Batch {
    batch: SmallVec<[usize; 4]>,
    kept: SmallVec<[usize; 4]>,
    summed: SmallVec<[usize; 4]>,
}

impl Batch {
    /// The split for an operand of `shape`, or `None` when it is broadcast along no batch dim.
    fn split(shape: &Shape, batch: &[usize]) -> Option<Batch> {
        let own = &shape.dims()[..shape.ndim().max(2) - 2];
        let size = |d: usize| (d + own.len()).checked_sub(batch.len()).map_or(1, |i| own[i]);
        let (summed, kept) = (0..batch.len()).partition(|&d| size(d) == 1 && batch[d] != 1);
        let summed: SmallVec<[usize; 4]> = summed;
        (!summed.is_empty()).then(|| Batch { batch: batch.into(), kept, summed })
    }

    /// True when the summed dims lead the batch: then joining them to the rows is a reshape,
    /// not a copy, and one product over them is best.
    fn leading(&self) -> bool {
        self.summed.iter().enumerate().all(|(i, &d)| i == d)
    }

    /// `x` (an operand or g, whose summed dims all have the batch's sizes) with the summed dims
    /// moved just before its `inner` matrix dimension and merged into it: `[kept…, S·rows,
    /// cols]` or `[kept…, rows, S·cols]`.
    fn join<F: Float, A: TensorAlgebra<F>>(&self, x: &A, inner: Inner) -> A {
        let shape = x.shape();
        let nb = self.batch.len();
        let mut dims: SmallVec<[usize; 6]> = SmallVec::new();
        dims.extend(std::iter::repeat_n(1, nb + 2 - shape.ndim()));
        dims.extend_from_slice(shape.dims());
        let (rows, cols) = (nb, nb + 1);
        let mut perm: SmallVec<[usize; 6]> = self.kept.iter().copied().collect();
        match inner {
            Inner::Rows => perm.extend(self.summed.iter().copied().chain([rows, cols])),
            Inner::Cols => perm.extend(std::iter::once(rows).chain(self.summed.iter().copied()).chain([cols])),
        }
        let padded = x.reshape(&Shape::from(&dims[..]));
        let moved = if perm.iter().enumerate().all(|(i, &p)| i == p) { padded } else { padded.permute(&perm) };
        let together: usize = self.summed.iter().map(|&d| dims[d]).product();
        let mut joined: SmallVec<[usize; 6]> = self.kept.iter().map(|&d| dims[d]).collect();
        match inner {
            Inner::Rows => joined.extend([together * dims[rows], dims[cols]]),
            Inner::Cols => joined.extend([dims[rows], together * dims[cols]]),
        }
        moved.reshape(&Shape::from(&joined[..]))
    }
}
