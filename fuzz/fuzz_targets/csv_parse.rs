//! Any text parsed as a CSV data set, then used as a learner would: an error or a data set,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tapegrad::nn::data::{one_hot, parse_csv, train_test_split, CsvOptions, Standardizer};

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let label_column = match flags % 4 {
        0 => None,
        1 => Some(-1),
        2 => Some(0),
        _ => Some(i8::from_le_bytes([flags]) as isize),
    };
    let options = CsvOptions { header: flags & 0x10 != 0, label_column };
    let Ok(data) = parse_csv::<f64>(&text, "fuzz", &options) else { return };
    let classes = data.classes();
    if classes <= 64 {
        let _ = one_hot::<f32>(&data.y, classes).unwrap();
    }
    if let Ok(scaler) = Standardizer::fit(&data.x) {
        let _ = scaler.transform(&data.x).unwrap();
    }
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    let _ = train_test_split(&data, 0.25, &mut rng).unwrap();
});
