//! Initializers draw from the caller's RNG (so runs repeat) with the spreads their papers give.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::nn::init::*;
use tapegrad::Tensor;

fn std_of(t: &Tensor<f64>) -> f64 {
    let n = t.numel() as f64;
    let mean = t.data().iter().sum::<f64>() / n;
    (t.data().iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
}

#[test]
fn initializers_have_the_right_bounds_and_spread() {
    let rng = || StdRng::seed_from_u64(12);
    let shape = [200, 300]; // fan_out 200, fan_in 300
    let u: Tensor<f64> = uniform(shape, -0.5, 0.5, &mut rng());
    assert!(u.data().iter().all(|v| (-0.5..0.5).contains(v)));
    assert_eq!(u, uniform(shape, -0.5, 0.5, &mut rng()), "same seed, same tensor");
    let n: Tensor<f64> = normal(shape, 1.0, 0.1, &mut rng());
    assert!((std_of(&n) - 0.1).abs() < 0.005);

    let xu: Tensor<f64> = xavier_uniform(shape, 1.0, &mut rng());
    let bound = (6.0f64 / 500.0).sqrt();
    assert!(xu.data().iter().all(|v| v.abs() <= bound));
    assert!((std_of(&xu) - bound / 3f64.sqrt()).abs() < 0.005);
    let xn: Tensor<f64> = xavier_normal(shape, 1.0, &mut rng());
    assert!((std_of(&xn) - (2.0f64 / 500.0).sqrt()).abs() < 0.003);

    let ku: Tensor<f64> = kaiming_uniform(shape, 0.0, &mut rng());
    let bound = (6.0f64 / 300.0).sqrt();
    assert!(ku.data().iter().all(|v| v.abs() <= bound));
    let kn: Tensor<f64> = kaiming_normal(shape, 0.0, &mut rng());
    assert!((std_of(&kn) - (2.0f64 / 300.0).sqrt()).abs() < 0.003);
}
