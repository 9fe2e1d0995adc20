//! A readable `Display` for tensors, in the style of PyTorch's `print`: a tensor of more than
//! 1,000 elements is summarised, each dimension longer than 6 showing its first and last 3.

use super::Tensor;
use crate::float::Float;
use std::fmt;

/// Tensors with more elements than this print summarised (PyTorch's `threshold`).
const THRESHOLD: usize = 1000;
/// How many entries a summarised dimension shows at each end (PyTorch's `edgeitems`).
const EDGE: usize = 3;

impl<F: Float> fmt::Display for Tensor<F> {
    /// Formats like `tensor([[1.0000, 2.0000], [3.0000, 4.0000]])`, one row per line; more than
    /// 1,000 elements print as the first and last 3 of each dimension around `...`. The
    /// precision can be set: `{:.2}`.
    ///
    /// ```
    /// use tapegrad_graph::Tensor;
    /// let big = Tensor::<f32>::zeros([100, 100]);
    /// let text = format!("{big:.1}");
    /// assert!(text.contains("...") && text.len() < 300);
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layout = Layout { precision: f.precision().unwrap_or(4), summarise: self.numel() > THRESHOLD, width: 0 };
        let mut width = 0;
        visit(self.dims(), 0, layout.summarise, &mut |i| width = width.max(layout.cell(self.data()[i]).len()));
        write!(f, "tensor(")?;
        Layout { width, ..layout }.write(f, self.data(), self.dims(), 0, 7)?;
        write!(f, ")")
    }
}

impl<F: Float> fmt::Debug for Tensor<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self} shape={}", self.shape())
    }
}

/// The positions along a dimension of `size` that are shown.
fn shown(size: usize, summarise: bool) -> impl Iterator<Item = Option<usize>> {
    let cut = summarise && size > 2 * EDGE;
    let (head, tail) = if cut { (EDGE, size - EDGE) } else { (size, size) };
    (0..head).map(Some).chain(cut.then_some(None)).chain((tail..size).map(Some))
}

/// Calls `f` with the flat index of every shown element.
fn visit(dims: &[usize], offset: usize, summarise: bool, f: &mut impl FnMut(usize)) {
    let Some((&outer, inner)) = dims.split_first() else {
        return f(offset);
    };
    let step: usize = inner.iter().product();
    for i in shown(outer, summarise).flatten() {
        visit(inner, offset + i * step, summarise, f);
    }
}

#[derive(Clone, Copy)]
struct Layout {
    precision: usize,
    summarise: bool,
    width: usize,
}

impl Layout {
    fn cell<F: Float>(&self, v: F) -> String {
        format!("{:.*}", self.precision, v)
    }
    fn write<F: Float>(
        &self,
        f: &mut fmt::Formatter<'_>,
        data: &[F],
        dims: &[usize],
        offset: usize,
        indent: usize,
    ) -> fmt::Result {
        let Some((&outer, inner)) = dims.split_first() else {
            return write!(f, "{:>width$}", self.cell(data[offset]), width = self.width);
        };
        let step: usize = inner.iter().product();
        write!(f, "[")?;
        for (n, i) in shown(outer, self.summarise).enumerate() {
            if n > 0 {
                if inner.is_empty() {
                    write!(f, ", ")?;
                } else {
                    write!(f, ",{}{:indent$}", "\n".repeat(inner.len()), "", indent = indent + 1)?;
                }
            }
            match i {
                Some(i) => self.write(f, data, inner, offset + i * step, indent + 1)?,
                None => write!(f, "...")?,
            }
        }
        write!(f, "]")
    }
}
