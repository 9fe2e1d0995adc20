//! Weight files: a [`ParamStore`] saved and loaded as **safetensors** (the `safetensors`
//! crate), tensors named by the parameters' dotted names, so PyTorch (`safetensors.torch`) and
//! candle read and write the same files.
//!
//! Loading checks every name, shape and element type before it changes anything, and reports
//! a missing, extra, duplicated, mis-shaped or corrupt entry as an [`Error`]; it never panics
//! and never allocates what a header claims (the file is read as it is, every offset is
//! checked, the header is at most [`MAX_HEADER_BYTES`] and shapes at most [`MAX_DIMS`] long).

mod header;

pub use header::{MAX_DIMS, MAX_HEADER_BYTES};

use crate::error::{Error, Result};
use crate::params::ParamStore;
use header::shown;
use safetensors::{Dtype, SafeTensors, View};
use std::borrow::Cow;
use std::path::Path;
use tapegrad_graph::{Float, Tensor};

struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Entry {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn dtype_of<F: Float>() -> Dtype {
    if std::mem::size_of::<F>() == 4 {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

fn describe(dtype: Dtype, shape: &[usize]) -> String {
    format!("{} {}", format!("{dtype:?}").to_lowercase(), tapegrad_graph::Shape::from(shape))
}

/// The store as safetensors bytes.
pub fn to_safetensors_bytes<F: Float>(store: &ParamStore<F>) -> Result<Vec<u8>> {
    tensors_to_safetensors_bytes(store.iter().map(|(_, p)| (p.name.as_str(), &p.value)))
}

/// Named tensors (any, not only parameters: optimizer state, running statistics) as
/// safetensors bytes; names must be unique.
///
/// ```
/// use tapegrad_graph::Tensor;
/// use tapegrad_nn::io;
/// let step = Tensor::scalar(5.0);
/// let bytes = io::tensors_to_safetensors_bytes([("adam.step", &step)])?;
/// let read = io::tensors_from_safetensors_bytes::<f64>(&bytes, "memory")?;
/// assert_eq!(read, vec![("adam.step".to_string(), step)]);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn tensors_to_safetensors_bytes<'t, F: Float>(
    tensors: impl IntoIterator<Item = (&'t str, &'t Tensor<F>)>,
) -> Result<Vec<u8>> {
    let entries: Vec<(&str, Entry)> = tensors
        .into_iter()
        .map(|(name, value)| {
            let mut bytes = Vec::with_capacity(value.numel() * std::mem::size_of::<F>());
            for v in value.data() {
                match dtype_of::<F>() {
                    Dtype::F32 => bytes.extend_from_slice(&(v.to_f64() as f32).to_le_bytes()),
                    _ => bytes.extend_from_slice(&v.to_f64().to_le_bytes()),
                }
            }
            (name, Entry { dtype: dtype_of::<F>(), shape: value.dims().to_vec(), bytes })
        })
        .collect();
    safetensors::serialize(entries.iter().map(|(n, e)| (*n, e)), None)
        .map_err(|e| Error::WeightFile { path: "<memory>".into(), message: e.to_string() })
}

/// Every tensor in safetensors bytes, by name in the file's order; each must have element type
/// `F` (f32 or f64). `source` names the bytes in errors. Like loading, it never panics and
/// never allocates what a header claims.
pub fn tensors_from_safetensors_bytes<F: Float>(bytes: &[u8], source: &str) -> Result<Vec<(String, Tensor<F>)>> {
    let file = parse(bytes, source)?;
    let mut names = file.names();
    names.sort_by_key(|n| file.tensor(n).map(|t| t.data().as_ptr() as usize).unwrap_or(0));
    names
        .into_iter()
        .map(|name| {
            let view =
                file.tensor(name).map_err(|e| Error::WeightFile { path: source.into(), message: e.to_string() })?;
            Ok((name.to_string(), decode(source, name, &view, view.shape())?))
        })
        .collect()
}

/// Checks the header, then parses.
fn parse<'b>(bytes: &'b [u8], source: &str) -> Result<SafeTensors<'b>> {
    header::check(bytes).map_err(|message| Error::WeightFile { path: source.into(), message })?;
    SafeTensors::deserialize(bytes).map_err(|e| Error::WeightFile { path: source.into(), message: e.to_string() })
}

