//! Hostile and careless use of the public API: every call below once crashed, panicked inside a
//! `Result`, or answered wrongly without saying so. Each asserts the error (or PyTorch's value)
//! it must give now.

use tapegrad::graph::Error;
use tapegrad::nn::data::{one_hot, parse_csv, CsvOptions, Dataset, Standardizer};
use tapegrad::nn::layers::{mlp, Activation, Dropout, Embedding, LayerNorm, Linear, Sequential};
use tapegrad::nn::optim::{clip_grad_value, Adam, AdamW, RmsProp, Sgd};
use tapegrad::nn::{io, loss, Layer, Mlp, Neuron, ParamStore};
use tapegrad::prelude::*;

const HUGE: usize = (1 << 63) + 3;

// 1. The segfault: shapes whose element count wraps around.

#[test]
fn a_shape_whose_element_count_overflows_is_refused_not_multiplied() {
    let g = Graph::new();
    let err = g.var(Tensor::ones([6])).try_reshape([2, HUGE]).unwrap_err();
    assert!(matches!(err, Error::TooLarge { op: "reshape", .. }), "{err}");
    assert_eq!(err.to_string(), format!("reshape: shape [2, {HUGE}] has more elements than fit in memory"));
    let err = g.constant(Tensor::ones([3000])).try_reshape([HUGE, 1000]).unwrap_err();
    assert!(matches!(err, Error::TooLarge { op: "reshape", .. }));
    assert!(matches!(Tensor::from_vec(vec![1.0; 6], [2, HUGE]), Err(Error::TooLarge { op: "from_vec", .. })));
    assert!(matches!(Indices::new(vec![0; 6], [2, HUGE]), Err(Error::TooLarge { op: "Indices::new", .. })));
    assert!(matches!(Tensor::<f32>::try_full([1 << 32, 1 << 32], 0.0), Err(Error::TooLarge { op: "full", .. })));
    // A 0 dimension makes 0 elements, however large the others.
    assert_eq!(Tensor::<f32>::zeros([0, usize::MAX]).numel(), 0);
}

#[test]
#[should_panic(expected = "full: shape [4294967296, 4294967296] has more elements than fit in memory")]
fn zeros_of_an_overflowing_shape_panics_with_the_message() {
    let _ = Tensor::<f32>::zeros([1 << 32, 1 << 32]);
}

// 2. Calls that return `Result` must not panic or abort.

#[test]
fn padding_and_index_add_past_memory_are_errors() {
    let g = Graph::new();
    let x = g.var(Tensor::ones([2, 3]));
    assert!(matches!(x.try_pad(0, usize::MAX, 1), Err(Error::TooLarge { op: "pad", .. })));
    assert!(matches!(x.try_pad(0, 0, 1 << 61), Err(Error::TooLarge { op: "pad", .. })));
    let err = x.try_index_add(0, &Indices::from(vec![0, 1]), 1 << 61).unwrap_err();
    assert!(matches!(err, Error::TooLarge { op: "index_add", .. }), "{err}");
    let err = x.try_scatter_add(0, &Indices::new(vec![0; 6], [2, 3]).unwrap(), [1 << 61, 3]).unwrap_err();
    assert!(matches!(err, Error::TooLarge { op: "scatter_add", .. }), "{err}");
}

#[test]
fn broadcasting_past_memory_is_an_error() {
    let t = Tensor::<f64>::ones([1]);
    assert!(matches!(t.broadcast_to([1 << 62]), Err(Error::TooLarge { op: "full", .. })));
    let t = Tensor::<f64>::ones([2]);
    assert!(matches!(t.broadcast_to([1 << 62, 2]), Err(Error::TooLarge { op: "broadcast_to", .. })));
    let (a, b) = (Tensor::<f32>::ones([1 << 20, 1]), Tensor::<f32>::ones([1, 1 << 20]));
    assert!(matches!(a.zip_with(&b, "add", |x, y| x + y), Err(Error::TooLarge { op: "add", .. })));
}

