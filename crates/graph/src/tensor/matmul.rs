//! Matrix multiplication: one kernel for 2-d, batched and broadcast-batched products, on strided
//! operands (transposed ones are read without a copy). `f32` products run, where the CPU has
//! AVX2 and FMA, on the panel kernel of `panel_matmul` (small ones, and narrow ones on one
//! thread) or the packed GEMM of `packed_matmul` (AVX-512 where the CPU has it too); the rest
//! on register blocks (`small_matmul`) or the `gemm` crate.

use super::packed_matmul::packed_matmul_block;
use super::panel_matmul::{panel_matmul, PANEL_COLUMNS, PANEL_DEPTH, PANEL_PRODUCT};
use super::small_matmul::{small_matmul, Store, Strided, SMALL_PRODUCT};
use super::walk::{broadcast_strides, walk};
use super::{filled, overwritable, Tensor};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::shape::Shape;
use smallvec::SmallVec;

impl<F: Float> Tensor<F> {
    /// The matrix product with NumPy's rules: 2-d × 2-d, batched (leading dimensions
    /// broadcast), and a 1-d operand treated as a vector (its dimension is dropped from the
    /// result).
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 2])?;
    /// let v = Tensor::from_vec(vec![1.0, 1.0], [2])?;
    /// assert_eq!(a.matmul(&v)?.to_vec(), vec![3.0, 7.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn matmul(&self, other: &Tensor<F>) -> Result<Tensor<F>> {
        if self.ndim() == 0 || other.ndim() == 0 {
            return Err(Error::ShapeMismatch {
                op: "matmul",
                lhs: self.shape().clone(),
                rhs: other.shape().clone(),
                hint: "; both operands need at least one dimension".into(),
            });
        }
        let a = if self.ndim() == 1 { self.reshape([1, self.numel()])? } else { self.clone() };
        let b = if other.ndim() == 1 { other.reshape([other.numel(), 1])? } else { other.clone() };
        let out = a.matmul_t(false, &b, false)?;
        let mut dims: SmallVec<[usize; 4]> = SmallVec::from_slice(out.dims());
        if other.ndim() == 1 {
            dims.remove(dims.len() - 1);
        }
        if self.ndim() == 1 {
            let m_axis = dims.len() - if other.ndim() == 1 { 1 } else { 2 };
            dims.remove(m_axis);
        }
        out.reshape(Shape(dims))
    }

    /// `op(self) · op(other)` for operands of at least 2 dimensions, where `op` transposes the
    /// last two dimensions when its flag is set. Leading (batch) dimensions broadcast.
    pub fn matmul_t(&self, transpose_self: bool, other: &Tensor<F>, transpose_other: bool) -> Result<Tensor<F>> {
        let dims = ProductDims::of(self, transpose_self, other, transpose_other)?;
        let ProductDims { m, k, n, a: (rsa, csa), b: (rsb, csb) } = dims;
        let (ad, bd) = (self.dims(), other.dims());
        let (ar, ac, br, bc) = (ad[ad.len() - 2], ad[ad.len() - 1], bd[bd.len() - 2], bd[bd.len() - 1]);
        if ad.len() == 2 && bd.len() == 2 {
            // Two matrices: no batch to broadcast or walk (for a small product, that walk cost
            // more than the arithmetic).
            let out_shape = Shape::from([m, n]);
            let mut out = overwritable("matmul", &out_shape)?;
            dims.write(self, other, &mut out);
            return Ok(Tensor::from_parts(out, out_shape));
        }
        let mismatch = |hint: &str| shape_mismatch(self, other, hint);
        let a_batch = Shape::from(&ad[..ad.len() - 2]);
        let b_batch = Shape::from(&bd[..bd.len() - 2]);
        let batch =
            a_batch.broadcast(&b_batch, "matmul").map_err(|_| mismatch("; batch dimensions do not broadcast"))?;
        // Saturating: only an operand with no elements can overflow here, and then no
        // product is computed.
        let a_strides: SmallVec<[usize; 4]> = broadcast_strides(a_batch.dims(), batch.dims())
            .iter()
            .map(|s| s.saturating_mul(ar).saturating_mul(ac))
            .collect();
        let b_strides: SmallVec<[usize; 4]> = broadcast_strides(b_batch.dims(), batch.dims())
            .iter()
            .map(|s| s.saturating_mul(br).saturating_mul(bc))
            .collect();
        let mut dims = batch.0.clone();
        dims.push(m);
        dims.push(n);
        let out_shape = Shape(dims);
        let total = out_shape.try_numel("matmul")?;
        if total == 0 || k == 0 || self.numel() == 0 || other.numel() == 0 {
            return Ok(Tensor::from_parts(filled("matmul", &out_shape, F::ZERO)?, out_shape));
        }
        let (a, b) = (self.data(), other.data());
        let mut starts: SmallVec<[(usize, usize); 4]> = SmallVec::new();
        walk(batch.dims(), [&a_strides, &b_strides], |[ia, ib]| starts.push((ia, ib)));
        // A batch against one matrix (a `Linear` over sequences): the batch's entries are
        // consecutive rows of `self`, so the whole batch is one product of m·batch rows.
        let one_matrix = b_strides.iter().all(|&s| s == 0) && a_batch == batch;
        let m = if one_matrix && !transpose_self && starts.len() > 1 {
            starts.truncate(1);
            m * batch.numel()
        } else {
            m
        };
        let work = m.saturating_mul(k).saturating_mul(n);
        let threads =
            [crate::threads::threads_for(work.saturating_mul(starts.len())), crate::threads::threads_for(work)];
        // Every product overwrites its block, so the buffer is not zeroed first (that was 4 %
        // of W8's step).
        let mut out = overwritable("matmul", &out_shape)?;
        each_product(&starts, &mut out, m * n, threads, |(ia, ib), c, threads| {
            product((m, k, n), &a[ia..], (rsa, csa), &b[ib..], (rsb, csb), c, threads)
        });
        Ok(Tensor::from_parts(out, out_shape))
    }

    /// As [`Tensor::matmul_t`], over `out`'s elements where it may overwrite them (no other
    /// tensor shares them, and they are as many as the product's) and both operands are
    /// matrices; into a new tensor otherwise. A compiled replay writes its products over the
    /// last replay's this way.
    pub fn matmul_t_to(
        &self,
        transpose_self: bool,
        other: &Tensor<F>,
        transpose_other: bool,
        out: &mut Tensor<F>,
    ) -> Result<()> {
        if self.ndim() == 2 && other.ndim() == 2 {
            let dims = ProductDims::of(self, transpose_self, other, transpose_other)?;
            if let Some(elements) = out.overwritten_as(&Shape::from([dims.m, dims.n])) {
                dims.write(self, other, elements);
                return Ok(());
            }
        }
        *out = self.matmul_t(transpose_self, other, transpose_other)?;
        Ok(())
    }

    /// `out += op(self)·op(other)` in place for two matrices, where `out` has the product's
    /// shape, shares its elements with no other tensor, and the product is one its kernels sum
    /// in registers (small and narrow ones: a layer's weight gradient over a batch): each
    /// element of the product is summed whole and then added, so `out` gets the bits of
    /// `out + self.matmul_t(…)` without the product's tensor. `Ok(false)`, `out` untouched,
    /// where it cannot (the caller adds a product instead).
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2])?;
    /// let g = Tensor::from_vec(vec![1.0f32, 0.0, 0.0, 1.0], [2, 2])?;
    /// let mut grad = Tensor::from_vec(vec![0.5f32; 4], [2, 2])?;
    /// assert!(x.matmul_t_add_to(true, &g, false, &mut grad)?); // grad += xᵀ·g
    /// assert_eq!(grad.to_vec(), vec![1.5, 3.5, 2.5, 4.5]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn matmul_t_add_to(
        &self,
        transpose_self: bool,
        other: &Tensor<F>,
        transpose_other: bool,
        out: &mut Tensor<F>,
    ) -> Result<bool> {
        if self.ndim() != 2 || other.ndim() != 2 {
            return Ok(false);
        }
        let ProductDims { m, k, n, a, b } = ProductDims::of(self, transpose_self, other, transpose_other)?;
        // (A product with no inner dimension is zeros: the kernels take none, the caller adds.)
        if out.dims() != [m, n] || k == 0 {
            return Ok(false);
        }
        let Some(c) = out.overwritten_as(&Shape::from([m, n])) else { return Ok(false) };
        let threads = crate::threads::threads_for(m.saturating_mul(k).saturating_mul(n));
        Ok(product_in_registers((m, k, n), self.data(), a, other.data(), b, c, threads, Store::Add))
    }

    /// `Σ op(self)ᵢ · op(other)ᵢ` over the batch dims listed in `summed` (sorted), for operands
    /// with the same batch dims: `[other batch dims…, m, n]`. The gradient of a matrix
    /// broadcast along batch dims (a convolution's filters against a batch of images) is such a
    /// sum; each product is added into the result in place, where one product over the summed
    /// dims joined to the inner one would first copy both operands into that order.
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 1, 2])?; // two 1×2 rows
    /// let b = Tensor::from_vec(vec![1.0, 1.0, 1.0, 1.0], [2, 1, 2])?;
    /// // a₀ᵀ·b₀ + a₁ᵀ·b₁: the 2×2 sum of two outer products
    /// let s = a.matmul_t_summed(true, &b, false, &[0])?;
    /// assert_eq!(s.to_vec(), vec![4.0, 4.0, 6.0, 6.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn matmul_t_summed(
        &self,
        transpose_self: bool,
        other: &Tensor<F>,
        transpose_other: bool,
        summed: &[usize],
    ) -> Result<Tensor<F>> {
        let mismatch = |hint: &str| shape_mismatch(self, other, hint);
        let (ad, bd) = (self.dims(), other.dims());
        if ad.len() < 2 || ad.len() != bd.len() || ad[..ad.len() - 2] != bd[..bd.len() - 2] {
            return Err(mismatch("; a summed product needs operands with the same batch dimensions"));
        }
        let nb = ad.len() - 2;
        if summed.windows(2).any(|w| w[0] >= w[1]) || summed.iter().any(|&d| d >= nb) {
            return Err(mismatch(&format!("; summed dims {summed:?} are not sorted batch dims")));
        }
        let (ar, ac) = (ad[nb], ad[nb + 1]);
        let (br, bc) = (bd[nb], bd[nb + 1]);
        let (m, k) = if transpose_self { (ac, ar) } else { (ar, ac) };
        let (k2, n) = if transpose_other { (bc, br) } else { (br, bc) };
        if k != k2 {
            return Err(mismatch(&format!("; inner dimensions {k} and {k2} differ")));
        }
        if m < n && m.saturating_mul(k).saturating_mul(n) > SMALL_PRODUCT {
            // Each product adds into the whole result, so the result's rows should be the
            // longer side: Σ op(b)ᵢᵀ·op(a)ᵢᵀ, transposed once at the end, ran 15–30 % faster
            // through the GEMM on a conv's filter gradients (32×64·64×144, 64×16·16×288).
            let product = other.matmul_t_summed(!transpose_other, self, !transpose_self, summed)?;
            let last = product.ndim() - 1;
            let mut perm: SmallVec<[usize; 4]> = (0..=last).collect();
            perm.swap(last - 1, last);
            return product.permute(&perm);
        }
        let batch = &ad[..nb];
        let kept: SmallVec<[usize; 4]> = (0..nb).filter(|d| !summed.contains(d)).collect();
        let mut dims: SmallVec<[usize; 4]> = kept.iter().map(|&d| batch[d]).collect();
        dims.extend([m, n]);
        let out_shape = Shape(dims);
        let total = out_shape.try_numel("matmul")?;
        if total == 0 || k == 0 || self.numel() == 0 {
            return Ok(Tensor::from_parts(filled("matmul", &out_shape, F::ZERO)?, out_shape));
        }
        // Offsets of each batch entry in either operand (the same batch shape in both).
        let strides = Shape::from(batch).strides();
        let pick = |ds: &[usize], size: usize| -> (SmallVec<[usize; 4]>, SmallVec<[usize; 4]>) {
            (ds.iter().map(|&d| batch[d]).collect(), ds.iter().map(|&d| strides[d] * size).collect())
        };
        let (kept_dims, kept_a) = pick(&kept, ar * ac);
        let (_, kept_b) = pick(&kept, br * bc);
        let (summed_dims, summed_a) = pick(summed, ar * ac);
        let (_, summed_b) = pick(summed, br * bc);
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        walk(&summed_dims, [&summed_a, &summed_b], |[ia, ib]| pairs.push((ia, ib)));
        let mut kept_starts: Vec<(usize, usize)> = Vec::new();
        walk(&kept_dims, [&kept_a, &kept_b], |[ka, kb]| kept_starts.push((ka, kb)));
        let (rsa, csa) = if transpose_self { (1, ac as isize) } else { (ac as isize, 1) };
        let (rsb, csb) = if transpose_other { (1, bc as isize) } else { (bc as isize, 1) };
        let (a, b) = (self.data(), other.data());
        let work = m.saturating_mul(k).saturating_mul(n);
        if work <= SMALL_PRODUCT {
            // Not zeroed: the first product overwrites each block (there is one, as no
            // operand is empty), the rest add to it.
            let mut out = overwritable("matmul", &out_shape)?;
            for (&(ka, kb), c) in kept_starts.iter().zip(out.chunks_mut(m * n)) {
                for (i, &(ia, ib)) in pairs.iter().enumerate() {
                    let a = Strided { data: &a[ka + ia..], rows: rsa as usize, cols: csa as usize };
                    let b = Strided { data: &b[kb + ib..], rows: rsb as usize, cols: csb as usize };
                    small_matmul((m, k, n), a, b, c, if i == 0 { Store::Overwrite } else { Store::Add });
                }
            }
            return Ok(Tensor::from_parts(out, out_shape));
        }
        let mut out = overwritable("matmul", &out_shape)?;
        let threads = crate::threads::threads_for(work.saturating_mul(pairs.len()));
        for (&(ka, kb), c) in kept_starts.iter().zip(out.chunks_mut(m * n)) {
            summed_large_matmul((m, k, n), &a[ka..], (rsa, csa), &b[kb..], (rsb, csb), &pairs, c, threads);
        }
        Ok(Tensor::from_parts(out, out_shape))
    }
}

