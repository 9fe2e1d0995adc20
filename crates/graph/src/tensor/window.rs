//! The sliding-window kernels: unfold (im2col) and its adjoint fold (col2im), which
//! convolutions and poolings are built on.

use super::{buffer, filled, Tensor};
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
    let (rows, cols) = tap_spans(size, w, out);
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

/// `first..end` per tap: the window positions where that tap reads the image.
type Spans = Vec<(usize, usize)>;

/// For each tap row ki (column kj), the window rows (columns) whose tap lands inside the
/// image: `oi·s + ki·d − p` in `0..H` (`oj·s + kj·d − p` in `0..W`), as `first..end`.
fn tap_spans(size: [usize; 2], w: &Window, out: [usize; 2]) -> (Spans, Spans) {
    let spans = |taps: usize, s: usize, d: usize, p: usize, size: usize, out: usize| -> Spans {
        (0..taps)
            .map(|k| {
                let offset = k * d;
                let first = p.saturating_sub(offset).div_ceil(s);
                let end = if size + p > offset { ((size + p - offset - 1) / s + 1).min(out) } else { 0 };
                (first, end.max(first))
            })
            .collect()
    };
    let [h, wd] = size;
    let [oh, ow] = out;
    (
        spans(w.kernel[0], w.stride[0], w.dilation[0], w.padding[0], h, oh),
        spans(w.kernel[1], w.stride[1], w.dilation[1], w.padding[1], wd, ow),
    )
}

/// True when one tap's columns are the image read in order, shifted: the window moves one
/// element at a time along a row and a whole image row from one window row to the next
/// (`stride[0]·W = ow`, `stride[1] = 1`, as for a stride-1 "same" convolution). Then a tap's
/// runs are one slice of the image, apart from the columns in the padding between them.
fn linear(size: [usize; 2], w: &Window, out: [usize; 2]) -> bool {
    !size.contains(&0) && !out.contains(&0) && w.stride[1] == 1 && w.stride[0].checked_mul(size[1]) == Some(out[1])
}

/// Unfold when [`linear`]: each tap's `oh·ow` columns are written once, in order (zeros, one
/// slice of the image, zeros), and the padding columns the slice spans are then zeroed.
fn unfold_linear<F: Float>(
    data: &[F],
    planes: usize,
    size: [usize; 2],
    w: &Window,
    out: [usize; 2],
    cols: &mut Vec<F>,
) {
    let [h, wd] = size;
    let [oh, ow] = out;
    let (row_spans, col_spans) = tap_spans(size, w, out);
    for plane in data.chunks_exact(h * wd).take(planes) {
        for (ki, &(first_row, end_row)) in row_spans.iter().enumerate() {
            for (kj, &(first, end)) in col_spans.iter().enumerate() {
                let start = cols.len();
                if first_row == end_row || first == end {
                    cols.resize(start + oh * ow, F::ZERO);
                    continue;
                }
                let (from, to) = (first_row * ow + first, (end_row - 1) * ow + end);
                let i = first_row * w.stride[0] + ki * w.dilation[0] - w.padding[0];
                let j = first + kj * w.dilation[1] - w.padding[1];
                cols.resize(start + from, F::ZERO);
                cols.extend_from_slice(&plane[i * wd + j..i * wd + j + (to - from)]);
                cols.resize(start + oh * ow, F::ZERO);
                if first > 0 || end < ow {
                    for oi in first_row..end_row - 1 {
                        cols[start + oi * ow + end..start + (oi + 1) * ow + first].fill(F::ZERO);
                    }
                }
            }
        }
    }
}

/// Fold when [`linear`]: each tap's columns add into the image as one slice, shifted, with the
/// columns in the padding between its runs masked out (to an exact 0, not multiplied by 0,
/// which would turn an infinite value into NaN).
fn fold_linear<F: Float>(data: &[F], size: [usize; 2], w: &Window, out: [usize; 2], image: &mut [F]) {
    let [h, wd] = size;
    let [oh, ow] = out;
    let (row_spans, col_spans) = tap_spans(size, w, out);
    // Per tap: its first and last-plus-one column, how far its image slice starts from it,
    // and which columns in between read the image.
    let mut taps: Vec<(usize, usize, usize, Vec<bool>)> = Vec::new();
    for (ki, &(first_row, end_row)) in row_spans.iter().enumerate() {
        for (kj, &(first, end)) in col_spans.iter().enumerate() {
            if first_row == end_row || first == end {
                taps.push((0, 0, 0, Vec::new()));
                continue;
            }
            let (from, to) = (first_row * ow + first, (end_row - 1) * ow + end);
            let i = first_row * w.stride[0] + ki * w.dilation[0] - w.padding[0];
            let j = first + kj * w.dilation[1] - w.padding[1];
            let keep = (from..to).map(|u| (first..end).contains(&(u % ow))).collect();
            taps.push((from, to, i * wd + j, keep));
        }
    }
    let per_plane = taps.len() * oh * ow;
    for (columns, plane) in data.chunks_exact(per_plane).zip(image.chunks_exact_mut(h * wd)) {
        for (t, (from, to, at, keep)) in taps.iter().enumerate() {
            let source = &columns[t * oh * ow + from..t * oh * ow + to];
            for ((sum, &v), &k) in plane[*at..*at + (to - from)].iter_mut().zip(source).zip(keep) {
                *sum += if k { v } else { F::ZERO };
            }
        }
    }
}

/// Adds `src` into `dst` (of the same length) in pieces of 8, 4, 2 and 1 elements, for the
/// short runs of small images (see [`copy_short`]).
fn add_short<F: Float>(mut dst: &mut [F], mut src: &[F]) {
    macro_rules! pieces {
        ($($size:literal),+) => {$(
            while dst.len() >= $size {
                let (head, tail) = std::mem::take(&mut dst).split_at_mut($size);
                for (d, &s) in head.iter_mut().zip(&src[..$size]) {
                    *d += s;
                }
                (dst, src) = (tail, &src[$size..]);
            }
        )+};
    }
    pieces!(8, 4, 2, 1);
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
        let data = self.data();
        if linear(size, window, out) {
            let mut cols = buffer("unfold", &shape)?;
            unfold_linear(data, n * c, size, window, out, &mut cols);
            return Ok(Tensor::from_parts(cols, shape));
        }
        let mut cols = filled("unfold", &shape, F::ZERO)?;
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
        if linear(size, window, out) {
            fold_linear(data, size, window, out, &mut image);
            return Ok(Tensor::from_parts(image, shape));
        }
        let step = window.stride[1];
        for_each_run(n, c, size, window, out, |col, at, len| {
            if step == 1 {
                add_short(&mut image[at..at + len], &data[col..col + len]);
            } else {
                for (t, &v) in data[col..col + len].iter().enumerate() {
                    image[at + t * step] += v;
                }
            }
        });
        Ok(Tensor::from_parts(image, shape))
    }
}
