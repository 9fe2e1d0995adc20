//! The sliding-window kernels: unfold (im2col) and its adjoint fold (col2im), which
//! convolutions and poolings are built on.

use super::{filled, overwritable, Tensor};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::shape::Shape;
use crate::simd::{run_widest, Loop};
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
/// (`stride[0]·W = ow`, `stride[1] = 1`, as for a stride-1 "same" convolution). Then column
/// `u` of tap `t` reads pixel `u + shift[t]`, where it reads the image at all.
fn linear(size: [usize; 2], w: &Window, out: [usize; 2]) -> bool {
    !size.contains(&0) && !out.contains(&0) && w.stride[1] == 1 && w.stride[0].checked_mul(size[1]) == Some(out[1])
}

/// A [`linear`] window's taps as shifts of one plane, worked out once for every plane: tap
/// `t`'s `oh·ow` columns are the plane shifted by `shift[t]`, its columns in the padding (and
/// those that would wrap into the next image row) masked to an exact 0, not multiplied by 0,
/// which would turn an infinite value into NaN. Unfold and fold then run over whole taps and
/// whole planes, branch-free and in full vectors, reading a plane's neighbours where a shift
/// reaches past it (and masking what they read), and a copy between zeros at the tensor's
/// ends. As slices of each tap masked where they met the padding, an 8×8 image's 144 taps
/// took 2.6 µs: a 4×4 image's short slices ran element by element, and fold added the slices
/// of successive taps, one element apart, into the plane, reloading sums just stored.
struct Shifts {
    /// Tap by tap, from a column to the pixel it reads.
    shift: Vec<isize>,
    /// Tap by tap, whether column `u` reads the image (`positions` each).
    reads: Vec<bool>,
    positions: usize,
    plane: usize,
}

impl Shifts {
    fn of(size: [usize; 2], w: &Window, out: [usize; 2]) -> Shifts {
        let [h, wd] = size;
        let [oh, ow] = out;
        let (positions, plane) = (oh * ow, h * wd);
        let (mut shift, mut reads) = (Vec::new(), Vec::new());
        for ki in 0..w.kernel[0] {
            for kj in 0..w.kernel[1] {
                let row = (ki * w.dilation[0]) as isize - w.padding[0] as isize;
                let col = (kj * w.dilation[1]) as isize - w.padding[1] as isize;
                shift.push(row * wd as isize + col);
                for oi in 0..oh {
                    let y = (oi * w.stride[0]) as isize + row;
                    let inside =
                        |oj: usize| (0..h as isize).contains(&y) && (0..wd as isize).contains(&(oj as isize + col));
                    reads.extend((0..ow).map(inside));
                }
            }
        }
        Shifts { shift, reads, positions, plane }
    }

    /// Fold's view of [`Shifts::reads`]: tap by tap, whether pixel `q` takes column
    /// `q − shift` (`plane` each).
    fn takes(&self) -> Vec<bool> {
        let (positions, plane) = (self.positions, self.plane);
        let mut takes = vec![false; self.shift.len() * plane];
        let taps = takes.chunks_exact_mut(plane).zip(&self.shift).zip(self.reads.chunks_exact(positions));
        for ((takes, &s), reads) in taps {
            for (q, take) in takes.iter_mut().enumerate() {
                let u = q as isize - s;
                *take = (0..positions as isize).contains(&u) && reads[u as usize];
            }
        }
        takes
    }

    /// Where unfold reads, from a plane's first element: `shift[t] + u` for `u < positions`.
    fn unfold_reach(&self) -> Reach {
        let (low, high) = (self.shift.iter().min(), self.shift.iter().max());
        Reach { low: low.copied().unwrap_or(0), high: high.map_or(0, |&s| s + self.positions as isize) }
    }