/// Runs `product(start, block, threads)` for each product of a batch, each writing its own
/// `size`-element block of `out`: with several threads and at least as many products, each
/// thread takes whole products (splitting small products costs more in waking threads than it
/// saves); otherwise the products run in turn, each split over `threads_each`.
fn each_product<T: Send>(
    starts: &[(usize, usize)],
    out: &mut [T],
    size: usize,
    [threads, threads_each]: [usize; 2],
    product: impl Fn((usize, usize), &mut [T], usize) + Sync,
) {
    if starts.len() >= threads && threads > 1 {
        let per_thread = starts.len().div_ceil(threads);
        let parts = starts.chunks(per_thread).zip(out.chunks_mut(per_thread * size));
        crate::threads::for_each_part(parts, |(starts, block)| {
            for (&start, c) in starts.iter().zip(block.chunks_mut(size)) {
                product(start, c, 1);
            }
        });
    } else {
        for (&start, c) in starts.iter().zip(out.chunks_mut(size)) {
            product(start, c, threads_each);
        }
    }
}

/// The error for operands `a` and `b` that do not multiply, `hint` saying why.
fn shape_mismatch<F: Float>(a: &Tensor<F>, b: &Tensor<F>, hint: &str) -> Error {
    Error::ShapeMismatch { op: "matmul", lhs: a.shape().clone(), rhs: b.shape().clone(), hint: hint.into() }
}

