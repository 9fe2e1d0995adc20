//! An optimizer's per-parameter state as named tensors, so training can stop and resume
//! exactly (see [`Optimizer::state`](super::Optimizer::state) and
//! [`io::save_optimizer`](crate::io::save_optimizer)).

use crate::error::{Error, Result};
use crate::params::{ParamSlot, ParamStore};
use slotmap::SecondaryMap;
use std::collections::HashMap;
use tapegrad_graph::{Float, Tensor};

/// One parameter's optimizer state as flat buffers with PyTorch's names (`exp_avg`,
/// `momentum_buffer`, `step`, …).
pub(crate) trait ParamState<F: Float>: Sized {
    /// The buffers' names, in the order [`ParamState::buffers`] gives them.
    const NAMES: &'static [&'static str];
    /// The buffers (a step count is a one-element buffer).
    fn buffers(&self) -> Vec<Vec<F>>;
    /// The state from buffers in [`ParamState::NAMES`] order, each of length `numel` (or 0
    /// where a buffer is not in use yet).
    fn from_buffers(buffers: Vec<Vec<F>>, numel: usize) -> Self;
}

/// Every parameter's state as `{parameter name}.{buffer name}` tensors.
pub(crate) fn export<F: Float, S: ParamState<F>>(
    store: &ParamStore<F>,
    states: &SecondaryMap<ParamSlot, S>,
) -> Vec<(String, Tensor<F>)> {
    let mut out = Vec::new();
    for (id, p) in store.iter() {
        let Some(state) = states.get(id.slot()) else { continue };
        for (name, buffer) in S::NAMES.iter().zip(state.buffers()) {
            let len = buffer.len();
            let tensor = Tensor::from_vec(buffer, [len]).expect("a flat buffer fits its length");
            out.push((format!("{}.{name}", p.name), tensor));
        }
    }
    out
}

/// Replaces `states` with the state in `tensors` (as [`export`] names them), after checking
/// every tensor names a buffer of a parameter of `store` with a length that fits it.
pub(crate) fn import<F: Float, S: ParamState<F>>(
    store: &ParamStore<F>,
    states: &mut SecondaryMap<ParamSlot, S>,
    tensors: &[(String, Tensor<F>)],
) -> Result<()> {
    let bad = |message: String| Error::InvalidArgument { op: "Optimizer::load_state", message };
    let by_name: HashMap<&str, &Tensor<F>> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut used = 0;
    let mut loaded = SecondaryMap::new();
    for (id, p) in store.iter() {
        let found: Vec<Option<&&Tensor<F>>> =
            S::NAMES.iter().map(|b| by_name.get(format!("{}.{b}", p.name).as_str())).collect();
        if found.iter().all(Option::is_none) {
            continue;
        }
        let mut buffers = Vec::with_capacity(S::NAMES.len());
        for (b, t) in S::NAMES.iter().zip(found) {
            let t = t.ok_or_else(|| bad(format!("`{}.{b}` is missing", p.name)))?;
            let fits = if *b == "step" { t.numel() == 1 } else { t.numel() == 0 || t.numel() == p.value.numel() };
            if !fits {
                return Err(bad(format!(
                    "`{}.{b}` has {} elements for a parameter of shape {}",
                    p.name,
                    t.numel(),
                    p.value.shape()
                )));
            }
            buffers.push(t.to_vec());
            used += 1;
        }
        loaded.insert(id.slot(), S::from_buffers(buffers, p.value.numel()));
    }
    if used != tensors.len() {
        let known: Vec<String> =
            store.iter().flat_map(|(_, p)| S::NAMES.iter().map(move |b| format!("{}.{b}", p.name))).collect();
        let stray = tensors.iter().find(|(n, _)| !known.contains(n)).map_or("?", |(n, _)| n.as_str());
        return Err(bad(format!("`{stray}` is no state of this optimizer for these parameters")));
    }
    *states = loaded;
    Ok(())
}
