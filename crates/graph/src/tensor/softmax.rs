//! Softmax along an axis and its gradient, each one pass over the data: the composition
//! (max, subtract, exp, sum, divide) wrote four intermediates, and its backward walked them
//! again through five rules.

use super::lanes::lane_sum;
use super::norm::gradient_fits;
use super::{overwritable, Tensor};
use crate::error::Result;
use crate::float::Float;
use crate::simd::{map_in_place, Pointwise};

/// x ↦ eˣ.
struct Exp;

impl<F: Float> Pointwise<F> for Exp {
    #[inline(always)]
    fn at(&self, x: F) -> F {
        x.exp()
    }
}

/// The tensor seen as `[outer, n, inner]` around the axis: each plane of `n · inner`
/// consecutive elements holds `inner` independent softmaxes of `n` elements, `inner` apart.
#[derive(Clone, Copy)]
struct Planes {
    n: usize,
    inner: usize,
}

impl Planes {
    /// The planes of a tensor with elements (so no product of its dims overflows).
    fn of(dims: &[usize], axis: usize) -> Planes {
        Planes { n: dims[axis], inner: dims[axis + 1..].iter().product() }
    }
    fn len(self) -> usize {
        self.n * self.inner
    }
}

impl<F: Float> Tensor<F> {
    /// Softmax along `axis` (negative counts from the end): `exp(x − m) / Σ exp(x − m)`, with
    /// `m` the maximum along the axis, so large inputs do not overflow. A row holding +∞ or
    /// NaN, or only −∞, comes out NaN, as in PyTorch (a −∞ beside finite values gives 0). An
    /// error for an axis the tensor does not have.
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let x = Tensor::from_vec(vec![1000.0, 1000.0, 0.0, 0.0], [2, 2])?;
    /// assert_eq!(x.softmax(-1)?.to_vec(), vec![0.5, 0.5, 0.5, 0.5]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn softmax(&self, axis: isize) -> Result<Tensor<F>> {
        let axis = self.shape().axis("softmax", axis)?;
        let mut out = overwritable("softmax", self.shape())?;
        if out.is_empty() {
            return Ok(Tensor::from_parts(out, self.shape().clone()));
        }
        let (planes, x) = (Planes::of(self.dims(), axis), self.data());
        crate::threads::split_pass(&mut out, planes.len(), |first, part| {
            let x = &x[first * planes.len()..][..part.len()];
            if planes.inner == 1 {
                softmax_rows(x, part, planes.n);
            } else {
                let mut scratch = [vec![F::ZERO; planes.inner], vec![F::ZERO; planes.inner]];
                for (y, x) in part.chunks_exact_mut(planes.len()).zip(x.chunks_exact(planes.len())) {
                    softmax_strided(x, y, &mut scratch);
                }
            }
        });
        Ok(Tensor::from_parts(out, self.shape().clone()))
    }

    /// The gradient of [`Tensor::softmax`] along `axis` with respect to its input, from its
    /// output `self` (y) and the output's gradient `g`: `y · (g − Σ g·y)`, the sum along the
    /// axis. An error unless `g` has `self`'s shape and `self` the axis.
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let y = Tensor::from_vec(vec![0.5, 0.5], [2])?;
    /// let g = Tensor::from_vec(vec![1.0, 0.0], [2])?;
    /// assert_eq!(y.softmax_grad(&g, 0)?.to_vec(), vec![0.25, -0.25]);
    /// # Ok::<(), tapegrad_graph::Error>(())
    /// ```
    pub fn softmax_grad(&self, g: &Tensor<F>, axis: isize) -> Result<Tensor<F>> {
        let axis = self.shape().axis("softmax", axis)?;
        gradient_fits("softmax", self.shape(), g.shape())?;
        let mut out = overwritable("softmax", self.shape())?;
        if out.is_empty() {
            return Ok(Tensor::from_parts(out, self.shape().clone()));
        }
        let (planes, y, g) = (Planes::of(self.dims(), axis), self.data(), g.data());
        crate::threads::split_pass(&mut out, planes.len(), |first, part| {
            let start = first * planes.len();
            let planes_in = y[start..].chunks_exact(planes.len()).zip(g[start..].chunks_exact(planes.len()));
            // A scratch row for the strided planes only (a last-axis softmax needs none).
            let mut sum = if planes.inner == 1 { Vec::new() } else { vec![F::ZERO; planes.inner] };
            for (dx, (y, g)) in part.chunks_exact_mut(planes.len()).zip(planes_in) {
                if planes.inner == 1 {
                    let sum = F::from_f64(lane_sum(g, y, y, |g, y, _| g * y));
                    dx.iter_mut().zip(y).zip(g).for_each(|((dx, &y), &g)| *dx = y * (g - sum));
                } else {
                    softmax_grad_strided(y, g, dx, &mut sum);
                }
            }
        });
        Ok(Tensor::from_parts(out, self.shape().clone()))
    }
}

