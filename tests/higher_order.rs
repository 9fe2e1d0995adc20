//! Gradients of gradients: second derivatives, Hessian-vector products, Jacobians and the
//! Hessian of a small MLP loss against finite differences of its gradient.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::autograd::{hessian, hvp, jacobian};
use tapegrad::prelude::*;

#[test]
fn second_derivative_of_cube() {
    let g = Graph::new();
    let x = g.scalar(3.0);
    let y = x.powf(3.0);
    let dy = grad(y, &[x])[0];
    let d2y = grad(dy, &[x])[0];
    let d3y = grad(d2y, &[x])[0];
    assert_eq!((dy.item(), d2y.item(), d3y.item()), (27.0, 18.0, 6.0));
    assert_eq!(dy.backward().wrt(x).item(), 18.0);
}

#[test]
fn mixed_partials_and_hvp() {
    let g = Graph::new();
    let (x, y) = (g.scalar(0.5), g.scalar(-1.5));
    let f = (x * y).sin() + x.powf(2.0) * y;
    let [fx, fy] = grad(f, &[x, y])[..] else { unreachable!() };
    let fxy = grad(fx, &[y])[0].item();
    let fyx = grad(fy, &[x])[0].item();
    let expected = (x.item() * y.item()).cos() - x.item() * y.item() * (x.item() * y.item()).sin() + 2.0 * x.item();
    assert!((fxy - expected).abs() < 1e-12 && (fyx - expected).abs() < 1e-12);
    let hv = hvp(f, &[x, y], &[g.constant_scalar(1.0), g.constant_scalar(0.0)]).unwrap();
    assert!((hv[1].item() - expected).abs() < 1e-12);
}

#[test]
fn jacobian_of_elementwise_map_is_diagonal() {
    let g = Graph::new();
    let x = g.var(Tensor::from_vec(vec![0.1, 0.2, 0.3], [3]).unwrap());
    let j = jacobian(x.exp(), x).unwrap();
    assert_eq!(j.dims(), &[3, 3]);
    for r in 0..3 {
        for c in 0..3 {
            let want = if r == c { x.value().data()[r].exp() } else { 0.0 };
            assert!((j[[r, c]] - want).abs() < 1e-15);
        }
    }
}

fn mlp_loss<'g>(g: &'g Graph, w1: Var<'g, f64>, w2: Var<'g, f64>) -> Var<'g, f64> {
    let x = g.constant(Tensor::from_vec(vec![0.5, -1.0, 1.5, 0.3, -0.7, 0.9, 0.2, 0.4], [4, 2]).unwrap());
    let y = g.constant(Tensor::from_vec(vec![1.0, -1.0, 0.5, 0.0], [4, 1]).unwrap());
    let out = x.matmul(w1).tanh().matmul(w2);
    (out - y).square().mean()
}

#[test]
fn hessian_of_mlp_loss_matches_finite_differences_of_its_gradient() {
    let mut rng = StdRng::seed_from_u64(3);
    let w1 = Tensor::randn([2, 3], 0.0, 1.0, &mut rng);
    let w2 = Tensor::randn([3, 1], 0.0, 1.0, &mut rng);
    let g = Graph::new();
    let (v1, v2) = (g.var(w1.clone()), g.var(w2.clone()));
    let h = hessian(mlp_loss(&g, v1, v2), v1).unwrap();
    let gradient_at = |w: &Tensor<f64>| {
        let g = Graph::new();
        let (v1, v2) = (g.var(w.clone()), g.var(w2.clone()));
        mlp_loss(&g, v1, v2).backward().wrt(v1)
    };
    let eps = 1e-6;
    for j in 0..6 {
        let (mut plus, mut minus) = (w1.clone(), w1.clone());
        plus.data_mut()[j] += eps;
        minus.data_mut()[j] -= eps;
        let (gp, gm) = (gradient_at(&plus), gradient_at(&minus));
        for i in 0..6 {
            let numerical = (gp.data()[i] - gm.data()[i]) / (2.0 * eps);
            let analytic = h[[i, j]];
            assert!(
                (analytic - numerical).abs() <= 1e-6 + 1e-4 * numerical.abs(),
                "H[{i},{j}] {analytic} vs {numerical}"
            );
        }
    }
    // symmetric, as a Hessian must be
    for i in 0..6 {
        for j in 0..6 {
            assert!((h[[i, j]] - h[[j, i]]).abs() < 1e-12);
        }
    }
}

#[test]
fn gradcheck_reports_a_wrong_gradient() {
    // detach() hides half of the derivative of x·x, so the analytic gradient is x, not 2x
    let err = gradcheck(|_, v| v[0] * v[0].detach(), &[Tensor::from_vec(vec![1.5, -0.5], [2]).unwrap()]).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("`mul`") && message.contains("input 0[[0]]"), "{message}");
    assert!(message.contains("analytic 1.5") && message.contains("numerical 2.99"), "{message}");
}

#[test]
fn batch_norm_fused_gradients_equal_the_recorded_composition() {
    // backward() runs batch norm's fused kernel; grad() records the rule op by op (what makes
    // it differentiable again). Both must give the same gradients, in f64 and f32. On two
    // threads (a batch large enough to be split) the kernel's results must not change at all.
    fn fused_and_recorded<F: Float>(dims: [usize; 4]) -> (Vec<Vec<F>>, Vec<Vec<F>>) {
        let mut rng = StdRng::seed_from_u64(7);
        let g = Graph::<F>::default();
        let x = g.var(Tensor::randn(dims, F::from_f64(1.0), F::from_f64(2.0), &mut rng));
        let w = g.var(Tensor::randn([dims[1]], F::ONE, F::from_f64(0.5), &mut rng));
        let b = g.var(Tensor::randn([dims[1]], F::ZERO, F::ONE, &mut rng));
        let (y, stats) = x.batch_norm(w, b, 1e-5);
        assert_eq!(stats.count, dims[0] * dims[2] * dims[3]);
        let loss = (y * y.sin()).sum();
        let fused = loss.backward();
        let recorded = grad(loss, &[x, w, b]);
        let mut values = vec![y.value().to_vec()];
        values.extend([x, w, b].map(|v| fused.wrt(v).to_vec()));
        (values, recorded.iter().map(|r| r.value().to_vec()).collect())
    }
    fn check<F: Float>(tolerance: f64) {
        let before = tapegrad::graph::num_threads();
        for dims in [[5, 3, 2, 4], [32, 8, 16, 16]] {
            tapegrad::graph::set_num_threads(1);
            let (fused, recorded) = fused_and_recorded::<F>(dims);
            for (a, e) in fused[1..].iter().flatten().zip(recorded.iter().flatten()) {
                assert!((a.to_f64() - e.to_f64()).abs() <= tolerance * (1.0 + e.to_f64().abs()), "{a} vs {e}");
            }
            tapegrad::graph::set_num_threads(2);
            assert!(fused_and_recorded::<F>(dims).0 == fused, "{dims:?}: two threads changed the result");
        }
        tapegrad::graph::set_num_threads(before);
    }
    check::<f64>(1e-12);
    check::<f32>(1e-5);
}