    /// Where fold reads, from a plane's first column: `t·positions − shift[t] + q` for
    /// `q < plane`.
    fn fold_reach(&self) -> Reach {
        let starts = self.shift.iter().enumerate().map(|(t, &s)| (t * self.positions) as isize - s);
        let (low, high) = (starts.clone().min(), starts.max());
        Reach { low: low.unwrap_or(0), high: high.map_or(0, |s| s + self.plane as isize) }
    }
}

/// The elements a plane's work reads, `low..high` from the plane's first (its own, and where a
/// shift reaches past them, its neighbours').
#[derive(Clone, Copy)]
struct Reach {
    low: isize,
    high: isize,
}

impl Reach {
    /// Whether the reach of the plane at `at` stays inside `len` elements.
    fn inside(self, len: usize, at: usize) -> bool {
        at as isize + self.low >= 0 && at as isize + self.high <= len as isize
    }

    /// Elements of a copy of a plane of `own` elements between zeros that covers the reach.
    fn copy_len(self, own: usize) -> usize {
        (self.high.max(own as isize) - self.low.min(0)) as usize
    }

    /// Copies the plane `own` into `copy` (of [`Reach::copy_len`] elements, zero wherever no
    /// plane was copied), where its reach falls inside; returns where its first element went.
    fn copy_into<F: Float>(self, own: &[F], copy: &mut [F]) -> usize {
        let base = (-self.low.min(0)) as usize;
        copy[base..base + own.len()].copy_from_slice(own);
        base
    }
}

/// One plane's unfold through [`Shifts`]: each tap's columns read from the plane at `base` in
/// `source`, shifted.
struct UnfoldShifted<'a, F> {
    shifts: &'a Shifts,
    source: &'a [F],
    base: usize,
    cols: &'a mut [F],
}

impl<F: Float> Loop for UnfoldShifted<'_, F> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let UnfoldShifted { shifts, source, base, cols } = self;
        let n = shifts.positions;
        for ((tap, reads), &shift) in cols.chunks_exact_mut(n).zip(shifts.reads.chunks_exact(n)).zip(&shifts.shift) {
            let from = (base as isize + shift) as usize;
            masked_copy(tap, &source[from..from + n], reads);
        }
    }
}

/// Pixels [`FoldShifted`] sums in registers at once, over all the taps.
const FOLD_LANES: usize = 16;

/// One plane's fold through [`Shifts`]: every pixel takes its column of each tap, or 0, taps in
/// order, read from the plane's columns at `base` in `source`; [`FOLD_LANES`] pixels at a time
/// summed in registers over the taps.
struct FoldShifted<'a, F> {
    shifts: &'a Shifts,
    /// [`Shifts::takes`].
    takes: &'a [bool],
    source: &'a [F],
    base: usize,
    plane: &'a mut [F],
}

impl<F: Float> Loop for FoldShifted<'_, F> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        let FoldShifted { shifts, takes: all_takes, source, base, plane } = self;
        let (n, p) = (shifts.positions, shifts.plane);
        let start = |t: usize| (base as isize + (t * n) as isize - shifts.shift[t]) as usize;
        let mut chunks = plane[..p].chunks_exact_mut(FOLD_LANES);
        for (c, pixels) in (&mut chunks).enumerate() {
            let q = c * FOLD_LANES;
            let mut sums = [F::ZERO; FOLD_LANES];
            for (t, takes) in all_takes.chunks_exact(p).enumerate() {
                let from = start(t) + q;
                let (values, takes) = (&source[from..from + FOLD_LANES], &takes[q..q + FOLD_LANES]);
                for l in 0..FOLD_LANES {
                    let value = values[l];
                    sums[l] += if takes[l] { value } else { F::ZERO };
                }
            }
            pixels.copy_from_slice(&sums);
        }
        let q = p - chunks.into_remainder().len();
        for (t, takes) in all_takes.chunks_exact(p).enumerate() {
            let from = start(t) + q;
            masked_add(&mut plane[q..p], &source[from..from + (p - q)], &takes[q..]);
        }
    }
}

