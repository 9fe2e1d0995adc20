//! Reused buffers for large tensors.
//!
//! A training step frees its intermediates, then the next step allocates the same sizes again.
//! Given large blocks back, the C allocator returns them to the kernel (glibc unmaps blocks over
//! its mmap threshold and trims the top of its heap), so every step paid page faults to zero
//! fresh pages: a third of the conv net's step (W8) was the kernel's. So a dropped tensor's buffer of at least [`MIN_POOLED_BYTES`] is kept here, per
//! thread and element type, up to [`MAX_POOLED_BYTES`] in all, and handed out again to a kernel
//! asking for a buffer of about its size. [`release_pooled_buffers`] frees them.

use crate::float::Float;
use std::mem::size_of;

/// Buffers smaller than this go straight back to the allocator, which reuses small blocks well.
pub const MIN_POOLED_BYTES: usize = 32 << 10;
/// The most a thread keeps, per element type.
pub const MAX_POOLED_BYTES: usize = 256 << 20;
/// At most this many buffers are kept, so finding one stays a short scan.
const MAX_POOLED_BUFFERS: usize = 256;

/// One thread's free buffers of one element type.
pub struct Pool<F> {
    free: Vec<Vec<F>>,
    bytes: usize,
}

impl<F> Pool<F> {
    pub(crate) const fn new() -> Self {
        Pool { free: Vec::new(), bytes: 0 }
    }

    /// The smallest free buffer with room for `n` elements and at most twice that, with the
    /// elements its last tensor left in it.
    fn take(&mut self, n: usize) -> Option<Vec<F>> {
        let fits = |v: &Vec<F>| v.capacity() >= n && v.capacity() / 2 <= n;
        let (i, _) = self.free.iter().enumerate().filter(|(_, v)| fits(v)).min_by_key(|(_, v)| v.capacity())?;
        let buffer = self.free.swap_remove(i);
        self.bytes -= buffer.capacity() * size_of::<F>();
        Some(buffer)
    }

    /// Keeps `buffer` if there is room for it.
    fn keep(&mut self, buffer: Vec<F>) {
        let bytes = buffer.capacity() * size_of::<F>();
        if self.free.len() < MAX_POOLED_BUFFERS && self.bytes + bytes <= MAX_POOLED_BYTES {
            self.bytes += bytes;
            self.free.push(buffer);
        }
    }
}

/// An empty buffer with room for `n` elements from this thread's pool, if one is there.
pub(crate) fn take<F: Float>(n: usize) -> Option<Vec<F>> {
    let mut buffer = take_used(n)?;
    buffer.clear();
    Some(buffer)
}

/// A buffer with room for `n` elements from this thread's pool, if one is there, still holding
/// what its last tensor left in it.
pub(crate) fn take_used<F: Float>(n: usize) -> Option<Vec<F>> {
    if n.saturating_mul(size_of::<F>()) < MIN_POOLED_BYTES {
        return None;
    }
    F::with_pool(|pool| pool.take(n)).flatten()
}

/// Hands `buffer` to this thread's pool when it is large enough to be worth keeping.
pub(crate) fn give<F: Float>(buffer: Vec<F>) {
    if buffer.capacity() * size_of::<F>() >= MIN_POOLED_BYTES {
        // A thread that is exiting has no pool: the buffer is freed as it drops here.
        F::with_pool(|pool| pool.keep(buffer));
    }
}

/// Frees the buffers this thread keeps for reuse (of both element types), and returns how
/// many bytes that was.
///
/// Tensor buffers of 32 KiB and more are kept when dropped, up to 256 MiB per thread and
/// element type, so the next training step reuses them instead of asking the kernel for
/// zeroed pages again. A program that is done with large tensors can give the memory back.
///
/// ```
/// use tapegrad_graph::{release_pooled_buffers, Tensor};
/// drop(Tensor::<f32>::zeros([256, 256])); // 256 KiB: kept for reuse
/// assert!(release_pooled_buffers() >= 256 * 256 * 4);
/// assert_eq!(release_pooled_buffers(), 0);
/// ```
pub fn release_pooled_buffers() -> usize {
    fn release<F: Float>() -> usize {
        F::with_pool(|pool| {
            pool.free.clear();
            std::mem::take(&mut pool.bytes)
        })
        .unwrap_or(0)
    }
    release::<f32>() + release::<f64>()
}
