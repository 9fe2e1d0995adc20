//! [`Window`]: the sliding window of a convolution or a pooling over the last two dims of an
//! `[N, C, H, W]` tensor, and [`ConvOptions`], a convolution's settings.

use crate::error::{Error, Result};
use crate::shape::Shape;

/// A `kernel`-sized window that slides over the last two dims (height, width) of an
/// `[N, C, H, W]` tensor, `stride` apart, over an input with `padding` zeros on each side, its
/// taps `dilation` apart — PyTorch's `nn.Unfold` arguments.
///
/// ```
/// use tapegrad_graph::Window;
/// let w = Window::new([3, 3]).stride([2, 2]).padding([1, 1]);
/// assert_eq!(w.output_size([8, 8])?, [4, 4]);
/// # Ok::<(), tapegrad_graph::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// Taps along height and width.
    pub kernel: [usize; 2],
    /// Steps between windows.
    pub stride: [usize; 2],
    /// Zeros added before and after the input along each dim.
    pub padding: [usize; 2],
    /// Steps between taps.
    pub dilation: [usize; 2],
}

impl Window {
    /// A window of `kernel` taps with stride 1, no padding and dilation 1 (a convolution's
    /// defaults).
    pub fn new(kernel: [usize; 2]) -> Self {
        Window { kernel, stride: [1, 1], padding: [0, 0], dilation: [1, 1] }
    }
    /// A window whose stride is its size (a pooling's default).
    pub fn pool(kernel: [usize; 2]) -> Self {
        Window { stride: kernel, ..Window::new(kernel) }
    }
    /// The same window with `stride`.
    pub fn stride(self, stride: [usize; 2]) -> Self {
        Window { stride, ..self }
    }
    /// The same window with `padding`.
    pub fn padding(self, padding: [usize; 2]) -> Self {
        Window { padding, ..self }
    }
    /// The same window with `dilation`.
    pub fn dilation(self, dilation: [usize; 2]) -> Self {
        Window { dilation, ..self }
    }
    /// The number of taps (`kernel[0]·kernel[1]`, saturating: a window that large never fits).
    pub fn taps(&self) -> usize {
        self.kernel[0].saturating_mul(self.kernel[1])
    }
    /// How many window positions fit along height and width of an `input`-sized image:
    /// `(size + 2·padding − dilation·(kernel − 1) − 1) / stride + 1`, or an error when a
    /// setting is 0 or the window does not fit in the padded input.
    pub fn output_size(&self, input: [usize; 2]) -> Result<[usize; 2]> {
        let bad = |message: String| Error::InvalidArgument { op: "window", message };
        let mut out = [0; 2];
        for d in 0..2 {
            let (k, s, p, dil) = (self.kernel[d], self.stride[d], self.padding[d], self.dilation[d]);
            if k == 0 || s == 0 || dil == 0 {
                return Err(bad(format!("kernel, stride and dilation must be at least 1, got {self:?}")));
            }
            let span = (k - 1).checked_mul(dil).and_then(|v| v.checked_add(1));
            let padded = p.checked_mul(2).and_then(|v| v.checked_add(input[d]));
            match (span, padded) {
                (Some(span), Some(padded)) if span <= padded => out[d] = (padded - span) / s + 1,
                _ => {
                    return Err(bad(format!(
                        "a window spanning {} taps does not fit in {} elements with {p} padding on each side",
                        span.map_or("too many".into(), |s| s.to_string()),
                        input[d]
                    )))
                }
            }
        }
        Ok(out)
    }
    /// The shape of the columns unfolding an `[N, C, H, W]` input of spatial `size` makes,
    /// `[N, C·taps, oh·ow]`, or an error when the window does not fit or the columns could not
    /// be counted.
    pub(crate) fn columns(&self, op: &'static str, n: usize, c: usize, size: [usize; 2]) -> Result<Shape> {
        let out = self.output_size(size)?;
        let too_large = || Error::TooLarge { op, shape: Shape::from(vec![n, c, size[0], size[1]]) };
        let rows = c.checked_mul(self.kernel[0]).and_then(|v| v.checked_mul(self.kernel[1])).ok_or_else(too_large)?;
        let positions = out[0].checked_mul(out[1]).ok_or_else(too_large)?;
        let shape = Shape::from(vec![n, rows, positions]);
        shape.try_numel(op)?;
        Ok(shape)
    }
    /// `(N, C, [H, W])` of a 4-d shape, or an error naming `op`.
    pub(crate) fn image(op: &'static str, shape: &Shape) -> Result<(usize, usize, [usize; 2])> {
        match *shape.dims() {
            [n, c, h, w] => Ok((n, c, [h, w])),
            _ => Err(Error::InvalidArgument {
                op,
                message: format!("expected an [N, C, H, W] tensor, got shape {shape}"),
            }),
        }
    }
}

/// The settings of an `D`-dimensional convolution besides its kernel (which the weight's shape
/// gives): PyTorch's `stride`, `padding`, `dilation` and `groups`, with its defaults (1, 0, 1,
/// 1).
///
/// ```
/// use tapegrad_graph::ConvOptions;
/// let o = ConvOptions::<2>::default().stride([2, 2]).padding([1, 1]);
/// assert_eq!((o.stride, o.padding, o.dilation, o.groups), ([2, 2], [1, 1], [1, 1], 1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvOptions<const D: usize> {
    /// Steps between output positions.
    pub stride: [usize; D],
    /// Zeros on each side of the input.
    pub padding: [usize; D],
    /// Steps between kernel taps.
    pub dilation: [usize; D],
    /// Channel groups: input and output channels are split into this many groups, each
    /// convolved with its own filters.
    pub groups: usize,
}

impl<const D: usize> Default for ConvOptions<D> {
    fn default() -> Self {
        ConvOptions { stride: [1; D], padding: [0; D], dilation: [1; D], groups: 1 }
    }
}

impl<const D: usize> ConvOptions<D> {
    /// The same options with `stride`.
    pub fn stride(self, stride: [usize; D]) -> Self {
        ConvOptions { stride, ..self }
    }
    /// The same options with `padding`.
    pub fn padding(self, padding: [usize; D]) -> Self {
        ConvOptions { padding, ..self }
    }
    /// The same options with `dilation`.
    pub fn dilation(self, dilation: [usize; D]) -> Self {
        ConvOptions { dilation, ..self }
    }
    /// The same options with `groups`.
    pub fn groups(self, groups: usize) -> Self {
        ConvOptions { groups, ..self }
    }
}
