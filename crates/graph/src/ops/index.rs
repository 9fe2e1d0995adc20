//! Indexing ops: index_select / index_add, gather / scatter_add, where.

use crate::error::{expect_op, Result};
use crate::float::Float;
use crate::op::{IndexArgs, Op};
use crate::shape::Shape;
use crate::tensor::{Indices, Tensor};
use crate::var::{IntoVar, Var};

impl<'g, F: Float> Var<'g, F> {
    /// The index of the largest element along `axis` (that axis removed), as `torch.argmax`:
    /// positions, not values, so nothing to differentiate.
    #[track_caller]
    pub fn argmax(self, axis: isize) -> Indices {
        expect_op(self.try_argmax(axis))
    }
    /// [`Var::argmax`], or a bad-axis or empty error.
    pub fn try_argmax(self, axis: isize) -> Result<Indices> {
        self.value().argmax(axis)
    }
    /// The index of the smallest element along `axis`, as `torch.argmin`.
    #[track_caller]
    pub fn argmin(self, axis: isize) -> Indices {
        expect_op(self.try_argmin(axis))
    }
    /// [`Var::argmin`], or a bad-axis or empty error.
    pub fn try_argmin(self, axis: isize) -> Result<Indices> {
        self.value().argmin(axis)
    }
    /// The `k` largest elements along `axis`, largest first, and their positions, as
    /// `torch.topk`; the values are gathered, so gradients flow to the elements picked.
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor};
    /// let g = Graph::new();
    /// let x = g.var(Tensor::from_vec(vec![0.3, 2.0, -1.0, 0.7], [4])?);
    /// let (top, at) = x.topk(2, 0);
    /// assert_eq!((top.value().to_vec(), at.data().to_vec()), (vec![2.0, 0.7], vec![1, 3]));
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn topk(self, k: usize, axis: isize) -> (Var<'g, F>, Indices) {
        expect_op(self.try_topk(k, axis))
    }
    /// [`Var::topk`], or an error when `k` exceeds the axis or the axis is bad.
    #[track_caller]
    pub fn try_topk(self, k: usize, axis: isize) -> Result<(Var<'g, F>, Indices)> {
        let indices = self.value().topk_indices(k, axis)?;
        Ok((self.try_gather(axis, &indices)?, indices))
    }
    /// Rows of a `[count, dim]` table (`self`) at the ids held in `ids` (whole numbers, e.g.
    /// a batch of tokens), shaped `ids.shape + [dim]`: an embedding lookup that keeps the ids
    /// on the tape as an input, so an exported or replayed graph reads new ids. Only the table
    /// is differentiated.
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor};
    /// let g = Graph::new();
    /// let table = g.var(Tensor::from_vec(vec![0.0, 1.0, 10.0, 11.0, 20.0, 21.0], [3, 2])?);
    /// let ids = g.constant(Tensor::from_vec(vec![2.0, 0.0], [2])?);
    /// assert_eq!(table.lookup(ids).value().to_vec(), vec![20.0, 21.0, 0.0, 1.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn lookup(self, ids: Var<'g, F>) -> Var<'g, F> {
        expect_op(self.try_lookup(ids))
    }
    /// [`Var::lookup`], or an error naming a table that is not 2-d or an id that is not a whole
    /// number below the table's row count.
    #[track_caller]
    pub fn try_lookup(self, ids: Var<'g, F>) -> Result<Var<'g, F>> {
        self.same_graph(ids, "lookup")?;
        let (table, index) = (self.id(), ids.id());
        let count = self.shape().dims().first().copied().unwrap_or(0);
        let value = {
            let tape = self.graph().tape();
            let picked = tape.tensor_cow(index).to_ids(count)?;
            tape.tensor_cow(table).lookup(&picked)?
        };
        self.graph().record(Op::Lookup(table, index), value, self.requires_grad())
    }
    /// The slices at `indices` along `axis`.
    #[track_caller]
    pub fn index_select(self, axis: isize, indices: &Indices) -> Var<'g, F> {
        expect_op(self.try_index_select(axis, indices))
    }
    /// index_select, or a bad-axis or out-of-range error.
    #[track_caller]
    pub fn try_index_select(self, axis: isize, indices: &Indices) -> Result<Var<'g, F>> {
        let resolved = self.shape().axis("index_select", axis)?;
        let op = Op::IndexSelect(self.id(), Box::new(IndexArgs { axis: resolved, indices: indices.clone() }));
        self.record_unary(op, |t| t.index_select(axis, indices))
    }
    /// Zeros with `size` slices along `axis`, with slice `j` of `self` added at `indices[j]`.
    #[track_caller]
    pub fn index_add(self, axis: isize, indices: &Indices, size: usize) -> Var<'g, F> {
        expect_op(self.try_index_add(axis, indices, size))
    }
    /// index_add, or a bad-axis or out-of-range error.
    #[track_caller]
    pub fn try_index_add(self, axis: isize, indices: &Indices, size: usize) -> Result<Var<'g, F>> {
        let resolved = self.shape().axis("index_add", axis)?;
        let op = Op::IndexAdd(self.id(), Box::new(IndexArgs { axis: resolved, indices: indices.clone() }));
        self.record_unary(op, |t| t.index_add(axis, indices, size))
    }
    /// Picks elements along `axis` like `torch.gather`; the result has the index's shape.
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Indices, Tensor};
    /// let g = Graph::new();
    /// let logits = g.var(Tensor::from_vec(vec![0.1, 0.9, 0.8, 0.2], [2, 2])?);
    /// let picked = logits.gather(1, &Indices::new(vec![1, 0], [2, 1])?);
    /// assert_eq!(picked.value().to_vec(), vec![0.9, 0.8]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn gather(self, axis: isize, index: &Indices) -> Var<'g, F> {
        expect_op(self.try_gather(axis, index))
    }
    /// gather, or a bad-axis, shape or out-of-range error.
    #[track_caller]
    pub fn try_gather(self, axis: isize, index: &Indices) -> Result<Var<'g, F>> {
        let resolved = self.shape().axis("gather", axis)?;
        let op = Op::Gather(self.id(), Box::new(IndexArgs { axis: resolved, indices: index.clone() }));
        self.record_unary(op, |t| t.gather(axis, index))
    }
    /// Zeros of `shape` with each element of `self` added where `index` points along `axis`.
    #[track_caller]
    pub fn scatter_add(self, axis: isize, index: &Indices, shape: impl Into<Shape>) -> Var<'g, F> {
        expect_op(self.try_scatter_add(axis, index, shape))
    }
    /// scatter_add, or a bad-axis, shape or out-of-range error.
    #[track_caller]
    pub fn try_scatter_add(self, axis: isize, index: &Indices, shape: impl Into<Shape>) -> Result<Var<'g, F>> {
        let shape = shape.into();
        let resolved = shape.axis("scatter_add", axis)?;
        let op = Op::ScatterAdd(self.id(), Box::new(IndexArgs { axis: resolved, indices: index.clone() }));
        self.record_unary(op, |t| t.scatter_add(axis, index, shape))
    }
    /// `a` where `cond` is non-zero, `b` elsewhere, all broadcast; `cond` is never
    /// differentiated (build it with [`Var::gt`] and friends).
    ///
    /// ```
    /// use tapegrad_graph::{Graph, Tensor, Var};
    /// let g = Graph::new();
    /// let x = g.var(Tensor::from_vec(vec![-1.0, 2.0], [2])?);
    /// let y = Var::where_cond(x.gt(0.0), x, 0.0);
    /// assert_eq!(y.value().to_vec(), vec![0.0, 2.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    #[track_caller]
    pub fn where_cond(cond: Var<'g, F>, a: impl IntoVar<'g, F>, b: impl IntoVar<'g, F>) -> Var<'g, F> {
        expect_op(Var::try_where_cond(cond, a, b))
    }
    /// where, or a shape error.
    #[track_caller]
    pub fn try_where_cond(cond: Var<'g, F>, a: impl IntoVar<'g, F>, b: impl IntoVar<'g, F>) -> Result<Var<'g, F>> {
        let graph = cond.graph();
        let (a, b) = (a.into_var(graph), b.into_var(graph));
        cond.same_graph(a, "where")?;
        cond.same_graph(b, "where")?;
        let (c, ai, bi) = (cond.id(), a.id(), b.id());
        Var::record_with(graph, &[a, b], Op::Where(c, ai, bi), |t| {
            Tensor::where_cond(&t.tensor_cow(c), &t.tensor_cow(ai), &t.tensor_cow(bi))
        })
    }
}