/// A tensor of `F` from a view whose element type must be `F`'s and shape `shape`.
fn decode<F: Float>(
    source: &str,
    name: &str,
    view: &safetensors::tensor::TensorView<'_>,
    shape: &[usize],
) -> Result<Tensor<F>> {
    let expected_dtype = dtype_of::<F>();
    if view.dtype() != expected_dtype || view.shape() != shape {
        return Err(Error::WeightMismatch {
            path: source.into(),
            name: shown(name),
            expected: describe(expected_dtype, shape),
            found: describe(view.dtype(), view.shape()),
        });
    }
    let data: Vec<F> = match expected_dtype {
        Dtype::F32 => view
            .data()
            .chunks_exact(4)
            .map(|b| F::from_f64(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64))
            .collect(),
        _ => view
            .data()
            .chunks_exact(8)
            .map(|b| F::from_f64(f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])))
            .collect(),
    };
    Ok(Tensor::from_vec(data, shape.to_vec())?)
}

/// Saves the store to `path` as safetensors.
///
/// ```
/// use tapegrad_graph::Tensor;
/// use tapegrad_nn::{io, ParamStore};
/// let mut store = ParamStore::<f32>::new();
/// store.add("layers.0.weight", Tensor::ones([2, 3]))?;
/// let path = std::env::temp_dir().join("tapegrad-doc-example.safetensors");
/// io::save_safetensors(&store, &path)?;
/// let mut fresh = ParamStore::<f32>::new();
/// fresh.add("layers.0.weight", Tensor::zeros([2, 3]))?;
/// io::load_safetensors(&mut fresh, &path)?;
/// assert_eq!(fresh[fresh.find("layers.0.weight").unwrap()].value.to_vec(), vec![1.0; 6]);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn save_safetensors<F: Float>(store: &ParamStore<F>, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = to_safetensors_bytes(store)?;
    std::fs::write(path, bytes).map_err(|source| Error::Io { path: path.display().to_string(), source })
}

/// Loads every parameter of `store` from a safetensors file: names, shapes and element type
/// must match exactly, and the file must hold no other tensor.
pub fn load_safetensors<F: Float>(store: &mut ParamStore<F>, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
    load_safetensors_bytes(store, &bytes, &path.display().to_string())
}

/// [`load_safetensors`] from bytes in memory; `source` names them in errors.
pub fn load_safetensors_bytes<F: Float>(store: &mut ParamStore<F>, bytes: &[u8], source: &str) -> Result<()> {
    let file = parse(bytes, source)?;
    let mut values = Vec::with_capacity(store.len());
    for (id, p) in store.iter() {
        let view =
            file.tensor(&p.name).map_err(|_| Error::MissingWeight { path: source.into(), name: p.name.clone() })?;
        values.push((id, decode(source, &p.name, &view, p.value.dims())?));
    }
    if let Some(extra) = file.names().into_iter().find(|n| store.find(n).is_none()) {
        return Err(Error::UnexpectedWeight { path: source.into(), name: shown(extra) });
    }
    for (id, value) in values {
        store.set_value(id, value)?;
    }
    Ok(())
}

/// Saves an optimizer's state ([`Optimizer::state`](crate::optim::Optimizer::state)) for the
/// parameters of `store` to `path` as safetensors, so a run can resume exactly with
/// [`load_optimizer`].
///
/// ```
/// use tapegrad_graph::Tensor;
/// use tapegrad_nn::{io, optim::{Adam, Optimizer}, ParamStore};
/// let mut store = ParamStore::new();
/// let w = store.add("w", Tensor::scalar(1.0))?;
/// store.get_mut(w).unwrap().grad = Some(Tensor::scalar(0.5));
/// let mut adam = Adam::new(0.1);
/// adam.step(&mut store);
/// let path = std::env::temp_dir().join("tapegrad-doc-adam.safetensors");
/// io::save_optimizer(&adam, &store, &path)?;
/// let mut resumed = Adam::new(0.1);
/// io::load_optimizer(&mut resumed, &store, &path)?;
/// assert_eq!(resumed.state(&store), adam.state(&store));
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn save_optimizer<F: Float, O: crate::optim::Optimizer<F> + ?Sized>(
    optimizer: &O,
    store: &ParamStore<F>,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let state = optimizer.state(store);
    let bytes = tensors_to_safetensors_bytes(state.iter().map(|(n, t)| (n.as_str(), t)))?;
    std::fs::write(path, bytes).map_err(|source| Error::Io { path: path.display().to_string(), source })
}

/// Loads an optimizer's state saved by [`save_optimizer`]; a file that does not fit the
/// optimizer and `store` is an error and changes nothing.
pub fn load_optimizer<F: Float, O: crate::optim::Optimizer<F> + ?Sized>(
    optimizer: &mut O,
    store: &ParamStore<F>,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
    let tensors = tensors_from_safetensors_bytes(&bytes, &path.display().to_string())?;
    optimizer.load_state(store, &tensors)
}