#[test]
fn arange_refuses_huge_lengths_and_steps_away_from_the_end() {
    for (start, end, step) in [(0.0, 1.0, 1e-300), (0.0, 1e30, 1.0), (0.0, 10.0, -1.0), (0.0, 1.0, 0.0)] {
        assert!(Tensor::<f64>::arange(start, end, step).is_err(), "arange({start}, {end}, {step})");
    }
    let err = Tensor::<f64>::arange(0.0, 10.0, -1.0).unwrap_err();
    assert_eq!(err.to_string(), "arange: cannot step from 0 to 10 by -1: the step points away from the end");
    assert_eq!(Tensor::<f64>::arange(3.0, 3.0, 1.0).unwrap().numel(), 0);
}

#[test]
fn one_hot_with_a_huge_class_count_is_an_error() {
    let err = one_hot::<f32>(&[0, 1], 1 << 63).unwrap_err();
    assert!(err.to_string().contains("has more elements than fit in memory"), "{err}");
}

#[test]
fn standardizing_data_with_no_feature_columns_works() {
    let data =
        parse_csv::<f64>("0\n1\n1\n", "labels-only", &CsvOptions { header: false, label_column: Some(0) }).unwrap();
    assert_eq!(data.x.dims(), &[3, 0]);
    let s = Standardizer::fit(&data.x).unwrap();
    assert_eq!(s.transform(&data.x).unwrap().dims(), &[3, 0]);
}

#[test]
fn a_full_graph_refuses_the_next_node() {
    let g = Graph::<f64>::with_max_nodes(3);
    let (a, b) = (g.scalar(1.0), g.scalar(2.0));
    let c = a.try_add(b).unwrap();
    assert_eq!(c.try_mul(a).unwrap_err(), Error::TapeFull { op: "mul", max_nodes: 3 });
    assert_eq!(g.len(), 3);
    let t = Graph::<f64>::with_max_nodes(1);
    let x = t.var(Tensor::ones([2]));
    assert_eq!(
        x.try_reshape([2, 1]).unwrap_err().to_string(),
        "reshape: the graph is full (1 nodes); clear it or record fewer ops"
    );
    assert_eq!(Graph::<f64>::with_max_nodes(usize::MAX).tape().max_nodes(), tapegrad::graph::MAX_NODES);
}

#[test]
#[should_panic(expected = "exp: the graph is full (1 nodes)")]
fn an_operator_on_a_full_graph_panics_with_the_message() {
    let g = Graph::<f64>::with_max_nodes(1);
    let _ = g.scalar(1.0).exp();
}

// Found by the fuzzer (fuzz/fuzz_targets/try_api.rs).

#[test]
fn broadcasting_against_an_empty_tensor_gives_an_empty_result() {
    let empty = Tensor::<f64>::zeros([2, 0]);
    assert_eq!(empty.zip_with(&Tensor::zeros([0]), "add", |a, b| a + b).unwrap().dims(), &[2, 0]);
    assert_eq!(Tensor::<f64>::zeros([0]).zip_with(&empty, "add", |a, b| a + b).unwrap().dims(), &[2, 0]);
    let g = Graph::new();
    let x = g.var(Tensor::full([7, 0], -3.9e195));
    let y = x.softmax(0);
    assert_eq!(y.shape().dims(), &[7, 0]);
    assert_eq!(y.sum().backward().wrt(x).dims(), &[7, 0]);
}

#[test]
fn empty_tensors_with_huge_dimensions_neither_overflow_nor_allocate_their_reductions() {
    let g = Graph::new();
    let x = g.var(Tensor::zeros([1 << 62, 1 << 62, 0]));
    assert_eq!(x.try_index_add(2, &Indices::from(vec![]), 0).unwrap().shape().dims(), &[1 << 62, 1 << 62, 0]);
    assert_eq!(x.try_mean_axes(&[0, 1], false).unwrap().shape().dims(), &[0]);
    let wide = g.var(Tensor::zeros([0, 1 << 50]));
    assert!(matches!(wide.try_sum_to([1, 1 << 50]), Err(Error::TooLarge { .. })));
    assert!(matches!(wide.try_sum_axes(&[0], true), Err(Error::TooLarge { .. })));
}

// 3. Silent wrong answers.

