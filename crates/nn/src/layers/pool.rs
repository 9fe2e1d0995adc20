//! Poolings and flattening: layers without parameters.

use crate::module::{Forward, Module};
use crate::params::{Bound, ParamId};
use tapegrad_graph::{Float, Var, Window};

/// `torch.nn.MaxPool2d`: the largest element of each window of an `[N, C, H, W]` input.
/// `MaxPool2d(Window::pool([2, 2]))` is PyTorch's `MaxPool2d(2)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaxPool2d(pub Window);

/// `torch.nn.AvgPool2d`: the mean of each window of an `[N, C, H, W]` input, padding
/// counted as zeros.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AvgPool2d(pub Window);

/// `torch.nn.AdaptiveAvgPool2d(1)`: the mean of each channel, `[N, C, H, W]` → `[N, C, 1, 1]`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AdaptiveAvgPool2d;

/// `torch.nn.Flatten`: every dim after the first joined, `[N, …]` → `[N, rest]`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Flatten;

/// `torch.nn.Unflatten(1, dims)`: the dims after the first reshaped to `dims`,
/// `[N, rest]` → `[N, dims…]` (e.g. flat 64-pixel rows to `[N, 1, 8, 8]` images).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Unflatten(pub Vec<usize>);

macro_rules! no_parameters {
    ($($layer:ty),*) => {$(
        impl<F: Float> Module<F> for $layer {
            fn parameters(&self) -> Vec<ParamId> {
                Vec::new()
            }
        }
    )*};
}
no_parameters!(AdaptiveAvgPool2d, Flatten, Unflatten);

macro_rules! pooling {
    ($($layer:ident),*) => {$(
        impl<F: Float> Module<F> for $layer {
            fn parameters(&self) -> Vec<ParamId> {
                Vec::new()
            }
            fn describe(&self) -> String {
                let w = &self.0;
                format!("{}({}×{}, stride {}×{})", stringify!($layer), w.kernel[0], w.kernel[1], w.stride[0], w.stride[1])
            }
        }
    )*};
}
pooling!(MaxPool2d, AvgPool2d);

impl<F: Float> Forward<F> for MaxPool2d {
    fn forward<'g>(&self, _: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        x.max_pool2d(&self.0)
    }
}

impl<F: Float> Forward<F> for AvgPool2d {
    fn forward<'g>(&self, _: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        x.avg_pool2d(&self.0)
    }
}

impl<F: Float> Forward<F> for AdaptiveAvgPool2d {
    fn forward<'g>(&self, _: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        x.mean_axes(&[-2, -1], true)
    }
}

impl<F: Float> Forward<F> for Flatten {
    fn forward<'g>(&self, _: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        let dims = x.shape();
        let dims = dims.dims();
        match dims.first() {
            Some(&n) => x.reshape([n, dims[1..].iter().product()]),
            None => x.reshape([1]),
        }
    }
}

impl<F: Float> Forward<F> for Unflatten {
    fn forward<'g>(&self, _: &Bound<'g, F>, x: Var<'g, F>) -> Var<'g, F> {
        let mut dims = vec![x.shape().dims().first().copied().unwrap_or(1)];
        dims.extend_from_slice(&self.0);
        x.reshape(dims)
    }
}
