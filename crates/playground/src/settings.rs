//! The Playground's settings, read from a URL query string: every setting lives in the URL, so
//! a link reproduces a run. Unknown or out-of-range values are never an error that stops the
//! page: each is replaced by the nearest allowed value (or the default) with a message saying so.

use std::fmt::Write;

/// The data sets: four classification problems and two regression ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataSet {
    /// Points inside radius 2.5 (+1) and in the ring 3.5–5 (−1).
    Circle,
    /// sign(x·y).
    Xor,
    /// Two Gaussian clusters.
    Gaussian,
    /// Two interleaved spirals.
    Spiral,
    /// Regression: (x + y)/10.
    Plane,
    /// Regression: six signed bumps.
    MultiGaussian,
}

impl DataSet {
    /// Every data set, in the order the page shows them.
    pub const ALL: [DataSet; 6] =
        [DataSet::Circle, DataSet::Xor, DataSet::Gaussian, DataSet::Spiral, DataSet::Plane, DataSet::MultiGaussian];
    /// The name used in URLs.
    pub fn name(self) -> &'static str {
        match self {
            DataSet::Circle => "circle",
            DataSet::Xor => "xor",
            DataSet::Gaussian => "gauss",
            DataSet::Spiral => "spiral",
            DataSet::Plane => "reg-plane",
            DataSet::MultiGaussian => "reg-gauss",
        }
    }
    /// True for the regression problems (linear output, 1,200 points).
    pub fn is_regression(self) -> bool {
        matches!(self, DataSet::Plane | DataSet::MultiGaussian)
    }
}

/// A neuron's activation function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// max(x, 0)
    Relu,
    /// tanh
    Tanh,
    /// 1 / (1 + e⁻ˣ)
    Sigmoid,
    /// x
    Linear,
}

impl Activation {
    const ALL: [Activation; 4] = [Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::Linear];
    /// The name used in URLs.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Linear => "linear",
        }
    }
}

/// The regularization of the weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regularization {
    /// None.
    None,
    /// |w| (derivative sign(w)).
    L1,
    /// ½w² (derivative w).
    L2,
}

impl Regularization {
    const ALL: [Regularization; 3] = [Regularization::None, Regularization::L1, Regularization::L2];
    /// The name used in URLs.
    pub fn name(self) -> &'static str {
        match self {
            Regularization::None => "none",
            Regularization::L1 => "L1",
            Regularization::L2 => "L2",
        }
    }
}

/// The seven input features, in the page's order.
pub const FEATURES: [&str; 7] = ["x", "y", "xSquared", "ySquared", "xTimesY", "sinX", "sinY"];
/// The learning rates the page offers.
pub const LEARNING_RATES: [f64; 11] = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0];
/// The regularization rates the page offers.
pub const REGULARIZATION_RATES: [f64; 9] = [0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0];
/// At most this many hidden layers.
pub const MAX_LAYERS: usize = 6;
/// At most this many neurons in a layer.
pub const MAX_NEURONS: usize = 8;

/// One run's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The data set.
    pub dataset: DataSet,
    /// Noise, 0–50 (percent).
    pub noise: u32,
    /// The share of points used for training, 10–90 (percent).
    pub train_ratio: u32,
    /// Examples per weight update, 1–30.
    pub batch_size: usize,
    /// The learning rate.
    pub learning_rate: f64,
    /// The activation of the hidden neurons.
    pub activation: Activation,
    /// The regularization.
    pub regularization: Regularization,
    /// Its rate.
    pub regularization_rate: f64,
    /// Which of [`FEATURES`] feed the network.
    pub features: [bool; 7],
    /// The hidden layers' sizes (0–6 layers of 1–8).
    pub hidden: Vec<usize>,
    /// Whether the page shows the test points.
    pub show_test_data: bool,
    /// Whether the page thresholds the output.
    pub discretize: bool,
    /// The seed of the data and the initial weights.
    pub seed: u64,
}

impl Default for Settings {
    /// The Playground's defaults.
    fn default() -> Self {
        Settings {
            dataset: DataSet::Circle,
            noise: 0,
            train_ratio: 50,
            batch_size: 10,
            learning_rate: 0.03,
            activation: Activation::Tanh,
            regularization: Regularization::None,
            regularization_rate: 0.0,
            features: [true, true, false, false, false, false, false],
            hidden: vec![4, 2],
            show_test_data: false,
            discretize: false,
            seed: 1,
        }
    }
}

/// The allowed value nearest to `v`.
fn nearest(allowed: &[f64], v: f64) -> f64 {
    allowed.iter().copied().fold(allowed[0], |best, a| if (a - v).abs() < (best - v).abs() { a } else { best })
}