/// The softmaxes of contiguous rows of `n`: each row shifted by its maximum, then the exps of
/// all rows in one SIMD loop (attention's rows are 16 long, too short to pay for a loop
/// each), then each row divided by its sum, added over lanes in `f64`.
fn softmax_rows<F: Float>(x: &[F], y: &mut [F], n: usize) {
    for (y, x) in y.chunks_exact_mut(n).zip(x.chunks_exact(n)) {
        let max = x.iter().fold(F::NEG_INFINITY, |m, &v| m.max(v));
        y.iter_mut().zip(x).for_each(|(y, &v)| *y = v - max);
    }
    map_in_place(y, &Exp);
    for y in y.chunks_exact_mut(n) {
        let sum = F::from_f64(lane_sum(y, y, y, |v, _, _| v));
        y.iter_mut().for_each(|v| *v /= sum);
    }
}

/// The `inner` softmaxes of one plane whose elements are `inner` apart, taken side by side:
/// each pass walks the plane's rows of `inner` consecutive elements. `[max, sum]` are scratch
/// rows of `inner`, allocated once per part of the planes.
fn softmax_strided<F: Float>(x: &[F], y: &mut [F], [max, sum]: &mut [Vec<F>; 2]) {
    let inner = max.len();
    max.fill(F::NEG_INFINITY);
    for row in x.chunks_exact(inner) {
        max.iter_mut().zip(row).for_each(|(m, &v)| *m = m.max(v));
    }
    sum.fill(F::ZERO);
    for (out, row) in y.chunks_exact_mut(inner).zip(x.chunks_exact(inner)) {
        for (((o, &v), &m), s) in out.iter_mut().zip(row).zip(max.iter()).zip(sum.iter_mut()) {
            *o = (v - m).exp();
            *s += *o;
        }
    }
    for out in y.chunks_exact_mut(inner) {
        out.iter_mut().zip(sum.iter()).for_each(|(o, &s)| *o /= s);
    }
}

