//! Gradients answer only for the graph and recording they were computed on, and `backward`
//! refuses a result nothing flows to.

use tapegrad::autograd::Error;
use tapegrad::nn::ParamStore;
use tapegrad::prelude::*;

#[test]
fn gradients_refuse_a_var_of_another_graph() {
    let (g1, g2) = (Graph::new(), Graph::new());
    let x = g1.scalar(3.0);
    let grads = (x * x).backward();
    let stranger = g2.scalar(3.0);
    assert_eq!(grads.try_wrt(stranger).unwrap_err(), Error::ForeignVar { op: "Gradients::get" });
    assert!(grads.try_get(stranger).is_err());
    assert_eq!(grads.wrt(x).item(), 6.0);
}

#[test]
#[should_panic(expected = "the Var belongs to another graph (or to a recording after Graph::clear)")]
fn gradients_refuse_a_var_recorded_after_clear() {
    let mut g = Graph::new();
    let grads = {
        let x = g.scalar(3.0);
        (x * x).backward()
    };
    g.clear();
    let y = g.scalar(5.0); // the same node id as `x` had
    let _ = grads.wrt(y);
}

#[test]
#[should_panic(expected = "the gradients come from another graph")]
fn accumulating_gradients_of_another_graph_panics() {
    let mut store = ParamStore::<f64>::new();
    let w = store.add("w", Tensor::scalar(2.0)).unwrap();
    let (g1, g2) = (Graph::new(), Graph::new());
    let bound = store.bind(&g1);
    let other = store.bind(&g2);
    let grads = (other.var(w) * 3.0).backward();
    store.accumulate(&bound, &grads);
}

#[test]
fn backward_of_a_constant_is_an_error() {
    let g = Graph::new();
    let c = g.constant_scalar(2.0) * 3.0;
    assert_eq!(c.try_backward().unwrap_err(), Error::NoGradient);
    let x = g.scalar(1.0);
    let y = g.no_grad(|| x * 2.0);
    assert!(matches!(y.try_backward(), Err(Error::NoGradient)));
}

#[test]
fn a_tensor_nodes_gradient_is_read_from_the_tensor_map_even_when_its_inputs_are_touched() {
    // A tensor node whose gradient lives in the map, next to scalar nodes reached only by
    // zeros: every read is defined (Miri runs this file).
    let g = Graph::new();
    let w = g.var(Tensor::from_vec(vec![1.0, -2.0], [2]).unwrap());
    let s = g.scalar(0.0);
    let y = (w * s).sum() + (s * 0.0).relu();
    let grads = y.backward();
    assert_eq!(grads.wrt(w).to_vec(), vec![0.0, 0.0]);
    assert_eq!(grads.wrt(s).item(), -1.0);
}

#[test]
fn tensors_combine_with_vars_as_constants() {
    let g = Graph::new();
    let w = g.var(Tensor::from_vec(vec![1.0, 2.0], [2]).unwrap());
    let scale = Tensor::from_vec(vec![3.0, 4.0], [2]).unwrap();
    let y = (w * scale.clone() + Tensor::ones([2]) - scale / w).sum();
    assert_eq!(y.item(), (3.0 + 1.0 - 3.0) + (8.0 + 1.0 - 2.0));
    assert_eq!(y.backward().wrt(w).to_vec(), vec![3.0 + 3.0, 4.0 + 1.0]);
}

#[test]
fn a_product_large_enough_for_the_gemm_call_matches_the_definition() {
    // 17·16·16 multiply-adds: just past the small kernel, so the unsafe GEMM call runs (under
    // Miri too), with a transposed operand and a broadcast batch of one.
    let (m, k, n) = (17, 16, 16);
    let a = Tensor::from_vec((0..m * k).map(|i| (i % 7) as f64 - 3.0).collect(), [1, m, k]).unwrap();
    let b = Tensor::from_vec((0..n * k).map(|i| (i % 5) as f64 * 0.5).collect(), [n, k]).unwrap();
    let c = a.matmul_t(false, &b, true).unwrap();
    for batch in 0..1 {
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k).map(|p| a[[batch, i, p]] * b[[j, p]]).sum();
                assert_eq!(c[[batch, i, j]], want);
            }
        }
    }
}

#[test]
fn a_summed_product_through_the_gemm_call_matches_the_definition() {
    // Two products added into one output (the first overwrites, the second adds),
    // each past the small kernel, the first operand transposed.
    let (m, k, n) = (17, 16, 16);
    let a = Tensor::from_vec((0..2 * k * m).map(|i| (i % 7) as f64 - 3.0).collect(), [2, k, m]).unwrap();
    let b = Tensor::from_vec((0..2 * k * n).map(|i| (i % 5) as f64 * 0.5).collect(), [2, k, n]).unwrap();
    let c = a.matmul_t_summed(true, &b, false, &[0]).unwrap();
    for i in 0..m {
        for j in 0..n {
            let want: f64 = (0..2).map(|e| (0..k).map(|p| a[[e, p, i]] * b[[e, p, j]]).sum::<f64>()).sum();
            assert_eq!(c[[i, j]], want);
        }
    }
}
