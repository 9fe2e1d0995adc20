//! [`Tensor`]: an n-dimensional, row-major array with shared (copy-on-write) storage, and the
//! kernels that compute on it. The kernels live in one file per op family.

mod display;
mod elementwise;
mod hinge;
mod index;
mod lanes;
mod layer_norm;
mod layout;
mod matmul;
mod matrix_vector;
mod norm;
mod packed_matmul;
mod panel_matmul;
pub(crate) mod pool;
mod reduce;
mod select;
mod small_matmul;
mod softmax;
mod walk;
mod window;

pub(crate) use elementwise::ONE_PASS_FROM;
pub use index::Indices;
pub use norm::{ChannelStats, SavedStats};
pub use pool::release_pooled_buffers;

use crate::error::{Error, Result};
use crate::float::Float;
use crate::shape::Shape;
use rand::Rng;
use std::cell::UnsafeCell;
use std::mem::ManuallyDrop;
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;

/// An n-dimensional array of `F`, row-major.
///
/// Cloning a tensor is cheap: the elements are shared and copied only when one of the clones
/// is written to.
///
/// ```
/// use tapegrad_graph::Tensor;
/// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3])?;
/// assert_eq!(t.shape().dims(), &[2, 3]);
/// assert_eq!(t[[1, 0]], 4.0);
/// # Ok::<(), tapegrad_graph::Error>(())
/// ```
pub struct Tensor<F> {
    shape: Shape,
    data: ManuallyDrop<Arc<Storage<F>>>,
}

impl<F> Clone for Tensor<F> {
    fn clone(&self) -> Self {
        Tensor { shape: self.shape.clone(), data: self.data.clone() }
    }
}

/// A dropped tensor that held the only handle to its elements hands the elements to the
/// thread's pool and keeps the handle for the next tensor this thread makes, so making a tensor
/// allocates at most its elements (a small MLP's replayed step went from 114 allocations to
/// 56).
impl<F> Drop for Tensor<F> {
    fn drop(&mut self) {
        // SAFETY: `data` is taken here, in the tensor's drop, and the tensor is not used after
        // it: this is the only place `data` is moved out of its `ManuallyDrop`.
        let mut data = unsafe { ManuallyDrop::take(&mut self.data) };
        let (recycle, keep_handle) = (data.recycle, data.keep_handle);
        if let Some(elements) = only_handle(&mut data) {
            release_elements(elements, recycle);
            keep_handle(data);
        }
    }
}

/// A tensor's elements, and where they go when dropped: a buffer of 1 KiB or more to this
/// thread's [`pool`], and the handle (the `Arc` around this) too when it is unshared (the
/// functions are chosen where the element type is known to be a [`Float`]).
pub(crate) struct Storage<F> {
    /// Read through [`Storage::elements`]; written only through [`only_handle`].
    elements: UnsafeCell<Vec<F>>,
    recycle: fn(Vec<F>),
    keep_handle: fn(Arc<Storage<F>>),
}

// SAFETY: the elements are written only through `only_handle`, which needs the one handle to
// the storage borrowed mutably, so no other thread can read them meanwhile; through shared
// handles, on any thread, they are only read, as a shared `Vec` would be.
unsafe impl<F: Sync> Sync for Storage<F> {}

impl<F> Storage<F> {
    /// The elements, for reading.
    fn elements(&self) -> &Vec<F> {
        // SAFETY: a `&mut` to the elements is made only by `only_handle`, from the one handle
        // borrowed mutably; while `self` is borrowed through a handle, none exists.
        unsafe { &*self.elements.get() }
    }
}

