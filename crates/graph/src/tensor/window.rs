//! The sliding-window kernels: unfold (im2col) and its adjoint fold (col2im), which
//! convolutions and poolings are built on.

use super::{filled, Tensor};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::shape::Shape;
use crate::window::Window;

/// Calls `visit(column, image, len)` for every run of taps that read the image, where an
/// unfolded `[N, C·kh·kw, oh·ow]` column tensor meets an `[N, C, H, W]` image: `len` columns
/// from element `column` on read the image from element `image` on, `stride[1]` apart.
/// (Taps in the padding are not visited: they read zeros.)
fn for_each_run(
    n: usize,
    c: usize,
    size: [usize; 2],
    w: &Window,
    out: [usize; 2],
    mut visit: impl FnMut(usize, usize, usize),
) {
    let [h, wd] = size;
    let [oh, ow] = out;
    let [kh, kw] = w.kernel;
    if n == 0 || c == 0 || oh == 0 || ow == 0 || h == 0 || wd == 0 {
        // No columns or no image: nothing to visit (and the other dims may be huge).
        return;
    }
    // For tap kj (ki), the window columns (rows) whose tap lands inside the image: oj·s + kj·d − p
    // in 0..W (oi·s + ki·d − p in 0..H).
    let spans = |taps: usize, s: usize, d: usize, p: usize, size: usize, out: usize| -> Vec<(usize, usize)> {
        (0..taps)
            .map(|k| {
                let offset = k * d;
                let first = p.saturating_sub(offset).div_ceil(s);
                let end = if size + p > offset { ((size + p - offset - 1) / s + 1).min(out) } else { 0 };
                (first, end.max(first))
            })
            .collect()
    };
    let rows = spans(kh, w.stride[0], w.dilation[0], w.padding[0], h, oh);
    let cols = spans(kw, w.stride[1], w.dilation[1], w.padding[1], wd, ow);
    let taps = kh * kw * oh * ow;
    for image in 0..n * c {
        let plane = image * h * wd;
        for (ki, &(first_row, end_row)) in rows.iter().enumerate() {
            for (kj, &(first, end)) in cols.iter().enumerate() {
                if end == first {
                    continue;
                }
                let tap = image * taps + (ki * kw + kj) * oh * ow;
                let j = first * w.stride[1] + kj * w.dilation[1] - w.padding[1];
                for oi in first_row..end_row {
                    let i = oi * w.stride[0] + ki * w.dilation[0] - w.padding[0];
                    visit(tap + oi * ow + first, plane + i * wd + j, end - first);
                }
            }
        }
    }
}

/// Copies `src` into `dst` (of the same length) in pieces of 8, 4, 2 and 1 elements. A small
/// image's runs are short (7 or 8 elements for 8×8 digits), and copied whole each was a call to
/// `memcpy` costing more than the copy; fixed-size pieces compile to a few moves.
fn copy_short<F: Copy>(mut dst: &mut [F], mut src: &[F]) {
    macro_rules! pieces {
        ($($size:literal),+) => {$(
            while dst.len() >= $size {
                let (head, tail) = std::mem::take(&mut dst).split_at_mut($size);
                head.copy_from_slice(&src[..$size]);
                (dst, src) = (tail, &src[$size..]);
            }
        )+};
    }
    pieces!(8, 4, 2, 1);
}

impl<F: Float> Tensor<F> {
    /// The window's patches of an `[N, C, H, W]` tensor as columns: `[N, C·kh·kw, L]`, where
    /// `L` counts window positions and row `(c·kh + i)·kw + j` holds tap `(i, j)` of channel
    /// `c` (PyTorch's `F.unfold`). Padding reads as zeros.
    ///
    /// ```
    /// use tapegrad_graph::{Tensor, Window};
    /// let x = Tensor::from_vec((1..=9).map(f64::from).collect(), [1, 1, 3, 3])?;
    /// let cols = x.unfold(&Window::new([2, 2]))?;
    /// assert_eq!(cols.shape().dims(), &[1, 4, 4]);
    /// assert_eq!(cols.to_vec()[..4], [1.0, 2.0, 4.0, 5.0]); // tap (0, 0) at each position
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn unfold(&self, window: &Window) -> Result<Tensor<F>> {
        let (n, c, size) = Window::image("unfold", self.shape())?;
        let out = window.output_size(size)?;
        let shape = window.columns("unfold", n, c, size)?;
        let mut cols = filled("unfold", &shape, F::ZERO)?;
        let data = self.data();
        let step = window.stride[1];
        for_each_run(n, c, size, window, out, |col, at, len| {
            if step == 1 {
                copy_short(&mut cols[col..col + len], &data[at..at + len]);
            } else {
                for (t, v) in cols[col..col + len].iter_mut().enumerate() {
                    *v = data[at + t * step];
                }
            }
        });
        Ok(Tensor::from_parts(cols, shape))
    }

    /// The adjoint of [`Tensor::unfold`]: columns `[N, C·kh·kw, L]` added back into an
    /// `[N, C, H, W]` image of spatial `size`, overlapping taps summed (PyTorch's `F.fold`).
    pub fn fold(&self, window: &Window, size: [usize; 2]) -> Result<Tensor<F>> {
        let out = window.output_size(size)?;
        let bad = || Error::InvalidArgument {
            op: "fold",
            message: format!(
                "expected [N, C·{}, {}] columns for a {:?} window over {size:?}, got shape {}",
                window.taps(),
                out[0].saturating_mul(out[1]),
                window.kernel,
                self.shape()
            ),
        };
        let [n, rows, positions] = *self.shape().dims() else { return Err(bad()) };
        if !rows.is_multiple_of(window.taps()) || Some(positions) != out[0].checked_mul(out[1]) {
            return Err(bad());
        }
        let c = rows / window.taps();
        let shape = Shape::from(vec![n, c, size[0], size[1]]);
        shape.try_numel("fold")?;
        let mut image = filled("fold", &shape, F::ZERO)?;
        let data = self.data();
        let step = window.stride[1];
        for_each_run(n, c, size, window, out, |col, at, len| {
            if step == 1 {
                for (sum, &v) in image[at..at + len].iter_mut().zip(&data[col..col + len]) {
                    *sum += v;
                }
            } else {
                for (t, &v) in data[col..col + len].iter().enumerate() {
                    image[at + t * step] += v;
                }
            }
        });
        Ok(Tensor::from_parts(image, shape))
    }
}