/// The sizes of a product `op(a)·op(b)` (`m×k` times `k×n`) and the row and column strides
/// at which its matrices read `a` and `b`.
#[derive(Clone, Copy)]
struct ProductDims {
    m: usize,
    k: usize,
    n: usize,
    a: (isize, isize),
    b: (isize, isize),
}

impl ProductDims {
    /// The product's sizes, or the error when the operands do not multiply.
    fn of<F: Float>(a: &Tensor<F>, transpose_a: bool, b: &Tensor<F>, transpose_b: bool) -> Result<Self> {
        let mismatch = |hint: &str| shape_mismatch(a, b, hint);
        if a.ndim() < 2 || b.ndim() < 2 {
            return Err(mismatch("; both operands need at least two dimensions"));
        }
        let (ad, bd) = (a.dims(), b.dims());
        let (ar, ac) = (ad[ad.len() - 2], ad[ad.len() - 1]);
        let (br, bc) = (bd[bd.len() - 2], bd[bd.len() - 1]);
        let (m, k) = if transpose_a { (ac, ar) } else { (ar, ac) };
        let (k2, n) = if transpose_b { (bc, br) } else { (br, bc) };
        if k != k2 {
            return Err(mismatch(&format!("; inner dimensions {k} and {k2} differ")));
        }
        let a = if transpose_a { (1, ac as isize) } else { (ac as isize, 1) };
        let b = if transpose_b { (1, bc as isize) } else { (bc as isize, 1) };
        Ok(ProductDims { m, k, n, a, b })
    }

