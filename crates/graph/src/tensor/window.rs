//! The sliding-window kernels: unfold (im2col) and its adjoint fold (col2im), which
//! convolutions and poolings are built on.

use super::{filled, Tensor};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::shape::Shape;
use crate::window::Window;

/// For window position `o` and tap `k` along one dim, the input index it reads, or `None` in
/// the padding.
#[inline]
fn source(o: usize, k: usize, d: usize, w: &Window, size: usize) -> Option<usize> {
    (o * w.stride[d] + k * w.dilation[d]).checked_sub(w.padding[d]).filter(|&i| i < size)
}

/// Calls `visit(column_element, image_element)` for every tap that reads the image, where an
/// unfolded `[N, C·kh·kw, oh·ow]` column tensor meets an `[N, C, H, W]` image.
fn for_each_tap(
    n: usize,
    c: usize,
    size: [usize; 2],
    w: &Window,
    out: [usize; 2],
    mut visit: impl FnMut(usize, usize),
) {
    let [h, wd] = size;
    let [oh, ow] = out;
    let [kh, kw] = w.kernel;
    let mut col = 0;
    for image in 0..n * c {
        let plane = image * h * wd;
        for ki in 0..kh {
            for kj in 0..kw {
                for oi in 0..oh {
                    let row = source(oi, ki, 0, w, h);
                    for oj in 0..ow {
                        if let (Some(i), Some(j)) = (row, source(oj, kj, 1, w, wd)) {
                            visit(col, plane + i * wd + j);
                        }
                        col += 1;
                    }
                }
            }
        }
    }
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
        let shape = Shape::from(vec![n, c * window.taps(), out[0] * out[1]]);
        let mut cols = filled("unfold", &shape, F::ZERO)?;
        let data = self.data();
        for_each_tap(n, c, size, window, out, |col, at| cols[col] = data[at]);
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
                out[0] * out[1],
                window.kernel,
                self.shape()
            ),
        };
        let [n, rows, positions] = *self.shape().dims() else { return Err(bad()) };
        if rows % window.taps() != 0 || positions != out[0] * out[1] {
            return Err(bad());
        }
        let c = rows / window.taps();
        let shape = Shape::from(vec![n, c, size[0], size[1]]);
        let mut image = filled("fold", &shape, F::ZERO)?;
        let data = self.data();
        for_each_tap(n, c, size, window, out, |col, at| image[at] += data[col]);
        Ok(Tensor::from_parts(image, shape))
    }
}
