//! Convolutions.

use crate::error::{Error, Result};
use crate::module::{Forward, Module};
use crate::params::{Bound, ParamId, ParamStore};
use rand::Rng;
use tapegrad_graph::{ConvOptions, Float, Tensor, Var};

/// The weight and bias of a convolution with `D` spatial dims, initialised like PyTorch's
/// (`kaiming_uniform_(a = √5)`, which with the bias is U(−1/√fan_in, 1/√fan_in), fan_in =
/// in/groups · kernel taps).
fn conv_params<F: Float, R: Rng + ?Sized, const D: usize>(
    store: &mut ParamStore<F>,
    name: &str,
    (inputs, outputs): (usize, usize),
    kernel: [usize; D],
    options: &ConvOptions<D>,
    bias: bool,
    rng: &mut R,
) -> Result<(ParamId, Option<ParamId>)> {
    let groups = options.groups;
    if groups == 0 || inputs % groups != 0 || outputs % groups != 0 {
        return Err(Error::InvalidArgument {
            op: "Conv::new",
            message: format!("{groups} groups must divide both {inputs} input and {outputs} output channels"),
        });
    }
    let mut shape = vec![outputs, inputs / groups];
    shape.extend_from_slice(&kernel);
    let fan_in: usize = shape[1..].iter().product();
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    let (lo, hi) = (F::from_f64(-bound), F::from_f64(bound));
    let weight = store.add(format!("{name}.weight"), Tensor::uniform(shape, lo, hi, rng))?;
    let bias =
        if bias { Some(store.add(format!("{name}.bias"), Tensor::uniform([outputs], lo, hi, rng))?) } else { None };
    Ok((weight, bias))
}

/// `torch.nn.Conv2d`: `[N, in, H, W]` → `[N, out, oh, ow]` with an `[out, in/groups, kh, kw]`
/// weight and an `[out]` bias.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_graph::{ConvOptions, Graph, Tensor};
/// use tapegrad_nn::{layers::Conv2d, Forward, ParamStore};
/// let mut store = ParamStore::<f32>::new();
/// let options = ConvOptions::default().padding([1, 1]);
/// let conv = Conv2d::new(&mut store, "conv", 1, 8, [3, 3], options, true, &mut StdRng::seed_from_u64(0))?;
/// let g = Graph::<f32>::default();
/// let y = conv.forward(&store.bind(&g), g.constant(Tensor::ones([2, 1, 8, 8])));
/// assert_eq!(y.shape().dims(), &[2, 8, 8, 8]);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Conv2d {
    /// The `[out, in/groups, kh, kw]` weight.
    pub weight: ParamId,
    /// The `[out]` bias, if any.
    pub bias: Option<ParamId>,
    /// Stride, padding, dilation and groups.
    pub options: ConvOptions<2>,
}

impl Conv2d {
    /// A convolution named `name` (parameters `{name}.weight`, `{name}.bias`) from `inputs`
    /// to `outputs` channels.
    #[allow(clippy::too_many_arguments)] // PyTorch's constructor, argument for argument
    pub fn new<F: Float, R: Rng + ?Sized>(
        store: &mut ParamStore<F>,
        name: &str,
        inputs: usize,
        outputs: usize,
        kernel: [usize; 2],
        options: ConvOptions<2>,
        bias: bool,
        rng: &mut R,
    ) -> Result<Self> {
        let (weight, bias) = conv_params(store, name, (inputs, outputs), kernel, &options, bias, rng)?;
        Ok(Conv2d { weight, bias, options })
    }
}

impl<F: Float> Module<F> for Conv2d {
    fn parameters(&self) -> Vec<ParamId> {
        std::iter::once(self.weight).chain(self.bias).collect()
    }
}

impl<F: Float> Forward<F> for Conv2d {
    fn forward<'g>(&self, params: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        x.conv2d(params.var(self.weight), self.bias.map(|b| params.var(b)), self.options)
    }
}

/// `torch.nn.Conv1d`: `[N, in, L]` → `[N, out, l]` with an `[out, in/groups, k]` weight and
/// an `[out]` bias.
#[derive(Clone, Debug)]
pub struct Conv1d {
    /// The `[out, in/groups, k]` weight.
    pub weight: ParamId,
    /// The `[out]` bias, if any.
    pub bias: Option<ParamId>,
    /// Stride, padding, dilation and groups.
    pub options: ConvOptions<1>,
}

impl Conv1d {
    /// A convolution named `name` (parameters `{name}.weight`, `{name}.bias`) from `inputs`
    /// to `outputs` channels with a `kernel`-tap filter.
    #[allow(clippy::too_many_arguments)] // PyTorch's constructor, argument for argument
    pub fn new<F: Float, R: Rng + ?Sized>(
        store: &mut ParamStore<F>,
        name: &str,
        inputs: usize,
        outputs: usize,
        kernel: usize,
        options: ConvOptions<1>,
        bias: bool,
        rng: &mut R,
    ) -> Result<Self> {
        let (weight, bias) = conv_params(store, name, (inputs, outputs), [kernel], &options, bias, rng)?;
        Ok(Conv1d { weight, bias, options })
    }
}

impl<F: Float> Module<F> for Conv1d {
    fn parameters(&self) -> Vec<ParamId> {
        std::iter::once(self.weight).chain(self.bias).collect()
    }
}

impl<F: Float> Forward<F> for Conv1d {
    fn forward<'g>(&self, params: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        x.conv1d(params.var(self.weight), self.bias.map(|b| params.var(b)), self.options)
    }
}