#[test]
fn csv_labels_must_be_class_numbers_that_fit() {
    let opts = CsvOptions { header: false, label_column: Some(-1) };
    let err = parse_csv::<f64>("1,0\n2,1e30\n", "labels.csv", &opts).unwrap_err();
    assert_eq!(err.to_string(), "labels.csv:2: label `1e30` is not a class number (an integer from 0 to 4294967295)");
    assert!(parse_csv::<f64>("1,18446744073709551615\n", "big", &opts).is_err());
    assert!(parse_csv::<f64>("1,-1\n", "negative", &opts).is_err());
    assert!(parse_csv::<f64>("1,2.5\n", "fraction", &opts).is_err());
    assert_eq!(parse_csv::<f64>("1,4294967295\n", "max", &opts).unwrap().y, vec![4294967295]);
    let d = Dataset::new(Tensor::<f64>::zeros([1, 1]), vec![usize::MAX]).unwrap();
    assert_eq!(d.classes(), usize::MAX);
}

#[test]
fn losses_need_one_label_per_row() {
    let g = Graph::new();
    let logits = g.var(Tensor::zeros([3, 2]));
    let err = loss::cross_entropy(logits, &[0, 1], 0.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cross_entropy: 2 labels for scores of shape [3, 2]; expected one label per row of [n, classes]"
    );
    assert!(loss::nll(logits, &[0, 1]).is_err());
    assert!(loss::nll(logits, &[0, 1, 1, 0]).is_err());
    // An empty batch gives NaN, as in PyTorch.
    let empty = g.var(Tensor::zeros([0, 2]));
    assert!(loss::cross_entropy(empty, &[], 0.0).unwrap().item().is_nan());
    assert_eq!(empty.softmax(1).shape().dims(), &[0, 2]);
}

#[test]
fn a_parameter_id_of_another_store_is_refused() {
    let mut a = ParamStore::<f64>::new();
    let mut b = ParamStore::<f64>::new();
    let in_a = a.add("w", Tensor::scalar(1.0)).unwrap();
    let in_b = b.add("w", Tensor::scalar(2.0)).unwrap();
    let err = a.set_value(in_b, Tensor::scalar(9.0)).unwrap_err();
    assert_eq!(err.to_string(), "ParamStore::set_value: the parameter is not in this store");
    assert_eq!(a[in_a].value.item(), 1.0);
    assert!(a.get(in_b).is_none());
    assert!(b.get(in_a).is_none());
    // A clone holds the same parameters and answers to the same ids.
    assert_eq!(a.clone()[in_a].value.item(), 1.0);
    let g = Graph::new();
    let bound = b.bind(&g);
    assert!(bound.get(in_a).is_none());
}

#[test]
#[should_panic(expected = "the parameters were bound from another store")]
fn accumulating_gradients_bound_from_another_store_panics() {
    let mut a = ParamStore::<f64>::new();
    let mut b = ParamStore::<f64>::new();
    a.add("w", Tensor::scalar(1.0)).unwrap();
    let w = b.add("w", Tensor::scalar(2.0)).unwrap();
    let g = Graph::new();
    let bound = b.bind(&g);
    let grads = (bound.var(w) * 3.0).backward();
    a.accumulate(&bound, &grads);
}

#[test]
fn clipping_keeps_nan_visible() {
    let mut store = ParamStore::<f64>::new();
    let id = store.add("w", Tensor::zeros([4])).unwrap();
    store.get_mut(id).unwrap().grad = Some(Tensor::from_vec(vec![f64::NAN, 5.0, -5.0, 0.5], [4]).unwrap());
    clip_grad_value(&mut store, 1.0);
    let clipped = store[id].grad.as_ref().unwrap().to_vec();
    assert!(clipped[0].is_nan());
    assert_eq!(&clipped[1..], &[1.0, -1.0, 0.5]);
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn models_and_optimizers_can_move_between_threads() {
    assert_send_sync::<Sequential<f32>>();
    assert_send_sync::<Linear>();
    assert_send_sync::<Mlp>();
    assert_send_sync::<Layer>();
    assert_send_sync::<Neuron>();
    assert_send_sync::<Dropout>();
    assert_send_sync::<Embedding>();
    assert_send_sync::<LayerNorm>();
    assert_send_sync::<Activation>();
    assert_send_sync::<ParamStore<f32>>();
    assert_send_sync::<Sgd<f32>>();
    assert_send_sync::<Adam<f32>>();
    assert_send_sync::<AdamW<f32>>();
    assert_send_sync::<RmsProp<f32>>();
    let mut store = ParamStore::<f32>::new();
    let model = mlp(&mut store, &[2, 4, 1], Activation::Relu, &mut rand::rng()).unwrap();
    let parameters = std::thread::spawn(move || tapegrad::nn::Module::parameters(&model).len()).join().unwrap();
    assert_eq!(parameters, 4);
}

// 4. Weight files: bounded work.

fn safetensors_file(header: &str, data: usize) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(bytes.len() + data, 0);
    bytes
}