    /// Writes the product of the matrices `a` and `b` over all of `out` (`m·n` elements).
    fn write<F: Float>(self, a: &Tensor<F>, b: &Tensor<F>, out: &mut [F]) {
        let ProductDims { m, k, n, .. } = self;
        if out.is_empty() {
            return;
        }
        if k == 0 {
            out.fill(F::ZERO);
        } else {
            let threads = crate::threads::threads_for(m.saturating_mul(k).saturating_mul(n));
            product((m, k, n), a.data(), self.a, b.data(), self.b, out, threads);
        }
    }
}

/// `c = a·b` (overwritten) for `a` and `b` read at the given (row, column) strides: up to
/// [`PANEL_PRODUCT`] multiply-adds on the panel kernel where it runs (`f32`, whole groups of 8
/// columns, AVX2 and FMA), and larger products on one thread there too when `b` is a narrow,
/// shallow matrix of contiguous rows ([`PANEL_COLUMNS`]); else in register blocks on one
/// thread when the product is small, otherwise through a GEMM ([`summed_large_matmul`]) with
/// the rows of `c` split over up to `threads` threads (each part a serial GEMM: one split, no
/// nested scheduling).
fn product<F: Float>(
    (m, k, n): (usize, usize, usize),
    a: &[F],
    (rsa, csa): (isize, isize),
    b: &[F],
    (rsb, csb): (isize, isize),
    c: &mut [F],
    threads: usize,
) {
    if !product_in_registers((m, k, n), a, (rsa, csa), b, (rsb, csb), c, threads, Store::Overwrite) {
        summed_large_matmul((m, k, n), a, (rsa, csa), b, (rsb, csb), &[(0, 0)], c, threads);
    }
}