/// [`softmax_strided`]'s gradient: `y · (g − Σ g·y)` for each of the plane's `inner`
/// softmaxes, `sum` a scratch row of `inner`.
fn softmax_grad_strided<F: Float>(y: &[F], g: &[F], dx: &mut [F], sum: &mut [F]) {
    let inner = sum.len();
    sum.fill(F::ZERO);
    for (ys, gs) in y.chunks_exact(inner).zip(g.chunks_exact(inner)) {
        sum.iter_mut().zip(ys).zip(gs).for_each(|((s, &y), &g)| *s += g * y);
    }
    for ((out, ys), gs) in dx.chunks_exact_mut(inner).zip(y.chunks_exact(inner)).zip(g.chunks_exact(inner)) {
        for (((o, &y), &g), &s) in out.iter_mut().zip(ys).zip(gs).zip(sum.iter()) {
            *o = y * (g - s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Softmax and its gradient by the definition, in `f64`, along `axis` of `dims`.
    fn reference(x: &[f64], g: &[f64], dims: &[usize], axis: usize) -> (Vec<f64>, Vec<f64>) {
        let Planes { n, inner } = Planes::of(dims, axis);
        let (mut y, mut dx) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        for plane in 0..x.len() / (n * inner).max(1) {
            for i in 0..inner {
                let at = |k: usize| plane * n * inner + k * inner + i;
                let max = (0..n).map(|k| x[at(k)]).fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = (0..n).map(|k| (x[at(k)] - max).exp()).sum();
                (0..n).for_each(|k| y[at(k)] = (x[at(k)] - max).exp() / sum);
                let gy: f64 = (0..n).map(|k| g[at(k)] * y[at(k)]).sum();
                (0..n).for_each(|k| dx[at(k)] = y[at(k)] * (g[at(k)] - gy));
            }
        }
        (y, dx)
    }

    #[test]
    fn every_axis_matches_the_definition() {
        for (dims, axis) in [
            (vec![3, 5], 1),
            (vec![3, 5], 0),
            (vec![2, 3, 4], 1),
            (vec![2, 3, 17], 2),
            (vec![4], 0),
            (vec![2, 1, 3], 1),
        ] {
            let len: usize = dims.iter().product();
            let x: Vec<f64> = (0..len).map(|i| ((i * 7) % 11) as f64 * 0.7 - 3.0).collect();
            let g: Vec<f64> = (0..len).map(|i| ((i * 5) % 13) as f64 * 0.1 - 0.6).collect();
            let (want_y, want_dx) = reference(&x, &g, &dims, axis);
            let xt = Tensor::from_vec(x.clone(), dims.clone()).unwrap();
            let y = xt.softmax(axis as isize).unwrap();
            let dx = y.softmax_grad(&Tensor::from_vec(g.clone(), dims.clone()).unwrap(), axis as isize).unwrap();
            for (got, want) in y.data().iter().zip(&want_y).chain(dx.data().iter().zip(&want_dx)) {
                assert!((got - want).abs() < 1e-14, "{dims:?} along {axis}: {got} against {want}");
            }
            let x32 = Tensor::from_vec(x.iter().map(|&v| v as f32).collect(), dims.clone()).unwrap();
            let y32 = x32.softmax(axis as isize).unwrap();
            for (got, want) in y32.data().iter().zip(&want_y) {
                assert!((*got as f64 - want).abs() < 1e-6, "f32 {dims:?} along {axis}: {got} against {want}");
            }
        }
    }

    #[test]
    fn large_infinite_nan_and_empty_inputs() {
        let y = Tensor::from_vec(vec![1000.0f32, 1000.0, -1000.0], [3]).unwrap().softmax(0).unwrap();
        assert_eq!(y.to_vec(), vec![0.5, 0.5, 0.0]);
        let y = Tensor::from_vec(vec![f64::NEG_INFINITY, 0.0], [2]).unwrap().softmax(0).unwrap();
        assert_eq!(y.to_vec(), vec![0.0, 1.0]);
        for row in [[f64::INFINITY, 0.0], [f64::NAN, 0.0], [f64::NEG_INFINITY, f64::NEG_INFINITY]] {
            let y = Tensor::from_vec(row.to_vec(), [2]).unwrap().softmax(-1).unwrap();
            assert!(y.data().iter().all(|v| v.is_nan()), "{row:?} gives {:?}", y.to_vec());
        }
        // No elements, however large the other dims (found by the fuzzer).
        let huge = Tensor::<f64>::zeros([usize::MAX / 2, 0, usize::MAX / 2]);
        assert_eq!(huge.softmax(0).unwrap().numel(), 0);
        assert_eq!(huge.softmax_grad(&huge, 0).unwrap().numel(), 0);
        let empty = Tensor::<f32>::zeros([0, 3]);
        assert_eq!(empty.softmax(1).unwrap().dims(), &[0, 3]);
        assert_eq!(Tensor::<f32>::zeros([2, 0]).softmax(1).unwrap().dims(), &[2, 0]);
        assert!(empty.softmax(2).is_err());
        let y = Tensor::<f32>::ones([2, 3]);
        assert!(y.softmax_grad(&Tensor::ones([3, 2]), 0).is_err());
    }
}
