//! Reading the line-based fixtures that `scripts/fixtures/*.py` write: one record per line,
//! a keyword first, whitespace between fields; lines starting with `#` are comments.

use tapegrad::prelude::*;

/// The fields of every record in `text`, comments and blank lines skipped.
pub fn records(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).map(|l| l.split_whitespace().collect())
}

/// A shape written as `2,3` (or `-` for a 0-d tensor).
pub fn dims(field: &str) -> Vec<usize> {
    if field == "-" {
        vec![]
    } else {
        field.split(',').map(|d| d.parse().unwrap()).collect()
    }
}

/// A tensor written as its shape, then its values in row-major order.
pub fn tensor(fields: &[&str]) -> Tensor<f64> {
    Tensor::from_vec(numbers(&fields[1..]), dims(fields[0])).unwrap()
}

/// Numbers, one per field.
pub fn numbers<T: std::str::FromStr>(fields: &[&str]) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    fields.iter().map(|v| v.parse().unwrap()).collect()
}