/// `out[k] = values[k]` where `keep[k]`, else 0 (each as long as `out`). A function of its own
/// so its slices are known apart: the compiler vectorizes it.
#[inline(always)]
fn masked_copy<F: Float>(out: &mut [F], values: &[F], keep: &[bool]) {
    let (values, keep) = (&values[..out.len()], &keep[..out.len()]);
    for k in 0..out.len() {
        let value = values[k];
        out[k] = if keep[k] { value } else { F::ZERO };
    }
}

/// `sums[k] += values[k]` where `keep[k]`, else `+= 0` (each as long as `sums`), as
/// [`masked_copy`].
#[inline(always)]
fn masked_add<F: Float>(sums: &mut [F], values: &[F], keep: &[bool]) {
    let (values, keep) = (&values[..sums.len()], &keep[..sums.len()]);
    for k in 0..sums.len() {
        let value = values[k];
        sums[k] += if keep[k] { value } else { F::ZERO };
    }
}

/// [`for_each_plane`] for work that reads past its plane (`reach`): `plane_work(source, base,
/// out)` with the plane at `base` in `source` — the input itself, or for a plane whose reach
/// leaves it (at the tensor's ends), a copy between zeros.
fn for_each_reaching_plane<F: Float>(
    op: &'static str,
    (input, input_plane): (&[F], usize),
    (out, out_plane): (&mut [F], usize),
    reach: Reach,
    plane_work: impl Fn(&[F], usize, &mut [F]) + Sync,
) -> Result<()> {
    if input_plane == 0 || out_plane == 0 {
        return Ok(());
    }
    let zeros = filled(op, &Shape::from([reach.copy_len(input_plane)]), F::ZERO)?;
    crate::threads::split_pass(out, out_plane, |first, part| {
        let mut copy = Vec::new();
        for (i, plane_out) in part.chunks_exact_mut(out_plane).enumerate() {
            let at = (first + i) * input_plane;
            if reach.inside(input.len(), at) {
                plane_work(input, at, plane_out);
            } else {
                if copy.is_empty() {
                    copy = zeros.clone();
                }
                let base = reach.copy_into(&input[at..at + input_plane], &mut copy);
                plane_work(&copy, base, plane_out);
            }
        }
    });
    Ok(())
}

