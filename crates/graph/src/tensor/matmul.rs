//! Matrix multiplication: one kernel for 2-d, batched and broadcast-batched products, backed by
//! the `gemm` crate (strided, so transposed operands are read without a copy).

use super::walk::{broadcast_strides, walk};
use super::Tensor;
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
        let mismatch = |hint: &str| Error::ShapeMismatch {
            op: "matmul",
            lhs: self.shape().clone(),
            rhs: other.shape().clone(),
            hint: hint.into(),
        };
        if self.ndim() < 2 || other.ndim() < 2 {
            return Err(mismatch("; both operands need at least two dimensions"));
        }
        let (ad, bd) = (self.dims(), other.dims());
        let (ar, ac) = (ad[ad.len() - 2], ad[ad.len() - 1]);
        let (br, bc) = (bd[bd.len() - 2], bd[bd.len() - 1]);
        let (m, k) = if transpose_self { (ac, ar) } else { (ar, ac) };
        let (k2, n) = if transpose_other { (bc, br) } else { (br, bc) };
        if k != k2 {
            return Err(mismatch(&format!("; inner dimensions {k} and {k2} differ")));
        }
        let a_batch = Shape::from(&ad[..ad.len() - 2]);
        let b_batch = Shape::from(&bd[..bd.len() - 2]);
        let batch =
            a_batch.broadcast(&b_batch, "matmul").map_err(|_| mismatch("; batch dimensions do not broadcast"))?;
        let (rsa, csa) = if transpose_self { (1, ac as isize) } else { (ac as isize, 1) };
        let (rsb, csb) = if transpose_other { (1, bc as isize) } else { (bc as isize, 1) };
        let a_strides: SmallVec<[usize; 4]> =
            broadcast_strides(a_batch.dims(), batch.dims()).iter().map(|s| s * ar * ac).collect();
        let b_strides: SmallVec<[usize; 4]> =
            broadcast_strides(b_batch.dims(), batch.dims()).iter().map(|s| s * br * bc).collect();
        let mut out = vec![F::ZERO; batch.numel() * m * n];
        if m * n > 0 && k > 0 {
            let (a, b) = (self.data(), other.data());
            let mut c_offset = 0;
            walk(batch.dims(), [&a_strides, &b_strides], |[ia, ib]| {
                let c = &mut out[c_offset..c_offset + m * n];
                if m * k * n <= SMALL_PRODUCT {
                    small_matmul(
                        (m, k, n),
                        &a[ia..],
                        (rsa as usize, csa as usize),
                        &b[ib..],
                        (rsb as usize, csb as usize),
                        c,
                    );
                } else {
                    // SAFETY: the offsets and strides stay within `a`, `b` and `c` by
                    // construction: each batch slice holds exactly the matrices described by
                    // (m, k, n) and the strides, and `c` is a separate buffer.
                    unsafe {
                        F::gemm(
                            m,
                            k,
                            n,
                            a[ia..].as_ptr(),
                            rsa,
                            csa,
                            b[ib..].as_ptr(),
                            rsb,
                            csb,
                            c.as_mut_ptr(),
                            n as isize,
                            1,
                        );
                    }
                }
                c_offset += m * n;
            });
        }
        let mut dims = batch.0;
        dims.push(m);
        dims.push(n);
        Ok(Tensor::from_parts(out, Shape(dims)))
    }
}

/// Products up to this many multiply-adds use [`small_matmul`]: for them the GEMM's packing
/// and dispatch cost more than the arithmetic.
const SMALL_PRODUCT: usize = 16 * 1024;

/// `c = a·b` by plain loops over strided `a` (m×k) and `b` (k×n) into row-major `c`.
fn small_matmul<F: Float>(
    (m, k, n): (usize, usize, usize),
    a: &[F],
    (rsa, csa): (usize, usize),
    b: &[F],
    (rsb, csb): (usize, usize),
    c: &mut [F],
) {
    for i in 0..m {
        let row = &mut c[i * n..(i + 1) * n];
        for p in 0..k {
            let aip = a[i * rsa + p * csa];
            for (j, out) in row.iter_mut().enumerate() {
                *out += aip * b[p * rsb + j * csb];
            }
        }
    }
}
