//! Reused buffers for tensors.
//!
//! A training step frees its intermediates, then the next step allocates the same sizes again.
//! Given large blocks back, the C allocator returns them to the kernel (glibc unmaps blocks over
//! its mmap threshold and trims the top of its heap), so every step paid page faults to zero
//! fresh pages: a third of the conv net's step (W8) was the kernel's. So a dropped tensor's
//! buffer of at least [`MIN_POOLED_BYTES`] is kept here, per thread and element type, up to
//! [`MAX_POOLED_BYTES`] in all, and handed out again to a kernel asking for a buffer of about
//! its size. [`release_pooled_buffers`] frees them.
//!
//! Smaller buffers from [`MIN_SMALL_POOLED_BYTES`] on (a batch of 100 rows of 16) are kept too,
//! by exact capacity: a step asks for the same few sizes over and over, and for these glibc's
//! `malloc` and `free` go through its bins and consolidation (the allocator was 12 % of W3's
//! profile, part of it the GEMM's own packing buffers).
//!
//! Every tensor also allocates its handle (the `Arc` its clones share). A dropped tensor that
//! held the only one leaves it here, emptied, up to [`MAX_HANDLES`], for the next tensor.

use super::Storage;
use crate::float::Float;
use std::mem::size_of;
use std::sync::Arc;

/// Buffers from this size on are kept for any request of about their size.
pub const MIN_POOLED_BYTES: usize = 32 << 10;
/// The most a thread keeps of those, per element type.
pub const MAX_POOLED_BYTES: usize = 256 << 20;
/// At most this many buffers are kept, so finding one stays a short scan.
const MAX_POOLED_BUFFERS: usize = 256;
/// Buffers from this size up to [`MIN_POOLED_BYTES`] are kept for requests of their exact
/// capacity; below it the allocator's per-thread cache is as fast as a pool.
pub const MIN_SMALL_POOLED_BYTES: usize = 1 << 10;
/// The most a thread keeps of the small buffers, per element type.
const MAX_SMALL_POOLED_BYTES: usize = 4 << 20;
/// Distinct capacities of small buffers kept at once.
const SMALL_CAPACITIES: usize = 32;
/// Small buffers kept of one capacity.
const SMALL_BUFFERS_PER_CAPACITY: usize = 64;

/// One thread's free buffers of one element type.
pub struct Pool<F> {
    free: Vec<Vec<F>>,
    bytes: usize,
    /// Small buffers by capacity: (capacity, buffers of exactly that capacity).
    small: Vec<(usize, Vec<Vec<F>>)>,
    small_bytes: usize,
    /// Handles of dropped tensors, unshared and without elements.
    handles: Vec<Arc<Storage<F>>>,
}

impl<F> Pool<F> {
    pub(crate) const fn new() -> Self {
        Pool { free: Vec::new(), bytes: 0, small: Vec::new(), small_bytes: 0, handles: Vec::new() }
    }

    /// A small free buffer of capacity `n`, with the elements its last tensor left in it.
    fn take_small(&mut self, n: usize) -> Option<Vec<F>> {
        let (_, buffers) = self.small.iter_mut().find(|(capacity, _)| *capacity == n)?;
        let buffer = buffers.pop()?;
        self.small_bytes -= n * size_of::<F>();
        Some(buffer)
    }