/// [`product`]'s choice of the kernels that sum each element of `c` whole in registers before
/// storing it or adding it to `c` (`store`): the panel kernel, or the register blocks of a
/// small product; `false`, with `c` untouched, for a product [`product`] gives the GEMM.
#[allow(clippy::too_many_arguments)]
fn product_in_registers<F: Float>(
    (m, k, n): (usize, usize, usize),
    a: &[F],
    (rsa, csa): (isize, isize),
    b: &[F],
    (rsb, csb): (isize, isize),
    c: &mut [F],
    threads: usize,
    store: Store,
) -> bool {
    let work = m.saturating_mul(k).saturating_mul(n);
    let (sa, sb) = (
        Strided { data: a, rows: rsa as usize, cols: csa as usize },
        Strided { data: b, rows: rsb as usize, cols: csb as usize },
    );
    let panel_suits = work <= PANEL_PRODUCT || (threads == 1 && csb == 1 && k <= PANEL_DEPTH && n <= PANEL_COLUMNS);
    if panel_suits && panel_matmul((m, k, n), sa, sb, c, store) {
        return true;
    }
    if work <= SMALL_PRODUCT {
        small_matmul((m, k, n), sa, sb, c, store);
        return true;
    }
    false
}

/// `c = Σᵢ aᵢ·bᵢ` through a GEMM (the packed AVX2 one for `f32` where the CPU has AVX2 and
/// FMA, which runs the products as one whose inner dimension is theirs one after another;
/// else the `gemm` crate's, each product added into `c` in place), where product i reads `a`
/// from element `pairs[i].0` on and `b` from `pairs[i].1` on. On up to `threads` threads,
/// each thread runs every product on its own part of `c`: a block of columns when `c` is at
/// least [`COLUMN_SPLIT_FROM`] wide (each thread then copies only its columns of `b` into
/// the GEMM's panels), else a block of rows.
#[allow(clippy::too_many_arguments)]
fn summed_large_matmul<F: Float>(
    (m, k, n): (usize, usize, usize),
    a: &[F],
    (rsa, csa): (isize, isize),
    b: &[F],
    (rsb, csb): (isize, isize),
    pairs: &[(usize, usize)],
    c: &mut [F],
    threads: usize,
) {
    assert!(
        c.len() == m * n
            && pairs.iter().all(|&(ia, ib)| {
                ia <= a.len()
                    && ib <= b.len()
                    && fits(a.len() - ia, m, k, rsa, csa)
                    && fits(b.len() - ib, k, n, rsb, csb)
            }),
        "matmul: operands of {} and {} elements do not hold {} products of a {m}×{k} and a {k}×{n} matrix",
        a.len(),
        b.len(),
        pairs.len()
    );
    // The strides are non-negative (`fits` said so above).
    let (rsa, csa, rsb, csb) = (rsa as usize, csa as usize, rsb as usize, csb as usize);
    // Rows `rows` and columns `columns` of every product, summed into the block of `c` at
    // `corner`, whose rows are `n` apart. Each call below passes a `corner` inside `c` whose
    // block no other part touches while it runs: all of `c`, a part's rows, or its columns.
    let run = |rows: std::ops::Range<usize>, columns: std::ops::Range<usize>, corner: *mut F| {
        let dims = (rows.len(), k, columns.len());
        let terms: SmallVec<[_; 2]> = pairs
            .iter()
            .map(|&(ia, ib)| {
                (
                    Strided { data: &a[ia + rows.start * rsa..], rows: rsa, cols: csa },
                    Strided { data: &b[ib + columns.start * csb..], rows: rsb, cols: csb },
                )
            })
            .collect();
        // SAFETY: `corner` points to this block of `c` (`dims.0` rows of `dims.2` elements,
        // `n` apart), which no other part touches (the calls below).
        if unsafe { packed_matmul_block(dims, &terms, corner, n, Store::Overwrite) } {
            return;
        }
        for (i, &(a_rows, b_columns)) in terms.iter().enumerate() {
            // SAFETY: the assertion above proves that, from `ia`, `m × k` at strides (rsa, csa)
            // lies inside `a` and, from `ib`, `k × n` at (rsb, csb) inside `b`, of which this
            // block reads rows `rows` of `a` and columns `columns` of `b`; `corner` is as above
            // (the first product overwrites the block, later ones add to what it wrote).
            unsafe {
                F::gemm(
                    dims.0,
                    k,
                    dims.2,
                    a_rows.data.as_ptr(),
                    rsa as isize,
                    csa as isize,
                    b_columns.data.as_ptr(),
                    rsb as isize,
                    csb as isize,
                    corner,
                    n as isize,
                    1,
                    i > 0,
                );
            }
        }
    };
    // Column parts are at least half of `COLUMN_SPLIT_FROM` wide, row parts at least 16 rows.
    let by_columns = n >= COLUMN_SPLIT_FROM;
    let parts = threads.min(if by_columns { n / (COLUMN_SPLIT_FROM / 2) } else { m.div_ceil(16) }).max(1);
    if parts == 1 {
        run(0..m, 0..n, c.as_mut_ptr());
    } else if by_columns {
        // Whole panels of 16 columns per part, but for the last.
        let per_part = n.div_ceil(parts).next_multiple_of(16);
        let c = SharedBlocks(c.as_mut_ptr());
        crate::threads::for_each_part((0..n).step_by(per_part), |first| {
            let columns = first..(first + per_part).min(n);
            // SAFETY: `first` < `n`, so the block's corner lies inside `c` (`m × n` elements,
            // asserted above); the parts' column ranges are disjoint, and `c` stays borrowed
            // (`&mut`) until every part is done, so no one else touches it meanwhile.
            run(0..m, columns, unsafe { c.at(first) })
        });
    } else {
        let per_part = m.div_ceil(parts);
        crate::threads::for_each_part(c.chunks_mut(per_part * n).enumerate(), |(part, block)| {
            let first = part * per_part;
            run(first..first + block.len() / n, 0..n, block.as_mut_ptr())
        });
    }
}

