//! Any bytes loaded as a weight file: an error or a load, never a panic, and bounded work.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapegrad::nn::{io, ParamStore};
use tapegrad::Tensor;

fuzz_target!(|bytes: &[u8]| {
    let mut store = ParamStore::<f32>::new();
    store.add("layers.0.weight", Tensor::zeros([2, 3])).unwrap();
    store.add("layers.0.bias", Tensor::zeros([3])).unwrap();
    store.add("scale", Tensor::zeros(Vec::<usize>::new())).unwrap();
    let _ = io::load_safetensors_bytes(&mut store, bytes, "fuzz");
    let mut wide = ParamStore::<f64>::new();
    wide.add("w", Tensor::zeros([1])).unwrap();
    let _ = io::load_safetensors_bytes(&mut wide, bytes, "fuzz");
});
