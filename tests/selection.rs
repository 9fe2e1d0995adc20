//! argmax / argmin / topk and multinomial sampling, as PyTorch defines them.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::prelude::*;

#[test]
fn argmax_and_argmin_take_the_first_best_and_a_nan() {
    let t = Tensor::from_vec(vec![1.0, 3.0, 3.0, -2.0, f64::NAN, 5.0], [2, 3]).unwrap();
    assert_eq!(t.argmax(-1).unwrap().data(), &[1, 1]);
    assert_eq!(t.argmin(1).unwrap().data(), &[0, 1]);
    assert_eq!(t.argmax(0).unwrap().data(), &[0, 1, 1]);
    assert_eq!(t.argmax(0).unwrap().shape().dims(), &[3]);
    assert!(Tensor::<f64>::zeros([2, 0]).argmax(1).is_err());
    assert!(t.argmax(2).is_err());
}

#[test]
fn topk_values_are_differentiable() {
    let g = Graph::new();
    let x = g.var(Tensor::from_vec(vec![0.5, 4.0, 1.0, 2.0, 9.0, -1.0], [2, 3]).unwrap());
    let (top, at) = x.topk(2, 1);
    assert_eq!(at.data(), &[1, 2, 1, 0]);
    assert_eq!(top.value().to_vec(), vec![4.0, 1.0, 9.0, 2.0]);
    assert_eq!(top.sum().backward().wrt(x).to_vec(), vec![0.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
    assert!(x.try_topk(4, 1).is_err());
    assert_eq!(x.argmax(1).data(), &[1, 1]);
    assert_eq!(x.argmin(-1).data(), &[0, 2]);
    assert!(x.try_argmax(2).is_err());
    let message = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| x.argmax(2))).unwrap_err();
    assert!(message.downcast_ref::<String>().unwrap().contains("axis 2"));
}

#[test]
fn multinomial_draws_in_proportion_to_the_weights() {
    let probs = Tensor::from_vec(vec![0.1, 0.0, 0.9, 1.0, 1.0, 0.0], [2, 3]).unwrap();
    let drawn = probs.multinomial(20_000, &mut StdRng::seed_from_u64(3)).unwrap();
    assert_eq!(drawn.shape().dims(), &[2, 20_000]);
    let row0 = &drawn.data()[..20_000];
    let share = |c| row0.iter().filter(|&&d| d == c).count() as f64 / 20_000.0;
    assert!((share(0) - 0.1).abs() < 0.01 && share(1) == 0.0, "{} {}", share(0), share(1));
    assert!(drawn.data()[20_000..].iter().all(|&d| d < 2));
    let bad = Tensor::from_vec(vec![0.5, -0.1], [2]).unwrap();
    assert!(bad.multinomial(1, &mut StdRng::seed_from_u64(0)).is_err());
    assert!(Tensor::<f64>::zeros([3]).multinomial(1, &mut StdRng::seed_from_u64(0)).is_err());
}

#[test]
fn sign_log1p_and_expm1() {
    let g = Graph::new();
    let x = g.var(Tensor::from_vec(vec![-2.0, 0.0, 1e-10, f64::NAN], [4]).unwrap());
    let s = x.sign().value().to_vec();
    assert_eq!(&s[..3], &[-1.0, 0.0, 1.0]);
    assert!(s[3].is_nan());
    assert_eq!(x.log1p().value().to_vec()[2], 1e-10_f64.ln_1p());
    assert_eq!(x.expm1().value().to_vec()[2], 1e-10_f64.exp_m1());
    assert_eq!(x.sign().sum().backward().wrt(x).to_vec(), vec![0.0; 4]);
}
