//! Mini-batches, splits, one-hot and standardization.

use super::Dataset;
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::Rng;
use tapegrad_graph::{Float, Tensor};

/// The indices `0..n` shuffled and cut into batches of `batch_size` (the last may be smaller).
pub fn batches<R: Rng + ?Sized>(n: usize, batch_size: usize, rng: &mut R) -> Result<Vec<Vec<usize>>> {
    if batch_size == 0 {
        return Err(Error::InvalidArgument { op: "batches", message: "the batch size is 0".into() });
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    Ok(order.chunks(batch_size).map(<[usize]>::to_vec).collect())
}

/// A shuffled split: `test_fraction` of the samples (rounded) go to the second set.
pub fn train_test_split<F: Float, R: Rng + ?Sized>(
    data: &Dataset<F>,
    test_fraction: f64,
    rng: &mut R,
) -> Result<(Dataset<F>, Dataset<F>)> {
    if !(0.0..=1.0).contains(&test_fraction) {
        return Err(Error::InvalidArgument {
            op: "train_test_split",
            message: format!("the test fraction {test_fraction} is outside [0, 1]"),
        });
    }
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.shuffle(rng);
    let n_test = (data.len() as f64 * test_fraction).round() as usize;
    let (test, train) = order.split_at(n_test);
    Ok((data.select(train)?, data.select(test)?))
}

/// One-hot rows `[labels.len(), classes]`; a label ≥ `classes` is an error, and so is a size
/// that does not fit in memory.
pub fn one_hot<F: Float>(labels: &[usize], classes: usize) -> Result<Tensor<F>> {
    if let Some((i, &c)) = labels.iter().enumerate().find(|(_, &c)| c >= classes) {
        return Err(Error::InvalidArgument {
            op: "one_hot",
            message: format!("label {c} at row {i} is not below {classes}"),
        });
    }
    let mut out = Tensor::try_full([labels.len(), classes], F::ZERO)?;
    let data = out.data_mut();
    for (i, &c) in labels.iter().enumerate() {
        data[i * classes + c] = F::ONE;
    }
    Ok(out)
}

/// Per-feature mean and standard deviation, fitted on one set and applied to any:
/// `(x − mean) / std` (a constant feature keeps std 1).
#[derive(Clone, Debug)]
pub struct Standardizer<F: Float> {
    /// Each feature's mean.
    pub mean: Vec<F>,
    /// Each feature's (population) standard deviation.
    pub std: Vec<F>,
}

impl<F: Float> Standardizer<F> {
    /// Fits the statistics of the columns of a `[n, features]` tensor.
    pub fn fit(x: &Tensor<F>) -> Result<Self> {
        if x.ndim() != 2 || x.dims()[0] == 0 {
            return Err(Error::InvalidArgument {
                op: "Standardizer::fit",
                message: format!("needs a non-empty [n, features] tensor, got {}", x.shape()),
            });
        }
        let (n, d) = (x.dims()[0], x.dims()[1]);
        let count = F::from_usize(n);
        let mut mean = vec![F::ZERO; d];
        // `max(1)`: with no features the data is empty and there are no rows to visit.
        for row in x.data().chunks(d.max(1)) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v / count;
            }
        }
        let mut std = vec![F::ZERO; d];
        for row in x.data().chunks(d.max(1)) {
            for ((s, &v), &m) in std.iter_mut().zip(row).zip(&mean) {
                *s += (v - m) * (v - m) / count;
            }
        }
        let std = std.into_iter().map(|v| if v > F::ZERO { v.sqrt() } else { F::ONE }).collect();
        Ok(Standardizer { mean, std })
    }
    /// `(x − mean) / std`, column by column.
    pub fn transform(&self, x: &Tensor<F>) -> Result<Tensor<F>> {
        let d = self.mean.len();
        if x.ndim() != 2 || x.dims()[1] != d {
            return Err(Error::InvalidArgument {
                op: "Standardizer::transform",
                message: format!("fitted on {d} features, got {}", x.shape()),
            });
        }
        let data = x
            .data()
            .chunks(d.max(1))
            .flat_map(|row| row.iter().zip(&self.mean).zip(&self.std).map(|((&v, &m), &s)| (v - m) / s))
            .collect();
        Ok(Tensor::from_vec(data, x.shape().clone())?)
    }
}
