//! Toy data sets, CSV loading (and its errors), batches, splits, one-hot, standardization.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad::nn::data::*;
use tapegrad::nn::Error;
use tapegrad::prelude::*;

fn rng() -> StdRng {
    StdRng::seed_from_u64(3)
}

#[test]
fn moons_follow_scikit_learn() {
    let clean = moons::<f64, _>(100, 0.0, &mut rng());
    assert_eq!((clean.len(), clean.features()), (100, 2));
    assert_eq!(clean.y.iter().filter(|&&c| c == 0).count(), 50);
    for i in 0..clean.len() {
        let [x, y] = [clean.row(i)[0], clean.row(i)[1]];
        let r = if clean.y[i] == 0 { (x * x + y * y).sqrt() } else { ((x - 1.0).powi(2) + (y - 0.5).powi(2)).sqrt() };
        assert!((r - 1.0).abs() < 1e-12, "point {i} is off its half circle");
        assert!(if clean.y[i] == 0 { y >= -1e-12 } else { y <= 0.5 + 1e-12 });
    }
    let noisy = moons::<f64, _>(101, 0.1, &mut rng());
    assert_eq!((noisy.len(), noisy.y.iter().filter(|&&c| c == 1).count()), (101, 51));
    assert_eq!(noisy.signed_labels().iter().filter(|&&l| l == -1.0).count(), 50);
}

#[test]
fn circles_and_playground_sets() {
    let c = circles::<f64, _>(100, 0.0, 0.5, &mut rng());
    for i in 0..c.len() {
        let r = (c.row(i)[0].powi(2) + c.row(i)[1].powi(2)).sqrt();
        assert!((r - if c.y[i] == 0 { 1.0 } else { 0.5 }).abs() < 1e-12);
    }
    let circle = playground_circle::<f64, _>(200, 0.0, &mut rng());
    for i in 0..circle.len() {
        let r = (circle.row(i)[0].powi(2) + circle.row(i)[1].powi(2)).sqrt();
        assert_eq!(circle.y[i] == 1, r < 2.5);
    }
    let xor = playground_xor::<f64, _>(200, 0.0, &mut rng());
    for i in 0..xor.len() {
        let (x, y) = (xor.row(i)[0], xor.row(i)[1]);
        assert!(x.abs() >= 0.3 && y.abs() >= 0.3);
        assert_eq!(xor.y[i] == 1, x * y >= 0.0);
    }
    let gauss = playground_gaussian::<f64, _>(400, 0.0, &mut rng());
    let mean_of = |class| {
        let rows: Vec<usize> = (0..gauss.len()).filter(|&i| gauss.y[i] == class).collect();
        rows.iter().map(|&i| gauss.row(i)[0]).sum::<f64>() / rows.len() as f64
    };
    assert!((mean_of(1) - 2.0).abs() < 0.2 && (mean_of(0) + 2.0).abs() < 0.2);
    let spiral = playground_spiral::<f64, _>(200, 0.0, &mut rng());
    assert_eq!((spiral.len(), spiral.classes()), (200, 2));
    assert!((0..spiral.len()).all(|i| spiral.row(i)[0].hypot(spiral.row(i)[1]) <= 5.0));
}

#[test]
fn csv_loads_numbers_and_labels() {
    let text = "x1, x2, label\n1.5, -2, 1\n\n3, 4e-1, 0\n";
    let data = parse_csv::<f64>(text, "mem", &CsvOptions { header: true, label_column: Some(-1) }).unwrap();
    assert_eq!(data.x.to_vec(), vec![1.5, -2.0, 3.0, 0.4]);
    assert_eq!(data.y, vec![1, 0]);
    let first =
        parse_csv::<f32>("2,1,1\n0,5,5\n", "mem", &CsvOptions { header: false, label_column: Some(0) }).unwrap();
    assert_eq!((first.y.clone(), first.x.to_vec()), (vec![2, 0], vec![1.0, 1.0, 5.0, 5.0]));
    let digits: Dataset<f32> = load_csv(
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/digits.csv"),
        &CsvOptions { header: true, label_column: Some(-1) },
    )
    .unwrap();
    assert_eq!((digits.len(), digits.features(), digits.classes()), (1797, 64, 10));
}

#[test]
fn csv_errors_name_the_line() {
    let opts = CsvOptions { header: true, label_column: Some(-1) };
    let short = parse_csv::<f64>("a,b,c\n1,2,0\n3,1\n", "short.csv", &opts).unwrap_err();
    assert_eq!(short.to_string(), "short.csv:3: 2 columns, but the first row has 3");
    let nan = parse_csv::<f64>("a,b,c\n1,oops,0\n", "bad.csv", &opts).unwrap_err();
    assert_eq!(nan.to_string(), "bad.csv:2: column 2 is `oops`, not a number");
    let label = parse_csv::<f64>("a,b,c\n1,2,1.5\n", "bad.csv", &opts).unwrap_err();
    assert!(label.to_string().contains("label `1.5` is not a class number"), "{label}");
    let empty = parse_csv::<f64>("", "empty.csv", &opts).unwrap_err();
    assert_eq!(empty.to_string(), "empty.csv:1: the file is empty");
    let header_only = parse_csv::<f64>("a,b\n", "h.csv", &opts).unwrap_err();
    assert!(matches!(header_only, Error::Csv { line: 1, .. }), "{header_only}");
    let missing = load_csv::<f64>("/no/such/file.csv", &opts).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }) && missing.to_string().starts_with("/no/such/file.csv: "));
}

#[test]
fn batches_splits_one_hot_and_standardization() {
    let mut r = rng();
    let b = batches(10, 4, &mut r).unwrap();
    assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 2]);
    let mut all: Vec<usize> = b.concat();
    all.sort();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
    assert!(batches(3, 0, &mut r).is_err());

    let data = moons::<f64, _>(50, 0.1, &mut r);
    let (train, test) = train_test_split(&data, 0.2, &mut r).unwrap();
    assert_eq!((train.len(), test.len()), (40, 10));
    assert!(train_test_split(&data, 1.5, &mut r).is_err());

    assert_eq!(one_hot::<f64>(&[2, 0], 3).unwrap().to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    assert!(one_hot::<f64>(&[3], 3).is_err());

    let x = Tensor::from_vec(vec![1.0, 10.0, 3.0, 10.0, 5.0, 10.0], [3, 2]).unwrap();
    let s = Standardizer::fit(&x).unwrap();
    let z = s.transform(&x).unwrap();
    assert!((z[[0, 0]] + 1.224744871391589).abs() < 1e-12 && z[[1, 0]] == 0.0);
    assert_eq!(z[[2, 1]], 0.0, "a constant column stays finite");
    assert!(s.transform(&Tensor::zeros([2, 3])).is_err());
}
