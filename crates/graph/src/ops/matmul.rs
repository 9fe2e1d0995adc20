//! Matrix products.

use crate::error::{expect_op, Error, Result};
use crate::float::Float;
use crate::op::Op;
use crate::var::Var;

impl<'g, F: Float> Var<'g, F> {
    /// The matrix product with NumPy's rules: 2-d × 2-d, batched with broadcast leading dims,
    /// and matrix × vector / vector × matrix (a 1-d operand's dimension is dropped).
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor};
    /// let g = Graph::new();
    /// let a = g.var(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3])?);
    /// let b = g.constant(Tensor::ones([3, 1]));
    /// assert_eq!(a.matmul(b).value().to_vec(), vec![6.0, 15.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn matmul(self, rhs: Var<'g, F>) -> Var<'g, F> {
        expect_op(self.try_matmul(rhs))
    }

    /// The matrix product, or a shape error naming both shapes.
    #[track_caller]
    pub fn try_matmul(self, rhs: Var<'g, F>) -> Result<Var<'g, F>> {
        self.same_graph(rhs, "matmul")?;
        let (ls, rs) = (self.shape(), rhs.shape());
        if ls.ndim() == 0 || rs.ndim() == 0 {
            return Err(Error::ShapeMismatch {
                op: "matmul",
                lhs: ls,
                rhs: rs,
                hint: "; both operands need at least one dimension".into(),
            });
        }
        let a = if ls.ndim() == 1 { self.try_reshape([1, ls.numel()])? } else { self };
        let b = if rs.ndim() == 1 { rhs.try_reshape([rs.numel(), 1])? } else { rhs };
        let product = a.try_matmul_t(false, b, false).map_err(|e| match e {
            Error::ShapeMismatch { hint, .. } => {
                Error::ShapeMismatch { op: "matmul", lhs: ls.clone(), rhs: rs.clone(), hint }
            }
            other => other,
        })?;
        if ls.ndim() > 1 && rs.ndim() > 1 {
            return Ok(product);
        }
        let mut dims = product.shape().0;
        if rs.ndim() == 1 {
            dims.pop();
        }
        if ls.ndim() == 1 {
            let m_axis = dims.len() - if rs.ndim() == 1 { 1 } else { 2 };
            dims.remove(m_axis);
        }
        product.try_reshape(crate::shape::Shape(dims))
    }

    /// `op(self)·op(rhs)` for operands of at least 2 dims, where `op` transposes the last two
    /// dims when its flag is set — one recorded op, without copying a transpose (a linear layer
    /// is `x.matmul_t(false, w, true)` for a `[out, in]` weight).
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.constant(Tensor::from_vec(vec![1.0, 2.0], [1, 2])?);
    /// let w = g.var(Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], [3, 2])?);
    /// assert_eq!(x.matmul_t(false, w, true).value().to_vec(), vec![1.0, 2.0, 3.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn matmul_t(self, transpose_self: bool, rhs: Var<'g, F>, transpose_rhs: bool) -> Var<'g, F> {
        expect_op(self.try_matmul_t(transpose_self, rhs, transpose_rhs))
    }

    /// [`Var::matmul_t`], or a shape error.
    #[track_caller]
    pub fn try_matmul_t(self, transpose_self: bool, rhs: Var<'g, F>, transpose_rhs: bool) -> Result<Var<'g, F>> {
        self.same_graph(rhs, "matmul")?;
        let (a, b) = (self.id(), rhs.id());
        Var::record_with(self.graph(), &[self, rhs], Op::Matmul(a, b, [transpose_self, transpose_rhs]), |t| {
            t.tensor_cow(a).matmul_t(transpose_self, &t.tensor_cow(b), transpose_rhs)
        })
    }
}