impl Settings {
    /// Settings from a query string such as `dataset=xor&learningRate=0.1&networkShape=4,2`
    /// (the Playground's own names), and a message for every value that was not allowed and
    /// what was used instead. Missing keys keep their defaults; unknown keys are ignored.
    pub fn from_query(query: &str) -> (Settings, Vec<String>) {
        let mut s = Settings::default();
        let mut notes = Vec::new();
        for pair in query.trim_start_matches('?').split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = value.replace("%2C", ",").replace("%2c", ",");
            let number = value.parse::<f64>().ok().filter(|v| v.is_finite());
            let mut note = |what: &str| notes.push(format!("{key}={value}: {what}"));
            match key {
                "dataset" => match DataSet::ALL.iter().find(|d| d.name() == value) {
                    Some(&d) => s.dataset = d,
                    None => note("unknown data set; using circle"),
                },
                "activation" => match Activation::ALL.iter().find(|a| a.name() == value) {
                    Some(&a) => s.activation = a,
                    None => note("unknown activation; using tanh"),
                },
                "regularization" => match Regularization::ALL.iter().find(|r| r.name() == value) {
                    Some(&r) => s.regularization = r,
                    None => note("unknown regularization; using none"),
                },
                "learningRate" => match number {
                    Some(v) if v > 0.0 => {
                        s.learning_rate = nearest(&LEARNING_RATES, v);
                        if s.learning_rate != v {
                            note(&format!("not one of the rates offered; using {}", s.learning_rate));
                        }
                    }
                    _ => note("a learning rate must be a positive number; using 0.03"),
                },
                "regularizationRate" => match number {
                    Some(v) if v >= 0.0 => {
                        s.regularization_rate = nearest(&REGULARIZATION_RATES, v);
                        if s.regularization_rate != v {
                            note(&format!("not one of the rates offered; using {}", s.regularization_rate));
                        }
                    }
                    _ => note("a regularization rate must be a number ≥ 0; using 0"),
                },
                "noise" => s.noise = clamped(number, 0.0, 50.0, s.noise as f64, &mut note) as u32,
                "percTrainData" => s.train_ratio = clamped(number, 10.0, 90.0, s.train_ratio as f64, &mut note) as u32,
                "batchSize" => s.batch_size = clamped(number, 1.0, 30.0, s.batch_size as f64, &mut note) as usize,
                "seed" => match value.parse::<u64>() {
                    Ok(v) => s.seed = v,
                    Err(_) => note("a seed is a whole number ≥ 0; using 1"),
                },
                "showTestData" => s.show_test_data = value == "true",
                "discretize" => s.discretize = value == "true",
                "networkShape" => {
                    let asked: Vec<f64> =
                        value.split(',').filter(|v| !v.is_empty()).map(|v| v.parse().unwrap_or(f64::NAN)).collect();
                    if asked.len() > MAX_LAYERS {
                        note(&format!("at most {MAX_LAYERS} hidden layers; keeping the first {MAX_LAYERS}"));
                    }
                    let allowed = |n: f64| n.is_finite() && (1.0..=MAX_NEURONS as f64).contains(&n);
                    if asked.iter().take(MAX_LAYERS).any(|&n| !allowed(n)) {
                        note(&format!("a layer has 1 to {MAX_NEURONS} neurons; sizes clamped"));
                    }
                    s.hidden = asked
                        .iter()
                        .take(MAX_LAYERS)
                        .map(|&n| if n.is_nan() { 1 } else { n.clamp(1.0, MAX_NEURONS as f64) as usize })
                        .collect();
                }
                _ => {
                    if let Some(k) = FEATURES.iter().position(|f| *f == key) {
                        s.features[k] = value == "true";
                    }
                }
            }
        }
        if !s.features.iter().any(|&f| f) {
            notes.push("no input feature was on; turning on x and y".into());
            s.features[0] = true;
            s.features[1] = true;
        }
        (s, notes)
    }

    /// The query string that gives these settings back (what the page puts in its URL).
    pub fn to_query(&self) -> String {
        let mut q = String::new();
        let shape: Vec<String> = self.hidden.iter().map(|n| n.to_string()).collect();
        let _ = write!(
            q,
            "dataset={}&noise={}&percTrainData={}&batchSize={}&learningRate={}&activation={}&regularization={}&regularizationRate={}&networkShape={}&showTestData={}&discretize={}&seed={}",
            self.dataset.name(),
            self.noise,
            self.train_ratio,
            self.batch_size,
            self.learning_rate,
            self.activation.name(),
            self.regularization.name(),
            self.regularization_rate,
            shape.join(","),
            self.show_test_data,
            self.discretize,
            self.seed
        );
        for (name, on) in FEATURES.iter().zip(self.features) {
            let _ = write!(q, "&{name}={on}");
        }
        q
    }
}

/// `number` clamped to `[lo, hi]`, noting when it was out of range or not a number.
fn clamped(number: Option<f64>, lo: f64, hi: f64, default: f64, note: &mut impl FnMut(&str)) -> f64 {
    match number {
        Some(v) if (lo..=hi).contains(&v) => v.round(),
        Some(v) => {
            let c = v.clamp(lo, hi).round();
            note(&format!("outside {lo}–{hi}; using {c}"));
            c
        }
        None => {
            note(&format!("not a number; using {default}"));
            default
        }
    }
}
