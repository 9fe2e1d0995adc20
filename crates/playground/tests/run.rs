//! A run's training follows the Playground: reproducible from the URL, regularization as it
//! defines it, regression with a linear output.

use tapegrad_playground::settings::{DataSet, Regularization};
use tapegrad_playground::{Run, Settings};

#[test]
fn the_same_settings_give_the_same_run_and_reset_returns_to_its_start() {
    let settings = Settings::from_query("dataset=spiral&noise=20&networkShape=5,3&seed=9").0;
    let (mut a, b) = (Run::new(settings.clone()), Run::new(settings));
    assert_eq!(a.train, b.train);
    let start = a.frame();
    assert_eq!(start.weights, b.frame().weights);
    a.train_epoch();
    assert_ne!(a.frame().weights, start.weights);
    a.reset();
    assert_eq!((a.epoch, a.frame().weights), (0, start.weights.clone()));
    // Initial weights as the Playground draws them: U(−0.5, 0.5), biases 0.1.
    assert!(start.weights.iter().flatten().flatten().all(|w| w.abs() <= 0.5));
    assert!(start.biases.iter().flatten().all(|&b| b == 0.1));
}

#[test]
fn l1_drives_weights_to_exactly_zero_and_l2_shrinks_them() {
    let mut settings = Settings::from_query("regularizationRate=3&learningRate=1").0;
    settings.regularization = Regularization::L1;
    let mut run = Run::new(settings.clone());
    for _ in 0..5 {
        run.train_epoch();
    }
    let zeros = run.frame().weights.iter().flatten().flatten().filter(|&&w| w == 0.0).count();
    assert!(zeros > 0, "L1 at this rate zeroes weights");
    settings.regularization = Regularization::L2;
    settings.learning_rate = 0.001;
    let mut run = Run::new(settings);
    let norm = |run: &Run| run.frame().weights.iter().flatten().flatten().map(|w| w * w).sum::<f64>();
    let before = norm(&run);
    run.train_epoch();
    assert!(norm(&run) < before);
}

#[test]
fn regression_sets_have_labels_in_range_and_learn_with_a_linear_output() {
    let settings = Settings::from_query("dataset=reg-plane&networkShape=&learningRate=0.01").0;
    assert_eq!(settings.dataset, DataSet::Plane);
    let mut run = Run::new(settings);
    assert_eq!(run.train.len() + run.test.len(), 1200);
    assert!(run.train.iter().all(|p| (-1.0..=1.0).contains(&p.label)));
    for _ in 0..50 {
        run.train_epoch();
    }
    // A plane is linear in x and y: no hidden layer is needed.
    assert!(run.losses().1 < 1e-3, "{:?}", run.losses());
}