    /// Keeps the small `buffer` if there is room for it.
    fn keep_small(&mut self, buffer: Vec<F>) {
        let (capacity, bytes) = (buffer.capacity(), buffer.capacity() * size_of::<F>());
        if self.small_bytes + bytes > MAX_SMALL_POOLED_BYTES {
            return;
        }
        // A capacity not seen yet takes a new entry, or one whose buffers are all handed out,
        // so the sizes kept follow the program's when its shapes change.
        let entry = self.small.iter().position(|(c, _)| *c == capacity).or_else(|| {
            let unused = self.small.iter().position(|(_, buffers)| buffers.is_empty());
            if unused.is_none() && self.small.len() < SMALL_CAPACITIES {
                self.small.push((capacity, Vec::new()));
                return Some(self.small.len() - 1);
            }
            unused.inspect(|&i| self.small[i].0 = capacity)
        });
        let Some(i) = entry else { return };
        let buffers = &mut self.small[i].1;
        if buffers.len() < SMALL_BUFFERS_PER_CAPACITY {
            self.small_bytes += bytes;
            buffers.push(buffer);
        }
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
    let bytes = n.saturating_mul(size_of::<F>());
    if bytes < MIN_SMALL_POOLED_BYTES {
        None
    } else if bytes < MIN_POOLED_BYTES {
        F::with_pool(|pool| pool.take_small(n)).flatten()
    } else {
        F::with_pool(|pool| pool.take(n)).flatten()
    }
}

/// The most handles a thread keeps, per element type.
const MAX_HANDLES: usize = 256;

/// An unshared, empty handle a dropped tensor left, if this thread's pool has one.
pub(super) fn take_handle<F: Float>() -> Option<Arc<Storage<F>>> {
    F::with_pool(|pool| pool.handles.pop()).flatten()
}

/// Keeps a dropped tensor's unshared, emptied `handle` if there is room (frees it otherwise).
pub(super) fn keep_handle<F: Float>(handle: Arc<Storage<F>>) {
    debug_assert!(Arc::strong_count(&handle) == 1 && Arc::weak_count(&handle) == 0);
    F::with_pool(|pool| {
        if pool.handles.len() < MAX_HANDLES {
            pool.handles.push(handle);
        }
    });
}

/// Hands `buffer` to this thread's pool when it is large enough to be worth keeping.
pub(crate) fn give<F: Float>(buffer: Vec<F>) {
    let bytes = buffer.capacity() * size_of::<F>();
    // A thread that is exiting has no pool: the buffer is freed as it drops here.
    if bytes >= MIN_POOLED_BYTES {
        F::with_pool(|pool| pool.keep(buffer));
    } else if bytes >= MIN_SMALL_POOLED_BYTES {
        F::with_pool(|pool| pool.keep_small(buffer));
    }
}

/// Frees the buffers this thread keeps for reuse (of both element types), and returns how
/// many bytes of elements that was (the kept handles of dropped tensors go too).
///
/// Tensor buffers of 32 KiB and more are kept when dropped, up to 256 MiB per thread and
/// element type, so the next training step reuses them instead of asking the kernel for
/// zeroed pages again; buffers from 1 KiB to 32 KiB are kept too, up to 4 MiB. A program that
/// is done with its tensors can give the memory back.
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
            pool.small.clear();
            pool.handles.clear();
            std::mem::take(&mut pool.bytes) + std::mem::take(&mut pool.small_bytes)
        })
        .unwrap_or(0)
    }
    release::<f32>() + release::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_buffers_come_back_for_their_exact_capacity_within_the_limits() {
        release_pooled_buffers();
        let n = 1600; // 6.4 KiB of f32: a batch of 100 rows of 16
        let kept = Vec::<f32>::with_capacity(n);
        let address = kept.as_ptr();
        give(kept);
        assert!(take::<f32>(n - 1).is_none(), "only the exact capacity is handed out");
        let again = take::<f32>(n).expect("the kept buffer");
        assert_eq!((again.as_ptr(), again.capacity(), again.len()), (address, n, 0));
        assert!(take::<f32>(n).is_none(), "handed out once");

        // Below the small threshold nothing is kept.
        give(Vec::<f32>::with_capacity(100));
        assert_eq!(release_pooled_buffers(), 0);

        // At most SMALL_BUFFERS_PER_CAPACITY of one capacity.
        let bytes = |capacity: usize| capacity * size_of::<f32>();
        (0..SMALL_BUFFERS_PER_CAPACITY + 5).for_each(|_| give(Vec::<f32>::with_capacity(n)));
        assert_eq!(release_pooled_buffers(), SMALL_BUFFERS_PER_CAPACITY * bytes(n));

        // At most SMALL_CAPACITIES capacities at once; a capacity whose buffers were all handed
        // out makes room for a new one.
        let capacities = || (0..SMALL_CAPACITIES + 5).map(|c| 300 + c);
        capacities().for_each(|c| give(Vec::<f32>::with_capacity(c)));
        assert!(take::<f32>(300).is_some());
        give(Vec::<f32>::with_capacity(2000));
        assert!(take::<f32>(2000).is_some(), "a new size took the emptied entry");
        let kept = capacities().take(SMALL_CAPACITIES).skip(1).map(bytes).sum::<usize>();
        assert_eq!(release_pooled_buffers(), kept);

        // At most MAX_SMALL_POOLED_BYTES in all.
        let large = MIN_POOLED_BYTES / size_of::<f32>() - 1;
        for c in 0..4 {
            (0..SMALL_BUFFERS_PER_CAPACITY).for_each(|_| give(Vec::<f32>::with_capacity(large - c)));
        }
        let kept = release_pooled_buffers();
        assert!(kept <= MAX_SMALL_POOLED_BYTES && kept > MAX_SMALL_POOLED_BYTES - bytes(large), "{kept} bytes kept");
    }

    #[test]
    fn an_unshared_tensor_leaves_its_handle_for_the_next_and_a_shared_one_keeps_it() {
        use crate::tensor::Tensor;
        fn kept<F: Float>() -> usize {
            F::with_pool(|pool| pool.handles.len()).expect("this thread's pool")
        }
        let handles = kept::<f32>;
        release_pooled_buffers();
        let a = Tensor::<f32>::from_vec(vec![1.0, 2.0], [2]).unwrap();
        let handle = Arc::as_ptr(&a.data);
        let shared = a.clone();
        drop(a);
        assert_eq!(handles(), 0, "a clone still holds the handle");
        assert_eq!(shared.to_vec(), vec![1.0, 2.0]);
        let other = Tensor::<f32>::scalar(3.0);
        assert_ne!(Arc::as_ptr(&other.data), handle);

        drop(shared);
        assert_eq!(handles(), 1);
        let next = Tensor::<f32>::from_vec(vec![4.0, 5.0, 6.0], [3]).unwrap();
        assert_eq!(Arc::as_ptr(&next.data), handle, "the kept handle holds the next tensor's elements");
        assert_eq!((next.to_vec(), other.item()), (vec![4.0, 5.0, 6.0], 3.0));

        // Writing to one of two clones copies the elements into a handle of its own.
        let mut written = next.clone();
        written.data_mut()[0] = -1.0;
        assert_eq!((next.to_vec(), written.to_vec()), (vec![4.0, 5.0, 6.0], vec![-1.0, 5.0, 6.0]));

        // Taking the elements out of an unshared tensor keeps its handle too.
        drop(next);
        assert_eq!(written.into_vec(), vec![-1.0, 5.0, 6.0]);
        assert_eq!(handles(), 2);

        // At most MAX_HANDLES are kept; releasing the pool frees them.
        drop((0..MAX_HANDLES + 10).map(|i| Tensor::<f32>::scalar(i as f32)).collect::<Vec<_>>());
        assert_eq!(handles(), MAX_HANDLES);
        release_pooled_buffers();
        assert_eq!(handles(), 0);
    }
}
