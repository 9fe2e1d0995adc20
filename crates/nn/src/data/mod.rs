//! Data: the classic 2-d toy sets, CSV loading, shuffled mini-batches, train/test split,
//! one-hot encoding and standardization.

mod batch;
mod csv;
mod toy;

pub use batch::{batches, one_hot, train_test_split, Standardizer};
pub use csv::{load_csv, parse_csv, CsvOptions, MAX_LABEL};
pub use toy::{circles, moons, playground_circle, playground_gaussian, playground_spiral, playground_xor};

use crate::error::{Error, Result};
use tapegrad_graph::{Float, Indices, Tensor};

/// Features `x` (`[n, features]`) and integer class labels `y`.
#[derive(Clone, Debug)]
pub struct Dataset<F: Float = f64> {
    /// One row per sample.
    pub x: Tensor<F>,
    /// One class per sample.
    pub y: Vec<usize>,
}

impl<F: Float> Dataset<F> {
    /// A data set; `x` must be 2-d with one row per label.
    pub fn new(x: Tensor<F>, y: Vec<usize>) -> Result<Self> {
        if x.ndim() != 2 || x.dims()[0] != y.len() {
            return Err(Error::InvalidArgument {
                op: "Dataset::new",
                message: format!(
                    "features of shape {} for {} labels; expected [{}, features]",
                    x.shape(),
                    y.len(),
                    y.len()
                ),
            });
        }
        Ok(Dataset { x, y })
    }
    /// The number of samples.
    pub fn len(&self) -> usize {
        self.y.len()
    }
    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    /// The number of features per sample.
    pub fn features(&self) -> usize {
        self.x.dims()[1]
    }
    /// The number of classes (one more than the largest label; `usize::MAX` if that overflows).
    pub fn classes(&self) -> usize {
        self.y.iter().max().map_or(0, |m| m.saturating_add(1))
    }
    /// The samples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Result<Self> {
        let x = self.x.index_select(0, &Indices::from(indices.to_vec()))?;
        let y = indices.iter().map(|&i| self.y[i]).collect();
        Ok(Dataset { x, y })
    }
    /// The labels as ±1 (class 0 → −1, anything else → +1), for hinge losses.
    pub fn signed_labels(&self) -> Vec<F> {
        self.y.iter().map(|&c| if c == 0 { -F::ONE } else { F::ONE }).collect()
    }
    /// Row `i` of the features.
    pub fn row(&self, i: usize) -> &[F] {
        let d = self.features();
        &self.x.data()[i * d..(i + 1) * d]
    }
}