/// The elements behind `handle`, for writing, when `handle` is their only handle: what
/// `Arc::get_mut` answers, without its compare-and-swap. Two such locked instructions, one
/// when a tensor takes a kept handle and one when it drops it, cost 10 % of a small MLP's
/// replayed step (W3r, on an Intel Xeon), where a load and a fence cost nothing.
fn only_handle<F>(handle: &mut Arc<Storage<F>>) -> Option<&mut Vec<F>> {
    if Arc::strong_count(handle) != 1 {
        return None;
    }
    // Orders every use of the elements through handles dropped on other threads (their drops
    // decrement the count with `Release`) before ours, as `Arc`'s own drop does.
    fence(Ordering::Acquire);
    // SAFETY: with a strong count of 1, `handle` is the only `Arc` to the storage, and no
    // `Weak` to a `Storage` is ever made (the type is private to this crate, which never calls
    // `Arc::downgrade`), so no other handle can appear while `handle` is borrowed mutably:
    // nothing else reads or writes the elements during the returned borrow.
    Some(unsafe { &mut *handle.elements.get() })
}

/// Hands `elements` to the pool (`recycle`) when they are large enough to keep (frees them
/// otherwise), leaving none. Checked here, so a small tensor's drop makes no call.
fn release_elements<F>(elements: &mut Vec<F>, recycle: fn(Vec<F>)) {
    let elements = std::mem::take(elements);
    if elements.capacity() * std::mem::size_of::<F>() >= pool::MIN_SMALL_POOLED_BYTES {
        recycle(elements);
    }
}

impl<F: Float> Storage<F> {
    fn new(elements: Vec<F>) -> Self {
        Storage { elements: UnsafeCell::new(elements), recycle: pool::give::<F>, keep_handle: pool::keep_handle::<F> }
    }
    /// A handle holding `elements`: one a dropped tensor left in this thread's pool when
    /// there is one.
    fn shared(elements: Vec<F>) -> Arc<Self> {
        match pool::take_handle::<F>() {
            Some(mut handle) => {
                // Only unshared handles are kept, so this is the only one.
                if let Some(empty) = only_handle(&mut handle) {
                    *empty = elements;
                    return handle;
                }
                Arc::new(Storage::new(elements))
            }
            None => Arc::new(Storage::new(elements)),
        }
    }
}

impl<F> Drop for Storage<F> {
    fn drop(&mut self) {
        release_elements(self.elements.get_mut(), self.recycle);
    }
}

