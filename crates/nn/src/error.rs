//! The nn crate's error type.

use tapegrad_graph::Shape;

/// What can go wrong building models, loading data or reading and writing weight files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error from recording an op.
    #[error(transparent)]
    Graph(Box<tapegrad_graph::Error>),
    /// An error from differentiating.
    #[error(transparent)]
    Autograd(Box<tapegrad_autograd::Error>),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A CSV file could not be read as numbers.
    #[error("{path}:{line}: {message}")]
    Csv {
        /// The file (or `<memory>`).
        path: String,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with that line.
        message: String,
    },
    /// A recorded graph cannot be written as ONNX.
    #[error("ONNX export: {message}")]
    Onnx {
        /// What stands in the way, naming the op.
        message: String,
    },
    /// A weight file is not valid safetensors.
    #[error("weight file {path}: {message}")]
    WeightFile {
        /// The file (or `<memory>`).
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A weight file lacks a parameter the model has.
    #[error("weight file {path}: no tensor named `{name}`")]
    MissingWeight {
        /// The file.
        path: String,
        /// The parameter.
        name: String,
    },
    /// A weight file has a tensor the model does not.
    #[error("weight file {path}: tensor `{name}` matches no parameter of the model")]
    UnexpectedWeight {
        /// The file.
        path: String,
        /// The tensor's name.
        name: String,
    },
    /// A weight file's tensor has the wrong shape or element type.
    #[error("weight file {path}: tensor `{name}` is {found}, the model expects {expected}")]
    WeightMismatch {
        /// The file.
        path: String,
        /// The tensor's name.
        name: String,
        /// What the model has, e.g. `f32 [2, 3]`.
        expected: String,
        /// What the file has.
        found: String,
    },
    /// A parameter name is used twice.
    #[error("parameter name `{0}` is already taken")]
    DuplicateName(String),
    /// An argument is out of its domain (a probability above 1, an empty data set, …).
    #[error("{op}: {message}")]
    InvalidArgument {
        /// The function or field.
        op: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A parameter's new value has the wrong shape.
    #[error("parameter `{name}` has shape {expected}, got {found}")]
    ParamShape {
        /// The parameter.
        name: String,
        /// Its shape.
        expected: Shape,
        /// The shape given.
        found: Shape,
    },
}

impl From<tapegrad_graph::Error> for Error {
    fn from(e: tapegrad_graph::Error) -> Self {
        Error::Graph(Box::new(e))
    }
}

impl From<tapegrad_autograd::Error> for Error {
    fn from(e: tapegrad_autograd::Error) -> Self {
        match e {
            tapegrad_autograd::Error::Graph(g) => Error::Graph(Box::new(g)),
            other => Error::Autograd(Box::new(other)),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