/// Products at least this many columns wide are split over threads by columns: each thread
/// copies only its own columns of `b`, where a split by rows copies all of `b` on every
/// thread. Narrower products split by rows, so each part keeps whole panels.
/// Under Miri, a small width lets small products take the split.
const COLUMN_SPLIT_FROM: usize = if cfg!(miri) { 32 } else { 128 };

/// `c`'s elements, written by threads that each take their own columns of it.
struct SharedBlocks<F>(*mut F);

impl<F> SharedBlocks<F> {
    /// The element `offset` elements on. A method, so a closure that calls it captures the
    /// whole `SharedBlocks` (which is `Sync`), not its raw pointer field (which is not).
    ///
    /// # Safety
    /// It lies inside `c`.
    unsafe fn at(&self, offset: usize) -> *mut F {
        // SAFETY: forwarded from the caller's contract.
        unsafe { self.0.add(offset) }
    }
}

// SAFETY: the pointer is only used to write disjoint blocks of one `&mut` borrow of `F`s,
// which may be sent to other threads.
unsafe impl<F: Send> Send for SharedBlocks<F> {}
// SAFETY: as for `Send`: parts share the pointer, never an element.
unsafe impl<F: Send> Sync for SharedBlocks<F> {}

/// True when a `rows × cols` matrix at row and column strides `rs`, `cs` (non-negative) lies
/// inside a buffer of `len` elements.
fn fits(len: usize, rows: usize, cols: usize, rs: isize, cs: isize) -> bool {
    if rows == 0 || cols == 0 {
        return true;
    }
    let (Ok(rs), Ok(cs)) = (usize::try_from(rs), usize::try_from(cs)) else { return false };
    let last = (rows - 1).checked_mul(rs).zip((cols - 1).checked_mul(cs)).and_then(|(r, c)| r.checked_add(c));
    last.is_some_and(|last| last < len)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two products summed (the second operands stored transposed), on one thread and split
    /// over two, against the definition: small whole numbers and halves, so every sum is exact.
    fn split_products_match_the_definition<F: Float>(shapes: &[(usize, usize, usize)]) {
        for &(m, k, n) in shapes {
            let a: Vec<F> = (0..2 * m * k).map(|i| F::from_f64((i % 7) as f64 - 3.0)).collect();
            let b: Vec<F> = (0..2 * k * n).map(|i| F::from_f64((i % 5) as f64 * 0.5)).collect();
            let pairs = [(0, 0), (m * k, k * n)];
            let want: Vec<F> = (0..m * n)
                .map(|e| {
                    let (i, j) = (e / n, e % n);
                    let terms =
                        pairs.iter().flat_map(|&(ia, ib)| (0..k).map(move |p| (ia + i * k + p, ib + j * k + p)));
                    terms.fold(F::ZERO, |s, (x, y)| s + a[x] * b[y])
                })
                .collect();
            for threads in [1, 2] {
                let mut c = vec![F::from_f64(7.0); m * n];
                let (rsb, csb) = (1, k as isize);
                summed_large_matmul((m, k, n), &a, (k as isize, 1), &b, (rsb, csb), &pairs, &mut c, threads);
                assert!(c == want, "{m}×{k}×{n} on {threads} threads");
            }
        }
    }

    #[test]
    fn products_split_over_threads_by_columns_or_by_rows_match_the_definition() {
        // Split by columns (the last part narrower), and by rows.
        let shapes: &[(usize, usize, usize)] =
            if cfg!(miri) { &[(5, 3, 40), (20, 2, 8)] } else { &[(7, 30, 150), (40, 20, 24), (3, 600, 256)] };
        split_products_match_the_definition::<f32>(shapes);
        // Under Miri compiled for AVX2 (to run the packed GEMM), the `gemm` crate's `f64`
        // dispatch fails (it unwraps a kernel Miri's feature detection does not offer); the
        // plain Miri run covers the `f64` path.
        if !(cfg!(miri) && cfg!(target_feature = "avx2")) {
            split_products_match_the_definition::<f64>(shapes);
        }
    }

    #[test]
    fn narrow_shallow_products_beyond_the_panel_size_match_the_definition_on_one_thread() {
        // Past PANEL_PRODUCT, with `b` of contiguous rows at most PANEL_COLUMNS wide and
        // PANEL_DEPTH deep (the panel kernel on one thread, where it runs), and just outside
        // those bounds (the GEMM): small whole numbers and halves, so every sum is exact.
        let shapes = [
            (64, 288, 16),
            (300, 144, 64),
            (20, PANEL_DEPTH, PANEL_COLUMNS),
            (20, PANEL_DEPTH + 1, 64),
            (40, 100, PANEL_COLUMNS + 8),
        ];
        for (m, k, n) in shapes {
            assert!(m * k * n > PANEL_PRODUCT, "{m}×{k}×{n} is past the panel size");
            let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 - 3.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.5).collect();
            let want: Vec<f32> =
                (0..m * n).map(|e| (0..k).fold(0.0, |s, p| s + a[e / n * k + p] * b[p * n + e % n])).collect();
            for threads in [1, 2] {
                let mut c = vec![7.0f32; m * n];
                product((m, k, n), &a, (k as isize, 1), &b, (n as isize, 1), &mut c, threads);
                assert!(c == want, "{m}×{k}×{n} on {threads} threads");
            }
        }
    }
}