/// Adds `src` into `dst` (of the same length) in pieces of 8, 4, 2 and 1 elements, for the
/// short runs of small images (see [`copy_short`]).
#[inline(always)]
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
#[inline(always)]
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
        let (plane, plane_columns) = (size[0] * size[1], window.taps() * out[0] * out[1]);
        if linear(size, window, out) {
            let shifts = Shifts::of(size, window, out);
            let mut cols = overwritable("unfold", &shape)?;
            let reach = shifts.unfold_reach();
            for_each_reaching_plane(
                "unfold",
                (self.data(), plane),
                (&mut cols, plane_columns),
                reach,
                |source, base, cols| run_widest(UnfoldShifted { shifts: &shifts, source, base, cols }),
            )?;
            return Ok(Tensor::from_parts(cols, shape));
        }
        let spans = tap_spans(size, window, out);
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
        let (plane, plane_columns) = (size[0] * size[1], window.taps() * positions);
        if linear(size, window, out) {
            let shifts = Shifts::of(size, window, out);
            let (takes, reach) = (shifts.takes(), shifts.fold_reach());
            for_each_reaching_plane(
                "fold",
                (self.data(), plane_columns),
                (&mut image, plane),
                reach,
                |source, base, plane| run_widest(FoldShifted { shifts: &shifts, takes: &takes, source, base, plane }),
            )?;
            return Ok(Tensor::from_parts(image, shape));
        }
        let spans = tap_spans(size, window, out);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::SimdLevel;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// Unfold by its definition: column `(c·kh + i)·kw + j`, position `oi·ow + oj` reads
    /// pixel `(oi·s₀ + i·d₀ − p₀, oj·s₁ + j·d₁ − p₁)` of its plane, or is 0 in the padding.
    /// Fold adds each column into that pixel, taps in order, every pixel from 0.
    fn by_definition(x: &Tensor<f32>, cols: &Tensor<f32>, w: &Window) -> (Vec<f32>, Vec<f32>) {
        let [n, c, h, wd] = *x.dims() else { panic!("an image") };
        let [oh, ow] = w.output_size([h, wd]).unwrap();
        let (mut unfolded, mut folded) = (Vec::new(), vec![0.0; x.numel()]);
        for plane in 0..n * c {
            for i in 0..w.kernel[0] {
                for j in 0..w.kernel[1] {
                    for (oi, oj) in (0..oh).flat_map(|oi| (0..ow).map(move |oj| (oi, oj))) {
                        let y = (oi * w.stride[0] + i * w.dilation[0]) as isize - w.padding[0] as isize;
                        let z = (oj * w.stride[1] + j * w.dilation[1]) as isize - w.padding[1] as isize;
                        let inside = (0..h as isize).contains(&y) && (0..wd as isize).contains(&z);
                        let pixel = plane * h * wd + (y * wd as isize + z).max(0) as usize;
                        let column = cols.data()[unfolded.len()];
                        unfolded.push(if inside { x.data()[pixel] } else { 0.0 });
                        if inside {
                            folded[pixel] += column;
                        }
                    }
                }
            }
        }
        (unfolded, folded)
    }

    #[test]
    fn shifted_taps_match_the_definition_bit_for_bit_in_every_copy() {
        let mut rng = StdRng::seed_from_u64(5);
        let windows = [
            Window::new([3, 3]).padding([1, 1]),
            Window::new([5, 5]).padding([2, 2]),
            Window::new([3, 3]).padding([2, 2]).dilation([2, 2]),
            Window::new([1, 1]),
            Window::new([3, 1]).padding([1, 0]),
        ];
        for w in &windows {
            for size in [[8, 8], [4, 4], [4, 5], [1, 3], [5, 7]] {
                let Ok(out) = w.output_size(size) else { continue };
                assert!(linear(size, w, out), "{w:?} over {size:?} takes the shifted path");
                // Infinite pixels next to the padding: a masked column must stay an exact 0.
                let mut x = Tensor::<f32>::randn([2, 3, size[0], size[1]], 0.0, 1.0, &mut rng);
                x.data_mut()[size[1] - 1] = f32::INFINITY;
                x.data_mut()[size[1]] = f32::NEG_INFINITY;
                let mut cols = Tensor::<f32>::randn(x.unfold(w).unwrap().dims(), 0.0, 1.0, &mut rng);
                // Columns in the padding add nothing, whatever they hold.
                let padding: Vec<bool> = x.map(|_| 1.0).unfold(w).unwrap().data().iter().map(|&v| v == 0.0).collect();
                cols.data_mut().iter_mut().zip(&padding).filter(|(_, &p)| p).for_each(|(c, _)| *c = f32::NAN);
                let (unfolded, folded) = by_definition(&x, &cols, w);
                let widest = (x.unfold(w).unwrap(), cols.fold(w, size).unwrap());
                let avx2 = SimdLevel::at_most_avx2(|| (x.unfold(w).unwrap(), cols.fold(w, size).unwrap()));
                for (level, (u, f)) in [("widest", widest), ("AVX2", avx2)] {
                    for (what, got, want) in [("unfold", u.data(), &unfolded), ("fold", f.data(), &folded)] {
                        let wrong = got.iter().zip(want.iter()).position(|(a, b)| a.to_bits() != b.to_bits());
                        assert!(wrong.is_none(), "{what}, {level}, {w:?} over {size:?}: element {wrong:?}");
                    }
                }
            }
        }
    }
}
