//! Numeric CSV files: a header or not, one optional integer label column, clear errors with
//! line numbers.

use super::Dataset;
use crate::error::{Error, Result};
use tapegrad_graph::{Float, Tensor};

/// How to read a CSV file.
#[derive(Clone, Debug, Default)]
pub struct CsvOptions {
    /// Whether the first line names the columns.
    pub header: bool,
    /// The label column: its 0-based index, negative counting from the end (`-1` is the last),
    /// or `None` when every column is a feature (the labels are then all 0).
    pub label_column: Option<isize>,
}

/// Reads a numeric CSV file into a [`Dataset`].
pub fn load_csv<F: Float>(path: impl AsRef<std::path::Path>, options: &CsvOptions) -> Result<Dataset<F>> {
    let path = path.as_ref();
    let text =
        std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
    parse_csv(&text, &path.display().to_string(), options)
}

/// The largest class label a CSV file may hold.
pub const MAX_LABEL: usize = u32::MAX as usize;

/// A class label: an integer from 0 to [`MAX_LABEL`], written as `3` or `3.0`.
fn parse_label(cell: &str) -> Option<usize> {
    let label = match cell.parse::<usize>() {
        Ok(n) => n,
        Err(_) => {
            let v: f64 = cell.parse().ok()?;
            if !(v >= 0.0 && v.fract() == 0.0 && v <= MAX_LABEL as f64) {
                return None;
            }
            v as usize
        }
    };
    (label <= MAX_LABEL).then_some(label)
}

/// Parses CSV text; `source` names it in errors.
///
/// ```
/// use tapegrad_nn::data::{parse_csv, CsvOptions};
/// let data = parse_csv::<f64>("a,b,label\n1,2,0\n3,4,1\n", "inline", &CsvOptions { header: true, label_column: Some(-1) })?;
/// assert_eq!((data.len(), data.features(), data.y.clone()), (2, 2, vec![0, 1]));
/// let err = parse_csv::<f64>("1,2\n3,x\n", "inline", &CsvOptions::default()).unwrap_err();
/// assert_eq!(err.to_string(), "inline:2: column 2 is `x`, not a number");
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn parse_csv<F: Float>(text: &str, source: &str, options: &CsvOptions) -> Result<Dataset<F>> {
    let error = |line: usize, message: String| Error::Csv { path: source.to_string(), line, message };
    // A byte-order mark (what spreadsheet programs write first) is not part of the first cell.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty());
    if options.header && lines.next().is_none() {
        return Err(error(1, "the file is empty".into()));
    }
    let mut width = None;
    let (mut features, mut labels) = (Vec::new(), Vec::new());
    for (line, text) in lines {
        let cells: Vec<&str> = text.split(',').map(str::trim).collect();
        let expected = *width.get_or_insert(cells.len());
        if cells.len() != expected {
            return Err(error(line, format!("{} columns, but the first row has {expected}", cells.len())));
        }
        let label_at = match options.label_column {
            None => None,
            Some(c) => {
                let resolved = if c < 0 { c + expected as isize } else { c };
                if resolved < 0 || resolved >= expected as isize {
                    return Err(error(line, format!("label column {c} is outside the {expected} columns")));
                }
                Some(resolved as usize)
            }
        };
        for (col, cell) in cells.iter().enumerate() {
            if Some(col) == label_at {
                let label = parse_label(cell).ok_or_else(|| {
                    error(line, format!("label `{cell}` is not a class number (an integer from 0 to {MAX_LABEL})"))
                })?;
                labels.push(label);
            } else {
                let value: f64 =
                    cell.parse().map_err(|_| error(line, format!("column {} is `{cell}`, not a number", col + 1)))?;
                features.push(F::from_f64(value));
            }
        }
        if label_at.is_none() {
            labels.push(0);
        }
    }
    let Some(width) = width else {
        return Err(error(1, "the file has no data rows".into()));
    };
    let n_features = width - usize::from(options.label_column.is_some());
    let x = Tensor::from_vec(features, [labels.len(), n_features])?;
    Dataset::new(x, labels)
}
