//! safetensors weight files: round trips, a file made by Python's safetensors, and every kind of
//! bad file gives a clear error — never a panic, never a huge allocation.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad::nn::io::{load_safetensors, load_safetensors_bytes, save_safetensors, to_safetensors_bytes};
use tapegrad::nn::layers::{mlp, Activation};
use tapegrad::nn::{Error, ParamStore};
use tapegrad::prelude::*;

fn linear_store<F: Float>(weight: Tensor<F>) -> ParamStore<F> {
    let mut store = ParamStore::new();
    store.add("layers.0.weight", weight).unwrap();
    store.add("layers.0.bias", Tensor::zeros([2])).unwrap();
    store
}

#[test]
fn round_trip_through_a_file() {
    let mut rng = StdRng::seed_from_u64(8);
    let mut store = ParamStore::<f32>::new();
    mlp(&mut store, &[4, 3, 2], Activation::Relu, &mut rng).unwrap();
    let path = std::env::temp_dir().join(format!("tapegrad-roundtrip-{}.safetensors", std::process::id()));
    save_safetensors(&store, &path).unwrap();
    let mut other = ParamStore::<f32>::new();
    mlp(&mut other, &[4, 3, 2], Activation::Relu, &mut StdRng::seed_from_u64(9)).unwrap();
    load_safetensors(&mut other, &path).unwrap();
    for ((_, a), (_, b)) in store.iter().zip(other.iter()) {
        assert_eq!((&a.name, &a.value), (&b.name, &b.value));
    }
    std::fs::remove_file(path).unwrap();

    let mut f64_store = linear_store(Tensor::<f64>::from_vec(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3]).unwrap());
    let bytes = to_safetensors_bytes(&f64_store).unwrap();
    f64_store.set_value(f64_store.find("layers.0.weight").unwrap(), Tensor::zeros([2, 3])).unwrap();
    load_safetensors_bytes(&mut f64_store, &bytes, "mem").unwrap();
    assert_eq!(
        f64_store[f64_store.find("layers.0.weight").unwrap()].value.to_vec(),
        vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    );
}

#[test]
fn a_file_written_by_python_loads() {
    let mut store = linear_store(Tensor::<f32>::zeros([2, 3]));
    load_safetensors(&mut store, concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/python_weights.safetensors"))
        .unwrap();
    assert_eq!(store[store.find("layers.0.weight").unwrap()].value.to_vec(), vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5]);
    assert_eq!(store[store.find("layers.0.bias").unwrap()].value.to_vec(), vec![-1.0, 1.0]);
}

fn valid_bytes() -> Vec<u8> {
    to_safetensors_bytes(&linear_store(Tensor::<f32>::ones([2, 3]))).unwrap()
}

#[test]
fn mismatches_are_reported_by_name() {
    let bytes = valid_bytes();
    let mut wrong_shape = linear_store(Tensor::<f32>::zeros([3, 2]));
    let err = load_safetensors_bytes(&mut wrong_shape, &bytes, "w.safetensors").unwrap_err();
    assert_eq!(
        err.to_string(),
        "weight file w.safetensors: tensor `layers.0.weight` is f32 [2, 3], the model expects f32 [3, 2]"
    );
    let mut wrong_dtype = linear_store(Tensor::<f64>::zeros([2, 3]));
    assert!(matches!(load_safetensors_bytes(&mut wrong_dtype, &bytes, "w").unwrap_err(), Error::WeightMismatch { .. }));
    let mut missing = linear_store(Tensor::<f32>::zeros([2, 3]));
    missing.add("layers.1.weight", Tensor::zeros([1])).unwrap();
    let err = load_safetensors_bytes(&mut missing, &bytes, "w").unwrap_err();
    assert_eq!(err.to_string(), "weight file w: no tensor named `layers.1.weight`");
    let mut fewer = ParamStore::<f32>::new();
    fewer.add("layers.0.weight", Tensor::zeros([2, 3])).unwrap();
    let err = load_safetensors_bytes(&mut fewer, &bytes, "w").unwrap_err();
    assert!(matches!(err, Error::UnexpectedWeight { ref name, .. } if name == "layers.0.bias"), "{err}");
    // nothing was changed by the failed loads
    assert_eq!(fewer[fewer.find("layers.0.weight").unwrap()].value, Tensor::zeros([2, 3]));
}

#[test]
fn corrupt_files_give_errors_not_panics() {
    let bytes = valid_bytes();
    let mut store = linear_store(Tensor::<f32>::zeros([2, 3]));
    let truncated = load_safetensors_bytes(&mut store, &bytes[..bytes.len() - 5], "t").unwrap_err();
    assert!(matches!(truncated, Error::WeightFile { .. }), "{truncated}");
    let mut huge = bytes.clone();
    huge[..8].copy_from_slice(&(1u64 << 60).to_le_bytes());
    let err = load_safetensors_bytes(&mut store, &huge, "h").unwrap_err();
    assert!(matches!(err, Error::WeightFile { .. }), "{err}");
    assert!(load_safetensors_bytes(&mut store, &[], "e").is_err());
    assert!(load_safetensors_bytes(&mut store, b"not a safetensors file at all", "x").is_err());
    // random corruption anywhere: an error or a successful load, never a panic
    let mut rng = StdRng::seed_from_u64(1);
    for _ in 0..2000 {
        let mut damaged = bytes.clone();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..damaged.len());
            damaged[at] = rng.random();
        }
        let cut = rng.random_range(0..=damaged.len());
        let _ = load_safetensors_bytes(&mut store, &damaged[..cut], "fuzz");
    }
    let missing_file = load_safetensors(&mut store, "/no/such.safetensors").unwrap_err();
    assert!(matches!(missing_file, Error::Io { .. }));
}
