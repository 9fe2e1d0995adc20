//! Shapes, broadcasting and axis arithmetic.

use crate::error::{Error, Result};
use smallvec::SmallVec;
use std::fmt;

/// The dimensions of a tensor, outermost first; `[]` is a scalar.
///
/// Up to four dimensions live inline, without a heap allocation.
#[derive(Eq, Default)]
pub struct Shape(pub(crate) SmallVec<[usize; INLINE_DIMS]>);

impl std::hash::Hash for Shape {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.as_slice().hash(state)
    }
}

impl Clone for Shape {
    /// Up to four dims copied into a fresh inline array: the derived clone went through
    /// `SmallVec`'s iterator-driven `extend` (4 % of the instructions of W3r, a small MLP's
    /// replayed step).
    #[inline]
    fn clone(&self) -> Self {
        // Each length spelled out: a copy loop became a call to `memcpy`.
        let inline = match *self.0.as_slice() {
            [] => [0; INLINE_DIMS],
            [a] => [a, 0, 0, 0],
            [a, b] => [a, b, 0, 0],
            [a, b, c] => [a, b, c, 0],
            [a, b, c, d] => [a, b, c, d],
            ref more => return Shape(SmallVec::from_slice(more)),
        };
        Shape(SmallVec::from_buf_and_len(inline, self.0.len()))
    }
}

/// Dims a [`Shape`] holds without a heap allocation.
const INLINE_DIMS: usize = 4;

impl PartialEq for Shape {
    /// Dimension by dimension, inline: the derived comparison called `memcmp`, which cost more
    /// than the few dims it compares (2.5 % of a small MLP's replayed step).
    #[inline]
    fn eq(&self, other: &Shape) -> bool {
        self.0.len() == other.0.len() && self.0.iter().zip(&other.0).all(|(a, b)| a == b)
    }
}

