//! The sliding-window kernels: unfold (im2col) and its adjoint fold (col2im), which
//! convolutions and poolings are built on.

use super::{filled, overwritable, Tensor};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::shape::Shape;
use crate::window::Window;

/// Calls `visit(column, pixel, len)` for every run of taps that read one image plane, where
/// its unfolded `[kh·kw, oh·ow]` columns meet its `[H, W]` pixels: `len` columns from element
/// `column` on read the plane from element `pixel` on, `stride[1]` apart. (Taps in the padding
/// are not visited: they read zeros.)
fn for_each_run(
    spans: &(Spans, Spans),
    size: [usize; 2],
    w: &Window,
    out: [usize; 2],
    mut visit: impl FnMut(usize, usize, usize),
) {
    let wd = size[1];
    let [oh, ow] = out;
    let kw = w.kernel[1];
    let (rows, cols) = spans;
    for (ki, &(first_row, end_row)) in rows.iter().enumerate() {
        for (kj, &(first, end)) in cols.iter().enumerate() {
            if end == first {
                continue;
            }
            let tap = (ki * kw + kj) * oh * ow;
            let j = first * w.stride[1] + kj * w.dilation[1] - w.padding[1];
            for oi in first_row..end_row {
                let i = oi * w.stride[0] + ki * w.dilation[0] - w.padding[0];
                visit(tap + oi * ow + first, i * wd + j, end - first);
            }
        }
    }
}

/// For each of a plane's `[kh·kw, oh·ow]` columns, the pixel it reads, or `usize::MAX` (no
/// pixel) for a tap in the padding. A window that strides along rows reads runs of single
/// pixels (a 2×2 pool over 8×8 images: 4 pixels, 2 apart); element by element through this
/// table, unfold and fold ran 3.0× and 2.9× as fast as run by run.
fn pixel_of_each_column(
    spans: &(Spans, Spans),
    size: [usize; 2],
    w: &Window,
    out: [usize; 2],
    plane_columns: usize,
) -> Vec<usize> {
    let mut sources = vec![usize::MAX; plane_columns];
    for_each_run(spans, size, w, out, |col, at, len| {
        for (t, source) in sources[col..col + len].iter_mut().enumerate() {
            *source = at + t * w.stride[1];
        }
    });
    sources
}

