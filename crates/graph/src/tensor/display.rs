//! A readable `Display` for tensors, in the style of PyTorch's `print`.

use super::Tensor;
use crate::float::Float;
use std::fmt;

impl<F: Float> fmt::Display for Tensor<F> {
    /// Formats like `tensor([[1.0000, 2.0000], [3.0000, 4.0000]])`, one row per line.
    /// The precision can be set: `{:.2}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision().unwrap_or(4);
        let cells: Vec<String> = self.data().iter().map(|v| format!("{:.*}", precision, v)).collect();
        let width = cells.iter().map(String::len).max().unwrap_or(0);
        write!(f, "tensor(")?;
        write_nested(f, &cells, self.dims(), width, 7)?;
        write!(f, ")")
    }
}

impl<F: Float> fmt::Debug for Tensor<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self} shape={}", self.shape())
    }
}

fn write_nested(
    f: &mut fmt::Formatter<'_>,
    cells: &[String],
    dims: &[usize],
    width: usize,
    indent: usize,
) -> fmt::Result {
    let Some((&outer, inner)) = dims.split_first() else {
        return write!(f, "{:>width$}", cells[0]);
    };
    let step = inner.iter().product::<usize>();
    write!(f, "[")?;
    for i in 0..outer {
        if i > 0 {
            if inner.is_empty() {
                write!(f, ", ")?;
            } else {
                write!(f, ",{}{:indent$}", "\n".repeat(inner.len()), "", indent = indent + 1)?;
            }
        }
        write_nested(f, &cells[i * step..(i + 1) * step], inner, width, indent + 1)?;
    }
    write!(f, "]")
}