impl Shape {
    /// The shape of a 0-d tensor (a scalar).
    pub fn scalar() -> Self {
        Shape(SmallVec::new())
    }
    /// The dimensions as a slice.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }
    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.0.len()
    }
    /// The number of elements (1 for a scalar).
    ///
    /// # Panics
    /// When the product of the dimensions does not fit in `usize`; [`Shape::try_numel`]
    /// returns that as an error instead. It never wraps around.
    #[track_caller]
    pub fn numel(&self) -> usize {
        crate::error::expect_op(self.try_numel("numel"))
    }
    /// The number of elements, or [`Error::TooLarge`] naming `op` when the product of the
    /// dimensions does not fit in `usize`. A shape with a 0 dimension has 0 elements, however
    /// large the others.
    pub fn try_numel(&self, op: &'static str) -> Result<usize> {
        if self.0.contains(&0) {
            return Ok(0);
        }
        self.0
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| Error::TooLarge { op, shape: self.clone() })
    }
    /// Row-major strides, in elements. They only overflow for a shape with no elements (the
    /// product of the later dims fits whenever the whole product does), where no offset is
    /// ever computed from them; there they saturate.
    pub(crate) fn strides(&self) -> SmallVec<[usize; 4]> {
        let mut strides: SmallVec<[usize; 4]> = SmallVec::from_elem(1, self.ndim());
        for i in (0..self.ndim().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1].saturating_mul(self.0[i + 1]);
        }
        strides
    }
    /// Resolves a possibly negative axis (`-1` is the last) against this shape.
    pub fn axis(&self, op: &'static str, axis: isize) -> Result<usize> {
        let ndim = self.ndim() as isize;
        let resolved = if axis < 0 { axis + ndim } else { axis };
        if resolved < 0 || resolved >= ndim {
            return Err(Error::BadAxis { op, axis, shape: self.clone(), ndim: self.ndim() });
        }
        Ok(resolved as usize)
    }
    /// Resolves a list of axes, sorted and deduplicated; an empty list means every axis.
    pub(crate) fn axes(&self, op: &'static str, axes: &[isize]) -> Result<SmallVec<[usize; 4]>> {
        if axes.is_empty() {
            return Ok((0..self.ndim()).collect());
        }
        let mut out = SmallVec::new();
        for &a in axes {
            out.push(self.axis(op, a)?);
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
    /// A reduction over `axes` (resolved, sorted) seen as one over the middle axis of
    /// `[outer, group, inner]` blocks: `Some((group, inner))` when the axes are consecutive
    /// (no axes: every element its own group, `(1, 1)`) and the shape has elements, so each
    /// group's elements lie `inner` apart in a block of `group · inner`; `None` otherwise.
    pub(crate) fn group_and_inner(&self, axes: &[usize]) -> Option<(usize, usize)> {
        if self.numel() == 0 {
            return None;
        }
        let Some((&first, &last)) = axes.first().zip(axes.last()) else {
            return Some((1, 1));
        };
        (last + 1 - first == axes.len())
            .then(|| (self.0[first..=last].iter().product(), self.0[last + 1..].iter().product()))
    }
    /// The shape after reducing `axes`: kept as size 1 with `keepdim`, removed otherwise.
    pub fn reduced(&self, axes: &[usize], keepdim: bool) -> Shape {
        let mut out = SmallVec::new();
        for (i, &d) in self.0.iter().enumerate() {
            if axes.contains(&i) {
                if keepdim {
                    out.push(1);
                }
            } else {
                out.push(d);
            }
        }
        Shape(out)
    }
    /// The NumPy broadcast of two shapes, or a [`Error::ShapeMismatch`] naming `op`.
    pub fn broadcast(&self, other: &Shape, op: &'static str) -> Result<Shape> {
        if self == other {
            return Ok(self.clone());
        }
        let n = self.ndim().max(other.ndim());
        let mut out: SmallVec<[usize; 4]> = SmallVec::from_elem(1, n);
        for i in 0..n {
            let a = dim_from_right(self, n - 1 - i);
            let b = dim_from_right(other, n - 1 - i);
            out[i] = match (a, b) {
                (a, b) if a == b => a,
                (1, b) => b,
                (a, 1) => a,
                _ => {
                    return Err(Error::ShapeMismatch {
                        op,
                        lhs: self.clone(),
                        rhs: other.clone(),
                        hint: "; they cannot be broadcast together".into(),
                    })
                }
            };
        }
        Ok(Shape(out))
    }
    /// True when this shape broadcasts to `target` without changing `target`.
    pub fn broadcasts_to(&self, target: &Shape) -> bool {
        self.ndim() <= target.ndim()
            && (0..self.ndim()).all(|i| {
                let d = dim_from_right(self, i);
                d == 1 || d == dim_from_right(target, i)
            })
    }
}

fn dim_from_right(s: &Shape, i_from_right: usize) -> usize {
    if i_from_right < s.ndim() {
        s.0[s.ndim() - 1 - i_from_right]
    } else {
        1
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Shapes with more dimensions than this print their first ones and a count.
const SHOWN_DIMS: usize = 8;

impl fmt::Display for Shape {
    /// `[2, 3]`; a shape of more than eight dimensions is cut: `[1, 1, 1, 1, 1, 1, 1, 1, … (1000000 dims)]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().take(SHOWN_DIMS).enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        if self.ndim() > SHOWN_DIMS {
            write!(f, ", … ({} dims)", self.ndim())?;
        }
        write!(f, "]")
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Self {
        Shape(SmallVec::from_slice(&d))
    }
}
impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Self {
        Shape(SmallVec::from_slice(d))
    }
}
impl From<Vec<usize>> for Shape {
    fn from(d: Vec<usize>) -> Self {
        Shape(SmallVec::from_vec(d))
    }
}
impl From<&Shape> for Shape {
    fn from(s: &Shape) -> Self {
        s.clone()
    }
}
impl std::ops::Index<usize> for Shape {
    type Output = usize;
    fn index(&self, i: usize) -> &usize {
        &self.0[i]
    }
}
