//! Settings survive the URL: what `to_query` writes, `from_query` reads back unchanged, and
//! values the page cannot offer are replaced, with a note each.

use tapegrad_playground::settings::{Activation, DataSet, Regularization, Settings};

#[test]
fn a_link_reproduces_the_settings() {
    let mut s = Settings::default();
    assert_eq!(Settings::from_query(&s.to_query()), (s.clone(), vec![]));
    s.dataset = DataSet::MultiGaussian;
    s.noise = 35;
    s.train_ratio = 70;
    s.batch_size = 3;
    s.learning_rate = 0.3;
    s.activation = Activation::Relu;
    s.regularization = Regularization::L1;
    s.regularization_rate = 0.01;
    s.features = [false, true, true, false, false, true, false];
    s.hidden = vec![8, 1, 3];
    s.show_test_data = true;
    s.discretize = true;
    s.seed = 42;
    assert_eq!(Settings::from_query(&s.to_query()), (s, vec![]));
    for d in DataSet::ALL {
        assert_eq!(Settings::from_query(&format!("dataset={}", d.name())).0.dataset, d);
    }
}

#[test]
fn values_the_page_cannot_offer_are_replaced_with_a_note() {
    let (s, notes) =
        Settings::from_query("learningRate=0.05&batchSize=0&networkShape=0,12,abc&x=false&y=false&seed=-3");
    assert_eq!(s.learning_rate, 0.03); // the nearest offered
    assert_eq!(s.batch_size, 1);
    assert_eq!(s.hidden, vec![1, 8, 1]);
    assert!(s.features[0] && s.features[1], "some input must feed the network");
    assert_eq!(notes.len(), 5, "{notes:?}");
    let (s, notes) = Settings::from_query("networkShape=");
    assert_eq!((s.hidden, notes.len()), (vec![], 0)); // no hidden layer is allowed
}