impl<F: Float> Tensor<F> {
    /// A tensor of `shape` holding `data` in row-major order; the lengths must agree.
    pub fn from_vec(data: Vec<F>, shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        let expected = shape.try_numel("from_vec")?;
        if data.len() != expected {
            return Err(Error::ElementCount { op: "from_vec", expected, shape, len: data.len() });
        }
        Ok(Tensor { shape, data: ManuallyDrop::new(Storage::shared(data)) })
    }
    /// Builds a tensor whose length is known to fit its shape.
    #[inline]
    pub(crate) fn from_parts(data: Vec<F>, shape: Shape) -> Self {
        debug_assert_eq!(data.len(), shape.numel());
        Tensor { shape, data: ManuallyDrop::new(Storage::shared(data)) }
    }
    /// A 0-d tensor holding `v`.
    pub fn scalar(v: F) -> Self {
        Tensor::from_parts(vec![v], Shape::scalar())
    }
    /// A tensor of `shape` filled with `v`.
    ///
    /// # Panics
    /// When the shape's elements do not fit in memory; see [`Tensor::try_full`].
    #[track_caller]
    pub fn full(shape: impl Into<Shape>, v: F) -> Self {
        crate::error::expect_op(Tensor::try_full(shape, v))
    }
    /// A tensor of `shape` filled with `v`, or [`Error::TooLarge`] when its elements do not
    /// fit in memory.
    ///
    /// ```
    /// use tapegrad_graph::{Error, Tensor};
    /// let err = Tensor::<f32>::try_full([1 << 32, 1 << 32], 0.0).unwrap_err();
    /// assert!(matches!(err, Error::TooLarge { op: "full", .. }));
    /// ```
    pub fn try_full(shape: impl Into<Shape>, v: F) -> Result<Self> {
        let shape = shape.into();
        Ok(Tensor::from_parts(filled("full", &shape, v)?, shape))
    }
    /// A tensor of zeros.
    ///
    /// # Panics
    /// When the shape's elements do not fit in memory; see [`Tensor::try_full`].
    #[track_caller]
    pub fn zeros(shape: impl Into<Shape>) -> Self {
        Tensor::full(shape, F::ZERO)
    }
    /// A tensor of ones.
    ///
    /// # Panics
    /// When the shape's elements do not fit in memory; see [`Tensor::try_full`].
    #[track_caller]
    pub fn ones(shape: impl Into<Shape>) -> Self {
        Tensor::full(shape, F::ONE)
    }
    /// The 1-d tensor `start, start + step, …` up to but excluding `end`, like `torch.arange`:
    /// a step that points away from `end` is an error, as is a length that does not fit in
    /// memory.
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// assert_eq!(Tensor::arange(0.0, 2.0, 0.5)?.to_vec(), vec![0.0, 0.5, 1.0, 1.5]);
    /// assert!(Tensor::arange(0.0, 10.0, -1.0).is_err());
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn arange(start: F, end: F, step: F) -> Result<Self> {
        let span = (end - start).to_f64() / step.to_f64();
        let invalid = |why: &str| Error::InvalidArgument {
            op: "arange",
            message: format!("cannot step from {start} to {end} by {step}: {why}"),
        };
        if step == F::ZERO {
            return Err(invalid("the step is 0"));
        }
        if !span.is_finite() {
            return Err(invalid("the bounds and step must be finite"));
        }
        if span < 0.0 {
            return Err(invalid("the step points away from the end"));
        }
        // Below 2⁵³ the count is exact; anything larger could never be allocated anyway.
        if span.ceil() >= (1u64 << 53) as f64 {
            return Err(Error::TooLarge { op: "arange", shape: Shape::from([usize::MAX]) });
        }
        let n = span.ceil() as usize;
        let shape = Shape::from([n]);
        let mut data = buffer("arange", &shape)?;
        data.extend((0..n).map(|i| start + F::from_usize(i) * step));
        Ok(Tensor::from_parts(data, shape))
    }
    /// Elements drawn uniformly from `[low, high)` with the caller's RNG.
    pub fn uniform<R: Rng + ?Sized>(shape: impl Into<Shape>, low: F, high: F, rng: &mut R) -> Self {
        let shape = shape.into();
        let (lo, hi) = (low.to_f64(), high.to_f64());
        let mut data = crate::error::expect_op(buffer("uniform", &shape));
        data.extend((0..shape.numel()).map(|_| F::from_f64(lo + (hi - lo) * rng.random::<f64>())));
        Tensor::from_parts(data, shape)
    }
    /// Elements drawn from a normal distribution N(mean, std²) with the caller's RNG
    /// (Box–Muller).
    pub fn randn<R: Rng + ?Sized>(shape: impl Into<Shape>, mean: F, std: F, rng: &mut R) -> Self {
        let shape = shape.into();
        let mut data = crate::error::expect_op(buffer("randn", &shape));
        data.extend((0..shape.numel()).map(|_| F::from_f64(mean.to_f64() + std.to_f64() * standard_normal(rng))));
        Tensor::from_parts(data, shape)
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }
    /// The dimensions as a slice.
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }
    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.ndim()
    }
    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.data.elements().len()
    }
    /// The elements in row-major order.
    pub fn data(&self) -> &[F] {
        self.data.elements()
    }
    /// The elements, for writing; copies them first if another tensor shares them.
    pub fn data_mut(&mut self) -> &mut [F] {
        if !self.owns_storage() {
            let mut copy = reserved(self.numel());
            copy.extend_from_slice(self.data());
            // The shared handle is released (the other tensors keep it).
            drop(std::mem::replace(&mut *self.data, Storage::shared(copy)));
        }
        only_handle(&mut self.data).expect("a handle of its own").as_mut_slice()
    }
    /// The elements as a new `Vec`.
    pub fn to_vec(&self) -> Vec<F> {
        self.data.elements().clone()
    }
    /// Takes the elements out, copying only if they are shared.
    pub fn into_vec(self) -> Vec<F> {
        let mut tensor = self;
        match only_handle(&mut tensor.data) {
            Some(only) => std::mem::take(only),
            None => tensor.data.elements().clone(),
        }
    }
    /// True when no other tensor shares this one's elements (writing to them copies nothing).
    pub(crate) fn owns_storage(&mut self) -> bool {
        only_handle(&mut self.data).is_some()
    }
    /// Makes `self` equal to `value`, shape and elements: copied into `self`'s own buffer when
    /// no other tensor shares it and it holds as many elements, shared with `value` (a clone)
    /// otherwise. A slot set again and again (a compiled tape's input, set to each step's
    /// parameters) then keeps its buffer, and `value`'s holder can update it in place without
    /// a copy.
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let mut slot = Tensor::zeros([2]);
    /// let mut param = Tensor::from_vec(vec![1.0, 2.0], [2])?;
    /// slot.assign(&param);
    /// assert_eq!(slot, param);
    /// assert!(!slot.shares_storage(&param)); // copied: the slot held its own buffer
    /// param.data_mut()[0] = 5.0; // in place, and the slot keeps its value
    /// assert_eq!(slot.to_vec(), vec![1.0, 2.0]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn assign(&mut self, value: &Tensor<F>) {
        match self.overwritten_as(value.shape()) {
            Some(elements) => elements.copy_from_slice(value.data()),
            None => *self = value.clone(),
        }
    }
    /// The elements, for a kernel to overwrite with a result of `shape` (which the tensor
    /// takes), when no other tensor shares them and they are as many; `None` otherwise, and
    /// the kernel makes a new tensor. A replayed step writes into its last output this way.
    pub(crate) fn overwritten_as(&mut self, shape: &Shape) -> Option<&mut [F]> {
        let Tensor { shape: own, data } = self;
        let elements = only_handle(data)?;
        if own != shape {
            if shape.try_numel("overwrite").ok()? != elements.len() {
                return None;
            }
            own.clone_from(shape);
        }
        Some(elements.as_mut_slice())
    }
    /// True when both tensors share one buffer (no copy was made).
    pub fn shares_storage(&self, other: &Tensor<F>) -> bool {
        Arc::ptr_eq(&self.data, &other.data)
    }
    /// The single element of a one-element tensor.
    ///
    /// # Panics
    /// When the tensor has more or fewer than one element; see [`Tensor::try_item`].
    #[track_caller]
    pub fn item(&self) -> F {
        crate::error::expect_op(self.try_item())
    }
    /// The single element, or [`Error::NotScalar`].
    pub fn try_item(&self) -> Result<F> {
        if self.data.elements().len() == 1 {
            Ok(self.data.elements()[0])
        } else {
            Err(Error::NotScalar { op: "item", shape: self.shape.clone() })
        }
    }
    /// The element at a multi-index, or `None` when the index is out of range.
    pub fn get(&self, index: &[usize]) -> Option<F> {
        if index.len() != self.ndim() || index.iter().zip(self.dims()).any(|(i, d)| i >= d) {
            return None;
        }
        let offset: usize = index.iter().zip(self.shape.strides()).map(|(i, s)| i * s).sum();
        Some(self.data.elements()[offset])
    }
    /// The same elements under another shape with as many elements.
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        let expected = shape.try_numel("reshape")?;
        if expected != self.numel() {
            return Err(Error::ElementCount { op: "reshape", expected, shape, len: self.numel() });
        }
        Ok(Tensor { shape, data: self.data.clone() })
    }
    /// Converts every element to another float type.
    pub fn cast<G: Float>(&self) -> Tensor<G> {
        Tensor::from_parts(self.data.elements().iter().map(|v| G::from_f64(v.to_f64())).collect(), self.shape.clone())
    }
    /// True when shapes match and every pair of elements satisfies
    /// `|a − b| ≤ atol + rtol·|b|` (like `torch.allclose`).
    pub fn allclose(&self, other: &Tensor<F>, rtol: F, atol: F) -> bool {
        self.shape == other.shape
            && self.data().iter().zip(other.data()).all(|(&a, &b)| (a - b).abs() <= atol + rtol * b.abs())
    }
}

