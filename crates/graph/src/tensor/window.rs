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
/// between zeros, with the padding columns the slice spans zeroed after it.
fn unfold_linear<F: Float>(
    plane: &[F],
    spans: &(Spans, Spans),
    size: [usize; 2],
    w: &Window,
    out: [usize; 2],
    cols: &mut [F],
) {
    let wd = size[1];
    let [oh, ow] = out;
    let (row_spans, col_spans) = spans;
    let mut taps = cols.chunks_exact_mut(oh * ow);
    for (ki, &(first_row, end_row)) in row_spans.iter().enumerate() {
        for (kj, &(first, end)) in col_spans.iter().enumerate() {
            let Some(tap) = taps.next() else { return };
            if first_row == end_row || first == end {
                tap.fill(F::ZERO);
                continue;
            }
            let (from, to) = (first_row * ow + first, (end_row - 1) * ow + end);
            let i = first_row * w.stride[0] + ki * w.dilation[0] - w.padding[0];
            let j = first + kj * w.dilation[1] - w.padding[1];
            tap[..from].fill(F::ZERO);
            tap[from..to].copy_from_slice(&plane[i * wd + j..i * wd + j + (to - from)]);
            tap[to..].fill(F::ZERO);
            if first > 0 || end < ow {
                for oi in first_row..end_row - 1 {
                    tap[oi * ow + end..(oi + 1) * ow + first].fill(F::ZERO);
                }
            }
        }
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
            let mut cols = overwritable("unfold", &shape)?;
            for_each_plane(self.data(), plane, &mut cols, plane_columns, |pixels, cols| {
                unfold_linear(pixels, &spans, size, window, out, cols)
            });
            return Ok(Tensor::from_parts(cols, shape));
        }
        let mut cols = filled("unfold", &shape, F::ZERO)?;
        let step = window.stride[1];
        for_each_plane(self.data(), plane, &mut cols, plane_columns, |pixels, cols| {
            for_each_run(&spans, size, window, out, |col, at, len| {
                if step == 1 {
                    copy_short(&mut cols[col..col + len], &pixels[at..at + len]);
                } else {
                    for (t, v) in cols[col..col + len].iter_mut().enumerate() {
                        *v = pixels[at + t * step];
                    }
                }
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
        let step = window.stride[1];
        for_each_plane(self.data(), plane_columns, &mut image, plane, |cols, pixels| {
            for_each_run(&spans, size, window, out, |col, at, len| {
                if step == 1 {
                    add_short(&mut pixels[at..at + len], &cols[col..col + len]);
                } else {
                    for (t, &v) in cols[col..col + len].iter().enumerate() {
                        pixels[at + t * step] += v;
                    }
                }
            })
        });
        Ok(Tensor::from_parts(image, shape))
    }
}