/// Runs `plane_work(columns, pixels)` for every image plane: the plane's `[kh·kw, oh·ow]`
/// columns and its `[H, W]` pixels, whichever of the two is written (`out`, split into whole
/// planes over threads) and the other read (`input`).
fn for_each_plane<F: Float>(
    input: &[F],
    input_plane: usize,
    out: &mut [F],
    out_plane: usize,
    plane_work: impl Fn(&[F], &mut [F]) + Sync,
) {
    if input_plane == 0 || out_plane == 0 {
        return;
    }
    crate::threads::split_pass(out, out_plane, |first, part| {
        for (i, plane_out) in part.chunks_exact_mut(out_plane).enumerate() {
            let at = (first + i) * input_plane;
            plane_work(&input[at..at + input_plane], plane_out);
        }
    });
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

/// One plane's unfold when [`linear`]: each tap's `oh·ow` columns are one slice of the image
/// between zeros, the padding columns the slice spans masked to zero. One pass over each tap's
/// columns, in pieces of fixed size: a 4×4 image's taps are 16 columns, and a call to
/// `memset` or `memcpy` per piece cost more than the copy.
fn unfold_linear<F: Float>(plane: &[F], taps: &LinearTaps, positions: usize, cols: &mut [F]) {
    for (tap, (from, to, at, keep)) in cols.chunks_exact_mut(positions).zip(taps) {
        let (head, rest) = tap.split_at_mut(*from);
        let (middle, tail) = rest.split_at_mut(to - from);
        zero_short(head);
        for ((c, &v), &k) in middle.iter_mut().zip(&plane[*at..*at + (to - from)]).zip(keep) {
            *c = if k { v } else { F::ZERO };
        }
        zero_short(tail);
    }
}

/// Where each tap of a [`linear`] window adds into a plane: its first and last-plus-one
/// column, the pixel its slice starts at, and which columns in between read the image (the
/// rest are masked to an exact 0, not multiplied by 0, which would turn an infinite value into
/// NaN).
type LinearTaps = Vec<(usize, usize, usize, Vec<bool>)>;

/// The [`LinearTaps`] of a [`linear`] window, worked out once for every plane.
fn linear_taps(spans: &(Spans, Spans), size: [usize; 2], w: &Window, out: [usize; 2]) -> LinearTaps {
    let wd = size[1];
    let ow = out[1];
    let (row_spans, col_spans) = spans;
    let mut taps = Vec::new();
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
    taps
}

/// One plane's fold when [`linear`]: each tap's columns add into the plane as one slice.
fn fold_linear<F: Float>(columns: &[F], taps: &LinearTaps, positions: usize, plane: &mut [F]) {
    for (t, (from, to, at, keep)) in taps.iter().enumerate() {
        let source = &columns[t * positions + from..t * positions + to];
        for ((sum, &v), &k) in plane[*at..*at + (to - from)].iter_mut().zip(source).zip(keep) {
            *sum += if k { v } else { F::ZERO };
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

/// Zeroes `dst` in pieces of 8, 4, 2 and 1 elements (see [`copy_short`]).
fn zero_short<F: Float>(mut dst: &mut [F]) {
    macro_rules! pieces {
        ($($size:literal),+) => {$(
            while dst.len() >= $size {
                let (head, tail) = std::mem::take(&mut dst).split_at_mut($size);
                head.fill(F::ZERO);
                dst = tail;
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
        if shape.numel() == 0 || self.numel() == 0 {
            // No columns, or only padding to read (the other dims may be huge).
            return Ok(Tensor::from_parts(filled("unfold", &shape, F::ZERO)?, shape));
        }
        let spans = tap_spans(size, window, out);
        let (plane, plane_columns) = (size[0] * size[1], window.taps() * out[0] * out[1]);
        if linear(size, window, out) {
            let taps = linear_taps(&spans, size, window, out);
            let positions = out[0] * out[1];
            let mut cols = overwritable("unfold", &shape)?;
            for_each_plane(self.data(), plane, &mut cols, plane_columns, |pixels, cols| {
                unfold_linear(pixels, &taps, positions, cols)
            });
            return Ok(Tensor::from_parts(cols, shape));
        }
        if window.stride[1] > 1 {
            let sources = pixel_of_each_column(&spans, size, window, out, plane_columns);
            let mut cols = overwritable("unfold", &shape)?;
            for_each_plane(self.data(), plane, &mut cols, plane_columns, |pixels, cols| {
                for (c, &at) in cols.iter_mut().zip(&sources) {
                    *c = pixels.get(at).copied().unwrap_or(F::ZERO);
                }
            });
            return Ok(Tensor::from_parts(cols, shape));
        }
        let mut cols = filled("unfold", &shape, F::ZERO)?;
        for_each_plane(self.data(), plane, &mut cols, plane_columns, |pixels, cols| {
            for_each_run(&spans, size, window, out, |col, at, len| {
                copy_short(&mut cols[col..col + len], &pixels[at..at + len]);
            })
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
        if image.is_empty() || self.numel() == 0 {
            // Nothing to add to, or nothing to add (the other dims may be huge).
            return Ok(Tensor::from_parts(image, shape));
        }
        let spans = tap_spans(size, window, out);
        let (plane, plane_columns) = (size[0] * size[1], window.taps() * positions);
        if linear(size, window, out) {
            let taps = linear_taps(&spans, size, window, out);
            for_each_plane(self.data(), plane_columns, &mut image, plane, |cols, pixels| {
                fold_linear(cols, &taps, positions, pixels)
            });
            return Ok(Tensor::from_parts(image, shape));
        }
        if window.stride[1] > 1 {
            let sources = pixel_of_each_column(&spans, size, window, out, plane_columns);
            for_each_plane(self.data(), plane_columns, &mut image, plane, |cols, pixels| {
                for (&v, &at) in cols.iter().zip(&sources) {
                    if let Some(sum) = pixels.get_mut(at) {
                        *sum += v;
                    }
                }
            });
            return Ok(Tensor::from_parts(image, shape));
        }
        for_each_plane(self.data(), plane_columns, &mut image, plane, |cols, pixels| {
            for_each_run(&spans, size, window, out, |col, at, len| {
                add_short(&mut pixels[at..at + len], &cols[col..col + len]);
            })
        });
        Ok(Tensor::from_parts(image, shape))
    }
}