#[test]
fn a_header_of_a_million_dimensions_is_refused_quickly_with_a_short_message() {
    let dims = vec!["1"; 1_000_000].join(",");
    let file = safetensors_file(&format!(r#"{{"w":{{"dtype":"F32","shape":[{dims}],"data_offsets":[0,4]}}}}"#), 4);
    let mut store = ParamStore::<f32>::new();
    store.add("w", Tensor::zeros([1])).unwrap();
    let start = std::time::Instant::now();
    let err = io::load_safetensors_bytes(&mut store, &file, "hostile").unwrap_err();
    assert!(start.elapsed().as_secs() < 5);
    let message = err.to_string();
    assert!(message.contains("a shape has more than 64 dimensions"), "{message}");
    assert!(message.len() < 200, "{message}");
}

#[test]
fn a_header_larger_than_the_limit_is_refused_before_reading_it() {
    let mut file = ((io::MAX_HEADER_BYTES + 1) as u64).to_le_bytes().to_vec();
    file.extend_from_slice(b"{}");
    let err = io::load_safetensors_bytes(&mut ParamStore::<f32>::new(), &file, "big").unwrap_err();
    assert_eq!(err.to_string(), "weight file big: the header claims 16777217 bytes; at most 16777216 are accepted");
}

#[test]
fn a_tensor_named_twice_is_refused() {
    let entry = r#"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#;
    let file = safetensors_file(&format!(r#"{{"w":{entry},"w":{entry}}}"#), 4);
    let mut store = ParamStore::<f32>::new();
    store.add("w", Tensor::zeros([1])).unwrap();
    let err = io::load_safetensors_bytes(&mut store, &file, "twice").unwrap_err();
    assert!(err.to_string().contains("tensor `w` appears twice"), "{err}");
}

#[test]
fn long_shapes_are_cut_in_messages() {
    let file = safetensors_file(r#"{"w":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}}"#, 4);
    let mut store = ParamStore::<f32>::new();
    store.add("w", Tensor::zeros([1])).unwrap();
    let err = io::load_safetensors_bytes(&mut store, &file, "m").unwrap_err();
    assert_eq!(
        err.to_string(),
        "weight file m: tensor `w` is f32 [1, 1, 1, 1, 1, 1, 1, 1, … (10 dims)], the model expects f32 [1]"
    );
}

// 5. Clear messages.

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_cell() {
    let data =
        parse_csv::<f64>("\u{feff}x,label\n1.5,1\n", "bom.csv", &CsvOptions { header: true, label_column: Some(-1) })
            .unwrap();
    assert_eq!(data.x.to_vec(), vec![1.5]);
    let data =
        parse_csv::<f64>("\u{feff}1.5,1\n", "bom.csv", &CsvOptions { header: false, label_column: Some(-1) }).unwrap();
    assert_eq!(data.x.to_vec(), vec![1.5]);
}

#[test]
fn errors_name_the_op_that_was_called() {
    let g = Graph::new();
    let x = g.var(Tensor::zeros([2, 3]));
    assert!(x.try_softmax(2).unwrap_err().to_string().starts_with("softmax: axis 2"));
    assert!(x.try_log_softmax(-3).unwrap_err().to_string().starts_with("log_softmax: axis -3"));
    assert!(x.try_logsumexp_axes(&[5], false).unwrap_err().to_string().starts_with("logsumexp: axis 5"));
    let y = g.var(Tensor::zeros([3, 3]));
    assert_eq!(
        Var::try_stack(&[x, y], 0).unwrap_err().to_string(),
        "stack: shapes [2, 3] and [3, 3] are incompatible; every tensor stacked must have the same shape"
    );
    assert!(Var::try_stack(&[x, x], 3).unwrap_err().to_string().starts_with("stack: axis 3"));
    let err = x.try_index_select(0, &Indices::from(vec![usize::MAX])).unwrap_err();
    assert_eq!(err.to_string(), "index_select: index 18446744073709551615 is out of range for size 2");
}

#[test]
fn the_gradient_of_an_empty_product_with_a_huge_batch_is_zeros_not_a_panic() {
    // Found by the try_api fuzz target: [2, 3] · [2⁶², 2⁶², 3, 0] is an empty [2⁶², 2⁶², 2, 0];
    // its backward must not form the [2⁶², 2⁶², 2, 3] product before summing the batch away.
    let g = Graph::new();
    let huge = (1usize << 62) + 3;
    let a = g.var(Tensor::ones([2, 3]));
    let b = g.var(Tensor::zeros([huge, huge, 3, 0]));
    let y = a.try_matmul(b).unwrap();
    assert_eq!(y.shape().dims(), &[huge, huge, 2, 0]);
    let grads = y.try_backward_with(Tensor::zeros(y.shape())).unwrap();
    assert_eq!(grads.wrt(a).to_vec(), vec![0.0; 6]);
    assert_eq!(grads.wrt(b).shape().dims(), &[huge, huge, 3, 0]);
    // Recorded, as grad() does, too.
    let da = tapegrad::autograd::grad_with(y, &[a], g.constant(Tensor::zeros(y.shape()))).unwrap()[0];
    assert_eq!(da.value().to_vec(), vec![0.0; 6]);
}

#[test]
fn hostile_windows_and_convolutions_are_errors_not_panics() {
    // Found by the try_api fuzz target: a pooling padding of 2⁶³ (doubling it overflowed), a
    // weight whose per-group channels times the groups overflow, an empty input with a huge
    // kernel (the kernel's taps were listed before anything was checked).
    let g = Graph::new();
    let x = g.var(Tensor::ones([1, 1, 4, 4]));
    let huge = usize::MAX / 2 + 1;
    let err = x.try_max_pool2d(&Window::pool([2, 2]).padding([huge, 0])).unwrap_err();
    assert!(err.to_string().contains("at most half the kernel"), "{err}");
    let w = g.var(Tensor::zeros([2, huge, 1, 0]));
    let err = x.try_conv2d(w, None, ConvOptions::default().groups(2)).unwrap_err();
    assert!(err.to_string().starts_with("conv2d"), "{err}");
    let empty = g.var(Tensor::zeros([0, 1, 1 << 20, 1 << 20]));
    let cols = empty.try_unfold(&Window::new([1 << 19, 1 << 19])).unwrap();
    assert_eq!(cols.shape().dims(), &[0, 1 << 38, ((1 << 19) + 1) * ((1 << 19) + 1)]);
    let err = g.var(Tensor::zeros([0, 1, 1 << 40, 1 << 40])).try_unfold(&Window::new([1 << 39, 1 << 39])).unwrap_err();
    assert!(matches!(err, Error::TooLarge { op: "unfold", .. }), "{err}");
    assert!(x.try_unfold(&Window::new([usize::MAX, 2])).is_err());
    assert!(x.try_unfold(&Window::new([0, 2])).is_err());
    assert!(x.try_fold(&Window::new([2, 2]), [usize::MAX, usize::MAX]).is_err());
    let (y, stats) =
        empty.try_batch_norm(g.var(Tensor::ones([1])), g.var(Tensor::zeros([1])), 1e-5).expect("an empty batch");
    assert!(y.value().numel() == 0 && stats.mean.to_vec()[0].is_nan());
    let err = g.var(Tensor::ones([2, 3, 2])).try_batch_norm(x, x, 1e-5).unwrap_err();
    assert!(err.to_string().starts_with("batch_norm") && err.to_string().contains("[3], one per channel"), "{err}");
    let ids = g.constant(Tensor::from_vec(vec![0.5, -1.0], [2]).unwrap());
    assert!(g.var(Tensor::ones([3, 2])).try_lookup(ids).unwrap_err().to_string().contains("not a whole number"));
}