impl<F: Float, const N: usize> std::ops::Index<[usize; N]> for Tensor<F> {
    type Output = F;
    /// The element at a multi-index.
    ///
    /// # Panics
    /// When the index does not fit the shape.
    fn index(&self, index: [usize; N]) -> &F {
        assert!(
            N == self.ndim() && index.iter().zip(self.dims()).all(|(i, d)| i < d),
            "index {index:?} is out of range for a tensor of shape {}",
            self.shape
        );
        let offset: usize = index.iter().zip(self.shape.strides()).map(|(i, s)| i * s).sum();
        &self.data.elements()[offset]
    }
}

impl<F: Float> PartialEq for Tensor<F> {
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape && self.data() == other.data()
    }
}

/// An empty vector with room for the elements of `shape`, or [`Error::TooLarge`] naming `op`
/// when they do not fit in memory: every kernel whose output size follows from user-given
/// numbers allocates through this, so a huge request is an error, not an abort.
pub(crate) fn buffer<F: Float>(op: &'static str, shape: &Shape) -> Result<Vec<F>> {
    let n = shape.try_numel(op)?;
    if let Some(reused) = pool::take(n) {
        return Ok(reused);
    }
    let mut data = Vec::new();
    data.try_reserve_exact(n).map_err(|_| Error::TooLarge { op, shape: shape.clone() })?;
    Ok(data)
}

/// An empty vector with room for `n` elements, from this thread's pool when it has one: for
/// outputs as large as an input, which therefore fit in memory.
pub(crate) fn reserved<F: Float>(n: usize) -> Vec<F> {
    pool::take(n).unwrap_or_else(|| Vec::with_capacity(n))
}

/// `n` elements from `items`, in a buffer from this thread's pool when it has one (a plain
/// `collect` otherwise: for the many small tensors, as fast as before there was a pool).
pub(crate) fn collected<F: Float>(n: usize, items: impl Iterator<Item = F>) -> Vec<F> {
    match pool::take(n) {
        Some(mut buffer) => {
            buffer.extend(items);
            buffer
        }
        None => items.collect(),
    }
}

/// A buffer of exactly the elements of `shape`, for a kernel that overwrites every one of
/// them: a reused buffer keeps whatever its last tensor left (only growth is zeroed), so the
/// kernel's output is written once, not zeroed and then written. Allocated as [`buffer`] does.
pub(crate) fn overwritable<F: Float>(op: &'static str, shape: &Shape) -> Result<Vec<F>> {
    let n = shape.try_numel(op)?;
    let mut data = match pool::take_used(n) {
        Some(reused) => reused,
        None => buffer(op, shape)?,
    };
    if data.len() >= n {
        data.truncate(n);
    } else {
        data.resize(n, F::ZERO);
    }
    Ok(data)
}

/// The elements of `shape`, all `v`, allocated as [`buffer`] does.
pub(crate) fn filled<F: Float>(op: &'static str, shape: &Shape, v: F) -> Result<Vec<F>> {
    let mut data = buffer(op, shape)?;
    data.resize(shape.try_numel(op)?, v);
    Ok(data)
}

/// One draw from N(0, 1) by the Box–Muller transform.
pub(crate) fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}
